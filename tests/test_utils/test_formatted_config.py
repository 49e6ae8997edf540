"""FormattedOnceConfig: Config's own text, formatted once per content, and
a runner built by the tools formats its config once."""
import copy
from argparse import Namespace

import pytest
import torch
from mmengine.config import Config
from mmengine.model import BaseModel
from mmseg.registry import MODELS

from mmseg_cobra.cli.runner_setup import build_checked_runner
from mmseg_cobra.utils.formatted_config import FormattedOnceConfig


@pytest.fixture
def format_calls(monkeypatch):
    """How often mmengine's Config calls yapf."""
    import mmengine.config.config as config_module
    calls = []
    real = config_module.FormatCode

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(config_module, 'FormatCode', counted)
    return calls


def _cfg():
    return Config(
        dict(
            model=dict(type='Net', depth=101, crop=(512, 512)),
            classes=tuple(f'class{i}' for i in range(81)),
            palette=[[i, i, i] for i in range(81)]))


def test_text_is_configs_and_formatted_once_per_content(format_calls):
    plain = _cfg()
    expected = plain.pretty_text
    format_calls.clear()
    cfg = FormattedOnceConfig.of(_cfg())
    assert cfg.pretty_text == expected and cfg.pretty_text == expected
    assert len(format_calls) == 1
    copied = copy.deepcopy(cfg)  # as a Runner keeps its config
    assert type(copied) is FormattedOnceConfig
    assert copied.pretty_text == expected and len(format_calls) == 1
    copied.model.depth = 50  # a changed value is formatted anew
    assert 'depth=50' in copied.pretty_text and len(format_calls) == 2
    assert copied.pretty_text == Config(copied.to_dict()).pretty_text
    assert cfg.pretty_text == expected and len(format_calls) == 3
    assert '_formatted_text' not in cfg and 'formatted_text' not in str(
        cfg.to_dict())
    assert FormattedOnceConfig.of(cfg) is cfg


@MODELS.register_module(name='FormattedOnceToyModel', force=True)
class _ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return self.linear(inputs)


def test_runner_of_the_tools_formats_its_config_once(tmp_path, format_calls):
    """mmengine's Runner asks for the text in its log, its config dump and
    the visualizer's copy, then RuntimeInfoHook before the run: one yapf
    pass for all, the dumped config the same as Config's."""
    cfg = Config(
        dict(
            model=dict(type='FormattedOnceToyModel'),
            default_scope='mmseg',  # as the project's configs
            work_dir=str(tmp_path / 'work'),
            launcher='none',
            env_cfg=dict(dist_cfg=dict(backend='gloo')),
            classes=tuple(f'class{i}' for i in range(81))))
    expected = Config(cfg.to_dict()).pretty_text
    format_calls.clear()
    args = Namespace(
        launcher='none',
        no_dataset_check=True,
        skip_bad_images=False,
        no_check_cache=False)
    runner = build_checked_runner(cfg, args, [])
    runner.call_hook('before_run')
    assert len(format_calls) == 1
    assert runner.message_hub.get_info('cfg') == expected
    dumped = tmp_path / 'work' / runner.timestamp / 'vis_data' / 'config.py'
    assert dumped.read_text() == expected
