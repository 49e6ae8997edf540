"""The package's modules import only downwards, as mmseg's do.

Layers, bottom up: ``utils`` (leaf helpers), ``structures`` (the file
formats and constants the stages share), ``ops`` (array operations: pair
geometry, seed labels, CRF, IR labels), then ``datasets``, ``models`` and
``evaluation`` and ``visualization`` (siblings: none imports another),
then ``engine``, then ``apis`` and ``offline`` (the inferencer; the CPU
tools' reports and label writers), then ``pipeline`` (the stage table and its
runner), then ``cli`` (what the tools share; nothing in the package imports
it). The kept import paths (:data:`KEPT_PATHS`, re-exports of moved
modules and nothing else) are the only exception. A module may import its
own layer's package and anything below it, never above (a lazy import
inside a function counts too: it hides a cycle, it does not remove it).
"""
import ast
import glob
import os.path as osp

import pytest
from conftest import REPO

PACKAGE = osp.join(REPO, 'mmseg_cobra')
LAYER = dict(
    utils=0,
    structures=1,
    ops=2,
    datasets=3,
    models=3,
    evaluation=3,
    visualization=3,
    engine=4,
    apis=5,
    offline=5,
    pipeline=6,
    cli=7)
#: Old module paths kept working after their code moved up (the parity
#: tests import them): each only re-exports the new module.
KEPT_PATHS = {
    'utils/crf.py': 'ops.crf',
    'utils/ir_label.py': 'ops.ir_label',
    'utils/reference_checkpoints.py':
    'models.converters.reference_checkpoints',
}


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
        rel = osp.relpath(path, PACKAGE)
        top = rel.split(osp.sep)[0]
        if top in LAYER and rel not in KEPT_PATHS:
            yield top, path


@pytest.mark.parametrize('rel', sorted(KEPT_PATHS))
def test_kept_paths_only_re_export(rel):
    """A kept path holds its docstring and the new module's names, no code
    of its own, and exports the same names."""
    import importlib
    path = osp.join(PACKAGE, rel)
    tree = ast.parse(open(path).read(), path)
    body = [n for n in tree.body if not isinstance(n, ast.Expr)]
    assert all(isinstance(n, ast.ImportFrom) for n in body), rel
    assert all(n.level == 2 and n.module == KEPT_PATHS[rel]
               for n in body), [n.module for n in body]
    old = importlib.import_module('mmseg_cobra.' +
                                  rel[:-3].replace(osp.sep, '.'))
    new = importlib.import_module('mmseg_cobra.' + KEPT_PATHS[rel])
    assert old.__all__ and set(old.__all__) == set(new.__all__)
    for name in new.__all__:
        assert getattr(old, name) is getattr(new, name)


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
