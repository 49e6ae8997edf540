"""No block of six or more lines written twice in the package and tools:
the same lines, or the same shape with other names (identifiers, strings
and numbers replaced by placeholders). Imports, docstrings, comments and
declarations (a tool's parser and flags, registry tables, config dicts)
do not count, nor blocks of short lines (under 48 tokens in all)."""
import glob
import io
import keyword
import os.path as osp
import tokenize
from collections import defaultdict
from typing import Dict, List, Tuple

from conftest import REPO

WINDOW = 6
#: a window counts when its lines hold at least this many tokens: six
#: short lines (``return x``, ``else:``) are not a repeated piece of logic
MIN_TOKENS = 48
#: calls whose repetition is declaration, not logic
DECLARATIONS = ('parser.add_argument', 'add_flags', 'dict(', 'sys.path',
                'parser=tool_parser', 'add_launcher_args',
                'add_dataset_check_args')
#: module-level tables of one call per line (the registries)
DECLARATION_PARTS = ('=_child(', )


def _statements(source: str):
    """The tokens of each logical line (comments, docstrings, blank lines
    and indentation left out)."""
    current = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
            if current:
                yield current
            current = []
        elif tok.type not in (tokenize.COMMENT, tokenize.NL, tokenize.INDENT,
                              tokenize.DEDENT):
            current.append(tok)


def _counted(tokens) -> bool:
    """Whether a statement is logic (not an import, a bare string such as a
    docstring, a decorator or a declaration)."""
    first = tokens[0].string
    if first in ('import', 'from', '@') or (len(tokens) == 1 and tokens[0].type
                                            == tokenize.STRING):
        return False
    text = ''.join(t.string for t in tokens)
    return not text.startswith(DECLARATIONS) and not any(
        part in text for part in DECLARATION_PARTS)


def _line_shapes(path: str) -> List[Tuple[int, str]]:
    """``(line, shape)`` of each counted physical line of a file: names,
    strings and numbers replaced by placeholders."""
    with open(path) as f:
        source = f.read()
    by_line: Dict[int, list] = defaultdict(list)
    for tokens in _statements(source):
        if _counted(tokens):
            for tok in tokens:
                by_line[tok.start[0]].append(tok)
    return [(number, ' '.join(
        t.string if t.type == tokenize.OP or keyword.iskeyword(t.string) else {
            tokenize.STRING: 'S',
            tokenize.NUMBER: '0'
        }.get(t.type, 'N') for t in by_line[number]))
            for number in sorted(by_line)]


def _windows():
    for top in ('mmseg_cobra', 'tools'):
        for path in sorted(
                glob.glob(osp.join(REPO, top, '**', '*.py'), recursive=True)):
            rel = osp.relpath(path, REPO)
            if '.mim' in rel:
                continue
            shapes = _line_shapes(path)
            for i in range(len(shapes) - WINDOW + 1):
                block = shapes[i:i + WINDOW]
                if sum(len(s.split()) for _, s in block) < MIN_TOKENS:
                    continue
                yield rel, block


def test_no_block_of_six_lines_twice():
    seen: Dict[tuple, Tuple[str, int]] = {}
    found = {}
    for rel, block in _windows():
        key = tuple(shape for _, shape in block)
        where = (rel, block[0][0])
        first = seen.setdefault(key, where)
        if first != where and (first[0] != rel
                               or abs(first[1] - where[1]) >= WINDOW):
            pair = (first[0], rel)  # the first window of each pair of files
            found.setdefault(pair, f'{first[0]}:{first[1]} ~ {rel}:{where[1]}')
    assert not found, ('the same six lines (or their shape) twice; make '
                       'one function of them:\n' +
                       '\n'.join(sorted(found.values())))
