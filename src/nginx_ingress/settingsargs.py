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

LISTENER_PORTS = (
    ("default-http-listener-port", "http", "port of the catch-all HTTP server"),
    ("default-https-listener-port", "https", "port of the catch-all HTTPS server"),
    ("nginx-status-port", "nginx_status", "port of NGINX's status (stub_status; on Plus, the API)"),
    ("ready-status-port", "ready_status", "port of the controller's /nginx-ready"),
    ("prometheus-metrics-listen-port", "prometheus_metrics", "port of the controller's /metrics"),
)
"""Flag, `Listeners` field and help of each port; a `zone-sync-port` may not take any of them."""

DEFAULT_CONF_DIR = "/etc/nginx"
DEFAULT_RUN_DIR = "/var/lib/nginx"
DEFAULT_STATUS_ALLOW_CIDRS = "127.0.0.1,::1"


def add_settings_arguments(
    parser: argparse.ArgumentParser, *, namespace_flag: bool = True, renders: bool = True
) -> None:
    """The flags that shape the rendered configuration.

    `run` takes its namespace from POD_NAMESPACE only (`namespace_flag=False`).
    `validate` renders nothing (`renders=False`): it takes only the flags that change
    which values are problems (NGINX Plus, the cluster domain, the Service name it
    checks, the listeners a zone-sync port must avoid); a flag it would ignore is
    refused as unknown rather than silently accepted.
    """
    group = parser.add_argument_group("NGINX and cluster settings")
    add_bool_flag(
        group,
        "nginx-plus",
        default=False,
        help=(
            "render for NGINX Plus (zone sync needs it)"
            if renders
            else "check as for NGINX Plus (zone sync and the resolver-* keys need it)"
        ),
    )
    group.add_argument(
        *flag_names("cluster-domain"),
        default=DEFAULT_CLUSTER_DOMAIN,
        metavar="DOMAIN",
        help="the cluster's DNS domain (default %(default)s)",
    )
    group.add_argument(
        *flag_names("zone-sync-service-name"),
        default=DEFAULT_ZONE_SYNC_SERVICE_NAME,
        metavar="NAME",
        help="name of the headless Service listing zone-sync peers (default %(default)s)",
    )
    add_bool_flag(
        group,
        "zone-sync-require-tls",
        default=False,
        help="zone sync only over TLS with peer verification: without a usable "
        "zone-sync-tls-secret and CA it stays off",
    )
    if renders:
        _add_rendering_arguments(group, namespace_flag=namespace_flag)
    else:
        parser.set_defaults(
            namespace=None,
            disable_ipv6=False,
            conf_dir=DEFAULT_CONF_DIR,
            run_dir=DEFAULT_RUN_DIR,
            load_module=[],
            nginx_status_allow_cidrs=DEFAULT_STATUS_ALLOW_CIDRS,
            default_server_tls_secret=None,
            health_status=False,
            health_status_uri="/nginx-health",
        )
    defaults = Listeners()
    for name, field, text in LISTENER_PORTS:
        group.add_argument(
            *flag_names(name),
            type=int,
            default=getattr(defaults, field),
            metavar="PORT",
            help=f"{text} (default %(default)s)",
        )
    add_bool_flag(
        group, "nginx-status", default=True, help="serve NGINX status on -nginx-status-port"
    )
    if renders:
        group.add_argument(
            *flag_names("nginx-status-allow-cidrs"),
            default=DEFAULT_STATUS_ALLOW_CIDRS,
            metavar="CIDRS",
            help="comma-separated addresses allowed to read NGINX status (default %(default)s)",
        )
    add_bool_flag(
        group, "ready-status", default=True, help="serve /nginx-ready on -ready-status-port"
    )
    add_bool_flag(
        group,
        "enable-prometheus-metrics",
        default=True,
        help="serve /metrics on -prometheus-metrics-listen-port",
    )


def _add_rendering_arguments(group: argparse._ArgumentGroup, *, namespace_flag: bool) -> None:
    """The flags that change the rendered files but not which values are problems."""
    add_bool_flag(group, "disable-ipv6", default=False, help="render no IPv6 listeners")
    if namespace_flag:
        group.add_argument(
            *flag_names("namespace"),
            default=None,
            metavar="NAMESPACE",
            help="the controller's namespace, in the zone-sync peer name; stands in for "
            f"POD_NAMESPACE (default $POD_NAMESPACE, else {DEFAULT_NAMESPACE})",
        )
    group.add_argument(
        *flag_names("conf-dir"),
        default=DEFAULT_CONF_DIR,
        metavar="DIR",
        help="directory NGINX reads the configuration from (default %(default)s)",
    )
    group.add_argument(
        *flag_names("run-dir"),
        default=DEFAULT_RUN_DIR,
        metavar="DIR",
        help="directory for NGINX's pid file, temporary files and the config-version socket "
        "(default %(default)s)",
    )
    group.add_argument(
        *flag_names("load-module"),
        action="append",
        default=[],
        metavar="PATH",
        help="a dynamic NGINX module to load, such as Debian's ngx_stream_module.so "
        "(default none; repeatable)",
    )
    group.add_argument(
        *flag_names("default-server-tls-secret"),
        metavar="NAMESPACE/NAME",
        help="TLS Secret of the catch-all server (default none: TLS handshakes for names "
        "no Ingress serves are refused)",
    )
    add_bool_flag(
        group,
        "health-status",
        default=False,
        help="answer 200 on -health-status-uri from the catch-all server",
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
        zone_sync_require_tls=args.zone_sync_require_tls,
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
