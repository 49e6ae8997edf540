"""A visualizer for CoBra's outputs: the CAM panel of one image."""
from typing import List, Optional, Sequence

import cv2
import numpy as np
from mmengine.visualization import Visualizer
from mmseg.registry import VISUALIZERS

from ..utils.file_io import palette_table, save_image


def palette_image(label: np.ndarray, palette: Sequence) -> np.ndarray:
    """A label map ``[H, W]`` in a palette (``[[R, G, B], ...]``).

    Returns:
        np.ndarray: uint8 ``[H, W, 3]``.
    """
    table = np.asarray(palette_table(palette), np.uint8).reshape(256, 3)
    return table[np.asarray(label, np.uint8)]


def heat_overlay(image: np.ndarray, cams: np.ndarray) -> np.ndarray:
    """The strongest class map per pixel as a jet heat map over the image.

    Args:
        image (np.ndarray): RGB uint8 ``[H, W, 3]``.
        cams (np.ndarray): ``[K, H, W]`` in ``[0, 1]`` (K may be 0).
    """
    peak = cams.max(axis=0) if len(cams) else np.zeros(image.shape[:2])
    colour = cv2.applyColorMap((np.clip(peak, 0, 1) * 255).astype(np.uint8),
                               cv2.COLORMAP_JET)[..., ::-1]
    return (0.5 * image + 0.5 * colour).astype(np.uint8)


@VISUALIZERS.register_module()
class CAMVisualizer(Visualizer):
    """Draw one image's CAM panel: image | CNN CAM | ViT CAM | fused CAM |
    seed [| pseudo mask] [| ground truth], titled, with the image-level
    classes (names from ``dataset_meta``) written on the image.

    The sample is a ``SegDataSample`` as ``CoBra.predict`` (and
    :class:`~mmseg_cobra.apis.CoBraInferencer`) fill it: ``cam_cnn``,
    ``cam_vit``, ``cam_fuse`` (``[K, H, W]``), ``cam_keys``, optionally
    ``seed_mask`` and ``pred_sem_seg`` (``[1, H, W]`` label maps) and
    ``gt_sem_seg``.

    Args:
        name (str): The instance name (mmengine's visualizer registry).
        save_dir (str, optional): Where ``add_image`` writes through the
            vis backends.
        **kwargs: mmengine ``Visualizer`` arguments (``vis_backends``...).
    """

    def __init__(self,
                 name: str = 'cam_visualizer',
                 save_dir: Optional[str] = None,
                 **kwargs) -> None:
        super().__init__(name=name, save_dir=save_dir, **kwargs)

    def _palette(self) -> List:
        meta = self.dataset_meta or {}
        palette = meta.get('palette')
        if palette:
            return list(palette)
        rng = np.random.default_rng(0)  # a fixed palette for any count
        return [[0, 0, 0]] + rng.integers(0, 255, (254, 3)).tolist()

    def panel(self, image: np.ndarray, data_sample) -> np.ndarray:
        """The panel of one image (RGB uint8)."""

        def field(name):
            value = data_sample.get(name)
            if value is None:
                return None
            data = value.data if hasattr(value, 'data') else value
            return data.detach().cpu().numpy() if hasattr(data,
                                                          'detach') else data

        palette = self._palette()
        tiles = [(image, 'image')]
        for name, title in (('cam_cnn', 'CNN CAM'), ('cam_vit', 'ViT CAM'),
                            ('cam_fuse', 'fused CAM')):
            cams = field(name)
            if cams is not None:
                tiles.append((heat_overlay(image, cams), title))
        for name, title in (('seed_mask', 'seed'),
                            ('pred_sem_seg', 'pseudo mask'), ('gt_sem_seg',
                                                              'ground truth')):
            label = field(name)
            if label is not None:
                tiles.append((palette_image(label[0], palette), title))
        out = []
        for tile, title in tiles:
            tile = np.array(tile)  # writable copy
            cv2.putText(tile, title, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                        (255, 255, 255), 1, cv2.LINE_AA)
            out.append(tile)
        strip = np.concatenate(out, axis=1)
        return self._caption(strip, field('cam_keys'))

    def _caption(self, strip: np.ndarray, keys) -> np.ndarray:
        classes = (self.dataset_meta or {}).get('classes')
        keys = [] if keys is None else [int(k) for k in np.ravel(keys)]
        names = [
            classes[k + 1] if classes and k + 1 < len(classes) else str(k)
            for k in keys
        ]
        bar = np.full((22, strip.shape[1], 3), 255, np.uint8)
        text = 'classes: ' + (', '.join(names) if names else '(none)')
        cv2.putText(bar, text[:160], (4, 15), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    (0, 0, 0), 1, cv2.LINE_AA)
        return np.concatenate([bar, strip], axis=0)

    def add_datasample(self,
                       name: str,
                       image: np.ndarray,
                       data_sample=None,
                       draw_gt: bool = True,
                       draw_pred: bool = True,
                       show: bool = False,
                       wait_time: float = 0,
                       out_file: Optional[str] = None,
                       step: int = 0) -> np.ndarray:
        """Draw the panel; show it, write it to ``out_file`` or add it to
        the vis backends (as mmseg's ``SegLocalVisualizer`` does).

        Args:
            name (str): The image's name.
            image (np.ndarray): RGB uint8 ``[H, W, 3]``.
            data_sample (SegDataSample): CoBra's outputs for the image.
            draw_gt (bool): Draw ``gt_sem_seg`` if the sample has it.
            draw_pred (bool): Kept for mmseg's interface (the panel is the
                prediction).
            show (bool): Show the panel in a window.
            wait_time (float): Seconds to show it.
            out_file (str, optional): Write the panel here.
            step (int): The global step, for the vis backends.

        Returns:
            np.ndarray: The panel, RGB uint8.
        """
        if not draw_gt and data_sample is not None \
                and 'gt_sem_seg' in data_sample:
            data_sample = data_sample.clone()
            del data_sample.gt_sem_seg
        drawn = self.panel(image, data_sample)
        self.set_image(drawn)
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            save_image(drawn, out_file)
        else:
            self.add_image(name, drawn, step)
        return drawn
