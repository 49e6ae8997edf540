"""Importing mmseg_cobra registers its components in mmseg's registries."""
from mmseg.registry import (DATASETS, HOOKS, LOOPS, METRICS, MODEL_WRAPPERS,
                            MODELS, TRANSFORMS)

import mmseg_cobra  # noqa: F401


def test_components_are_registered():
    for name in ('CoBra', 'mmseg_cobra.ViTWithAttention',
                 'mmseg_cobra.ResNetWithStem', 'MultiLabelSoftMarginLoss',
                 'CAMConsistencyLoss', 'SAPLoss', 'CAPLoss', 'IRNBoundary',
                 'DenseCRFPostProcessor'):
        assert MODELS.get(name) is not None, name
    for name in ('VOCClsDataset', 'COCOClsDataset', 'ImageLevelSegDataset'):
        assert DATASETS.get(name) is not None, name
    for name in ('PackWSSSInputs', 'RandomLongSideResize', 'RandomRescale',
                 'RandomCropPad', 'AffinityLabels', 'LoadSeed'):
        assert TRANSFORMS.get(name) is not None, name
    for name in ('ComplementaryLossSwitchHook', 'SeedWriterHook',
                 'MaskWriterHook', 'WalkWriterHook', 'GuideQualityHook',
                 'RandomStateHook'):
        assert HOOKS.get(name) is not None, name
    assert METRICS.get('SeedMetric') is not None
    assert LOOPS.get('ResumableTestLoop') is not None
    # the Runner looks wrappers up in mmengine's root registry
    from mmengine.registry import MODEL_WRAPPERS as ROOT_WRAPPERS
    assert ROOT_WRAPPERS.get('DeviceAwareDistributedDataParallel') is not None
    assert MODEL_WRAPPERS.get('DeviceAwareDistributedDataParallel') is not None


def test_every_shipped_config_imports_the_plugin():
    import glob
    import os.path as osp

    from mmengine.config import Config
    repo = osp.dirname(osp.dirname(osp.abspath(__file__)))
    configs = [
        p
        for p in glob.glob(osp.join(repo, 'configs/**/*.py'), recursive=True)
        if '_base_' not in p
    ]
    assert configs
    for path in configs:
        cfg = Config.fromfile(path)
        assert cfg.custom_imports == dict(
            imports=['mmseg_cobra'], allow_failed_imports=False), path


def test_mmpretrain_backbones_are_imported_on_first_use():
    """`import mmseg_cobra` leaves mmpretrain (torchvision, torch._dynamo)
    out; the backbones come with the scoped type, with CoBra / IRN, or
    with an import from mmseg_cobra.models."""
    import sys

    from conftest import run_tool

    def fresh(code):
        out = run_tool([sys.executable, '-c', code])
        assert out.returncode == 0, out.stderr[-2000:]
        return out.stdout.split()

    check = ("import sys; print('mmpretrain.models' in sys.modules, "
             "'torchvision' in sys.modules)")
    assert fresh('import mmseg_cobra; ' + check) == ['False', 'False']
    # a scoped type imports the backbones module through the child registry
    assert fresh(
        'import mmseg_cobra; from mmseg.registry import MODELS; '
        "print(MODELS.get('mmseg_cobra.ResNetWithStem').__name__)") == [
            'ResNetWithStem'
        ]
    from mmseg_cobra.models import ResNetWithStem, ViTWithAttention
    from mmseg_cobra.models.backbones import resnet_with_stem
    assert ResNetWithStem is resnet_with_stem.ResNetWithStem
    assert MODELS.get('ViTWithAttention') is ViTWithAttention
