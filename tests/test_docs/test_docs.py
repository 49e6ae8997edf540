"""The README and docs/ against the code: every command they write runs a
tool that exists and whose parser knows every flag given; every link and
repository path they name exists."""
import glob
import os.path as osp
import re
import shlex
from typing import Dict, Iterator, List, Tuple

import pytest
from tool_parsers import tool_parsers

from mmseg_cobra.utils.tools import tool_path

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DOCS = [osp.join(REPO, 'README.md')] + sorted(
    glob.glob(osp.join(REPO, 'docs', '**', '*.md'), recursive=True))
#: the shell scripts and the Python tool that receives their extra flags
SCRIPT_TARGETS = {
    'dist_train.sh': 'train.py',
    'slurm_train.sh': 'train.py',
    'dist_test.sh': 'test.py',
    'slurm_test.sh': 'test.py',
}
#: repository paths written in backticks (outputs such as work_dirs/ are
#: not checked)
REPO_PREFIXES = ('tools/', 'configs/', 'mmseg_cobra/', 'tests/', 'benchmarks/',
                 'docs/', 'requirements/', '.ci/')


def _rel(path: str) -> str:
    return osp.relpath(path, REPO)


def shell_commands(path: str) -> Iterator[Tuple[int, str]]:
    """``(line, command)`` of every shell line in the fenced ``bash``/``sh``
    blocks of a markdown file, continuation lines joined, comments and
    here-documents left out."""
    in_block, heredoc, pending, start = False, None, '', 0
    for number, line in enumerate(open(path).read().split('\n'), 1):
        fence = line.strip().startswith('```')
        if not in_block:
            in_block = fence and line.strip()[3:] in ('bash', 'sh', 'shell')
            continue
        if fence:
            in_block = False
            continue
        if heredoc:
            heredoc = None if line.strip() == heredoc else heredoc
            continue
        here = re.search(r"<<-?\s*'?(\w+)'?", line)
        if here:
            heredoc = here.group(1)
        text = re.sub(r'(^|\s)#.*$', '', line).rstrip()
        if not pending:
            start = number
        if text.endswith('\\'):
            pending += text[:-1] + ' '
            continue
        command, pending = (pending + text).strip(), ''
        if command:
            yield start, command


def tool_invocation(command: str) -> Tuple[str, List[str]]:
    """``(tool name, its arguments)`` of a command that runs one of this
    project's tools, else ``('', [])``."""
    try:
        words = shlex.split(command)
    except ValueError:
        return '', []
    while words and re.match(r'^\w+=', words[0]):  # VAR=value prefixes
        words = words[1:]
    for i, word in enumerate(words):
        if word in ('python', 'python3', 'bash') and i + 1 < len(words):
            rest = words[i + 1:]
            if rest[0] == '-m' and len(rest) > 2 and rest[1] == 'mmseg_cobra':
                return rest[2], rest[3:]
            if rest[0].startswith(('tools/', 'benchmarks/')):
                return rest[0], rest[1:]
    return '', []


def flags_of(args: List[str]) -> List[str]:
    """The ``--flags`` written in a command (``[--crf]`` optional marks
    and ``--flag=value`` included)."""
    out = []
    for word in args:
        word = word.strip('[]')
        if word.startswith('--') and len(word) > 2:
            out.append(word.split('=', 1)[0])
    return out


_HELP_FLAGS: Dict[str, set] = {}


def known_flags(script: str) -> set:
    """The flags of a Python tool's parser and its subcommands'."""
    if script not in _HELP_FLAGS:
        _HELP_FLAGS[script] = {
            flag
            for parser in tool_parsers(script)
            for flag in re.findall(r'--[\w-]+', parser.format_help())
        }
    return _HELP_FLAGS[script]


def documented_commands() -> List[Tuple[str, str, List[str]]]:
    out = []
    for doc in DOCS:
        for line, command in shell_commands(doc):
            tool, args = tool_invocation(command)
            if tool:
                out.append((f'{_rel(doc)}:{line}', tool, args))
    return out


COMMANDS = documented_commands()


def test_docs_write_commands():
    """The parsing itself: the docs hold the tools' commands."""
    tools = {tool for _, tool, _ in COMMANDS}
    assert len(COMMANDS) > 40, COMMANDS
    for name in ('tools/train.py', 'tools/run_pipeline.py',
                 'tools/dist_train.sh', 'tools/slurm_train.sh',
                 'tools/mask_report.py', 'tools/eval_seeds.py'):
        assert name in tools, sorted(tools)


@pytest.mark.parametrize(
    'where,tool,args', COMMANDS, ids=[where for where, _, _ in COMMANDS])
def test_documented_command(where, tool, args):
    if tool.startswith(('tools/', 'benchmarks/')):
        path = osp.join(REPO, tool)
        assert osp.isfile(path), f'{where}: {tool} does not exist'
    else:  # python -m mmseg_cobra NAME
        try:
            path = tool_path(tool)
        except FileNotFoundError as exc:
            pytest.fail(f'{where}: python -m mmseg_cobra {tool}: {exc}')
    name = osp.basename(path)
    if name.endswith('.sh'):
        if name not in SCRIPT_TARGETS:
            return
        path = osp.join(REPO, 'tools', SCRIPT_TARGETS[name])
    flags = known_flags(path)
    unknown = [f for f in flags_of(args) if f not in flags]
    assert not unknown, (f'{where}: {tool} does not take {unknown} '
                         f'(it takes {sorted(flags)})')


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading."""
    text = re.sub(r'[^\w\- ]', '', heading.strip().lower())
    return text.replace(' ', '-')


def _anchors(path: str) -> set:
    text = re.sub(r'```.*?```', '', open(path).read(), flags=re.S)
    return {_slug(h) for h in re.findall(r'^#+ (.*)$', text, flags=re.M)}


def test_links_and_paths_exist():
    problems = []
    for doc in DOCS:
        text = open(doc).read()
        for target in re.findall(r'\]\(([^)\s]+)\)', text):
            if target.startswith(('http://', 'https://', 'mailto:')):
                continue
            file, _, anchor = target.partition('#')
            full = osp.normpath(osp.join(osp.dirname(doc), file)) \
                if file else doc
            if not osp.exists(full):
                problems.append(f'{_rel(doc)}: link {target} (no file)')
            elif anchor and full.endswith('.md') \
                    and anchor not in _anchors(full):
                problems.append(f'{_rel(doc)}: link {target} (no heading)')
        prose = re.sub(r'```.*?```', '', text, flags=re.S)
        for path in re.findall(r'`([^`\s]+)`', prose):
            path = path.rstrip('.,:;')
            if not path.startswith(REPO_PREFIXES) \
                    or re.search(r'[<>*{}$]|\.\.\.|[A-Z]{3,}', path):
                continue
            path = path.split('::', 1)[0].split(':', 1)[0]
            if not osp.exists(osp.join(REPO, path)):
                problems.append(f'{_rel(doc)}: path {path}')
    assert not problems, '\n'.join(problems)


def test_readme_is_short():
    """The README is the front page (what it is, install, demo, results,
    links); the rest lives in docs/."""
    lines = open(osp.join(REPO, 'README.md')).read().count('\n')
    assert lines <= 250, f'README.md has {lines} lines'
