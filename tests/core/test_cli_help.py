"""`--help` answers the user: every flag of every sub-command has one line of help that shows its
default, and the flags table of docs/controller.md agrees with the parser.

The development tools (`dev-api`) parse their own flags in the separate devtools
distribution; `build_parser` lists them by name only, and they are not walked here.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from nginx_ingress.cli import DEV_COMMANDS, build_parser

DOCS = Path(__file__).parent.parent.parent / "docs"


def sub_parsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.update(action.choices)
    return found


def every_parser() -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """The top-level parser and each product sub-command's."""
    parser = build_parser()
    yield "nginx-ingress", parser
    for name, sub in sub_parsers(parser).items():
        if name not in DEV_COMMANDS:
            yield name, sub


def go_spelling(value: object) -> str:
    """A default as the help shows it: booleans as Go (and NIC) spell them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def flags() -> Iterator[tuple[str, argparse.ArgumentParser, argparse.Action]]:
    for command, parser in every_parser():
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            yield command, parser, action


FLAGS = list(flags())


def test_the_walk_sees_every_command() -> None:
    assert {command for command, _ in every_parser()} == {
        "nginx-ingress",
        "run",
        "render",
        "validate",
        "version",
    }


@pytest.mark.parametrize(
    ("command", "parser", "action"),
    FLAGS,
    ids=[f"{c}:{(a.option_strings or [a.dest])[0]}" for c, _, a in FLAGS],
)
def test_every_flag_has_one_line_of_help_with_its_default(
    command: str,  # noqa: ARG001 - in the test's id
    parser: argparse.ArgumentParser,
    action: argparse.Action,
) -> None:
    assert action.help and action.help is not argparse.SUPPRESS, "no help"
    text = parser._get_formatter()._expand_help(action)
    assert "\n" not in text
    if not action.option_strings or action.required or isinstance(action, argparse._VersionAction):
        return  # positionals and required flags have no default to show
    assert "(default" in text, f"no default shown: {text!r}"
    default = action.default
    if default is None or default == [] or default is argparse.SUPPRESS:
        return  # no value: the help says in words what applies instead
    assert f"(default {go_spelling(default)}" in text, text


def test_validate_takes_only_flags_that_change_its_verdict() -> None:
    """A flag validate would ignore is refused, not silently accepted."""
    validate = sub_parsers(build_parser())["validate"]
    options = {s for a in validate._actions for s in a.option_strings}
    for ignored in ("-conf-dir", "-run-dir", "-load-module", "-disable-ipv6", "-namespace"):
        assert ignored not in options
    assert {"-nginx-plus", "-zone-sync-port", "-ready-status-port"} - options == {"-zone-sync-port"}


_ROW = re.compile(r"^\| ((?:`-[a-z0-9-]+`(?:, )?)+) \| ([^|]*) \|", re.MULTILINE)


def test_the_controller_flags_table_agrees_with_the_parser() -> None:
    """Every `run` flag is in docs/controller.md, with the default the parser has."""
    documented: dict[str, str] = {}
    for names, defaults in _ROW.findall((DOCS / "controller.md").read_text()):
        flag_list = re.findall(r"`(-[a-z0-9-]+)`", names)
        values = [value.strip().strip("`") for value in defaults.split(", ")]
        if len(values) != len(flag_list):
            values = [defaults.strip()] * len(flag_list)
        documented.update(zip(flag_list, values, strict=True))
    run = sub_parsers(build_parser())["run"]
    for action in run._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        flag = action.option_strings[0]
        assert flag in documented, f"{flag} is not in docs/controller.md"
        if action.default is not None and action.default != []:
            assert documented[flag] == go_spelling(action.default), flag
