"""`nginx-ingress dev`: the controller working on this machine, on a folder of manifests.

    nginx-ingress dev [--manifests DIR] [--http-port 8080] [--https-port 8443]
                      [--nginx-plus --render-only] [--backends] [--state-dir DIR]
                      [--kubeconfig-out FILE]

Runs until SIGINT or SIGTERM, then stops everything it started and exits 0. A
problem found before anything starts (no NGINX, a port in use, a missing folder)
is one `dev: error: …` line and exit status 2; the controller stopping by itself is
one line with its reason and exit status 1. See docs/devrun.md.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from nginx_ingress.cliflags import add_bool_flag, flag_names
from nginx_ingress_dev.localrun.console import Console
from nginx_ingress_dev.localrun.session import DEFAULT_MANIFESTS, DevRun, DevSettings
from nginx_ingress_dev.localrun.state import default_state_dir


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number from 1 to 65535")
    return port


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `dev` sub-command to the `nginx-ingress` parser."""
    parser = commands.add_parser(
        "dev",
        help="run the controller on this machine on a folder of manifests (development only)",
        description=(
            "Start the local API server, load a folder of manifests and follow its edits, and "
            "run the controller against it with a real NGINX on this machine. Development "
            "only; see docs/devrun.md."
        ),
        allow_abbrev=False,
    )
    parser.add_argument(
        *flag_names("manifests"),
        type=Path,
        default=DEFAULT_MANIFESTS,
        metavar="DIR",
        help="YAML/JSON manifests to load and follow (default: %(default)s)",
    )
    parser.add_argument(
        *flag_names("http-port"), type=_port, default=8080, metavar="PORT",
        help="NGINX's HTTP port (default: %(default)s)",
    )  # fmt: skip
    parser.add_argument(
        *flag_names("https-port"), type=_port, default=8443, metavar="PORT",
        help="NGINX's HTTPS port (default: %(default)s)",
    )  # fmt: skip
    add_bool_flag(
        parser,
        "backends",
        default=False,
        help="start a small HTTP backend at each address a Service's "
        "nginx-ingress.dev/endpoints annotation lists",
    )
    add_bool_flag(
        parser,
        "nginx-plus",
        default=False,
        help="render for NGINX Plus (needs an NGINX Plus binary, or --render-only)",
    )
    add_bool_flag(
        parser,
        "render-only",
        default=False,
        help="write the configuration without running NGINX",
    )
    parser.add_argument(
        *flag_names("nginx-binary"),
        default=None,
        metavar="PATH",
        help="the NGINX program (default: nginx from PATH, else /usr/sbin/nginx …)",
    )
    parser.add_argument(
        *flag_names("state-dir"),
        type=Path,
        default=None,
        metavar="DIR",
        help="where the run keeps its files: NGINX's configuration, certificates, the "
        f"controller's log (default: {default_state_dir()})",
    )
    parser.add_argument(
        *flag_names("kubeconfig-out"),
        type=Path,
        default=None,
        metavar="FILE",
        help="write the kubeconfig for kubectl here (default: kubeconfig in the state dir)",
    )
    parser.set_defaults(run=run)


def settings_from(args: argparse.Namespace) -> DevSettings:
    return DevSettings(
        manifests=args.manifests,
        http_port=args.http_port,
        https_port=args.https_port,
        nginx_plus=args.nginx_plus,
        render_only=args.render_only,
        backends=args.backends,
        nginx_binary=args.nginx_binary,
        # Absolute, without `..`: the controller is given paths under it as -conf-dir and
        # -run-dir, which must be (NGINX would resolve relative ones against its prefix).
        state_dir=(args.state_dir or default_state_dir()).resolve(),
        kubeconfig_out=args.kubeconfig_out,
    )


def run(args: argparse.Namespace) -> int:
    # Only problems of the in-process parts (the API server's warnings) reach the log.
    logging.basicConfig(level=logging.WARNING, format="dev: %(levelname)s %(name)s: %(message)s")
    return DevRun(settings_from(args), Console()).run()
