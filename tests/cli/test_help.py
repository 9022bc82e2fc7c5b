"""Every subcommand and every option of the `tracebias` command has help text (issue 13.7)."""
from __future__ import annotations

import argparse

from engine.cli import build_parser


def walk(parser: argparse.ArgumentParser, path=("tracebias",)):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from walk(sub, path + (name,))


def test_every_option_has_help():
    missing = []
    for path, parser in walk(build_parser()):
        for a in parser._actions:
            if isinstance(a, (argparse._HelpAction, argparse._VersionAction,
                              argparse._SubParsersAction)):
                continue
            if not (a.help and a.help.strip()) and a.help != argparse.SUPPRESS:
                missing.append(f"{' '.join(path)} {'/'.join(a.option_strings) or a.dest}")
    assert not missing, missing


def test_every_subcommand_has_help():
    missing = []
    for path, parser in walk(build_parser()):
        for a in parser._actions:
            if isinstance(a, argparse._SubParsersAction):
                for choice in a._choices_actions:
                    if not (choice.help and choice.help.strip()):
                        missing.append(" ".join(path + (choice.dest,)))
    assert not missing, missing
