"""The pipeline's per-stage options, as its tools' --cfg-options read them."""
import argparse

import pytest
from mmengine.config import DictAction

from mmseg_cobra.pipeline.config import cfg_options_args


def test_options_survive_the_command_line():
    """Lists stay lists and tuples stay tuples (``RandomResize(scale=)``
    and ``RandomCrop(crop_size=)`` refuse a list), nested ones too."""
    options = {
        'model': {
            'data_preprocessor': {
                'size': (128, 128)
            }
        },
        'pipeline.2.scale': (256, 128),
        'scales': [0.5, 1.0],
        'pairs': [(1, 2), (3, 4)],
        'one': (5, ),
        'lr': 0.01,
        'name': 'abc',
    }
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    parsed = parser.parse_args(['--cfg-options'] +
                               cfg_options_args(options)).cfg_options
    assert parsed == {
        'model.data_preprocessor.size': (128, 128),
        'pipeline.2.scale': (256, 128),
        'scales': [0.5, 1.0],
        'pairs': [(1, 2), (3, 4)],
        'one': (5, ),
        'lr': 0.01,
        'name': 'abc',
    }


def test_misspelt_pipeline_keys_are_refused():
    """A pipeline key nothing reads would be silently ignored."""
    from mmengine.config import Config

    from mmseg_cobra.pipeline.config import (PipelineConfigError,
                                             check_pipeline_keys)
    cfg = Config(dict(cobra_config='c.py', cfg_options=dict(seg={})))
    check_pipeline_keys(cfg, {}, 'p.py')
    cfg.merge_from_dict({'cfg_option.seg.x': 1})
    with pytest.raises(PipelineConfigError) as err:
        check_pipeline_keys(cfg, {'cfg_option.seg.x': 1}, 'p.py')
    assert 'cfg_option (in --cfg-options) is not a key' in str(err.value)
    assert 'Did you mean cfg_options?' in str(err.value)
    cfg = Config(dict(cfg_options=dict(segg={}), total_batch_size=dict()))
    with pytest.raises(
            PipelineConfigError,
            match='cfg_options.segg \\(in p.py\\).*Did you mean '
            'cfg_options.seg\\?'):
        check_pipeline_keys(cfg, {}, 'p.py')
    cfg = Config(dict(total_batch_size=dict(seeds=8)))
    with pytest.raises(PipelineConfigError, match='total_batch_size.seeds'):
        check_pipeline_keys(cfg, {}, 'p.py')
