"""The pipeline's per-stage options, as its tools' --cfg-options read them."""
import argparse

from mmengine.config import DictAction

from mmseg_cobra.apis.pipeline_config import cfg_options_args


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
