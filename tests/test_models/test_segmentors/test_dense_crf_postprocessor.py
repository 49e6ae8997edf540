import numpy as np
import torch
import torch.nn as nn
from mmengine.model import BaseTTAModel
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from PIL import Image

from mmseg_cobra.models import DenseCRFPostProcessor


class BlurrySegmentor(nn.Module):
    """Predicts class 1 on the left 26 columns, softly (edge is at 20)."""

    def __init__(self, img_path):
        super().__init__()
        self.img_path = img_path
        self.weight = nn.Parameter(torch.zeros(1))

    def test_step(self, data):
        out = []
        for _ in data['inputs']:
            x = torch.arange(40, dtype=torch.float32)
            fg = ((36 - x) / 20).clamp(0.05, 0.95)[None].expand(40, 40)
            logits = torch.stack([torch.log(1 - fg), torch.log(fg)])
            sample = SegDataSample(metainfo=dict(img_path=self.img_path))
            sample.seg_logits = PixelData(data=logits)
            out.append(sample)
        return out


class FakeTTA(BaseTTAModel):

    def merge_preds(self, data_samples_list):
        raise AssertionError('DenseCRFPostProcessor merges itself')


def _image(tmp_path):
    image = np.zeros((40, 40, 3), np.uint8)
    image[:, :20] = (200, 40, 40)
    image[:, 20:] = (30, 30, 160)
    path = str(tmp_path / 'img.png')
    Image.fromarray(image).save(path)
    return path


def test_crf_moves_the_boundary_to_the_image_edge(tmp_path):
    path = _image(tmp_path)
    truth = np.zeros((40, 40), np.int64)
    truth[:, :20] = 1
    segmentor = BlurrySegmentor(path)
    plain = segmentor.test_step(dict(inputs=[0]))[0]
    before = (plain.seg_logits.data.argmax(0).numpy() != truth).sum()
    refined = DenseCRFPostProcessor(segmentor).test_step(dict(inputs=[0]))[0]
    after = (refined.pred_sem_seg.data[0].numpy() != truth).sum()
    assert before == 6 * 40 and after < before / 3


def test_tta_probabilities_are_averaged_before_the_crf(tmp_path):
    path = _image(tmp_path)
    segmentor = BlurrySegmentor(path)
    model = DenseCRFPostProcessor(FakeTTA(module=segmentor))
    assert model.tta and model.module is segmentor
    # two augmentations of a batch of one image
    out = model.test_step(
        dict(inputs=[[0], [0]], data_samples=[[None], [None]]))
    assert len(out) == 1 and out[0].pred_sem_seg.data.shape == (1, 40, 40)
    # a segmentor checkpoint loads into the wrapper unchanged
    from mmengine.runner.checkpoint import load_state_dict
    load_state_dict(model, {'weight': torch.ones(1)}, strict=True)
    assert segmentor.weight.item() == 1.0
