"""`nginx-ingress run`: the production entry point, with NIC's flags.

Wires the parts together and owns the process's life:
- SIGTERM or SIGINT: stop taking changes, stop NGINX gracefully (SIGQUIT, so workers
  finish their requests), stop the listeners, exit 0;
- NGINX exiting on its own: readiness turns 503 at once, the controller stops and
  exits 1, so Kubernetes restarts the pod.
Either way the leader-election Lease is released first, so another replica takes over
Ingress status at once.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import math
import os
import re
import shutil
import signal
import sys
import threading
from pathlib import Path

from nginx_ingress.cliflags import add_bool_flag, flag_names
from nginx_ingress.configmap.parsers import InvalidValue, parse_time
from nginx_ingress.controller.loop import Controller, ControllerSettings
from nginx_ingress.controller.preflight import PreflightError, check_ingress_class
from nginx_ingress.controller.startup import StartupError, prepare
from nginx_ingress.controller.status import (
    DEFAULT_LOCK_NAME,
    StatusReporting,
    StatusSettings,
)
from nginx_ingress.kube.client import KubeConfigError, connect
from nginx_ingress.kube.events import EventRecorder
from nginx_ingress.kube.lease import LeaseTiming, LeaseTimingError
from nginx_ingress.logs import FORMATS, LEVELS, configure
from nginx_ingress.nginx.manager import ManagerSettings, NginxManager
from nginx_ingress.nginx.plusapi import PlusApiClient
from nginx_ingress.observe.metrics import Metrics
from nginx_ingress.observe.servers import Listener, metrics_listener, readiness_listener
from nginx_ingress.render import config_version_files
from nginx_ingress.settings import SettingsError, check_namespace, check_service_name
from nginx_ingress.settingsargs import add_settings_arguments, settings_from_arguments

log = logging.getLogger("nginx_ingress.controller")

EXIT_OK, EXIT_NGINX_DIED, EXIT_USAGE = 0, 1, 2

_LABEL_NAME = re.compile(
    r"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?",
    re.ASCII,
)
_OBJECT_NAME = re.compile(
    r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*", re.ASCII
)
_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?", re.ASCII)


class UsageError(ValueError):
    """A flag or environment variable the controller cannot start with."""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = commands.add_parser(
        "run",
        help="run the controller in a cluster (needs POD_NAMESPACE and POD_NAME)",
        description="Watch the cluster, render NGINX's configuration and keep NGINX running it.",
    )
    add_settings_arguments(run, namespace_flag=False)
    group = run.add_argument_group("controller")
    group.add_argument(
        *flag_names("nginx-configmaps"),
        metavar="NAMESPACE/NAME",
        help="the ConfigMap with the global configuration (default none: the built-in defaults)",
    )
    group.add_argument(
        *flag_names("ingress-class"),
        default="nginx",
        metavar="CLASS",
        help="serve Ingresses of this class; the IngressClass must exist with controller "
        "nginx.org/ingress-controller (default %(default)s)",
    )
    group.add_argument(
        *flag_names("watch-namespace"),
        default=None,
        metavar="NAMESPACE,…",
        help="comma-separated namespaces whose Ingresses, Services and EndpointSlices are "
        "watched (default all)",
    )
    group.add_argument(
        *flag_names("watch-secret-namespace"),
        default=None,
        metavar="NAMESPACE,…",
        help="comma-separated namespaces whose TLS Secrets are watched (default: those of "
        "-watch-namespace)",
    )
    group.add_argument(
        *flag_names("kubeconfig"),
        metavar="FILE",
        help="a kubeconfig file (default: the pod's service account)",
    )
    group.add_argument(
        *flag_names("zone-sync-service-selector"),
        metavar="KEY=VALUE,…",
        help="the controller's pods, which the zone-sync headless Service selects and "
        "limit-req-scale counts (default: the controller workload's selector)",
    )
    group.add_argument(
        *flag_names("nginx-binary"),
        default="nginx",
        metavar="PATH",
        help="the NGINX program, a path or a name looked up in PATH (default %(default)s)",
    )
    group.add_argument(
        *flag_names("nginx-reload-timeout"),
        type=int,
        default=60000,
        metavar="MS",
        help="milliseconds new workers may take to serve a new configuration (default %(default)s)",
    )
    add_bool_flag(
        group,
        "take-over-conf-dir",
        default=False,
        help="use a -conf-dir holding files nginx-ingress did not write (it replaces them)",
    )
    add_bool_flag(
        group,
        "render-only",
        default=False,
        help="write checked configuration files, never start or reload NGINX",
    )
    group.add_argument(
        *flag_names("reload-quiet-period"),
        default="100ms",
        metavar="TIME",
        help="apply once changes have been quiet this long (default %(default)s)",
    )
    group.add_argument(
        *flag_names("reload-max-delay"),
        default="1s",
        metavar="TIME",
        help="but never later than this after the first change (default %(default)s)",
    )
    add_status_arguments(run)
    group.add_argument(
        *flag_names("zone-sync-degraded-after"),
        default="30s",
        metavar="TIME",
        help="NGINX Plus: warn (event ZoneSyncDegraded) when zone sync has missed peers this "
        "long (default %(default)s)",
    )
    group.add_argument(
        *flag_names("log-level"),
        choices=LEVELS,
        default="info",
        metavar="LEVEL",
        help=f"the controller's log level: {', '.join(LEVELS)} (default %(default)s)",
    )
    group.add_argument(
        *flag_names("log-format"),
        choices=FORMATS,
        default="glog",
        metavar="FORMAT",
        help=f"the controller's log lines: {', '.join(FORMATS)} (default %(default)s)",
    )
    run.set_defaults(run=run_controller)


def add_status_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("Ingress status and leader election")
    add_bool_flag(
        group,
        "report-ingress-status",
        default=True,
        help="write the controller's address into status.loadBalancer of the Ingresses it serves",
    )
    group.add_argument(
        *flag_names("external-service"),
        metavar="[NAMESPACE/]NAME",
        help="the Service whose load-balancer addresses (or external IPs) Ingress status "
        "reports; NAME alone is in the controller's namespace (default: the ConfigMap's "
        "external-status-address, else the nodes of the controller's pods)",
    )
    add_bool_flag(
        group,
        "enable-leader-election",
        default=True,
        help="only the replica holding a Lease writes Ingress status",
    )
    group.add_argument(
        *flag_names("leader-election-lock-name"),
        default=DEFAULT_LOCK_NAME,
        metavar="NAME",
        help="the Lease, in the controller's namespace (default %(default)s)",
    )
    for flag, default, what in (
        ("leader-election-lease-duration", "30s", "how long a Lease is valid unless renewed"),
        ("leader-election-renew-deadline", "15s", "how long a leader may fail to renew"),
        ("leader-election-retry-period", "7500ms", "how often to renew or try to acquire"),
    ):
        group.add_argument(
            *flag_names(flag), default=default, metavar="TIME", help=f"{what} (default %(default)s)"
        )
    group.add_argument(
        *flag_names("status-update-rate"),
        type=float,
        default=50,
        metavar="N",
        help="Ingress status writes per second, at most (default %(default)s)",
    )


def parse_external_service(text: str, namespace: str) -> tuple[str, str]:
    """NIC's NAME (in the controller's namespace), or NAMESPACE/NAME."""
    service_namespace, slash, name = text.rpartition("/")
    try:
        check_namespace(service_namespace if slash else namespace)
        check_service_name(name)
    except SettingsError:
        raise UsageError(
            f"-external-service: {text!r} must be a Service name, or NAMESPACE/NAME"
        ) from None
    return (service_namespace if slash else namespace), name


def status_settings(args: argparse.Namespace, namespace: str) -> StatusSettings | None:
    """None with -report-ingress-status=false."""
    if not args.report_ingress_status:
        return None
    name = args.leader_election_lock_name
    if len(name) > 253 or not _OBJECT_NAME.fullmatch(name):
        raise UsageError(
            f"-leader-election-lock-name: {name!r} is not a Lease name (lower-case letters, "
            "digits, '-' and '.')"
        )
    rate = args.status_update_rate
    if not (math.isfinite(rate) and rate > 0):
        raise UsageError(f"-status-update-rate: {rate:g} must be a number above 0")
    try:
        timing = LeaseTiming(
            lease_duration=_seconds(
                "leader-election-lease-duration", args.leader_election_lease_duration
            ),
            renew_deadline=_seconds(
                "leader-election-renew-deadline", args.leader_election_renew_deadline
            ),
            retry_period=_seconds(
                "leader-election-retry-period", args.leader_election_retry_period
            ),
        )
    except LeaseTimingError as error:
        raise UsageError(f"leader election: {error}") from None
    return StatusSettings(
        external_service=(
            parse_external_service(args.external_service, namespace)
            if args.external_service
            else None
        ),
        leader_election=args.enable_leader_election,
        lock_name=name,
        timing=timing,
        rate=rate,
    )


def parse_selector(text: str) -> dict[str, str]:
    selector = {}
    for part in text.split(","):
        key, equals, value = part.strip().partition("=")
        if not equals or not _LABEL_NAME.fullmatch(key) or not _LABEL_VALUE.fullmatch(value):
            raise UsageError(
                f"-zone-sync-service-selector: {part.strip()!r} is not a label pair key=value"
            )
        selector[key] = value
    return selector


def parse_configmap_name(text: str) -> tuple[str, str]:
    namespace, _, name = text.partition("/")
    try:
        check_namespace(namespace)
    except SettingsError:
        name = ""  # reported below, with the same message as a bad name
    if len(name) > 253 or not _OBJECT_NAME.fullmatch(name):
        raise UsageError(f"-nginx-configmaps: {text!r} must be NAMESPACE/NAME")
    return namespace, name


def _seconds(flag: str, text: str) -> float:
    try:
        return parse_time(text).milliseconds / 1000
    except InvalidValue as error:
        raise UsageError(f"-{flag}: {text!r} {error}") from None


def controller_settings(args: argparse.Namespace, environ: dict[str, str]) -> ControllerSettings:
    namespace, pod_name = environ.get("POD_NAMESPACE"), environ.get("POD_NAME")
    if not namespace or not pod_name:
        raise UsageError(
            "POD_NAMESPACE and POD_NAME must be set (in a pod, from the downward API: "
            "fieldRef metadata.namespace and metadata.name)"
        )
    args.namespace = namespace
    settings = settings_from_arguments(args)
    quiet = _seconds("reload-quiet-period", args.reload_quiet_period)
    max_delay = _seconds("reload-max-delay", args.reload_max_delay)
    if not 0 < quiet <= max_delay:
        raise UsageError("-reload-quiet-period must be above 0 and at most -reload-max-delay")
    degraded_after = _seconds("zone-sync-degraded-after", args.zone_sync_degraded_after)
    if degraded_after <= 0:
        raise UsageError("-zone-sync-degraded-after must be above 0")
    if not args.render_only and shutil.which(args.nginx_binary) is None:
        raise UsageError(f"-nginx-binary: {args.nginx_binary!r} is not an executable NGINX")
    return ControllerSettings(
        settings=settings,
        pod_name=pod_name,
        configmap=parse_configmap_name(args.nginx_configmaps) if args.nginx_configmaps else None,
        service_selector=(
            parse_selector(args.zone_sync_service_selector)
            if args.zone_sync_service_selector
            else None
        ),
        ingress_class=args.ingress_class,
        watch_namespaces=parse_namespaces("watch-namespace", args.watch_namespace or ""),
        secret_namespaces=(
            None
            if args.watch_secret_namespace is None
            else parse_namespaces("watch-secret-namespace", args.watch_secret_namespace)
        ),
        quiet=quiet,
        max_delay=max_delay,
        render_only=args.render_only,
        zone_sync_degraded_after=degraded_after,
    )


def parse_namespaces(flag: str, text: str) -> tuple[str, ...]:
    """A comma-separated list of namespaces; empty means every namespace."""
    namespaces = tuple(sorted({part.strip() for part in text.split(",") if part.strip()}))
    for namespace in namespaces:
        try:
            check_namespace(namespace)
        except SettingsError as error:
            raise UsageError(f"-{flag}: {error}") from None
    return namespaces


def run_controller(args: argparse.Namespace) -> int:
    configure(args.log_level, args.log_format)
    try:
        config = controller_settings(args, dict(os.environ))
        status = status_settings(args, config.settings.namespace)
        api = connect(args.kubeconfig)
        check_ingress_class(api, config.ingress_class)
        config = dataclasses.replace(
            config,
            settings=prepare(
                config.settings,
                binary=args.nginx_binary,
                render_only=args.render_only,
                take_over=args.take_over_conf_dir,
            ),
        )
    except (UsageError, SettingsError, KubeConfigError, PreflightError, StartupError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    settings = config.settings

    stop = threading.Event()
    nginx_died = threading.Event()

    def on_nginx_exit(code: int) -> None:
        log.error("NGINX exited with status %s: stopping the controller", code)
        nginx_died.set()
        stop.set()

    metrics = Metrics(args.ingress_class)
    manager = NginxManager(
        ManagerSettings(
            conf_dir=Path(settings.conf_dir),
            run_dir=Path(settings.run_dir),
            version_socket=Path(settings.config_version_socket),
            binary=args.nginx_binary,
            other_sockets=(Path(settings.plus_api_socket),) if settings.nginx_plus else (),
            reload_timeout=args.nginx_reload_timeout / 1000,
            render_only=args.render_only,
        ),
        config_version_files(settings.config_version_socket),
        observer=metrics,
        on_nginx_exit=on_nginx_exit,
    )

    def ready() -> bool:
        process = manager.process
        alive = args.render_only or (process is not None and process.running)
        return manager.ready and alive and not stop.is_set()

    listeners: list[Listener] = []
    recorder = EventRecorder(api, instance=config.pod_name)
    reporting = None
    if status is not None:
        reporting = StatusReporting(
            api,
            status,
            namespace=settings.namespace,
            pod_name=config.pod_name,
            watch_namespaces=config.watch_namespaces,
            metrics=metrics,
            timing=config.timing,
        )
    plus_api = None
    if settings.nginx_plus and not args.render_only:
        plus_api = PlusApiClient(
            "http://nginx-plus-api/api", unix_socket=str(settings.plus_api_socket), timeout=5.0
        )
    controller = Controller(
        config,
        api,
        manager,
        metrics,
        recorder,
        status=reporting.reporter if reporting else None,
        plus_api=plus_api,
    )
    try:
        if settings.listeners.ready_status_enabled:
            listeners.append(readiness_listener("", settings.listeners.ready_status, ready))
        if settings.listeners.prometheus_metrics_enabled:
            listeners.append(
                metrics_listener("", settings.listeners.prometheus_metrics, metrics.registry)
            )
    except OSError as error:
        print(f"error: cannot listen: {error}", file=sys.stderr)
        for listener in listeners:
            listener.close()
        return EXIT_USAGE

    # A signal handler only flips a flag: setting an Event takes a lock the interrupted
    # main thread may be holding inside `Event.wait`.
    signalled: list[int] = []
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda received, _frame: signalled.append(received))
    log.info(
        "starting: namespace %s, pod %s, ConfigMap %s, NGINX%s",
        settings.namespace,
        config.pod_name,
        "/".join(config.configmap) if config.configmap else "none",
        " Plus" if settings.nginx_plus else "",
    )
    controller.start()
    if reporting is not None:
        reporting.start()
    while not signalled and not stop.wait(0.2):
        pass
    stop.set()
    log.info("stopping")
    if reporting is not None:
        reporting.stop()  # first: release the Lease, so a successor takes over at once
    controller.stop()
    manager.stop()
    for listener in listeners:
        listener.close()
    recorder.stop()
    return EXIT_NGINX_DIED if nginx_died.is_set() else EXIT_OK
