"""Test-time dense CRF on top of any mmseg segmentor (or its TTA model)."""
from typing import List, Optional

import mmcv
import torch
from mmengine.model import BaseTTAModel
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample
from torch import Tensor

from ...ops.crf import crf_from_probs


@MODELS.register_module()
class DenseCRFPostProcessor(BaseTTAModel):
    """Refine a segmentor's class probabilities with a dense CRF at test time.

    ``module`` is an mmseg segmentor, or a TTA model config
    (``dict(type='SegTTAModel', module=segmentor)``): then the CRF runs on
    the probabilities averaged over the augmentations, as mmseg averages
    them. The image is read from ``img_path`` at its original size, in RGB.
    It is a ``BaseTTAModel`` so that mmengine loads a segmentor checkpoint
    into it unchanged; only testing/validation is supported.

    Args:
        module (dict): The segmentor or the TTA model wrapping it.
        crf_cfg (dict, optional): :func:`mmseg_cobra.ops.crf.crf_from_probs`
            arguments (iterations, gaussian/bilateral sxy, srgb, compat).
        data_preprocessor (dict, optional): Unused (the segmentor has its
            own); accepted because the Runner passes it.
    """

    def __init__(self,
                 module: dict,
                 crf_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None) -> None:
        module = MODELS.build(module) if isinstance(module, dict) else module
        # keep the segmentor itself as ``module`` (checkpoint keys unchanged);
        # test-time augmentation is then driven by BaseTTAModel.test_step
        self.tta = isinstance(module, BaseTTAModel)
        super().__init__(
            module=module.module if self.tta else module,
            data_preprocessor=data_preprocessor)
        self.crf_cfg = dict(crf_cfg or {})

    def _refine(self, sample: SegDataSample, probs: Tensor) -> SegDataSample:
        image = mmcv.imread(sample.img_path, channel_order='rgb')
        refined = crf_from_probs(image,
                                 probs.float().cpu().numpy(), **self.crf_cfg)
        label = torch.from_numpy(refined.argmax(axis=0)).to(probs.device)
        sample.pred_sem_seg = PixelData(data=label[None])
        sample.seg_logits = PixelData(data=torch.from_numpy(refined))
        return sample

    def merge_preds(
            self, data_samples_list: List[List[SegDataSample]]
    ) -> List[SegDataSample]:
        """Average the augmentations' probabilities, then run the CRF."""
        merged = []
        for samples in data_samples_list:
            probs = torch.stack(
                [s.seg_logits.data.softmax(dim=0) for s in samples]).mean(0)
            merged.append(self._refine(samples[0], probs))
        return merged

    def test_step(self, data) -> List[SegDataSample]:
        if self.tta:
            return super().test_step(data)
        return [
            self._refine(s, s.seg_logits.data.softmax(dim=0))
            for s in self.module.test_step(data)
        ]
