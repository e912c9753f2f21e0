"""One local run, from the checks before anything starts to the last process stopped.

Order matters both ways. Up: the API server, then what a cluster would hold (the
controller's workload, the folder's objects, the IngressClass, the stand-ins'
EndpointSlices, Secrets and backends), then the live report's watch, and only then
the controller, so its first configuration already has everything and NGINX starts
once. Down, in reverse, from one `ExitStack`: stop following the folder, stop the
controller (it stops NGINX gracefully and posts its last events while the API
server still answers), then the report, the backends and the API server. Signals
only set a flag; the main thread does the stopping, so a Ctrl-C in the middle of
start-up stops what has started and nothing else, and always ends with exit 0.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from nginx_ingress_dev.devcluster import DevCluster
from nginx_ingress_dev.devcluster.store import Store
from nginx_ingress_dev.localrun.certificates import GENERATED_LABEL, CertificateStandIn, LocalCA
from nginx_ingress_dev.localrun.console import Console
from nginx_ingress_dev.localrun.controller import (
    ControllerLaunch,
    ControllerPorts,
    ControllerProcess,
)
from nginx_ingress_dev.localrun.filewatch import FolderWatcher
from nginx_ingress_dev.localrun.folder import FileReport, FolderSync, manifest_files
from nginx_ingress_dev.localrun.hints import curl_commands
from nginx_ingress_dev.localrun.processes import find_nginx, free_port, port_problem
from nginx_ingress_dev.localrun.reconciler import StandIns
from nginx_ingress_dev.localrun.renderonly import zone_sync_lines
from nginx_ingress_dev.localrun.report import LiveReport, file_version, socket_version
from nginx_ingress_dev.localrun.standins import (
    ControllerIdentity,
    create_controller_workload,
    ensure_ingress_class,
)
from nginx_ingress_dev.localrun.state import StateDir, StateError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
NOT_READY_WARNING = 30.0
"""Seconds after which a start that is not ready yet is explained (and waited for)."""
ZONE_SYNC_SERVICE = "nginx-ingress-headless"
DEFAULT_MANIFESTS = Path("examples/cafe")


class UsageError(Exception):
    """The run cannot start as asked; one line, exit status 2."""


@dataclass(frozen=True)
class DevSettings:
    manifests: Path
    http_port: int
    https_port: int
    nginx_plus: bool
    render_only: bool
    backends: bool
    nginx_binary: str | None
    """None: found (`PATH`, then where packages install it)."""
    state_dir: Path
    kubeconfig_out: Path | None


def _check(settings: DevSettings) -> str | None:
    """Everything that can be found wrong before anything starts; the NGINX program."""
    if not settings.manifests.exists():
        hint = " (the default is the checkout's cafe example: run from the checkout)"
        default = settings.manifests == DEFAULT_MANIFESTS
        raise UsageError(
            f"--manifests {settings.manifests}: no such file or directory{hint if default else ''}"
        )
    if settings.render_only:
        return None
    nginx = settings.nginx_binary or find_nginx()
    if settings.nginx_binary is not None and shutil.which(settings.nginx_binary) is None:
        raise UsageError(f"--nginx-binary {settings.nginx_binary}: not an executable program")
    if nginx is None:
        raise UsageError(
            "NGINX is not installed: install Debian's nginx-light and libnginx-mod-stream "
            "(as root: apt-get install nginx-light libnginx-mod-stream, or make system-deps), "
            "or add --render-only to see the files without running NGINX"
        )
    if settings.http_port == settings.https_port:
        raise UsageError("--http-port and --https-port must differ")
    for flag, port in (("--http-port", settings.http_port), ("--https-port", settings.https_port)):
        problem = port_problem(port)
        if problem is not None:
            raise UsageError(f"{flag} {port}: cannot listen there: {problem}; choose another")
    return nginx


def _file_lines(reports: list[FileReport]) -> list[str]:
    """`path: created Service cafe/tea, Ingress cafe/cafe; replaced …` per file."""
    lines = []
    for report in reports:
        if report.actions:
            groups: list[tuple[str, list[str]]] = []
            for action in report.actions:
                verb, _, what = action.partition(" ")
                if groups and groups[-1][0] == verb:
                    groups[-1][1].append(what)
                else:
                    groups.append((verb, [what]))
            done = "; ".join(f"{verb} {', '.join(whats)}" for verb, whats in groups)
            lines.append(f"{report.path}: {done}")
        lines.extend(f"warning: {problem}" for problem in report.problems)
    return lines


def _ended(code: int) -> str:
    """`exited with status 2`, `was killed by SIGKILL`."""
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with status {code}"


class _Signals:
    """SIGINT and SIGTERM only flip a flag (setting an Event could deadlock a main thread
    interrupted inside `Event.wait`); restored on exit."""

    def __init__(self) -> None:
        self.received: list[int] = []
        self._previous: dict[int, Callable[[int, FrameType | None], object] | int | None] = {}

    def __enter__(self) -> _Signals:
        for number in (signal.SIGINT, signal.SIGTERM):
            self._previous[number] = signal.signal(number, self._handle)
        return self

    def _handle(self, number: int, _frame: FrameType | None) -> None:
        self.received.append(number)

    def __exit__(self, *_exc: object) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)


class DevRun:
    def __init__(self, settings: DevSettings, console: Console) -> None:
        self.settings = settings
        self.console = console
        self.state = StateDir(settings.state_dir)

    def run(self) -> int:
        started = time.monotonic()
        with _Signals() as signals:
            with contextlib.ExitStack() as stack:
                try:
                    code = self._run(stack, signals, started)
                except (UsageError, StateError) as error:
                    self.console.error(str(error))
                    code = EXIT_USAGE
                if signals.received:
                    self.console.line(
                        "stopping: the controller and NGINX, the backends, the API server"
                    )
            if signals.received:
                self.console.line("stopped")
        return code

    def _run(self, stack: contextlib.ExitStack, signals: _Signals, started: float) -> int:
        """Start everything (each step registers its stop on `stack`), then serve until a
        signal or the controller's end."""
        nginx = _check(self.settings)
        stack.enter_context(self.state.lock())
        self.console.line("nginx-ingress dev: the controller on this machine (development only)")
        cluster, kubeconfig = self._start_api_server(stack)
        identity, watcher, ca = self._fill(stack, cluster.store)
        report = self._start_report(stack, cluster.store)
        controller = self._start_controller(stack, kubeconfig, identity, nginx)
        watcher.start()
        stack.callback(watcher.stop)
        outcome = self._wait_until_ready(controller, report, signals)
        if outcome is not None:
            return outcome
        self._print_ready(cluster, ca, kubeconfig, started, identity.namespace)
        while not signals.received:
            code = controller.returncode()
            if code is not None:
                why = controller.last_error() or f"see {self.state.controller_log}"
                self.console.error(f"the controller {_ended(code)} while running: {why}")
                return EXIT_FAILED
            time.sleep(0.1)
        return EXIT_OK

    def _start_api_server(self, stack: contextlib.ExitStack) -> tuple[DevCluster, Path]:
        cluster = DevCluster()
        cluster.start()
        stack.callback(cluster.stop)
        kubeconfig = self.settings.kubeconfig_out or self.state.kubeconfig
        try:
            cluster.write_kubeconfig(kubeconfig)
        except OSError as error:
            raise UsageError(
                f"cannot write the kubeconfig {kubeconfig}: {error.strerror}"
            ) from None
        self.console.line(f"local API server {cluster.url}, kubeconfig {kubeconfig}")
        return cluster, kubeconfig

    def _fill(
        self, stack: contextlib.ExitStack, store: Store
    ) -> tuple[ControllerIdentity, FolderWatcher, LocalCA]:
        """What the cluster holds before the controller starts: its workload, the folder's
        objects, the IngressClass, and what the stand-ins make of them. The watcher takes
        its first look before the folder is read, so no edit falls between the two."""
        settings, console = self.settings, self.console
        identity = ControllerIdentity.new()
        create_controller_workload(store, identity)
        console.line(
            f"controller: Deployment {identity.namespace}/{identity.deployment}, "
            f"ReplicaSet {identity.replica_set}, Pod {identity.pod}"
        )
        folder = FolderSync(settings.manifests, store)
        watcher = FolderWatcher(settings.manifests, lambda paths: self._changed(folder, paths))
        console.lines(_file_lines(folder.update(manifest_files(settings.manifests))))
        if ensure_ingress_class(store):
            console.line("created IngressClass nginx (controller nginx.org/ingress-controller)")
        ca = LocalCA(self.state.certificates)
        stand_ins = StandIns(
            store, console, CertificateStandIn(store, ca), backends=settings.backends
        )
        stack.callback(stand_ins.stop)
        stand_ins.reconcile()
        stand_ins.start()
        return identity, watcher, ca

    def _start_report(self, stack: contextlib.ExitStack, store: Store) -> LiveReport:
        """Watching from before the controller starts, so its first events are seen."""
        if self.settings.render_only:
            since = time.time() - 1.0
            version = file_version(self.state.conf_dir / "config-version.conf", since=since)
        else:
            version = socket_version(self.state.config_version_socket)
        report = LiveReport(store, self.console, version, render_only=self.settings.render_only)
        report.start()
        stack.callback(report.stop)
        return report

    def _start_controller(
        self,
        stack: contextlib.ExitStack,
        kubeconfig: Path,
        identity: ControllerIdentity,
        nginx: str | None,
    ) -> ControllerProcess:
        settings, state = self.settings, self.state
        state.conf_dir.mkdir(parents=True, exist_ok=True)
        state.run_dir.mkdir(parents=True, exist_ok=True)
        ports = ControllerPorts(
            settings.http_port, settings.https_port, free_port(), free_port(), free_port()
        )
        launch = ControllerLaunch(
            kubeconfig, state, identity, ports, nginx, settings.nginx_plus, settings.render_only
        )
        controller = ControllerProcess(launch)
        controller.start()
        stack.callback(self._stop_controller, controller)
        if settings.render_only:
            started = f"controller started (pid {controller.pid}), -render-only: NGINX is not run"
        else:
            started = (
                f"controller started (pid {controller.pid}) with NGINX {nginx} on ports "
                f"{ports.http} (HTTP) and {ports.https} (HTTPS)"
            )
        self.console.lines(
            [
                started,
                f"  readiness http://127.0.0.1:{ports.ready}/nginx-ready, "
                f"metrics http://127.0.0.1:{ports.metrics}/metrics",
                f"  its log (the command line first): {state.controller_log}",
            ]
        )
        return controller

    def _changed(self, folder: FolderSync, paths: set[Path]) -> None:
        lines = _file_lines(folder.update(paths))  # warnings come as `warning: …` already
        self.console.lines(lines or [f"{', '.join(map(str, sorted(paths)))}: no object changed"])

    def _wait_until_ready(
        self, controller: ControllerProcess, report: LiveReport, signals: _Signals
    ) -> int | None:
        """None once ready; else the exit status to end with."""
        started = time.monotonic()
        warned = False
        while not (report.first_applied.is_set() and controller.ready()):
            if signals.received:
                return EXIT_OK
            code = controller.returncode()
            if code is not None:
                why = controller.last_error() or f"see {self.state.controller_log}"
                self.console.error(f"the controller {_ended(code)} before it was ready: {why}")
                return EXIT_USAGE if code == 2 else EXIT_FAILED
            if not warned and time.monotonic() - started > NOT_READY_WARNING:
                warned = True
                self.console.warning(
                    f"the controller is not ready after {NOT_READY_WARNING:.0f} s; waiting "
                    f"(its log: {self.state.controller_log})"
                )
            time.sleep(0.05)
        return None

    def _print_ready(
        self, cluster: DevCluster, ca: LocalCA, kubeconfig: Path, started: float, namespace: str
    ) -> None:
        settings, store = self.settings, cluster.store
        lines = [f"ready in {time.monotonic() - started:.1f} s"]
        if settings.render_only:
            lines.append(f"the files NGINX would load are in {self.state.conf_dir}")
            if settings.nginx_plus:
                lines.extend(
                    zone_sync_lines(
                        self.state.conf_dir / "nginx.conf", store, namespace, ZONE_SYNC_SERVICE
                    )
                )
        else:
            secrets = {
                (s.namespace, s.name): (s.obj["metadata"].get("labels") or {}).get(GENERATED_LABEL)
                == "certificate"
                for s in store.snapshot(store.resources.find("secrets"), None)
            }
            ingresses = [s.obj for s in store.snapshot(store.resources.find("ingresses"), None)]
            commands, more = curl_commands(
                ingresses,
                secrets,
                http_port=settings.http_port,
                https_port=settings.https_port,
                ca_file=ca.certificate_file,
            )
            if commands:
                lines.append("try:")
                lines.extend(f"  {command}" for command in commands)
                if more:
                    lines.append(f"  ({more} more: kubectl get ingress -A lists them)")
            else:
                lines.append("no Ingress to try: add one to the folder, or kubectl apply -f it")
        lines.append("look:")
        lines.append(f"  kubectl --kubeconfig {kubeconfig} get ingress,svc,events -A")
        lines.append(f"  ls {self.state.conf_dir}/conf.d")
        lines.append(
            f"edit the files in {settings.manifests}: each change is applied and reported below; "
            "Ctrl-C stops everything"
        )
        self.console.lines(lines)

    def _stop_controller(self, controller: ControllerProcess) -> None:
        if controller.returncode() is not None:
            return  # it ended by itself, and that was reported
        code = controller.stop()
        if code not in (None, 0):
            why = controller.last_error() or f"see {self.state.controller_log}"
            self.console.warning(f"the controller {_ended(code or 0)} when stopped: {why}")
