"""Helpers that let argparse read NIC's flag spellings.

NIC uses Go's `flag` package: long flags take one dash (`-nginx-plus`) and a
boolean flag may be written `-flag`, `-flag=true` or `-flag=false`. argparse reads
single-dash long options when they are declared that way; the `=true|false` form
is rewritten here into `--flag` / `--no-flag` before argparse sees it.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Sequence

from nginx_ingress.configmap.parsers import InvalidValue, parse_bool


def flag_names(name: str) -> tuple[str, str]:
    """Both spellings of a long flag: `-name` (NIC) and `--name`."""
    return (f"-{name}", f"--{name}")


def add_bool_flag(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    name: str,
    *,
    default: bool,
    help: str,
) -> None:
    """A boolean flag spelled `-name`, `--name`, `--no-name`, `-name=true|false`; its help
    ends with the default in Go's spelling, as NIC's users read it."""
    parser.add_argument(
        *flag_names(name),  # BooleanOptionalAction adds --no-<name> itself
        dest=name.replace("-", "_"),
        action=argparse.BooleanOptionalAction,
        default=default,
        help=f"{help} (default {'true' if default else 'false'})",
    )


def _bool_flags(parser: argparse.ArgumentParser) -> set[str]:
    names: set[str] = set()
    for action in _all_actions(parser):
        if isinstance(action, argparse.BooleanOptionalAction):
            names.update(s.lstrip("-") for s in action.option_strings if not s.startswith("--no-"))
    return names


def _all_actions(parser: argparse.ArgumentParser) -> Iterable[argparse.Action]:
    for action in parser._actions:
        yield action
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _all_actions(sub)


def normalize_bool_flags(arguments: Sequence[str], parser: argparse.ArgumentParser) -> list[str]:
    """Rewrite `-flag=<go bool>` into `--flag` or `--no-flag` for every boolean flag."""
    names = _bool_flags(parser)
    result: list[str] = []
    for index, argument in enumerate(arguments):
        if argument == "--":
            result.extend(arguments[index:])
            break
        option, equals, value = argument.partition("=")
        name = option.lstrip("-")
        if equals and option.startswith("-") and name in names:
            try:
                result.append(f"--{name}" if parse_bool(value) else f"--no-{name}")
            except InvalidValue:
                parser.error(f"{option}: {value!r} is not a boolean (true or false)")
        else:
            result.append(argument)
    return result
