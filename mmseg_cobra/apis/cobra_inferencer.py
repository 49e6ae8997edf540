"""CoBra on images: CAMs, seed and pseudo mask of any image, in a few lines.

    from mmseg_cobra.apis import CoBraInferencer
    inferencer = CoBraInferencer(
        'configs/cobra/cobra_r152_deits_voc.py',
        'work_dirs/cobra/epoch_20.pth',
        irn_model='configs/irn/irn_r152_cobra_voc.py',
        irn_weights='work_dirs/irn/epoch_4.pth')
    result = inferencer('demo.jpg', out_dir='outputs')
    result['predictions'][0]['seed_mask']   # uint8 [H, W]

mmengine's ``BaseInferencer``, as mmseg's ``MMSegInferencer``: config and
checkpoint in, images (paths, arrays, a folder) in, per image the CAMs of
both branches and their fusion (at the scales of the config's
``test_cfg``), the ViT's class-to-patch attention, the image-level classes,
the seed mask and, given an IRN model, the pseudo mask (random walk and
mask rule, as stage 3 makes it). Images carry no labels here: the classes
are those the two classifiers score above ``score_thr`` (or the ones
given as ``labels``).
"""
import copy
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.infer import BaseInferencer
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from mmseg.registry import VISUALIZERS

from ..datasets.dataset_tools import dataset_metainfo
from ..ops.seed_labels import seeds_to_label
from ..utils.file_io import save_label_png


class CoBraInferencer(BaseInferencer):
    """Run a trained CoBra classifier (and optionally IRN) on images.

    Args:
        model (str | Config): The CoBra config.
        weights (str, optional): Its checkpoint.
        device (str, optional): ``cuda``, ``cpu``...; default: a GPU if
            torch sees one.
        irn_model (str | Config, optional): An IRN config: with it, each
            image also gets its pseudo mask.
        irn_weights (str, optional): The IRN checkpoint.
        scope (str): The registry scope (``mmseg``).
        show_progress (bool): A progress bar over the images.
    """

    forward_kwargs = {'labels', 'score_thr', 'seed_threshold'}
    visualize_kwargs = {'show', 'wait_time', 'out_dir', 'draw_gt'}
    postprocess_kwargs = {'pred_out_dir'}

    def __init__(self,
                 model: Union[str, Config],
                 weights: Optional[str] = None,
                 device: Optional[str] = None,
                 irn_model: Union[str, Config, None] = None,
                 irn_weights: Optional[str] = None,
                 scope: str = 'mmseg',
                 show_progress: bool = False) -> None:
        import mmseg_cobra  # noqa: F401  (registers the components)
        init_default_scope(scope)
        self._checkpoint_meta: Dict = {}
        super().__init__(model, weights, device, scope, show_progress)
        self.irn = None
        if irn_model is not None:
            irn_cfg = irn_model if isinstance(irn_model, Config) else \
                Config.fromfile(irn_model)
            self.irn = self._init_model(irn_cfg, irn_weights,
                                        next(self.model.parameters()).device)
        self.dataset_meta = self._dataset_meta(self.cfg)
        self.visualizer.dataset_meta = self.dataset_meta

    # ------------------------------------------------------------ set-up
    def _load_weights_to_model(self, model, checkpoint, cfg) -> None:
        if checkpoint is not None:
            meta = checkpoint.get('meta') or {}
            self._checkpoint_meta = dict(meta.get('dataset_meta') or {})
        super()._load_weights_to_model(model, checkpoint, cfg)

    def _dataset_meta(self, cfg: Config) -> dict:
        """Classes and palette: the checkpoint's, else the test dataset's
        (its ``metainfo``, else its type's ``METAINFO``)."""
        meta = dict(self._checkpoint_meta)
        dataset = dataset_metainfo(cfg.test_dataloader.dataset)
        for key in ('classes', 'palette'):
            if not meta.get(key):
                meta[key] = dataset.get(key)
        if not meta.get('classes'):
            num_fg = cfg.model.get('num_classes', 0)
            meta['classes'] = ['background'] + \
                [f'class{k}' for k in range(num_fg)]
        return meta

    def _init_pipeline(self, cfg: Config) -> Compose:
        """The test pipeline without its annotations, loading paths or
        arrays (mmseg's ``InferencerLoader``)."""
        pipeline = copy.deepcopy(list(cfg.test_dataloader.dataset.pipeline))
        pipeline = [
            t for t in pipeline
            if t['type'] not in ('LoadAnnotations', 'LoadSeed')
        ]
        for t in pipeline:
            if t['type'] == 'LoadImageFromFile':
                t['type'] = 'InferencerLoader'
        return Compose(pipeline)

    def _init_visualizer(self, cfg: Config):
        name = f'cobra_inferencer_{id(self)}'
        return VISUALIZERS.build(dict(type='CAMVisualizer', name=name))

    def preprocess(self, inputs, batch_size: int = 1, **kwargs):
        """Paths as paths, arrays as ``img`` (mmseg's InferencerLoader)."""
        inputs = [
            dict(img=x) if isinstance(x, np.ndarray) else dict(img_path=x)
            for x in inputs
        ]
        yield from super().preprocess(inputs, batch_size, **kwargs)

    # ------------------------------------------------------------ forward
    def _image_labels(self, image: torch.Tensor,
                      labels: Optional[Sequence[Union[int, str]]],
                      score_thr: float) -> (torch.Tensor, torch.Tensor):
        """Multi-hot foreground labels ``[C]`` and the class scores: the
        mean of both branches' sigmoid scores (global average of the CAM
        logits, as trained)."""
        out = self.model.extract(image[None])
        scores = (out['cam_cnn'][0, 1:].mean(dim=(1, 2)).sigmoid() +
                  out['cam_vit'][0, 1:].mean(dim=(1, 2)).sigmoid()) / 2
        multi_hot = torch.zeros_like(scores)
        if labels is not None:
            classes = list(self.dataset_meta['classes'])
            for label in labels:
                k = (classes.index(label) - 1 if label in classes else -1) \
                    if isinstance(label, str) else int(label)
                if not 0 <= k < len(scores):
                    raise ValueError(
                        f'label {label!r} is not a foreground class of '
                        f'{classes[1:]}')
                multi_hot[k] = 1
        else:
            multi_hot[scores > score_thr] = 1
            if not multi_hot.any():  # every image shows some class
                multi_hot[scores.argmax()] = 1
        return multi_hot, scores

    @torch.no_grad()
    def forward(self,
                inputs: dict,
                labels: Optional[Sequence[Union[int, str]]] = None,
                score_thr: float = 0.5,
                seed_threshold: float = 0.25) -> list:
        """CAMs, classes and seed of a batch (and pseudo masks with IRN).

        Args:
            inputs (dict): A collated batch (``inputs``, ``data_samples``).
            labels (Sequence, optional): The image-level classes (names or
                0-based foreground indices) instead of the predicted ones.
            score_thr (float): Class score above which a class is taken.
            seed_threshold (float): Background score of the seed mask.

        Returns:
            list[SegDataSample]: ``cam_cnn``, ``cam_vit``, ``cam_fuse``
            (``[K, H, W]``), ``attn_cls2patch``, ``cam_keys``,
            ``class_scores`` (``[C]``), ``seed_mask`` (``[1, H, W]``) and,
            with IRN, ``pred_sem_seg`` (the pseudo mask).
        """
        raw = copy.deepcopy(inputs) if self.irn is not None else None
        data = self.model.data_preprocessor(inputs, False)
        images, samples = data['inputs'], data['data_samples']
        for image, sample in zip(images, samples):
            sample.gt_label, sample.class_scores = self._image_labels(
                image, labels, score_thr)
        samples = self.model.predict(images, samples)
        for sample in samples:
            seed = seeds_to_label(sample.cam_fuse.data.cpu().numpy(),
                                  sample.cam_keys.cpu().numpy(),
                                  seed_threshold)
            sample.seed_mask = PixelData(data=torch.from_numpy(seed)[None])
        if self.irn is not None:
            samples = self._pseudo_masks(raw, samples)
        return samples

    def _pseudo_masks(self, raw: dict, samples: list) -> list:
        """Stage 3 on the fused CAMs: IRN's boundary map, the walk, the
        IRN config's mask rule."""
        irn_data = self.irn.data_preprocessor(raw, False)
        for irn_sample, sample in zip(irn_data['data_samples'], samples):
            irn_sample.seed_cams = sample.cam_fuse.data
            irn_sample.seed_cams_grid = sample.cam_fuse_grid.data
            irn_sample.seed_keys = sample.cam_keys
        masked = self.irn.predict(irn_data['inputs'], irn_data['data_samples'])
        for irn_sample, sample in zip(masked, samples):
            sample.pred_sem_seg = irn_sample.pred_sem_seg
        return samples

    # ------------------------------------------------------------ output
    def visualize(self,
                  inputs: list,
                  preds: list,
                  show: bool = False,
                  wait_time: float = 0,
                  out_dir: str = '',
                  draw_gt: bool = False) -> Optional[List[np.ndarray]]:
        """The CAM panel of each image (:class:`CAMVisualizer`), shown or
        written to ``out_dir/<name>.png``; None when neither is asked."""
        if not show and not out_dir:
            return None
        from ..utils.image_io import read_image
        panels = []
        for i, (source, pred) in enumerate(zip(inputs, preds)):
            if isinstance(source, np.ndarray):
                image, name = source[..., ::-1].copy(), f'{i:05d}'
            else:  # a path: read as the pipeline did (RGB for the panel)
                image = read_image(source)
                name = osp.splitext(osp.basename(source))[0]
            out_file = osp.join(out_dir, name + '.png') if out_dir else None
            panels.append(
                self.visualizer.add_datasample(
                    name,
                    image,
                    pred,
                    draw_gt=draw_gt,
                    show=show,
                    wait_time=wait_time,
                    out_file=out_file))
        return panels

    def postprocess(self,
                    preds: list,
                    visualization: Optional[List[np.ndarray]] = None,
                    return_datasamples: bool = False,
                    pred_out_dir: str = '') -> dict:
        """Numpy results per image (or the data samples), and with
        ``pred_out_dir`` the seed masks (``<name>_seed.png``) and pseudo
        masks (``<name>_mask.png``) as palette PNGs."""
        if pred_out_dir:
            os.makedirs(pred_out_dir, exist_ok=True)
            palette = self.dataset_meta['palette'] or [[0, 0, 0]]
            for i, pred in enumerate(preds):
                name = osp.splitext(
                    osp.basename(pred.metainfo.get('img_path')
                                 or f'{i:05d}'))[0]
                save_label_png(pred.seed_mask.data[0].numpy(),
                               osp.join(pred_out_dir, name + '_seed.png'),
                               palette)
                if 'pred_sem_seg' in pred:
                    save_label_png(
                        pred.pred_sem_seg.data[0].cpu().numpy().astype(
                            np.uint8),
                        osp.join(pred_out_dir, name + '_mask.png'), palette)
        if return_datasamples:
            return dict(predictions=preds, visualization=visualization)
        classes = self.dataset_meta['classes']
        results = []
        for pred in preds:
            keys = pred.cam_keys.cpu().numpy()
            result = dict(
                classes=[classes[k + 1] for k in keys],
                class_scores=pred.class_scores.cpu().numpy(),
                cam_cnn=pred.cam_cnn.data.cpu().numpy(),
                cam_vit=pred.cam_vit.data.cpu().numpy(),
                cam_fuse=pred.cam_fuse.data.cpu().numpy(),
                attention=pred.attn_cls2patch.data[0].cpu().numpy(),
                seed_mask=pred.seed_mask.data[0].cpu().numpy())
            if 'pred_sem_seg' in pred:
                result['pseudo_mask'] = pred.pred_sem_seg.data[0].cpu().numpy(
                ).astype(np.uint8)
            results.append(result)
        return dict(predictions=results, visualization=visualization)
