from abc import abstractmethod
from typing import Dict, List, Optional, Sequence, Union

from mmengine.model import BaseModel
from mmseg.structures import SegDataSample
from torch import Tensor


class BaseWSSSModel(BaseModel):
    """Base of the plugin's models (``CoBra``, ``IRNBoundary``): mmengine's
    ``forward`` mode dispatch, written once, as mmseg's ``BaseSegmentor``.

    Subclasses implement :meth:`loss`, :meth:`predict` and :meth:`_forward`.
    """

    def forward(
        self,
        inputs: Tensor,
        data_samples: Optional[Sequence[SegDataSample]] = None,
        mode: str = 'tensor'
    ) -> Union[Dict[str, Tensor], List[SegDataSample], object]:
        """mmengine entry point.

        Args:
            inputs (Tensor): ``[B, 3, H, W]`` normalised images.
            data_samples (list[SegDataSample], optional): Labels
                (``'loss'``) or meta information (``'predict'``).
            mode (str): ``'loss'`` (dict of losses), ``'predict'`` (the data
                samples with predictions) or ``'tensor'`` (raw outputs).
        """
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self._forward(inputs, data_samples)
        raise RuntimeError(f'invalid mode {mode!r}: use loss/predict/tensor')

    @abstractmethod
    def loss(self, inputs: Tensor,
             data_samples: Sequence[SegDataSample]) -> Dict[str, Tensor]:
        """Losses of a batch."""

    @abstractmethod
    def predict(
        self,
        inputs: Tensor,
        data_samples: Optional[Sequence[SegDataSample]] = None
    ) -> List[SegDataSample]:
        """Predictions of a batch, in its data samples."""

    @abstractmethod
    def _forward(self,
                 inputs: Tensor,
                 data_samples: Optional[Sequence[SegDataSample]] = None):
        """Raw network outputs (no post-processing)."""
