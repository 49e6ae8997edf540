"""The argument parsers of the command-line tools, taken in-process.

A tool is run as ``__main__`` up to its ``parse_args``, where its parser is
taken (nothing of the tool's work runs). Used by the docs test (every flag
the docs write exists) and the tool-interface test (every shared flag has
one definition).
"""
import argparse
import runpy
import sys
from typing import Dict, List


class _Captured(Exception):

    def __init__(self, parser: argparse.ArgumentParser) -> None:
        self.parser = parser


_PARSERS: Dict[str, List[argparse.ArgumentParser]] = {}


def tool_parsers(script: str) -> List[argparse.ArgumentParser]:
    """The parser of a Python tool, followed by its subcommands' parsers.

    Args:
        script (str): Path of the tool.

    Returns:
        list[ArgumentParser]: The main parser first.
    """
    if script in _PARSERS:
        return _PARSERS[script]

    def capture(self, *args, **kwargs):
        raise _Captured(self)

    saved = (argparse.ArgumentParser.parse_args,
             argparse.ArgumentParser.parse_known_args, list(sys.argv),
             list(sys.path))
    argparse.ArgumentParser.parse_args = capture
    argparse.ArgumentParser.parse_known_args = capture
    sys.argv = [script]
    try:
        runpy.run_path(script, run_name='__main__')
        raise AssertionError(f'{script} never parsed its arguments')
    except _Captured as captured:
        parsers = [captured.parser]
        for action in captured.parser._actions:  # subcommands' own parsers
            if isinstance(action, argparse._SubParsersAction):
                parsers += list(action.choices.values())
    finally:
        (argparse.ArgumentParser.parse_args,
         argparse.ArgumentParser.parse_known_args, sys.argv[:],
         sys.path[:]) = saved
    _PARSERS[script] = parsers
    return parsers


def parser_actions(script: str) -> List[argparse.Action]:
    """Every argument of a tool (its subcommands' included)."""
    return [
        action for parser in tool_parsers(script) for action in parser._actions
        if not isinstance(action, (argparse._HelpAction,
                                   argparse._SubParsersAction))
    ]
