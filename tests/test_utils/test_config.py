"""Hook options addressed by the hook's type (custom_hooks.<Type>.<key>)."""
import os.path as osp

import pytest
from conftest import REPO

from mmseg_cobra.utils.config import ConfigError, load_config

COBRA = osp.join(REPO, 'configs/cobra/cobra_r152_deits_voc.py')


def _hook(cfg, hook_type):
    return [h for h in cfg.custom_hooks if h.type == hook_type][0]


def test_hook_options_by_type_wherever_the_hook_stands():
    cfg = load_config(
        COBRA, {
            'custom_hooks.SeedWriterHook.out_dir': '/seeds',
            'custom_hooks.ComplementaryLossSwitchHook.start_epoch': 1,
            'train_dataloader.batch_size': 8,
        })
    assert _hook(cfg, 'SeedWriterHook').out_dir == '/seeds'
    assert _hook(cfg, 'ComplementaryLossSwitchHook').start_epoch == 1
    assert cfg.train_dataloader.batch_size == 8
    # a hook inserted in front: the option still reaches its hook
    cfg = load_config(
        COBRA, {
            'custom_hooks': [
                dict(type='RandomStateHook'),
                dict(type='SeedWriterHook', out_dir=None)
            ],
            'custom_hooks.SeedWriterHook.out_dir':
            '/seeds',
            'custom_hooks.SeedWriterHook.extra.depth':
            2,
        })
    assert cfg.custom_hooks[0].type == 'RandomStateHook'
    assert cfg.custom_hooks[1].out_dir == '/seeds'
    assert cfg.custom_hooks[1].extra.depth == 2


def test_hook_option_for_a_missing_or_repeated_hook_is_refused():
    with pytest.raises(
            ConfigError, match='no hook.*MaskWriterHook.*'
            'SeedWriterHook'):
        load_config(COBRA, {'custom_hooks.MaskWriterHook.out_dir': '/m'})
    with pytest.raises(ConfigError, match='2 hook.*custom_hooks.<index>'):
        load_config(
            COBRA, {
                'custom_hooks':
                [dict(type='SeedWriterHook'),
                 dict(type='SeedWriterHook')],
                'custom_hooks.SeedWriterHook.out_dir':
                '/s'
            })
