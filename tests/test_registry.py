"""Importing mmseg_cobra registers its components in mmseg's registries."""
from mmseg.registry import (DATASETS, HOOKS, LOOPS, METRICS, MODEL_WRAPPERS,
                            MODELS, TRANSFORMS)

import mmseg_cobra  # noqa: F401


def test_components_are_registered():
    for name in ('CoBra', 'ViTWithAttention', 'ResNetWithStem',
                 'MultiLabelSoftMarginLoss', 'CAMConsistencyLoss', 'SAPLoss',
                 'CAPLoss', 'IRNBoundary', 'DenseCRFPostProcessor'):
        assert MODELS.get(name) is not None, name
    for name in ('VOCClsDataset', 'COCOClsDataset', 'ImageLevelSegDataset'):
        assert DATASETS.get(name) is not None, name
    for name in ('PackWSSSInputs', 'RandomLongSideResize', 'RandomRescale',
                 'RandomCropPad', 'AffinityLabels', 'LoadSeed'):
        assert TRANSFORMS.get(name) is not None, name
    for name in ('ComplementaryLossSwitchHook', 'SeedWriterHook',
                 'MaskWriterHook', 'WalkWriterHook', 'GuideQualityHook',
                 'RandomStateHook', 'FaultInjectionHook'):
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
