"""The command-line flags that build `Settings`, shared by every sub-command that renders.

Names follow NIC (`-nginx-plus`, `-disable-ipv6`, `-default-http-listener-port` …);
each accepts one or two dashes.
"""

from __future__ import annotations

import argparse
import os
from pathlib import PurePosixPath

from nginx_ingress.cliflags import add_bool_flag, flag_names
from nginx_ingress.settings import (
    DEFAULT_CLUSTER_DOMAIN,
    DEFAULT_NAMESPACE,
    DEFAULT_ZONE_SYNC_SERVICE_NAME,
    Listeners,
    Settings,
    SettingsError,
)


def add_settings_arguments(parser: argparse.ArgumentParser, *, namespace_flag: bool = True) -> None:
    """The flags that shape the rendered configuration; `run` takes its namespace from
    POD_NAMESPACE only (`namespace_flag=False`)."""
    group = parser.add_argument_group("NGINX and cluster settings")
    add_bool_flag(
        group, "nginx-plus", default=False, help="render for NGINX Plus (zone sync needs it)"
    )
    add_bool_flag(group, "disable-ipv6", default=False, help="render no IPv6 listeners")
    group.add_argument(
        *flag_names("cluster-domain"),
        default=DEFAULT_CLUSTER_DOMAIN,
        help="the cluster's DNS domain (default %(default)s)",
    )
    group.add_argument(
        *flag_names("zone-sync-service-name"),
        default=DEFAULT_ZONE_SYNC_SERVICE_NAME,
        help="name of the headless Service listing zone-sync peers (default %(default)s)",
    )
    if namespace_flag:
        group.add_argument(
            *flag_names("namespace"),
            default=None,
            help="the controller's namespace; stands in for POD_NAMESPACE "
            f"(default: $POD_NAMESPACE, else {DEFAULT_NAMESPACE})",
        )
    group.add_argument(
        *flag_names("conf-dir"),
        default="/etc/nginx",
        help="directory NGINX reads the configuration from (default %(default)s)",
    )
    group.add_argument(
        *flag_names("run-dir"),
        default="/var/lib/nginx",
        help="directory for NGINX's pid file and temporary files (default %(default)s)",
    )
    group.add_argument(
        *flag_names("load-module"),
        action="append",
        default=[],
        metavar="PATH",
        help="a dynamic NGINX module to load, such as Debian's ngx_stream_module.so (repeatable)",
    )
    defaults = Listeners()
    for name, default in (
        ("default-http-listener-port", defaults.http),
        ("default-https-listener-port", defaults.https),
        ("nginx-status-port", defaults.nginx_status),
        ("ready-status-port", defaults.ready_status),
        ("prometheus-metrics-listen-port", defaults.prometheus_metrics),
    ):
        group.add_argument(*flag_names(name), type=int, default=default, metavar="PORT")
    add_bool_flag(group, "nginx-status", default=True, help="serve NGINX status")
    group.add_argument(
        *flag_names("nginx-status-allow-cidrs"),
        default="127.0.0.1,::1",
        metavar="CIDRS",
        help="comma-separated addresses allowed to read NGINX status (default %(default)s)",
    )
    add_bool_flag(group, "ready-status", default=True, help="serve /nginx-ready")
    add_bool_flag(group, "enable-prometheus-metrics", default=True, help="serve /metrics")
    group.add_argument(
        *flag_names("default-server-tls-secret"),
        metavar="NAMESPACE/NAME",
        help="TLS Secret of the catch-all server (default: none, TLS handshakes for "
        "unknown names are refused)",
    )
    add_bool_flag(
        group,
        "health-status",
        default=False,
        help="answer 200 on -health-status-uri from the catch-all server (default false)",
    )
    group.add_argument(
        *flag_names("health-status-uri"),
        default="/nginx-health",
        metavar="PATH",
        help="path of the health-status location (default %(default)s)",
    )


def settings_from_arguments(args: argparse.Namespace) -> Settings:
    """Settings from parsed flags; raises `SettingsError` for an impossible combination."""
    namespace = args.namespace or os.environ.get("POD_NAMESPACE") or DEFAULT_NAMESPACE
    default_secret = None
    if args.default_server_tls_secret:
        secret_namespace, slash, secret_name = args.default_server_tls_secret.partition("/")
        if not slash:
            raise SettingsError(
                f"-default-server-tls-secret: {args.default_server_tls_secret!r} must be "
                "NAMESPACE/NAME"
            )
        default_secret = (secret_namespace, secret_name)
    return Settings(
        default_server_tls_secret=default_secret,
        health_status_uri=args.health_status_uri if args.health_status else None,
        nginx_plus=args.nginx_plus,
        disable_ipv6=args.disable_ipv6,
        cluster_domain=args.cluster_domain,
        zone_sync_service_name=args.zone_sync_service_name,
        namespace=namespace,
        conf_dir=PurePosixPath(args.conf_dir),
        run_dir=PurePosixPath(args.run_dir),
        load_modules=tuple(PurePosixPath(p) for p in args.load_module),
        listeners=Listeners(
            http=args.default_http_listener_port,
            https=args.default_https_listener_port,
            nginx_status=args.nginx_status_port,
            nginx_status_enabled=args.nginx_status,
            nginx_status_allow_cidrs=tuple(
                c.strip() for c in args.nginx_status_allow_cidrs.split(",") if c.strip()
            ),
            ready_status=args.ready_status_port,
            ready_status_enabled=args.ready_status,
            prometheus_metrics=args.prometheus_metrics_listen_port,
            prometheus_metrics_enabled=args.enable_prometheus_metrics,
        ),
    )
