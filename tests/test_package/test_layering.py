"""The package's modules import only downwards, as mmseg's do.

Layers, bottom up: ``utils`` (leaf helpers), then ``datasets``, ``models``
and ``evaluation`` and ``visualization`` (siblings: none imports another),
then ``engine``, then ``apis``, then ``pipeline`` (the stage table and its
runner). A module may import its own layer's package and anything below
it, never above (a lazy import inside a function counts too: it hides a
cycle, it does not remove it).
"""
import ast
import glob
import os.path as osp

import pytest
from conftest import REPO

PACKAGE = osp.join(REPO, 'mmseg_cobra')
LAYER = dict(
    utils=0,
    datasets=1,
    models=1,
    evaluation=1,
    visualization=1,
    engine=2,
    apis=3,
    pipeline=4)


def _imports(path: str):
    """Every ``mmseg_cobra.<top>`` a module imports (absolute or relative),
    with the line."""
    rel = osp.relpath(path, PACKAGE).split(osp.sep)
    tree = ast.parse(open(path).read(), path)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = rel[:-1][:len(rel) - node.level]
                parts = base + (node.module.split('.') if node.module else [])
                if not parts:  # from . import x (package root)
                    parts = [a.name for a in node.names][:1]
            elif node.module and node.module.startswith('mmseg_cobra.'):
                parts = node.module.split('.')[1:]
            else:
                continue
            yield parts[0], node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith('mmseg_cobra.'):
                    yield alias.name.split('.')[1], node.lineno


def _modules():
    for path in sorted(
            glob.glob(osp.join(PACKAGE, '**', '*.py'), recursive=True)):
        top = osp.relpath(path, PACKAGE).split(osp.sep)[0]
        if top in LAYER:
            yield top, path


def test_no_module_imports_upwards_or_sideways():
    wrong = []
    for top, path in _modules():
        for target, line in _imports(path):
            if target not in LAYER or target == top:
                continue
            if LAYER[target] >= LAYER[top]:
                wrong.append(f'{osp.relpath(path, REPO)}:{line} imports '
                             f'{target} (layer {LAYER[target]} >= '
                             f'{top}, layer {LAYER[top]})')
    assert not wrong, '\n'.join(wrong)


@pytest.mark.parametrize('source,expected', [
    ('from ...models import X\n', 'models'),
    ('from ..transforms import X\n', 'datasets'),
    ('from ...evaluation.functional import f\n', 'evaluation'),
    ('import mmseg_cobra.apis.pipeline\n', 'apis'),
])
def test_the_checker_sees_imports(tmp_path, source, expected):
    # a file placed in datasets/transforms is read as such
    folder = tmp_path / 'mmseg_cobra' / 'datasets' / 'transforms'
    folder.mkdir(parents=True)
    path = folder / 'x.py'
    path.write_text(source)
    global PACKAGE
    saved, PACKAGE = PACKAGE, str(tmp_path / 'mmseg_cobra')
    try:
        assert [t for t, _ in _imports(str(path))] == [expected]
    finally:
        PACKAGE = saved
