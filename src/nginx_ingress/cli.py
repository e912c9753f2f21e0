"""The `nginx-ingress` command: argument parsing and dispatch to sub-commands.

Flags accept NIC's single-dash spelling (`-nginx-plus`, `-nginx-configmaps=ns/name`)
as well as `--double-dash`, and boolean flags accept Go's `-flag=true|false`, so
NIC manifests and Helm values can be reused. Each sub-command lives in its own
module and registers its parser here.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from nginx_ingress import __version__, offline
from nginx_ingress.cliflags import normalize_bool_flags
from nginx_ingress.controller import run as controller_run
from nginx_ingress.devcluster import cli as devcluster_cli

Command = Callable[[argparse.Namespace], int]


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
    devcluster_cli.register(commands)
    version = commands.add_parser("version", help="print the version")
    version.set_defaults(run=lambda _args: _print_version())
    return parser


def _print_version() -> int:
    print(__version__)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(normalize_bool_flags(arguments, parser))
    run: Command = args.run
    try:
        return run(args)
    except KeyboardInterrupt:
        return 130
