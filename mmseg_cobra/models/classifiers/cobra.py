"""CoBra: the dual-branch (CNN + ViT) classifier of the CoBra paper.

Read top to bottom: the two branches and their heads (``__init__``), what one
forward pass produces (:meth:`CoBra.extract`), the training objective
(:meth:`CoBra.loss`), and CAM inference (:meth:`CoBra.predict`).
"""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from PIL import Image
from torch import Tensor

from ...structures import GRID_STRIDE, IGNORE_INDEX
from ..losses import normalize_patches
from ..segmentors.base import BaseWSSSModel


def patch_labels(gt: Tensor, grid: Sequence[int]) -> Tensor:
    """The label at the centre of each patch.

    Args:
        gt (Tensor): ``[B, H, W]`` label maps.
        grid (Sequence[int]): ``(h, w)`` patches.

    Returns:
        Tensor: ``[B, h * w]`` labels (long).
    """
    h, w = grid
    sy, sx = gt.shape[-2] // h, gt.shape[-1] // w
    return gt[:, sy // 2::sy, sx // 2::sx][:, :h, :w].flatten(1).long()


def hit_rate(picked: Tensor, target: Tensor, known: Tensor) -> Tensor:
    """Share of the chosen patches (``picked`` ``[B, N, k]`` labels) whose
    label is their patch's ``target`` ``[B, N]``, over known labels."""
    valid = known[..., None] & (picked != IGNORE_INDEX)
    hit = valid & (picked == target[..., None])
    return hit.sum() / valid.sum().clamp_min(1)


def chance_rate(target: Tensor, freq: Tensor, known: Tensor) -> Tensor:
    """P(a random known patch of the image has the label ``target[i]``),
    from the class shares ``freq`` ``[B, C+1]``, averaged over patches."""
    p = freq.gather(1, target.clamp_max(freq.shape[1] - 1))
    return (p * known).sum() / known.sum().clamp_min(1)


@MODELS.register_module()
class CoBra(BaseWSSSModel):
    """Complementary Branch classifier.

    Class-aware (CNN) branch: backbone features ``[B, Cc, h, w]`` feed a CAM
    head (1x1 conv to ``num_classes + 1`` channels, channel 0 background, no
    bias) and a projection head (1x1 conv to ``proj_dim``, no bias) whose
    L2-normalised output is the CAP embedding.

    Semantic-aware (ViT) branch: patch tokens after the final norm, reshaped
    to the patch grid ``[B, D, h, w]``, feed a CAM head (3x3 conv to
    ``num_classes + 1``) and a projection head (1x1 conv to ``proj_dim``, no
    bias) for the SAP embedding. The head-averaged attention of every layer
    gives the patch affinity (sum over layers, patch-to-patch block) and the
    class-token-to-patch attention (TS-CAM's semantic-agnostic map).

    Objective (paper Eq. 3): ``L_cls + lambda1 * L_cam + lambda2 * (L_sap +
    L_cap)``; the lambdas are the ``loss_weight`` of the loss configs. L_cam,
    L_sap and L_cap are only computed while
    :attr:`complementary_losses_enabled` is True (switched by
    :class:`~mmseg_cobra.engine.hooks.ComplementaryLossSwitchHook`).

    Args:
        cnn_backbone (dict): CNN config, e.g. ``mmpretrain.ResNet`` with depth
            152 and strides ``(1, 2, 2, 1)`` (output stride 16).
        vit_backbone (dict): ``ViTWithAttention`` config (DeiT-S/16).
        num_classes (int): Foreground classes (20 for VOC, 80 for COCO).
        cnn_channels (int): Channels of the CNN's last stage (2048 for
            ResNet-50/101/152, 512 for ResNet-18/34).
        proj_dim (int): Embedding size of both projections (paper: 256).
        loss_cls (dict): Multi-label loss, applied once per branch.
        loss_cam (dict): CAM consistency loss (lambda1 as ``loss_weight``).
        loss_sap (dict): SAP loss (lambda2 as ``loss_weight``).
        loss_cap (dict): CAP loss (lambda2 as ``loss_weight``).
        test_cfg (dict, optional): CAM inference settings: ``scales``
            (default the paper's 0.5 ... 2.0), ``flip`` (default True) and
            ``resize``, how each scale of the input pyramid is made:
            ``'pil_bicubic'`` (default, the reference implementation: the
            uint8 image is rescaled with PIL's bicubic filter, antialiased
            when shrinking, then normalised) or ``'bilinear'`` (the
            normalised tensor is resized on its device, no antialiasing:
            no host round trip, but not the reference's input);
            ``grid_stride`` (4): the grid of the walk's seeds.
        data_preprocessor (dict, optional): mmseg ``SegDataPreProcessor``.
        init_cfg (dict, optional): Initialisation config.
    """

    #: how :meth:`multiscale_cams` makes each scale of the input pyramid
    PYRAMID_RESIZE = ('pil_bicubic', 'bilinear')

    def __init__(self,
                 cnn_backbone: dict,
                 vit_backbone: dict,
                 num_classes: int = 20,
                 cnn_channels: int = 2048,
                 proj_dim: int = 256,
                 loss_cls: dict = dict(type='MultiLabelSoftMarginLoss'),
                 loss_cam: dict = dict(type='CAMConsistencyLoss'),
                 loss_sap: dict = dict(type='SAPLoss'),
                 loss_cap: dict = dict(type='CAPLoss'),
                 test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.num_classes = num_classes
        self.cnn_channels = cnn_channels
        from .. import backbones  # noqa: F401 (registers ViTWithAttention)

        # class-aware knowledge branch
        self.cnn = MODELS.build(cnn_backbone)
        self.cnn_cam_head = nn.Conv2d(
            cnn_channels, num_classes + 1, 1, bias=False)
        self.cnn_proj_head = nn.Conv2d(cnn_channels, proj_dim, 1, bias=False)
        # semantic-aware knowledge branch
        self.vit = MODELS.build(vit_backbone)
        vit_dim = self.vit.embed_dims
        self.vit_cam_head = nn.Conv2d(vit_dim, num_classes + 1, 3, padding=1)
        self.vit_proj_head = nn.Conv2d(vit_dim, proj_dim, 1, bias=False)
        # objective
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_cam = MODELS.build(loss_cam)
        self.loss_sap = MODELS.build(loss_sap)
        self.loss_cap = MODELS.build(loss_cap)
        self.complementary_losses_enabled = True
        self.test_cfg = dict(
            scales=(0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0),
            flip=True,
            resize='pil_bicubic')
        self.test_cfg.update(test_cfg or {})
        if self.test_cfg['resize'] not in self.PYRAMID_RESIZE:
            raise ValueError(f'test_cfg.resize must be one of '
                             f'{self.PYRAMID_RESIZE}, got '
                             f'{self.test_cfg["resize"]!r}')

    # ------------------------------------------------------------------
    # one forward pass
    # ------------------------------------------------------------------
    def extract(self, inputs: Tensor) -> Dict[str, Tensor]:
        """Everything both branches produce for a batch.

        Args:
            inputs (Tensor): Normalised images ``[B, 3, H, W]``.

        Returns:
            dict: with ``h, w`` the CNN grid and ``gh, gw`` the ViT patch grid
            (equal for sizes divisible by 16), ``N = gh * gw``:

            - ``cam_cnn``: CNN CAM logits ``[B, C+1, h, w]``;
            - ``proj_cnn``: CNN projection ``[B, P, h, w]``;
            - ``cam_vit``: ViT CAM logits ``[B, C+1, gh, gw]``;
            - ``proj_vit``: ViT projection ``[B, P, gh, gw]``;
            - ``patch_affinity``: ``[B, N, N]``;
            - ``attn_cls2patch``: ``[B, gh, gw]``.
        """
        feat_cnn = self.cnn(inputs)[-1]
        if feat_cnn.shape[1] != self.cnn_channels:
            raise ValueError(
                f'the CNN backbone gives {feat_cnn.shape[1]} channels but '
                f'cnn_channels={self.cnn_channels}: set model.cnn_channels')
        tokens, attn, (gh, gw) = self.vit(inputs)
        b, _, dim = tokens.shape
        patch_tokens = tokens[:, 1:].transpose(1, 2).reshape(b, dim, gh, gw)
        attn_sum = attn.sum(dim=1)  # [B, 1+N, 1+N], summed over layers
        return dict(
            cam_cnn=self.cnn_cam_head(feat_cnn),
            proj_cnn=self.cnn_proj_head(feat_cnn),
            cam_vit=self.vit_cam_head(patch_tokens),
            proj_vit=self.vit_proj_head(patch_tokens),
            patch_affinity=attn_sum[:, 1:, 1:],
            attn_cls2patch=attn_sum[:, 0, 1:].reshape(b, gh, gw))

    @staticmethod
    def pseudo_labels(cam_logits: Tensor,
                      labels: Tensor) -> Tuple[Tensor, Tensor]:
        """Per-patch pseudo labels from CAM logits and image labels.

        Logits of classes absent from the image are excluded (set to -inf,
        so an absent class can never be chosen); background is always kept.

        Args:
            cam_logits (Tensor): ``[B, C+1, h, w]``.
            labels (Tensor): Multi-hot foreground labels ``[B, C]``.

        Returns:
            tuple: class scores ``[B, C+1, h*w]`` (softmax over the kept
            classes, 0 for absent ones) and pseudo labels ``[B, h*w]``.
        """
        keep = torch.cat([labels.new_ones(labels.shape[0], 1), labels],
                         dim=1) > 0  # [B, C+1]
        logits = cam_logits.flatten(2).masked_fill(~keep[..., None],
                                                   float('-inf'))
        score = logits.softmax(dim=1)
        return score, score.argmax(dim=1)

    # ------------------------------------------------------------------
    # training
    # ------------------------------------------------------------------
    @staticmethod
    def _stack_labels(data_samples: Sequence[SegDataSample],
                      num_classes: int) -> Tensor:
        if any('gt_label' not in s for s in data_samples):
            raise KeyError('data samples carry no gt_label: use an '
                           'ImageLevelSegDataset and PackWSSSInputs')
        labels = torch.stack([s.gt_label for s in data_samples])
        if labels.shape[1] != num_classes:
            raise ValueError(f'labels have {labels.shape[1]} classes but the '
                             f'model has num_classes={num_classes}')
        return labels

    def loss(self, inputs: Tensor,
             data_samples: Sequence[SegDataSample]) -> Dict[str, Tensor]:
        """The CoBra objective, one log entry per term.

        Args:
            inputs (Tensor): ``[B, 3, H, W]``.
            data_samples (list[SegDataSample]): with ``gt_label`` ``[C]``.

        Returns:
            dict: ``loss_cls_cnn``, ``loss_cls_vit`` and, once enabled,
            ``loss_cam``, ``loss_sap``, ``loss_cap`` (already weighted).
        """
        labels = self._stack_labels(data_samples,
                                    self.num_classes).to(inputs.device)
        out = self.extract(inputs)
        cam_cnn, cam_vit = out['cam_cnn'], out['cam_vit']
        losses = dict(
            loss_cls_cnn=self.loss_cls(cam_cnn[:, 1:].mean(dim=(2, 3)),
                                       labels),
            loss_cls_vit=self.loss_cls(cam_vit[:, 1:].mean(dim=(2, 3)),
                                       labels))
        if not self.complementary_losses_enabled:
            return losses
        losses[self.loss_cam.loss_name] = self.loss_cam(
            cam_cnn, cam_vit, labels, inputs.shape[-2:])
        # CAP/SAP compare patches one to one: put the CNN maps on the ViT grid
        grid = cam_vit.shape[-2:]
        proj_cnn = out['proj_cnn']
        if cam_cnn.shape[-2:] != grid:
            cam_cnn = F.interpolate(
                cam_cnn, size=grid, mode='bilinear', align_corners=False)
            proj_cnn = F.interpolate(
                proj_cnn, size=grid, mode='bilinear', align_corners=False)
        prob_cnn, pseudo_label = self.pseudo_labels(cam_cnn, labels)
        # SAP ranks patches by the raw CNN logits (reference); the masked
        # softmax only picks each patch's pseudo class
        rank_score = self.loss_sap.guide_score(cam_cnn.flatten(2), prob_cnn)
        losses[self.loss_sap.loss_name] = self.loss_sap(
            normalize_patches(out['proj_vit']), rank_score, pseudo_label)
        losses[self.loss_cap.loss_name] = self.loss_cap(
            normalize_patches(proj_cnn), out['patch_affinity'])
        if all('gt_sem_seg' in s for s in data_samples):
            gt = torch.stack([s.gt_sem_seg.data[0] for s in data_samples])
            losses.update(
                self.guide_quality(
                    gt.to(inputs.device), out['patch_affinity'], rank_score,
                    pseudo_label, grid))
        return losses

    @torch.no_grad()
    def guide_quality(self, gt: Tensor, patch_affinity: Tensor,
                      rank_score: Tensor, pseudo_label: Tensor,
                      grid: Sequence[int]) -> Dict[str, Tensor]:
        """How good the guidance CAP and SAP receive is (diagnostics).

        With the ground-truth label map of each crop (only for logging: the
        losses never see it), each patch takes the label at its centre
        (255 = unknown, left out):

        - ``guide_cap_prec``: fraction of the CAP positives of a patch (its
          ``k_pos`` highest ViT affinities) that share the patch's class;
          ``guide_cap_chance``: the same for patches drawn at random from
          the image;
        - ``guide_sap_prec``: fraction of the SAP positives of a patch (the
          ``k_pos`` patches with the highest CNN score of its pseudo class)
          that belong to that class; ``guide_sap_chance``: the fraction of
          the image's patches of that class.

        Args:
            gt (Tensor): ``[B, H, W]`` labels of the input crops.
            patch_affinity (Tensor): ``[B, N, N]``.
            rank_score (Tensor): ``[B, C+1, N]``, SAP's ranking score.
            pseudo_label (Tensor): ``[B, N]``.
            grid (Sequence[int]): ``(h, w)`` with ``h * w = N``.

        Returns:
            dict: the four figures as scalar tensors (logged, not summed:
            their names hold no ``loss``).
        """
        patch_gt = patch_labels(gt, grid)
        known = patch_gt != IGNORE_INDEX  # [B, N]
        # share of each class among the image's known patches, [B, C+1]
        num_labels = rank_score.shape[1]
        onehot = F.one_hot(patch_gt.clamp_max(num_labels - 1),
                           num_labels) * known[..., None]
        freq = onehot.sum(1).float() / known.sum(1, keepdim=True).clamp(min=1)
        cap_pos, _ = self.loss_cap.select(patch_affinity)
        cap_picked = patch_gt.gather(1, cap_pos.flatten(1)).view_as(cap_pos)
        sap_pos, _ = self.loss_sap.select(rank_score, pseudo_label)
        sap_picked = patch_gt.gather(1, sap_pos.flatten(1)).view_as(sap_pos)
        pseudo = pseudo_label.long().view(patch_gt.shape[0], -1)
        return dict(
            guide_cap_prec=hit_rate(cap_picked, patch_gt, known),
            guide_cap_chance=chance_rate(patch_gt, freq, known),
            guide_sap_prec=hit_rate(sap_picked, pseudo, known),
            guide_sap_chance=chance_rate(pseudo, freq, known))

    # ------------------------------------------------------------------
    # inference: class activation maps
    # ------------------------------------------------------------------
    def cams(self, inputs: Tensor) -> Dict[str, Tensor]:
        """Raw (unnormalised) CAMs of a batch at its own size.

        Args:
            inputs (Tensor): ``[B, 3, H, W]``.

        Returns:
            dict: ``cam_cnn`` = ReLU(CNN CAM) on the foreground channels
            ``[B, C, h, w]``; ``cam_vit`` = ReLU(ViT class map x
            class-token attention) ``[B, C, gh, gw]``; ``attn_cls2patch``
            ``[B, gh, gw]``.
        """
        out = self.extract(inputs)
        attn = out['attn_cls2patch']
        return dict(
            cam_cnn=F.relu(out['cam_cnn'][:, 1:]),
            cam_vit=F.relu(out['cam_vit'][:, 1:] * attn[:, None]),
            attn_cls2patch=attn)

    def _preprocessor_stats(self, image: Tensor) -> Tuple[Tensor, Tensor]:
        """Mean and std ``[3, 1, 1]`` of the data preprocessor."""
        pre = self.data_preprocessor
        if getattr(pre, 'mean', None) is None:
            raise ValueError(
                "test_cfg.resize='pil_bicubic' rebuilds the uint8 image from "
                'the normalised input and needs a data_preprocessor with '
                "mean/std (SegDataPreProcessor); set test_cfg.resize="
                "'bilinear' otherwise")
        return pre.mean.to(image.device), pre.std.to(image.device)

    def pyramid(self, image: Tensor) -> List[Tensor]:
        """The input pyramid of one image, one tensor per scale.

        ``'pil_bicubic'`` (reference, IRN's ``pil_rescale``): the normalised
        image is turned back into its uint8 RGB pixels, each scale is that
        image rescaled by PIL (bicubic, antialiased when shrinking) to
        ``round(H * s) x round(W * s)`` and normalised again; scale 1 is the
        image itself. ``'bilinear'``: the normalised tensor is resized.

        Args:
            image (Tensor): One normalised RGB image ``[3, H, W]``.

        Returns:
            list[Tensor]: ``[1, 3, round(H * s), round(W * s)]`` per scale.
        """
        height, width = image.shape[-2:]
        sizes = [(max(1, round(height * s)), max(1, round(width * s)))
                 for s in self.test_cfg['scales']]
        if self.test_cfg.get('resize', 'pil_bicubic') == 'bilinear':
            return [
                F.interpolate(
                    image[None],
                    size=size,
                    mode='bilinear',
                    align_corners=False) for size in sizes
            ]
        mean, std = self._preprocessor_stats(image)
        pixels = (image * std + mean).round().clamp(0, 255).byte()
        pil_image = Image.fromarray(pixels.permute(1, 2, 0).cpu().numpy())
        levels = []
        for size in sizes:
            if size == (height, width):
                levels.append(image[None])
                continue
            scaled = np.asarray(
                pil_image.resize(size[::-1], Image.BICUBIC), np.float32)
            scaled = torch.from_numpy(scaled).to(image.device)
            levels.append(((scaled.permute(2, 0, 1) - mean) / std)[None])
        return levels

    def multiscale_cams(self, image: Tensor) -> Dict[str, Tensor]:
        """Multi-scale, flipped CAMs of one image, summed at image size.

        Every scale of :meth:`pyramid` is run with its horizontal flip in
        one batch of two; the maps are resized to the image size (bilinear)
        and summed. The class maps of each scale are also resized straight
        to the stride-``test_cfg.grid_stride`` grid of the image (``ceil(H /
        4) x ceil(W / 4)``) and summed there: the seeds the random walk
        starts from, as the reference makes them.

        Args:
            image (Tensor): One normalised image ``[3, H, W]``.

        Returns:
            dict: ``cam_cnn`` and ``cam_vit`` ``[C, H, W]``,
            ``attn_cls2patch`` ``[H, W]``, and ``cam_cnn_grid`` and
            ``cam_vit_grid`` ``[C, h, w]`` on the grid, all summed, not
            normalised.
        """
        height, width = image.shape[-2:]
        stride = self.test_cfg.get('grid_stride', GRID_STRIDE)
        grid = (-(-height // stride), -(-width // stride))
        total: Dict[str, Tensor] = {}

        def add(key: str, value: Tensor) -> None:
            total[key] = total[key] + value if key in total else value

        for x in self.pyramid(image):
            if self.test_cfg['flip']:
                x = torch.cat([x, x.flip(-1)])
            maps = self.cams(x)
            for key, value in maps.items():
                if value.dim() == 3:
                    value = value[:, None]
                if self.test_cfg['flip']:
                    value = value[:1] + value[1:].flip(-1)
                add(
                    key,
                    F.interpolate(
                        value,
                        size=(height, width),
                        mode='bilinear',
                        align_corners=False)[0])
                if key != 'attn_cls2patch':
                    add(
                        key + '_grid',
                        F.interpolate(
                            value,
                            size=grid,
                            mode='bilinear',
                            align_corners=False)[0])
        total['attn_cls2patch'] = total['attn_cls2patch'][0]
        return total

    @staticmethod
    def normalize_cams(cams: Tensor, labels: Tensor) -> Tensor:
        """Keep the positive classes and divide each map by its maximum
        (plus 1e-5, as the reference).

        Args:
            cams (Tensor): ``[C, H, W]`` non-negative maps.
            labels (Tensor): ``[C]`` multi-hot labels.

        Returns:
            Tensor: ``[K, H, W]`` for the K positive classes, in ``[0, 1]``.
        """
        keep = labels.nonzero().flatten()
        cams = cams[keep]
        peak = cams.flatten(1).max(dim=1).values if len(cams) else \
            cams.new_zeros(0)
        return cams / (peak[:, None, None] + 1e-5)

    @staticmethod
    def fuse(cam_cnn: Tensor, cam_vit: Tensor) -> Tensor:
        """CoBra fusion ``M_fuse = max((M_cnn + M_tran) / 2, M_tran)``."""
        return torch.maximum((cam_cnn + cam_vit) / 2, cam_vit)

    def predict(self, inputs: Tensor,
                data_samples: Sequence[SegDataSample]) -> List[SegDataSample]:
        """Multi-scale CAMs per image, for the positive classes only.

        Each returned sample carries ``cam_cnn``, ``cam_vit``, ``cam_fuse``
        (``PixelData`` ``[K, H, W]``, per-class max-normalised, K positive
        classes), the same on the stride-4 grid (``cam_cnn_grid``,
        ``cam_vit_grid``, ``cam_fuse_grid``, ``[K, h, w]``, normalised on
        the grid), ``attn_cls2patch`` (``[1, H, W]``, not normalised) and
        ``cam_keys`` (the positive foreground class indices, 0-based).
        Images must be unpadded (batch size 1, or equal sizes).
        """
        results = []
        for image, sample in zip(inputs, data_samples):
            labels = sample.gt_label.to(image.device)
            summed = self.multiscale_cams(image)
            for suffix in ('', '_grid'):
                cam_cnn = self.normalize_cams(summed['cam_cnn' + suffix],
                                              labels)
                cam_vit = self.normalize_cams(summed['cam_vit' + suffix],
                                              labels)
                sample.set_field(PixelData(data=cam_cnn), 'cam_cnn' + suffix)
                sample.set_field(PixelData(data=cam_vit), 'cam_vit' + suffix)
                sample.set_field(
                    PixelData(data=self.fuse(cam_cnn, cam_vit)),
                    'cam_fuse' + suffix)
            sample.attn_cls2patch = PixelData(
                data=summed['attn_cls2patch'][None])
            sample.cam_keys = labels.nonzero().flatten()
            results.append(sample)
        return results

    def _forward(
        self,
        inputs: Tensor,
        data_samples: Optional[Sequence[SegDataSample]] = None
    ) -> Dict[str, Tensor]:
        """The training-time outputs of :meth:`extract`."""
        return self.extract(inputs)
