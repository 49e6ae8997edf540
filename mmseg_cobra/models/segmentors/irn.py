"""IRN (Ahn, Cho and Kwak, CVPR 2019) for CoBra's masks.

A frozen ImageNet ResNet gives features at five depths (stem after max-pool,
stages 1-4). The boundary branch maps each to 32 channels (1x1 conv,
GroupNorm), upsamples the deeper ones by their exact factor to stride 4,
applies ReLU (IRN's order), concatenates and predicts one boundary logit
per stride-4 cell. Training: pixel pairs within ``train_radius`` get
affinity ``1 - max(boundary on their path)``, pushed to 1 for pairs of the
same IR label and to 0 for pairs of different labels. The displacement
branch predicts, per pixel, a 2-D vector to its instance centre: for two
foreground pixels of the same class the difference of their vectors must
equal their offset, for two background pixels it must vanish. IRN's total::

    (bg_pos / 2 + fg_pos / 2 + neg) / 2 + (disp_fg + disp_bg) / 2

Inference (``predict``): the image is padded to IRN's 512 x 512 test
canvas (or the backbone's output stride, when larger), the boundary map
(with its flip) is cropped to the image's stride-4 grid, a random walk
spreads the seeds (summed over scales on that grid by the seed stage)
inside regions, the walked maps are resized to the image, and a mask rule
(the reference's by default, IRN's as an option; see
:mod:`mmseg_cobra.models.utils.mask_rules`) with an optional dense CRF
gives the mask. The displacement field is only needed for instance masks
(``mode='tensor'`` returns it).
"""
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from torch import Tensor

from ...ops.crf import FINAL_CRF_CFG
from ..utils import (boundary_to_affinity, full_precision, pair_differences,
                     pair_offsets, random_walk)
from ..utils.mask_rules import (MASK_RULES, WALK_UPSAMPLING, grid_size,
                                seeds_to_grid, walk_to_label)
from .base import BaseWSSSModel

#: where the random walk's seeds on the stride-4 grid come from
SEED_GRIDS = ('per_scale', 'from_image')

#: IRN's test settings (the mask stage): the one home of their defaults,
#: read by :class:`IRNBoundary`, the mask report and the mask writers
#: through :func:`irn_test_cfg`
IRN_TEST_CFG = dict(
    pad_size=512,
    seed_grid='per_scale',
    radius=5,
    beta=10.0,
    exp_times=8,
    walk_upsample='resize',
    mask_rule='reference',
    theta=0.31,
    bg_threshold=0.25,
    crf=True,
    keep_walk=False,
    crf_cfg=FINAL_CRF_CFG)
#: the name of each mask rule's value in ``test_cfg``
RULE_VALUE_KEY = dict(reference='theta', irn='bg_threshold')


def irn_test_cfg(test_cfg: Optional[dict] = None) -> dict:
    """:data:`IRN_TEST_CFG` updated with a config's ``model.test_cfg``
    (its ``crf_cfg`` a fresh dict)."""
    out = dict(IRN_TEST_CFG)
    out.update(test_cfg or {})
    out['crf_cfg'] = dict(out['crf_cfg'] or FINAL_CRF_CFG)
    return out


def _branch_block(in_channels: int,
                  out_channels: int,
                  groups: int,
                  upsample: int = 1) -> nn.Sequential:
    """IRN's branch layer: 1x1 conv, GroupNorm, [x``upsample``], ReLU."""
    layers = [
        nn.Conv2d(in_channels, out_channels, 1, bias=False),
        nn.GroupNorm(groups, out_channels)
    ]
    if upsample > 1:
        layers.append(
            nn.Upsample(
                scale_factor=upsample, mode='bilinear', align_corners=False))
    layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


@MODELS.register_module()
class IRNBoundary(BaseWSSSModel):
    """Boundary branch of IRN with its affinity loss and random walk.

    Args:
        backbone (dict): A backbone returning the stem output and every
            stage's (:class:`~mmseg_cobra.models.ResNetWithStem`); IRN
            freezes it (``frozen_stages=4``, ``norm_eval=True``: then it
            runs without autograd), small models trained from scratch use
            ``frozen_stages=-1``.
        in_channels (Sequence[int]): Channels of stem, stage 1..4 outputs
            (ResNet-50/101/152: 64, 256, 512, 1024, 2048).
        branch_channels (int): Channels per depth in the boundary branch.
        train_radius (int): Pair radius for the affinity loss (IRN: 10), in
            stride-4 pixels.
        with_displacement (bool): Build and train the displacement branch
            (IRN's instance cue; not used by the semantic masks).
        aff_loss_weight (float): Weight of the affinity terms
            ``bg_pos / 2 + fg_pos / 2 + neg`` (IRN: 1/2).
        disp_loss_weight (float): Weight of ``disp_fg + disp_bg``, each the
            mean absolute error per vector component (IRN: 1/2).
        test_cfg (dict, optional): ``pad_size`` (512: the test canvas of
            :meth:`boundary_map`; None pads to the output stride only),
            ``seed_grid`` (``'per_scale'``: the seed stage's maps summed
            over scales on the grid, as the reference; ``'from_image'``:
            the image-size seeds put on the grid by :func:`seeds_to_grid`),
            ``walk_upsample`` (``'resize'``: walked maps resized straight to
            the image, as the reference; ``'stride'``: exact x4 and crop, as
            IRN), random walk ``radius`` (5), ``beta`` (10),
            ``exp_times`` (8); ``mask_rule`` (``'reference'`` or ``'irn'``),
            ``theta`` (0.31, reference rule), ``bg_threshold`` (0.25, IRN
            rule), ``crf`` (True) and ``crf_cfg`` (kwargs of
            :func:`crf_from_labels`; the reference's final CRF: gaussian sxy
            2 compat 3, bilateral sxy 45 srgb 5 compat 4, 10 iterations,
            gt_prob 0.7); ``keep_walk`` (False: True attaches the walked
            grid maps and the boundary map to each sample, for
            :class:`~mmseg_cobra.engine.hooks.WalkWriterHook`).
        data_preprocessor (dict, optional): ``SegDataPreProcessor``.
        init_cfg (dict, optional): Initialisation.
    """

    #: stride of the boundary map
    stride = 4

    def __init__(self,
                 backbone: dict,
                 in_channels: Sequence[int] = (64, 256, 512, 1024, 2048),
                 branch_channels: int = 32,
                 train_radius: int = 10,
                 with_displacement: bool = True,
                 aff_loss_weight: float = 0.5,
                 disp_loss_weight: float = 0.5,
                 test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        from .. import backbones  # noqa: F401 (registers ResNetWithStem)
        self.backbone = MODELS.build(backbone)
        # cumulative stride of each depth: stem + max-pool = 4, then stages
        strides = [4]
        for s in getattr(self.backbone, 'strides', (1, 2, 2, 2)):
            strides.append(strides[-1] * s)
        self.feature_strides = tuple(strides)
        self.output_stride = max(strides)
        self.boundary_convs = nn.ModuleList([
            _branch_block(c, branch_channels, 4, s // self.stride)
            for c, s in zip(in_channels, strides)
        ])
        self.boundary_head = nn.Conv2d(
            branch_channels * len(in_channels), 1, 1, bias=True)
        self.with_displacement = with_displacement
        if with_displacement:
            self._build_displacement_branch(in_channels)
        self.train_radius = train_radius
        self.aff_loss_weight = aff_loss_weight
        self.disp_loss_weight = disp_loss_weight
        self.test_cfg = irn_test_cfg(test_cfg)
        for key, allowed in (('mask_rule', MASK_RULES),
                             ('seed_grid', SEED_GRIDS), ('walk_upsample',
                                                         WALK_UPSAMPLING)):
            if self.test_cfg[key] not in allowed:
                raise ValueError(f'test_cfg.{key} must be one of {allowed}, '
                                 f'got {self.test_cfg[key]!r}')

    def _build_displacement_branch(self, in_channels: Sequence[int]) -> None:
        """IRN's displacement layers: stride-8 context, stride-4 detail."""
        s = self.feature_strides
        self.disp_fine = nn.ModuleList([
            _branch_block(in_channels[0], 64, 8),
            _branch_block(in_channels[1], 128, 16, s[1] // self.stride)
        ])
        self.disp_coarse = nn.ModuleList([
            _branch_block(c, 256, 16, stride // s[2])
            for c, stride in zip(in_channels[2:], s[2:])
        ])
        self.disp_context = _branch_block(256 * len(in_channels[2:]), 256, 16,
                                          s[2] // self.stride)
        self.disp_head = nn.Sequential(
            _branch_block(64 + 128 + 256, 256, 16),
            nn.Conv2d(256, 2, 1, bias=False))

    def _features(self, inputs: Tensor) -> List[Tensor]:
        """Stem (after max-pool) and stage outputs of the backbone."""
        feats = list(self.backbone(inputs))
        if len(feats) != len(self.boundary_convs):
            raise ValueError(
                f'the backbone returned {len(feats)} feature maps, IRN needs '
                f'{len(self.boundary_convs)} (stem and every stage: use '
                "type='ResNetWithStem')")
        return feats

    def boundary_logits(self, inputs: Tensor) -> Tensor:
        """Boundary logits ``[B, 1, H/4, W/4]`` of images ``[B, 3, H, W]``."""
        return self._boundary(self._features(inputs))

    @staticmethod
    def _crop_to(x: Tensor, size) -> Tensor:
        return x[..., :size[0], :size[1]]

    def _displacement(self, feats: List[Tensor]) -> Tensor:
        """Displacement field ``[B, 2, H/4, W/4]`` (stride-4 pixels)."""
        size4, size8 = feats[0].shape[-2:], feats[2].shape[-2:]
        coarse = [
            self._crop_to(conv(f), size8)
            for conv, f in zip(self.disp_coarse, feats[2:])
        ]
        context = self._crop_to(
            self.disp_context(torch.cat(coarse, dim=1)), size4)
        fine = [
            self._crop_to(conv(f), size4)
            for conv, f in zip(self.disp_fine, feats[:2])
        ]
        return self.disp_head(torch.cat(fine + [context], dim=1))

    def _boundary(self, feats: List[Tensor]) -> Tensor:
        size = feats[0].shape[-2:]
        maps = [
            self._crop_to(conv(f), size)
            for conv, f in zip(self.boundary_convs, feats)
        ]
        return self.boundary_head(torch.cat(maps, dim=1))

    # ------------------------------------------------------------------
    def loss(self, inputs: Tensor,
             data_samples: Sequence[SegDataSample]) -> Dict[str, Tensor]:
        """IRN's affinity (and displacement) loss, weighted as IRN.

        Each sample carries ``aff_labels`` ``[3, D, h, w]`` (background
        positive, foreground positive, negative pairs) at the boundary
        map's resolution.

        Returns:
            dict: ``loss_aff_bg``, ``loss_aff_fg`` (each ``aff_loss_weight /
            2`` times its mean) and ``loss_aff_neg`` (``aff_loss_weight``
            times its mean); with the displacement branch ``loss_disp_fg``
            and ``loss_disp_bg`` (each ``disp_loss_weight`` times its mean
            absolute error per vector component). Their sum is IRN's total.
        """
        feats = self._features(inputs)
        boundary = torch.sigmoid(self._boundary(feats))[:, 0]
        labels = torch.stack([s.aff_labels for s in data_samples
                              ]).to(boundary.device).float()  # [B, 3, D, h, w]
        if labels.shape[-2:] != boundary.shape[-2:]:
            raise ValueError(
                f'affinity labels are {tuple(labels.shape[-2:])} but the '
                f'boundary map is {tuple(boundary.shape[-2:])}: the crop must '
                'be a multiple of 4 (AffinityLabels stride 4)')
        affinity = boundary_to_affinity(boundary, self.train_radius)
        pos = -torch.log(affinity + 1e-5)
        neg = -torch.log(1.0 + 1e-5 - affinity)

        def mean(term: Tensor, mask: Tensor) -> Tensor:
            return (term * mask).sum() / (mask.sum() + 1e-5)

        w_aff = self.aff_loss_weight
        losses = dict(
            loss_aff_bg=w_aff / 2 * mean(pos, labels[:, 0]),
            loss_aff_fg=w_aff / 2 * mean(pos, labels[:, 1]),
            loss_aff_neg=w_aff * mean(neg, labels[:, 2]))
        if self.with_displacement:
            # pixel p and q = p + o: D(p) - D(q) should be o (same instance
            # centre) for foreground pairs and 0 for background pairs
            disp = self._displacement(feats)
            pair = pair_differences(disp, self.train_radius)  # [B,2,D,h,w]
            offsets = disp.new_tensor(pair_offsets(self.train_radius)).t()
            fg_err = (pair - offsets[None, :, :, None, None]).abs().mean(1)
            bg_err = pair.abs().mean(1)
            w_disp = self.disp_loss_weight
            losses['loss_disp_fg'] = w_disp * mean(fg_err, labels[:, 1])
            losses['loss_disp_bg'] = w_disp * mean(bg_err, labels[:, 0])
        return losses

    # ------------------------------------------------------------------
    def boundary_map(self, image: Tensor) -> Tensor:
        """Boundary probabilities of one image on its stride-4 grid.

        As IRN (``EdgeDisplacement``): the image and its flip are padded
        (bottom/right, with 0 = the mean colour after normalisation) to a
        canvas of ``test_cfg.pad_size`` (512; IRN's crop size) or, for a
        larger image or ``pad_size=None``, to the next multiple of the
        output stride; the logits are cropped to ``ceil(H/4) x ceil(W/4)``,
        the flipped one is flipped back, and the two are averaged. The
        boundary branch's GroupNorm normalises over the whole canvas,
        padding included, so the canvas size changes every cell, not only
        those near the border: 512 gives IRN's and the reference's map.

        Args:
            image (Tensor): ``[3, H, W]`` normalised image.

        Returns:
            Tensor: ``[ceil(H/4), ceil(W/4)]`` in [0, 1].
        """
        height, width = image.shape[-2:]
        size = grid_size((height, width), self.stride)
        os_ = self.output_stride
        canvas = self.test_cfg.get('pad_size') or 0
        pad_h = max(canvas, height + -height % os_) - height
        pad_w = max(canvas, width + -width % os_) - width
        pad = (0, pad_w, 0, pad_h)
        batch = F.pad(torch.stack([image, image.flip(-1)]), pad, value=0.0)
        logits = self._crop_to(self.boundary_logits(batch)[:, 0], size)
        return torch.sigmoid((logits[0] + logits[1].flip(-1)) / 2)

    def propagate(self,
                  cams: Tensor,
                  boundary: Tensor,
                  grid: Optional[Tensor] = None) -> Tensor:
        """Random walk of an image's seeds over a stride-4 boundary map.

        Args:
            cams (Tensor): ``[K, H, W]`` image-size seeds; put on the grid by
                :func:`seeds_to_grid` when ``grid`` is not given.
            boundary (Tensor): ``[ceil(H/4), ceil(W/4)]``.
            grid (Tensor, optional): ``[K, ceil(H/4), ceil(W/4)]`` seeds
                already on the grid (the seed stage's per-scale grid maps).

        Returns:
            Tensor: ``[K, ceil(H/4), ceil(W/4)]`` walked maps on the grid,
            divided by their maximum.
        """
        cfg = self.test_cfg
        if grid is None:
            grid = seeds_to_grid(full_precision(cams), self.stride)
        # the walk stays in float32 under mixed precision: 256 steps of
        # multiply-adds, and beta=10 powers of affinities near 1
        grid, boundary = full_precision(grid), full_precision(boundary)
        if grid.shape[-2:] != boundary.shape:
            raise ValueError(f'seeds give a {tuple(grid.shape[-2:])} grid '
                             f'but the boundary map is '
                             f'{tuple(boundary.shape)}')
        walked = random_walk(grid, boundary, cfg['radius'], cfg['beta'],
                             cfg['exp_times'])
        return walked / walked.max().clamp_min(1e-5)

    def _rgb_image(self, image: Tensor, height: int, width: int) -> np.ndarray:
        """Undo the preprocessor's normalisation (its output is RGB)."""
        mean = self.data_preprocessor.mean.to(image.device)
        std = self.data_preprocessor.std.to(image.device)
        rgb = (image * std + mean)[:, :height, :width]
        return rgb.round().clamp(0, 255).byte().permute(1, 2, 0).cpu().numpy()

    def _grid_seeds(self, sample: SegDataSample,
                    device: torch.device) -> Optional[Tensor]:
        """The sample's seeds on the walk's grid per ``test_cfg.seed_grid``:
        ``'per_scale'`` the seed stage's grid maps (``seed_cams_grid``), None
        for ``'from_image'`` (:func:`seeds_to_grid` of the image-size
        seeds)."""
        if self.test_cfg['seed_grid'] == 'from_image':
            return None
        if 'seed_cams_grid' not in sample:
            raise ValueError(
                f'the seed file of {sample.metainfo.get("img_path")} has no '
                "grid maps, which test_cfg.seed_grid='per_scale' walks from: "
                'regenerate the seeds with this version (stage 2), or set '
                "model.test_cfg.seed_grid='from_image'")
        return sample.seed_cams_grid.to(device).float()

    def predict(self, inputs: Tensor,
                data_samples: Sequence[SegDataSample]) -> List[SegDataSample]:
        """Pseudo masks: random walk of each image's seeds, then a rule.

        Each sample needs ``seed_cams`` ``[K, H, W]`` and ``seed_keys``
        ``[K]`` (0-based classes), from the ``LoadSeed`` transform, at the
        image's size, and, with ``test_cfg.seed_grid='per_scale'``,
        ``seed_cams_grid`` ``[K, ceil(H/4), ceil(W/4)]``. Returns the
        samples with ``pred_sem_seg`` (``[1, H, W]``, 0 background,
        ``k + 1`` for class k); with
        ``test_cfg.keep_walk`` also ``walk_cams`` (``[K, h, w]``, the
        walked grid maps) and ``boundary`` (``[h, w]``).
        """
        cfg = self.test_cfg
        value = cfg['theta'] if cfg['mask_rule'] == 'reference' \
            else cfg['bg_threshold']
        for image, sample in zip(inputs, data_samples):
            cams = sample.seed_cams.to(image.device).float()
            keys = sample.seed_keys.to(image.device).long()
            height, width = cams.shape[-2:]
            if image.shape[-2:] != cams.shape[-2:]:
                raise ValueError(
                    f'image {sample.metainfo.get("img_path")} is '
                    f'{tuple(image.shape[-2:])} but its seed is '
                    f'{(height, width)}: do not resize or pad the image in '
                    'the test pipeline')
            boundary = self.boundary_map(image)
            walked = self.propagate(
                cams, boundary, self._grid_seeds(sample, image.device)) \
                if len(keys) else cams.new_zeros((0, *boundary.shape))
            label = walk_to_label(
                walked, keys, (height, width), cfg['mask_rule'], value,
                self._rgb_image(image, height, width) if cfg['crf'] else None,
                cfg['crf_cfg'], cfg['walk_upsample'])
            sample.pred_sem_seg = PixelData(data=label[None])
            if cfg['keep_walk']:
                sample.walk_cams = walked
                sample.boundary = boundary
        return list(data_samples)

    def _forward(self,
                 inputs: Tensor,
                 data_samples: Optional[Sequence[SegDataSample]] = None):
        """Boundary logits ``[B, 1, H/4, W/4]`` (and, with the displacement
        branch, the displacement field ``[B, 2, H/4, W/4]``)."""
        feats = self._features(inputs)
        if self.with_displacement:
            return self._boundary(feats), self._displacement(feats)
        return self._boundary(feats)
