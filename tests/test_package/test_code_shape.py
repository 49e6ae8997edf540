"""The shape of the package and tools' code, as lint checks: short
functions, no reach into another module's private names, no process exit
below ``tools/``."""
import ast
import glob
import os.path as osp

import pytest
from conftest import REPO

#: longest function (lines, decorators excluded, docstring included)
MAX_FUNCTION_LINES = 60
#: private names of other libraries this code has to name, with the reason
FOREIGN_PRIVATE = {
    ('mmseg_cobra/utils/checkpoint.py', '_reconstruct'):
    "numpy's array unpickler: torch's checkpoint allow-list needs the "
    'function object that numpy pickles name',
    ('mmseg_cobra/utils/checkpoint.py', '_statistics_methods'):
    "mmengine's HistoryBuffer statistics, the only getattr targets a "
    'checkpoint may name',
}
#: command-line entry points, which may end the process
ENTRY_POINTS = {'mmseg_cobra/__main__.py', 'mmseg_cobra/configs/__main__.py'}


def _files(*tops):
    for top in tops:
        for path in sorted(
                glob.glob(osp.join(REPO, top, '**', '*.py'), recursive=True)):
            rel = osp.relpath(path, REPO)
            if '.mim' not in rel:
                with open(path) as f:
                    yield rel, ast.parse(f.read())


def _is_self(node: ast.AST) -> bool:
    if isinstance(node, ast.Name):
        return node.id in ('self', 'cls')
    return isinstance(node, ast.Call) and getattr(node.func, 'id',
                                                  None) == 'super'


def _private(name: str) -> bool:
    return name.startswith('_') and not name.startswith('__')


def _private_reaches(tree: ast.AST):
    """``x._name`` (x not self/cls/super()), ``from m import _name``,
    ``getattr(x, '_name')`` / ``hasattr(x, '_name')``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr) \
                and not _is_self(node.value):
            yield node.lineno, node.attr
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if _private(alias.name):
                    yield node.lineno, alias.name
        elif isinstance(node, ast.Call) and getattr(
                node.func, 'id', None) in ('getattr', 'hasattr', 'setattr') \
                and len(node.args) > 1 \
                and isinstance(node.args[1], ast.Constant) \
                and _private(str(node.args[1].value)) \
                and not _is_self(node.args[0]):
            yield node.lineno, node.args[1].value


def test_no_function_over_sixty_lines():
    long = []
    for rel, tree in _files('mmseg_cobra', 'tools'):
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f'{rel}:{node.lineno} {node.name}: {lines}')
    assert not long, f'over {MAX_FUNCTION_LINES} lines:\n' + '\n'.join(long)


def test_no_reach_into_private_names():
    found = [
        f'{rel}:{line} {name}'
        for rel, tree in _files('mmseg_cobra', 'tools', 'benchmarks')
        for line, name in _private_reaches(tree)
        if (rel, name) not in FOREIGN_PRIVATE
    ]
    assert not found, ('private names of another object or module (make '
                       'them public, or a method):\n' + '\n'.join(found))


@pytest.mark.parametrize('key', sorted(FOREIGN_PRIVATE))
def test_each_allowed_private_name_is_still_used(key):
    rel, name = key
    with open(osp.join(REPO, rel)) as f:
        tree = ast.parse(f.read())
    assert any(n == name for _, n in _private_reaches(tree)), key


def test_no_process_exit_below_tools():
    exits = []
    for rel, tree in _files('mmseg_cobra'):
        if rel in ENTRY_POINTS:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                func = node.func
                name = (f'{getattr(func.value, "id", "")}.{func.attr}'
                        if isinstance(func, ast.Attribute) else getattr(
                            func, 'id', ''))
                if name in ('sys.exit', 'exit', 'quit', 'os._exit'):
                    exits.append(f'{rel}:{node.lineno} {name}')
            elif isinstance(node, ast.Raise) and isinstance(
                    node.exc, ast.Call) and getattr(node.exc.func, 'id',
                                                    None) == 'SystemExit':
                exits.append(f'{rel}:{node.lineno} raise SystemExit')
    assert not exits, ('library code raises a UserError; the tools exit '
                       '(mmseg_cobra.utils.run_cli):\n' + '\n'.join(exits))


def test_tools_exit_only_through_run_cli():
    """A tool's errors are UserErrors, printed by run_cli as ``error: ...``
    with status 1; ``sys.exit(run_cli(main))`` is a tool's only exit."""
    exits = []
    for rel, tree in _files('tools'):
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(
                    node.func, ast.Attribute) and node.func.attr == 'exit' \
                    and getattr(node.func.value, 'id', '') == 'sys':
                arg = node.args[0] if node.args else None
                if not (isinstance(arg, ast.Call)
                        and getattr(arg.func, 'id', '') == 'run_cli'):
                    exits.append(f'{rel}:{node.lineno}')
    assert not exits, 'raise UserError instead:\n' + '\n'.join(exits)


def test_tools_import_the_installed_package():
    """Tools import ``mmseg_cobra`` as mmseg's tools import mmseg: from the
    installed package (``pip install -e .``) or ``PYTHONPATH``, as the
    ``dist_*.sh``/``slurm_*.sh`` launchers set it, never by editing
    ``sys.path``."""
    edits = [
        f'{rel}:{node.lineno}' for rel, tree in _files('tools')
        for node in ast.walk(tree) if isinstance(node, ast.Attribute)
        and node.attr == 'path' and getattr(node.value, 'id', '') == 'sys'
    ]
    assert not edits, 'sys.path edited in:\n' + '\n'.join(edits)
