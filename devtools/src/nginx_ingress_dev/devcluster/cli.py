"""`nginx-ingress dev-api`: run the development API server alone, until SIGINT/SIGTERM.

    nginx-ingress dev-api --listen 127.0.0.1:8001 --kubeconfig-out dev.kubeconfig --seed examples/

Prints one line, `dev-api: serving <url> …`, once the kubeconfig is written and the
server answers, so scripts (and tests) can wait for it instead of sleeping. Bad input
(flags, files, seeds, a port in use) is one `dev-api: error: …` line on stderr naming
what is wrong, and exit code 2: this command is typed by people, not only by tests.
"""

from __future__ import annotations

import argparse
import csv
import logging
import signal
import ssl
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from nginx_ingress.cliflags import add_bool_flag, flag_names
from nginx_ingress.manifests import ManifestError
from nginx_ingress_dev.devcluster.authn import UserInfo, read_token_file
from nginx_ingress_dev.devcluster.authz import RbacAuthorizer
from nginx_ingress_dev.devcluster.cluster import DevCluster
from nginx_ingress_dev.devcluster.listen import ListenRefused, parse_listen
from nginx_ingress_dev.devcluster.seeding import SeedError, SeedReport
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
        help=(
            "address to serve on; port 0 picks a free port; a non-loopback address needs "
            "authentication or --insecure-listen-anywhere (default: %(default)s)"
        ),
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
    auth.add_argument(
        *flag_names("kubeconfig-client-certificate"),
        type=Path,
        metavar="FILE",
        help="client certificate to put in the kubeconfig (with --client-ca-file)",
    )
    auth.add_argument(*flag_names("kubeconfig-client-key"), type=Path, metavar="FILE")
    add_bool_flag(
        auth,
        "insecure-listen-anywhere",
        default=False,
        help="allow a non-loopback --listen address without authentication (everyone is admin)",
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


class UsageError(Exception):
    """Bad input to `dev-api`: reported as one line, exit code 2."""


def _fail(message: str) -> int:
    print(f"dev-api: error: {message}", file=sys.stderr, flush=True)
    return 2


def _warn(message: str) -> None:
    print(f"dev-api: warning: {message}", file=sys.stderr, flush=True)


def _tokens(path: Path | None) -> dict[str, UserInfo]:
    if path is None:
        return {}
    try:
        return read_token_file(path)
    except OSError as error:
        raise UsageError(f"--token-auth-file {path}: {error.strerror or error}") from None
    except (ValueError, csv.Error) as error:
        raise UsageError(f"--token-auth-file {error}") from None


def _tls(args: argparse.Namespace) -> TlsConfig | None:
    if args.client_ca_file and not args.tls_cert_file:
        raise UsageError("--client-ca-file needs --tls-cert-file and --tls-private-key-file")
    if not (args.tls_cert_file or args.tls_private_key_file):
        return None
    if not (args.tls_cert_file and args.tls_private_key_file):
        raise UsageError("--tls-cert-file and --tls-private-key-file go together")
    tls = TlsConfig(args.tls_cert_file, args.tls_private_key_file, args.client_ca_file)
    try:
        tls.server_context()  # the files are read here: fail now, with their names
    except (OSError, ssl.SSLError) as error:
        files = [args.tls_cert_file, args.tls_private_key_file, args.client_ca_file]
        named = ", ".join(str(f) for f in files if f is not None)
        reason = getattr(error, "reason", None) or getattr(error, "strerror", None) or error
        raise UsageError(f"cannot use the TLS files ({named}): {reason}") from None
    return tls


def _kubeconfig_credentials(
    args: argparse.Namespace, tokens: dict[str, UserInfo], tls: TlsConfig | None
) -> tuple[str | None, Path | None, Path | None]:
    """The kubeconfig's user: a token, or a client certificate and key."""
    cert, key = args.kubeconfig_client_certificate, args.kubeconfig_client_key
    if bool(cert) != bool(key):
        raise UsageError("--kubeconfig-client-certificate and --kubeconfig-client-key go together")
    token = args.kubeconfig_token or (None if cert else next(iter(tokens), None))
    client_ca = tls is not None and tls.client_ca_file is not None
    if args.kubeconfig_out and client_ca and not tokens and not cert:
        raise UsageError(
            "with --client-ca-file and no --token-auth-file, the kubeconfig needs "
            "--kubeconfig-client-certificate and --kubeconfig-client-key"
        )
    for flag, path in (("certificate", cert), ("key", key)):
        if path is not None and not path.is_file():
            raise UsageError(f"--kubeconfig-client-{flag} {path}: no such file")
    return token, cert, key


@dataclass(frozen=True)
class Setup:
    """A configured server (seeded, not started) and what to tell the user."""

    cluster: DevCluster
    seed_reports: list[tuple[Path, SeedReport]]
    kubeconfig_user: tuple[str | None, Path | None, Path | None]


def _configure(args: argparse.Namespace) -> Setup:
    """Everything from the flags, checked before the server starts; `UsageError` for
    bad input, naming the flag and file."""
    try:
        host, port = parse_listen(args.listen)
    except ListenRefused as error:
        raise UsageError(str(error)) from None
    tokens = _tokens(args.token_auth_file)
    tls = _tls(args)
    try:
        rbac = RbacAuthorizer.from_path(args.rbac) if args.rbac else None
    except ManifestError as error:
        raise UsageError(f"--rbac {error}") from None
    try:
        cluster = DevCluster(
            host,
            port,
            tls=tls,
            tokens=tokens,
            rbac=rbac,
            bookmark_interval=args.bookmark_interval,
            history_limit=args.history_limit,
            log_requests=args.log_requests,
            insecure_listen_anywhere=args.insecure_listen_anywhere,
        )
    except ListenRefused as error:
        raise UsageError(str(error)) from None
    if cluster.exposure_warning is not None:
        _warn(cluster.exposure_warning)
    reports: list[tuple[Path, SeedReport]] = []
    for path in args.seed:
        try:
            reports.append((path, cluster.seed_files([path])))
        except SeedError as error:
            raise UsageError(f"--seed {error}") from None
    return Setup(cluster, reports, _kubeconfig_credentials(args, tokens, tls))


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        setup = _configure(args)
    except UsageError as error:
        return _fail(str(error))
    cluster = setup.cluster
    for path, report in setup.seed_reports:
        logging.info("dev-api: %s", report.summary(str(path)))
        for warning in report.warnings():
            _warn(warning)
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    try:
        cluster.start()
    except OSError as error:
        return _fail(f"cannot listen on {args.listen}: {error.strerror or error}")
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if args.kubeconfig_out:
            token, cert, key = setup.kubeconfig_user
            try:
                cluster.write_kubeconfig(
                    args.kubeconfig_out,
                    token=token,
                    client_cert_file=cert,
                    client_key_file=key,
                    ca_file=args.tls_ca_file,
                )
            except OSError as error:
                filename = error.filename or args.kubeconfig_out
                return _fail(f"cannot write the kubeconfig {filename}: {error.strerror}")
        where = f"; kubeconfig {args.kubeconfig_out}" if args.kubeconfig_out else ""
        print(f"dev-api: serving {cluster.url} (development only){where}", flush=True)
        stop.wait()
    finally:
        cluster.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("dev-api: stopped", flush=True)
    return 0
