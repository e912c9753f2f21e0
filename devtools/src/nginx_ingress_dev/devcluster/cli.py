"""`nginx-ingress dev-api`: run the development API server alone, until SIGINT/SIGTERM.

    nginx-ingress dev-api --listen 127.0.0.1:8001 --kubeconfig-out dev.kubeconfig --seed examples/

Prints one line, `dev-api: serving <url> …`, once the kubeconfig is written and the
server answers, so scripts (and tests) can wait for it instead of sleeping.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from nginx_ingress.cliflags import add_bool_flag, flag_names
from nginx_ingress_dev.devcluster.authn import UserInfo, read_token_file
from nginx_ingress_dev.devcluster.authz import RbacAuthorizer
from nginx_ingress_dev.devcluster.cluster import DevCluster
from nginx_ingress_dev.devcluster.server import TlsConfig


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `dev-api` sub-command to the `nginx-ingress` parser."""
    parser = commands.add_parser(
        "dev-api",
        help="run the local Kubernetes API server (development and tests only)",
        description=(
            "Serve an in-memory Kubernetes API for development and tests. Not a production "
            "component: no persistence, no controllers, no admission. See docs/devcluster.md."
        ),
        allow_abbrev=False,
    )
    parser.add_argument(
        *flag_names("listen"),
        default="127.0.0.1:8001",
        metavar="HOST:PORT",
        help="address to serve on; port 0 picks a free port (default: %(default)s)",
    )
    parser.add_argument(
        *flag_names("kubeconfig-out"),
        type=Path,
        metavar="FILE",
        help="write a kubeconfig for the server here (official client and kubectl)",
    )
    parser.add_argument(
        *flag_names("seed"),
        type=Path,
        action="append",
        default=[],
        metavar="PATH",
        help="create the objects of a YAML/JSON file or directory at start (repeatable)",
    )
    auth = parser.add_argument_group("authentication and authorization (all optional)")
    auth.add_argument(
        *flag_names("token-auth-file"),
        type=Path,
        metavar="FILE",
        help='bearer tokens, one `token,user,uid[,"group1,group2"]` line each',
    )
    auth.add_argument(*flag_names("tls-cert-file"), type=Path, metavar="FILE", help="serve HTTPS")
    auth.add_argument(*flag_names("tls-private-key-file"), type=Path, metavar="FILE")
    auth.add_argument(
        *flag_names("client-ca-file"),
        type=Path,
        metavar="FILE",
        help="accept client certificates signed by this CA (CN = user, O = groups)",
    )
    auth.add_argument(
        *flag_names("tls-ca-file"),
        type=Path,
        metavar="FILE",
        help="CA of the server certificate, for the kubeconfig (default: the certificate)",
    )
    auth.add_argument(
        *flag_names("rbac"),
        type=Path,
        metavar="PATH",
        help="enforce RBAC from Role/ClusterRole/RoleBinding/ClusterRoleBinding YAML",
    )
    auth.add_argument(
        *flag_names("kubeconfig-token"),
        metavar="TOKEN",
        help="token to put in the kubeconfig (default: the first of --token-auth-file)",
    )
    tuning = parser.add_argument_group("behaviour")
    tuning.add_argument(
        *flag_names("bookmark-interval"),
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="seconds between watch BOOKMARKs (default: %(default)s)",
    )
    tuning.add_argument(
        *flag_names("history-limit"),
        type=int,
        default=10_000,
        metavar="N",
        help="changes kept for watch resumption; older versions get 410 (default: %(default)s)",
    )
    add_bool_flag(tuning, "log-requests", default=False, help="log every request")
    parser.set_defaults(run=run)


def _listen_address(text: str) -> tuple[str, int]:
    host, separator, port = text.rpartition(":")
    if not separator or not port.isdigit():
        raise ValueError(f"--listen wants HOST:PORT, got {text!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        host, port = _listen_address(args.listen)
    except ValueError as error:
        print(f"dev-api: {error}", file=sys.stderr)
        return 2
    tokens: dict[str, UserInfo] = (
        read_token_file(args.token_auth_file) if args.token_auth_file else {}
    )
    tls = None
    if args.tls_cert_file or args.tls_private_key_file:
        if not (args.tls_cert_file and args.tls_private_key_file):
            print(
                "dev-api: --tls-cert-file and --tls-private-key-file go together", file=sys.stderr
            )
            return 2
        tls = TlsConfig(args.tls_cert_file, args.tls_private_key_file, args.client_ca_file)
    rbac = RbacAuthorizer.from_path(args.rbac) if args.rbac else None
    cluster = DevCluster(
        host,
        port,
        tls=tls,
        tokens=tokens,
        rbac=rbac,
        bookmark_interval=args.bookmark_interval,
        history_limit=args.history_limit,
        log_requests=args.log_requests,
    )
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    cluster.start()
    try:
        for path in args.seed:
            seeded = cluster.seed_yaml(path)
            logging.info("dev-api: seeded %d objects from %s", len(seeded), path)
        if args.kubeconfig_out:
            token = args.kubeconfig_token or next(iter(tokens), None)
            cluster.write_kubeconfig(args.kubeconfig_out, token=token, ca_file=args.tls_ca_file)
        where = f"; kubeconfig {args.kubeconfig_out}" if args.kubeconfig_out else ""
        print(f"dev-api: serving {cluster.url} (development only){where}", flush=True)
        stop.wait()
    finally:
        cluster.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("dev-api: stopped", flush=True)
    return 0
