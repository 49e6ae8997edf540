"""Every tool's command line against the one interface
(``mmseg_cobra/utils/tool_args.py``): the config first and positional,
every shared flag with one definition, no other spelling of the same
thing, ``--nproc`` only for the CPU pool."""
import argparse
import glob
import os.path as osp
from collections import defaultdict

import pytest
from tool_parsers import parser_actions, tool_parsers

from mmseg_cobra.cli.tool_args import SHARED_FLAGS, add_flags
from mmseg_cobra.utils.tools import list_tools, tool_path

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOLS = sorted(
    [tool_path(name) for name in list_tools() if not name.endswith('.sh')] +
    [  # the benchmark scripts, not the modules they import
        path for path in glob.glob(osp.join(REPO, 'benchmarks', '*.py'))
        if "__name__ == '__main__'" in open(path).read()
    ])
#: positional arguments a tool may have besides the config: what it loads
#: or converts, never a folder it reads or writes (those are flags)
POSITIONALS = {
    'config', 'checkpoint', 'images', 'json_logs', 'root', 'voc_root', 'kind',
    'src', 'dst'
}
#: spellings retired for the shared names (not kept as aliases)
RETIRED = {
    '--output-dir': '--out-dir',
    '--save-dir': '--out-dir',
    '--allow-skipped': '--skip-bad-images',
    '--walks': '--walk-dir',
    '--masks': '--mask-dirs / --mask-dir',
    '--gpus': '--nproc-per-node',
    '--nproc-per-gpu': '--nproc-per-node',
    '--data_root': '--data-root',
    '--work_dir': '--work-dir',
    '--cfg_options': '--cfg-options'
}
#: what an argument is, except its default (which may differ per tool)
FIELDS = ('option_strings', 'dest', 'nargs', 'const', 'type', 'choices',
          'required', 'help', 'metavar')


def _rel(path: str) -> str:
    return osp.relpath(osp.realpath(path), REPO)


def _signature(action: argparse.Action) -> tuple:
    return (type(action).__name__, ) + tuple(
        getattr(action, field) for field in FIELDS)


def _shared_definition(flag: str) -> argparse.Action:
    parser = argparse.ArgumentParser()
    add_flags(parser, flag)
    return parser._actions[-1]


def test_every_tool_is_seen():
    names = {_rel(p) for p in TOOLS}
    for tool in ('tools/train.py', 'tools/eval_seeds.py',
                 'tools/analysis_tools/confusion_matrix.py',
                 'tools/dataset_converters/voc_aug.py',
                 'benchmarks/gpu_check.py'):
        assert tool in names or f'mmseg_cobra/.mim/{tool}' in names, tool


@pytest.mark.parametrize('tool', TOOLS, ids=_rel)
def test_config_first_and_no_folder_positionals(tool):
    positionals = [
        a.dest for parser in tool_parsers(tool) for a in parser._actions if
        not a.option_strings and not isinstance(a, argparse._SubParsersAction)
    ]
    assert set(positionals) <= POSITIONALS, (
        f'{_rel(tool)}: positional {sorted(set(positionals) - POSITIONALS)}'
        ': folders and files a tool reads or writes are flags')
    if 'config' in positionals:
        assert positionals[0] == 'config', f'{_rel(tool)}: {positionals}'


@pytest.mark.parametrize('tool', TOOLS, ids=_rel)
def test_shared_flags_have_one_definition(tool):
    for action in parser_actions(tool):
        for flag in action.option_strings:
            assert flag not in RETIRED, (
                f'{_rel(tool)}: {flag} is spelled {RETIRED[flag]} here')
            if flag in SHARED_FLAGS:
                assert _signature(action) == _signature(
                    _shared_definition(flag)), (
                        f'{_rel(tool)}: {flag} is not the shared '
                        'definition: add it with tool_args.add_flags')


def test_a_flag_in_several_tools_means_one_thing():
    """A flag that is not shared by definition still has one action, type
    and arity wherever it appears, and choices that are subsets of each
    other (``--stages``: the benchmark's CPU stages among the pipeline's)."""
    seen = defaultdict(dict)
    for tool in TOOLS:
        for action in parser_actions(tool):
            for flag in action.option_strings:
                if flag not in SHARED_FLAGS and flag != '--local_rank':
                    seen[flag][_rel(tool)] = action
    for flag, actions in seen.items():
        kinds = {(type(a).__name__, a.type, a.nargs) for a in actions.values()}
        assert len(kinds) == 1, f'{flag}: {sorted(actions)} differ'
        choices = [set(a.choices) for a in actions.values() if a.choices]
        for one in choices:
            for other in choices:
                assert one <= other or other <= one, (
                    f'{flag}: choices differ in {sorted(actions)}')
        if choices:
            assert len(choices) == len(actions), \
                f'{flag}: choices only in some of {sorted(actions)}'


def test_nproc_is_the_cpu_pool():
    help_text = SHARED_FLAGS['--nproc']['help']
    assert 'CPU pool' in help_text and 'never GPU' in help_text
    pipeline = tool_path('run_pipeline')
    flags = {f for a in parser_actions(pipeline) for f in a.option_strings}
    assert {'--nproc', '--nproc-per-node'} <= flags
