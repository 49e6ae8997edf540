"""This project's stages against the reference implementation's outputs.

``tests/parity/reference_outputs.py`` runs the reference's own code
on a few small images with random weights drawn from a fixed seed and saves
what each of its steps produced. :func:`parity_table` fills this project's
full-size models with the *same* weights (made in the reference's format
and passed through the checkpoint converters), runs the project's code on
the same images and compares, quantity by quantity:

========================  =====================================================
``cam_cnn`` / ``cam_vit``  multi-scale CAMs (per-class max-normalised), max
                           abs difference relative to the map's peak
``attn``                  summed class-token attention, relative to its peak
``seed_label``            fused-seed labels at 0.25 and at the attention
                          percentile: differing pixels
``ir_label``              IR labels (percentile of the max-normalised
                          attention, the default): differing pixels
``ir_label_raw``          the same with the percentile of the raw attention
                          (``attention_scale='raw'``, the step as released)
``ir_label_fixed``        the same with fixed thresholds (0.15, 0.65): with
                          random weights the attention is flat and neither
                          percentile rule leaves confident foreground
``boundary``              IRN boundary map (image + flip): max abs difference
``seed_grid``             the ViT seeds summed over scales on the stride-4
                          grid (the walk's input), relative to the peak
``walk``                  random walk of the reference's grid seeds over the
                          reference's boundary map, relative to the peak
``walk_end_to_end``       the project's own grid seeds (ViT source, as the
                          reference) walked over its own boundary map
``mask_rule``             the 0.31 rule + final CRF on the reference's walked
                          maps: differing pixels
``mask_end_to_end``       the same from the project's own walk: differing
                          pixels
``alt_walk_upsample_*``   ``walk_upsample='stride'`` (IRN's x4 + crop) on the
                          reference's walk: differing pixels (an option)
``alt_seed_grid_*``       ``seed_grid='from_image'`` (image-size seeds put on
                          the grid) against the reference's grid seeds
``alt_float16_files``     ``mask_end_to_end`` with the seeds and the walk
                          rounded to float16, as the seed and walk files
                          store them: differing pixels
========================  =====================================================
"""
import json
import os.path as osp
from typing import Dict, List, Optional

import numpy as np
import torch
from mmengine.config import Config
from mmseg.registry import MODELS

from mmseg_cobra.evaluation.functional import seeds_to_label
from mmseg_cobra.models.utils import (grid_to_image, random_walk,
                                      reference_mask_rule, seeds_to_grid)
from mmseg_cobra.utils.crf import FINAL_CRF_CFG, crf_from_labels
from mmseg_cobra.utils.ir_label import ir_thresholds, make_ir_label
from mmseg_cobra.utils.reference_checkpoints import (reference_cobra_to_cobra,
                                                     reference_irn_to_irn)
from .reference_weights import random_reference_state

#: the seed of each network's weights is the file's seed plus this offset
#: (the same table as ``tests/parity/reference_outputs.py``)
WEIGHT_SEED_OFFSET = dict(cnn=0, vit=1, irn=2)

#: (row, unit, tolerance): maps compared relative to their peak, label maps
#: in differing pixels; rows with no tolerance document an alternative
PARITY_ROWS = [
    ('cam_cnn', 'max |d| / peak', 1e-4),
    ('cam_vit', 'max |d| / peak', 1e-4),
    ('attn', 'max |d| / peak', 1e-4),
    ('seed_label', 'pixels', 0),
    ('ir_label', 'pixels', 0),
    ('ir_label_raw', 'pixels', 0),
    ('ir_label_fixed', 'pixels', 0),
    ('boundary', 'max |d|', 1e-4),
    ('seed_grid', 'max |d| / peak', 1e-4),
    ('walk', 'max |d| / peak', 1e-4),
    ('walk_end_to_end', 'max |d| / peak', 1e-4),
    ('mask_rule', 'pixels', 0),
    ('mask_end_to_end', 'pixels', 0),
    ('alt_walk_upsample_stride', 'pixels', None),
    ('alt_seed_grid_from_image', 'max |d| / peak', None),
    ('alt_float16_files', 'pixels', None),
]

#: the options that depart from the reference's geometry
#: (``alternative=True``): bilinear tensor pyramid, mmcv's corner padding of
#: the patch embedding, position embedding resized to a size, IRN padded to
#: the output stride only, seeds put on the grid from the image-size maps,
#: walked maps upsampled x4 and cropped, final CRF on RGB
ALTERNATIVE_OPTIONS = dict(
    cobra={
        'model.test_cfg.resize': 'bilinear',
        'model.vit_backbone.patch_cfg': dict(padding='corner'),
        'model.vit_backbone.pos_embed_resize': 'size'
    },
    irn={
        'model.test_cfg.pad_size': None,
        'model.test_cfg.seed_grid': 'from_image',
        'model.test_cfg.walk_upsample': 'stride'
    })


def _relative(ours: np.ndarray, theirs: np.ndarray) -> float:
    if ours.shape != theirs.shape:
        return float('inf')
    peak = max(float(np.abs(theirs).max()), 1e-12)
    return float(np.abs(ours - theirs).max()) / peak


def _pixels(ours: np.ndarray, theirs: np.ndarray) -> int:
    if ours.shape != theirs.shape:
        return int(np.prod(theirs.shape))
    return int((ours != theirs).sum())


def build_models(cobra_config: str,
                 irn_config: str,
                 manifest: dict,
                 seed: int,
                 alternative: bool = False):
    """Full-size CoBra and IRN with the reference's random weights."""
    models = []
    for kind, config in (('cobra', cobra_config), ('irn', irn_config)):
        cfg = Config.fromfile(config)
        if kind == 'cobra':
            cfg.model.cnn_backbone.init_cfg = None
            cfg.model.vit_backbone.init_cfg = None
        else:
            cfg.model.backbone.init_cfg = None
        if alternative:
            cfg.merge_from_dict(ALTERNATIVE_OPTIONS[kind])
        model = MODELS.build(cfg.model)
        if kind == 'cobra':
            state = reference_cobra_to_cobra(
                random_reference_state(manifest['cnn'],
                                       seed + WEIGHT_SEED_OFFSET['cnn']),
                random_reference_state(manifest['vit'],
                                       seed + WEIGHT_SEED_OFFSET['vit']))
        else:
            state = reference_irn_to_irn(
                random_reference_state(manifest['irn'],
                                       seed + WEIGHT_SEED_OFFSET['irn']))
        model.load_state_dict(state, strict=True)
        models.append(model.eval())
    return models


def _normalised(model, image: np.ndarray) -> torch.Tensor:
    """The image as the project's test pipeline gives it to the model
    (BGR uint8 as OpenCV loads it, through the data preprocessor)."""
    bgr = torch.from_numpy(np.ascontiguousarray(image[..., ::-1]))
    data = model.data_preprocessor(dict(inputs=[bgr.permute(2, 0, 1)]), False)
    return data['inputs'][0]


@torch.no_grad()
def compare_image(cobra,
                  irn,
                  ref: Dict[str, np.ndarray],
                  img_id: str,
                  alternative: bool = False) -> Dict[str, float]:
    """Every parity row for one image."""
    image = ref[f'{img_id}/image']
    label = torch.from_numpy(ref[f'{img_id}/label'])
    keys = ref[f'{img_id}/keys']
    rows: Dict[str, float] = {}
    # stage 2: seeds
    x = _normalised(cobra, image)
    summed = cobra.multiscale_cams(x)
    cam_cnn = cobra.normalize_cams(summed['cam_cnn'], label).numpy()
    cam_vit = cobra.normalize_cams(summed['cam_vit'], label).numpy()
    attn = summed['attn_cls2patch'].numpy()
    rows['cam_cnn'] = _relative(cam_cnn, ref[f'{img_id}/cam_cnn'])
    rows['cam_vit'] = _relative(cam_vit, ref[f'{img_id}/cam_vit'])
    rows['attn'] = _relative(attn, ref[f'{img_id}/attn'])
    fuse = cobra.fuse(torch.from_numpy(cam_cnn),
                      torch.from_numpy(cam_vit)).numpy()
    ref_fuse = cobra.fuse(
        torch.from_numpy(ref[f'{img_id}/cam_cnn']),
        torch.from_numpy(ref[f'{img_id}/cam_vit'])).numpy()
    local = np.arange(len(keys))
    rows['seed_label'] = 0
    for threshold in (0.25,
                      ir_thresholds(
                          ref[f'{img_id}/attn'],
                          93,
                          0.5,
                          0.05,
                          attention_scale='max')[0]):
        rows['seed_label'] += _pixels(
            seeds_to_label(fuse, local, threshold),
            seeds_to_label(ref_fuse, local, threshold))
    # stage 3: IR labels, with the percentile of the max-normalised
    # attention (default) and of the raw attention (the step as released)
    for row, scale, fixed in (('ir_label', 'max', None), ('ir_label_raw',
                                                          'raw', None),
                              ('ir_label_fixed', 'max', (0.15, 0.65))):
        bg, fg = ir_thresholds(
            attn, 93, 0.5, 0.05, fixed=fixed, attention_scale=scale)
        rows[row] = _pixels(
            make_ir_label(image, fuse, keys, bg, fg), ref[f'{img_id}/{row}'])
    # stage 3: boundary map, walk, mask rule
    boundary = irn.boundary_map(_normalised(irn, image))
    ref_boundary = torch.from_numpy(ref[f'{img_id}/boundary'])
    rows['boundary'] = float((boundary - ref_boundary).abs().max()) \
        if boundary.shape == ref_boundary.shape else float('inf')
    ref_grid = torch.from_numpy(ref[f'{img_id}/cam_vit_grid'])
    grid_vit = cobra.normalize_cams(summed['cam_vit_grid'], label) \
        if not alternative else seeds_to_grid(torch.from_numpy(cam_vit))
    rows['seed_grid'] = _relative(grid_vit.numpy(), ref_grid.numpy())
    cfg = irn.test_cfg
    walk_args = (cfg['radius'], cfg['beta'], cfg['exp_times'])
    ref_walk_grid = ref[f'{img_id}/walk_grid']
    rows['walk'] = _relative(
        random_walk(ref_grid, ref_boundary, *walk_args).numpy(), ref_walk_grid)
    # the reference walks the ViT seeds (the project's default is M_fuse)
    walked = random_walk(grid_vit, boundary, *walk_args)
    rows['walk_end_to_end'] = _relative(walked.numpy(), ref_walk_grid)
    lookup = np.concatenate([[0], keys + 1])
    crf_cfg = dict(cfg['crf_cfg'] if not alternative else {
        k: v
        for k, v in FINAL_CRF_CFG.items() if k != 'bgr'
    })
    upsample = cfg.get('walk_upsample',
                       'resize') if not alternative else 'stride'

    def final_mask(walk_image: torch.Tensor) -> np.ndarray:
        local = reference_mask_rule(walk_image, cfg['theta']).numpy()
        local = crf_from_labels(
            image, local, n_labels=len(keys) + 1, **crf_cfg)
        return lookup[local]

    ref_mask = ref[f'{img_id}/mask']
    size = image.shape[:2]
    rows['mask_rule'] = _pixels(
        final_mask(torch.from_numpy(ref[f'{img_id}/walk'])), ref_mask)
    rows['mask_end_to_end'] = _pixels(
        final_mask(grid_to_image(walked, size, mode=upsample)), ref_mask)
    # the two documented alternatives, for the record
    rows['alt_walk_upsample_stride'] = _pixels(
        final_mask(
            grid_to_image(
                torch.from_numpy(ref_walk_grid), size, mode='stride')),
        ref_mask)
    # seed and walk files store float16: the pipeline's masks go through it
    walked16 = random_walk(grid_vit.half().float(), boundary, *walk_args)
    walked16 = (walked16 / walked16.max()).half().float()
    rows['alt_float16_files'] = _pixels(
        final_mask(grid_to_image(walked16, size, mode=upsample)), ref_mask)
    from_image = seeds_to_grid(torch.from_numpy(ref[f'{img_id}/cam_vit']))
    rows['alt_seed_grid_from_image'] = _relative(from_image.numpy(),
                                                 ref_grid.numpy())
    return rows


def load_reference_outputs(data_dir: str):
    """``(outputs, manifest, image ids, seed)`` of a parity data folder."""
    path = osp.join(data_dir, 'reference_outputs.npz')
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{path} does not exist: run tools/analysis_tools/'
            'reference_outputs.py --reference-dir <reference checkout>')
    with np.load(path) as npz:
        ref = {k: npz[k] for k in npz.files}
    with open(osp.join(data_dir, 'manifest.json')) as f:
        manifest = json.load(f)
    ids = sorted({k.split('/')[0] for k in ref if '/' in k})
    return ref, manifest, ids, int(ref['seed'])


def parity_table(data_dir: str,
                 cobra_config: str,
                 irn_config: str,
                 alternative: bool = False,
                 ids: Optional[List[str]] = None) -> Dict[str, float]:
    """The worst value of every parity row over the images.

    Args:
        data_dir (str): Folder with ``reference_outputs.npz`` and
            ``manifest.json``.
        cobra_config (str): The CoBra config whose model is compared.
        irn_config (str): The IRN config whose model is compared.
        alternative (bool): Apply :data:`ALTERNATIVE_OPTIONS` (the options
            that depart from the reference's geometry).
        ids (list[str], optional): Images (default: all).

    Returns:
        dict: row -> worst value (see :data:`PARITY_ROWS`).
    """
    ref, manifest, all_ids, seed = load_reference_outputs(data_dir)
    cobra, irn = build_models(cobra_config, irn_config, manifest, seed,
                              alternative)
    worst: Dict[str, float] = {}
    for img_id in ids or all_ids:
        for key, value in compare_image(cobra, irn, ref, img_id,
                                        alternative).items():
            worst[key] = max(worst.get(key, 0), value)
    return worst
