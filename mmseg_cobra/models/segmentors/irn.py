"""IRN (Ahn, Cho and Kwak, CVPR 2019) for CoBra's masks.

A frozen ImageNet ResNet gives features at five depths. The boundary branch
maps each to 32 channels (1x1 conv, GroupNorm, ReLU), resizes them to stride
4, concatenates and predicts one boundary logit per pixel. Training: pixel
pairs within ``train_radius`` get affinity ``1 - max(boundary on their
path)``, pushed to 1 for pairs of the same IR label and to 0 for pairs of
different labels. The displacement branch predicts, per pixel, a 2-D vector
to its instance centre: for two foreground pixels of the same class the
difference of their vectors must equal their offset, for two background
pixels it must vanish. Inference: the boundary map defines a transition
matrix and a random walk spreads the seeds inside regions (``predict``);
the displacement field is only needed for instance masks
(``mode='tensor'`` returns it).
"""
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from torch import Tensor

from ...utils.crf import crf_from_labels
from ..utils import (boundary_to_affinity, pair_differences, pair_offsets,
                     random_walk)


@MODELS.register_module()
class IRNBoundary(BaseModel):
    """Boundary branch of IRN with its affinity loss and random walk.

    Args:
        backbone (dict): mmpretrain ``ResNet`` config; its stem and four stages
            are used, frozen (``frozen_stages=4``, ``norm_eval=True``).
        in_channels (Sequence[int]): Channels of stem, stage 1..4 outputs
            (ResNet-50/101/152: 64, 256, 512, 1024, 2048).
        branch_channels (int): Channels per depth in the boundary branch.
        train_radius (int): Pair radius for the affinity loss (IRN: 10), in
            stride-4 pixels.
        freeze_backbone (bool): Run the backbone without gradients (IRN).
            False trains it too (small models trained from scratch).
        with_displacement (bool): Build and train the displacement branch
            (IRN's instance cue; not used by the semantic masks).
        test_cfg (dict, optional): ``radius`` (5), ``beta`` (10),
            ``exp_times`` (8), ``bg_threshold`` (0.25), ``crf`` (False) and
            ``crf_cfg`` (kwargs of :func:`crf_from_labels`; CoBra's final
            CRF: gaussian sxy 2 compat 3, bilateral sxy 45 srgb 5 compat 4).
        data_preprocessor (dict, optional): ``SegDataPreProcessor``.
        init_cfg (dict, optional): Initialisation.
    """

    def __init__(self,
                 backbone: dict,
                 in_channels: Sequence[int] = (64, 256, 512, 1024, 2048),
                 branch_channels: int = 32,
                 train_radius: int = 10,
                 freeze_backbone: bool = True,
                 with_displacement: bool = True,
                 test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.boundary_convs = nn.ModuleList([
            nn.Sequential(
                nn.Conv2d(c, branch_channels, 1, bias=False),
                nn.GroupNorm(4, branch_channels), nn.ReLU(inplace=True))
            for c in in_channels
        ])
        self.boundary_head = nn.Conv2d(
            branch_channels * len(in_channels), 1, 1, bias=True)
        self.with_displacement = with_displacement
        if with_displacement:
            self._build_displacement_branch(in_channels)
        self.train_radius = train_radius
        self.freeze_backbone = freeze_backbone
        self.test_cfg = dict(
            radius=5, beta=10.0, exp_times=8, bg_threshold=0.25, crf=False,
            crf_cfg=dict(gaussian_sxy=2, gaussian_compat=3, bilateral_sxy=45,
                         bilateral_srgb=5, bilateral_compat=4))
        self.test_cfg.update(test_cfg or {})

    def _build_displacement_branch(self, in_channels: Sequence[int]) -> None:
        """IRN's displacement layers: stride-8 context, stride-4 detail."""

        def block(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(
                nn.Conv2d(cin, cout, 1, bias=False),
                nn.GroupNorm(max(1, cout // 16), cout), nn.ReLU(inplace=True))

        self.disp_fine = nn.ModuleList(
            [block(in_channels[0], 64), block(in_channels[1], 128)])
        self.disp_coarse = nn.ModuleList(
            [block(c, 256) for c in in_channels[2:]])
        self.disp_context = block(256 * len(in_channels[2:]), 256)
        self.disp_head = nn.Sequential(
            block(64 + 128 + 256, 256), nn.Conv2d(256, 2, 1, bias=True))

    def _features(self, inputs: Tensor) -> List[Tensor]:
        """Stem (after max-pool) and stage outputs of the frozen backbone."""
        net = self.backbone
        with torch.set_grad_enabled(torch.is_grad_enabled()
                                    and not self.freeze_backbone):
            x = net.stem(inputs) if net.deep_stem else net.relu(
                net.norm1(net.conv1(inputs)))
            feats = [net.maxpool(x)]
            for name in net.res_layers:
                feats.append(getattr(net, name)(feats[-1]))
        return feats

    def boundary_logits(self, inputs: Tensor) -> Tensor:
        """Boundary logits ``[B, 1, H/4, W/4]`` of images ``[B, 3, H, W]``."""
        return self._boundary(self._features(inputs))

    def _displacement(self, feats: List[Tensor]) -> Tensor:
        """Displacement field ``[B, 2, H/4, W/4]`` (stride-4 pixels)."""
        size4, size8 = feats[0].shape[-2:], feats[2].shape[-2:]
        coarse = [
            F.interpolate(conv(f), size=size8, mode='bilinear',
                          align_corners=False)
            for conv, f in zip(self.disp_coarse, feats[2:])
        ]
        context = F.interpolate(
            self.disp_context(torch.cat(coarse, dim=1)), size=size4,
            mode='bilinear', align_corners=False)
        fine = [conv(f) for conv, f in zip(self.disp_fine, feats[:2])]
        return self.disp_head(torch.cat(fine + [context], dim=1))

    def _boundary(self, feats: List[Tensor]) -> Tensor:
        size = feats[0].shape[-2:]
        maps = [
            F.interpolate(conv(f), size=size, mode='bilinear',
                          align_corners=False) if f.shape[-2:] != size
            else conv(f) for conv, f in zip(self.boundary_convs, feats)
        ]
        return self.boundary_head(torch.cat(maps, dim=1))

    # ------------------------------------------------------------------
    def loss(self, inputs: Tensor,
             data_samples: Sequence[SegDataSample]) -> Dict[str, Tensor]:
        """IRN affinity loss on the boundary map.

        Each sample carries ``aff_labels`` ``[3, D, h, w]`` (background
        positive, foreground positive, negative pairs) at the boundary
        map's resolution.

        Returns:
            dict: ``loss_aff_bg`` and ``loss_aff_fg`` (each weighted 1/2) and
            ``loss_aff_neg``; with the displacement branch also
            ``loss_disp_fg`` and ``loss_disp_bg`` (each weighted 1/2).
        """
        feats = self._features(inputs)
        boundary = torch.sigmoid(self._boundary(feats))[:, 0]
        labels = torch.stack([s.aff_labels for s in data_samples]).to(
            boundary.device).float()  # [B, 3, D, h, w]
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

        losses = dict(
            loss_aff_bg=0.5 * mean(pos, labels[:, 0]),
            loss_aff_fg=0.5 * mean(pos, labels[:, 1]),
            loss_aff_neg=mean(neg, labels[:, 2]))
        if self.with_displacement:
            # pixel p and q = p + o: D(p) - D(q) should be o (same instance
            # centre) for foreground pairs and 0 for background pairs
            disp = self._displacement(feats)
            pair = pair_differences(disp, self.train_radius)  # [B,2,D,h,w]
            offsets = disp.new_tensor(pair_offsets(self.train_radius)).t()
            fg_err = (pair - offsets[None, :, :, None, None]).abs().sum(1)
            bg_err = pair.abs().sum(1)
            losses['loss_disp_fg'] = 0.5 * mean(fg_err, labels[:, 1])
            losses['loss_disp_bg'] = 0.5 * mean(bg_err, labels[:, 0])
        return losses

    # ------------------------------------------------------------------
    def boundary_map(self, image: Tensor) -> Tensor:
        """Boundary probabilities of one image with its flip, ``[h, w]``."""
        logits = self.boundary_logits(torch.stack([image, image.flip(-1)]))
        return torch.sigmoid((logits[0, 0] + logits[1, 0].flip(-1)) / 2)

    def propagate(self, cams: Tensor, boundary: Tensor) -> Tensor:
        """Random walk of ``[K, H, W]`` seeds over ``boundary`` ``[h, w]``.

        Returns:
            Tensor: ``[K, H, W]`` propagated maps, divided by their maximum.
        """
        cfg = self.test_cfg
        size = cams.shape[-2:]
        small = F.interpolate(cams[None], size=boundary.shape,
                              mode='bilinear', align_corners=False)[0]
        walked = random_walk(small, boundary, cfg['radius'], cfg['beta'],
                             cfg['exp_times'])
        walked = F.interpolate(walked[None], size=size, mode='bilinear',
                               align_corners=False)[0]
        return walked / walked.max().clamp_min(1e-5)

    def _rgb_image(self, image: Tensor, height: int, width: int) -> np.ndarray:
        """Undo the preprocessor's normalisation (its output is RGB)."""
        mean = self.data_preprocessor.mean.to(image.device)
        std = self.data_preprocessor.std.to(image.device)
        rgb = (image * std + mean)[:, :height, :width]
        return rgb.clamp(0, 255).byte().permute(1, 2, 0).cpu().numpy()

    def predict(self, inputs: Tensor,
                data_samples: Sequence[SegDataSample]) -> List[SegDataSample]:
        """Pseudo masks: random walk of each image's seeds, then argmax.

        Each sample needs ``seed_cams`` ``[K, H, W]`` and ``seed_keys``
        ``[K]`` (0-based classes), from the ``LoadSeed`` transform. Returns
        the samples with ``pred_sem_seg`` (``[1, H, W]``, 0 background,
        ``k + 1`` for class k).
        """
        cfg = self.test_cfg
        for image, sample in zip(inputs, data_samples):
            cams = sample.seed_cams.to(image.device).float()
            keys = sample.seed_keys.to(image.device).long()
            height, width = cams.shape[-2:]
            if len(keys):
                walked = self.propagate(cams,
                                        self.boundary_map(image))[:, :height,
                                                                  :width]
                scores = torch.cat(
                    [walked.new_full((1, height, width), cfg['bg_threshold']),
                     walked])
                local = scores.argmax(dim=0)  # 0 bg, i + 1 for keys[i]
                if cfg['crf']:
                    local = torch.from_numpy(crf_from_labels(
                        self._rgb_image(image, height, width),
                        local.cpu().numpy(), n_labels=len(keys) + 1,
                        **cfg['crf_cfg'])).to(image.device)
                lookup = torch.cat([keys.new_zeros(1), keys + 1])
                label = lookup[local]
            else:
                label = torch.zeros((height, width), dtype=torch.long,
                                    device=image.device)
            sample.pred_sem_seg = PixelData(data=label[None])
        return list(data_samples)

    def forward(self,
                inputs: Tensor,
                data_samples: Optional[Sequence[SegDataSample]] = None,
                mode: str = 'tensor'):
        """mmengine entry point: ``'loss'``, ``'predict'`` or ``'tensor'``."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            feats = self._features(inputs)
            if self.with_displacement:
                return self._boundary(feats), self._displacement(feats)
            return self._boundary(feats)
        raise RuntimeError(f'invalid mode {mode!r}: use loss/predict/tensor')
