"""The `nginx-ingress` command: argument parsing and dispatch to sub-commands.

Flags accept NIC's single-dash spelling (`-nginx-plus`, `-nginx-configmaps=ns/name`)
as well as `--double-dash`, and boolean flags accept Go's `-flag=true|false`, so
NIC manifests and Helm values can be reused. Each sub-command lives in its own
module and registers its parser here.

The development sub-commands (`dev`, `dev-api`) live in the separate `nginx_ingress_dev`
distribution and are imported only when one of them is asked for: the production
entry point never loads the local API server or anything that needs pytest.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from nginx_ingress import __version__, offline
from nginx_ingress.cliflags import normalize_bool_flags
from nginx_ingress.controller import run as controller_run

Command = Callable[[argparse.Namespace], int]

DEV_COMMANDS = {
    "dev": "nginx_ingress_dev.localrun.cli",
    "dev-api": "nginx_ingress_dev.devcluster.cli",
}
"""Sub-command → the module of the development tools that implements it."""
DEVTOOLS_DISTRIBUTION = "nginx-ingress-py-devtools"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nginx-ingress",
        description="Kubernetes Ingress controller for NGINX with zone-sync state sharing.",
        allow_abbrev=False,
    )
    parser.add_argument("-version", "--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    controller_run.register(commands)
    offline.register(commands)
    for name in DEV_COMMANDS:
        # Listed in --help; dispatched by `main` before this parser sees its arguments.
        commands.add_parser(
            name, help=f"development tool, see `nginx-ingress {name} --help`", add_help=False
        )
    version = commands.add_parser("version", help="print the version")
    version.set_defaults(run=lambda _args: _print_version())
    return parser


def _print_version() -> int:
    print(__version__)
    return 0


def run_dev_command(name: str, arguments: list[str]) -> int:
    """Import the development tool `name` only now, and run it with its own parser."""
    try:
        module = importlib.import_module(DEV_COMMANDS[name])
    except ModuleNotFoundError as error:
        if not (error.name or "").startswith("nginx_ingress_dev"):
            raise
        print(
            f"error: `nginx-ingress {name}` is a development tool and is not installed here; "
            f"install {DEVTOOLS_DISTRIBUTION} (in a checkout: make, or "
            "pip install -e devtools)",
            file=sys.stderr,
        )
        return 2
    parser = argparse.ArgumentParser(prog="nginx-ingress", allow_abbrev=False)
    commands = parser.add_subparsers(dest="command", required=True)
    module.register(commands)
    args = parser.parse_args(normalize_bool_flags([name, *arguments], parser))
    run: Command = args.run
    try:
        return run(args)
    except KeyboardInterrupt:
        return 130


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and arguments[0] in DEV_COMMANDS:
        return run_dev_command(arguments[0], arguments[1:])
    parser = build_parser()
    args = parser.parse_args(normalize_bool_flags(arguments, parser))
    run: Command = args.run
    try:
        return run(args)
    except KeyboardInterrupt:
        return 130
