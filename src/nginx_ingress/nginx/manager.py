"""Apply a rendered tree to NGINX safely: stage, check, swap, reload, confirm, roll back.

Guarantees:
- nothing happens when no byte changed;
- the files in the live directory are always a set that passed `nginx -t`
  (checked on a staged copy first);
- a resource file NGINX refuses is held at its last good version, or left out if
  it never had one, and the rest still applies; the caller learns which and why;
- a reload counts only when NGINX's new workers answer the new config version;
  when they do not (the master refused the config, or the timeout passed), the
  previous tree is restored and NGINX reloaded again.

One apply runs at a time (a lock); the NGINX process is started by the first apply.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from nginx_ingress.nginx import tree as trees
from nginx_ingress.nginx.check import CheckResult, crossplane_test, nginx_test
from nginx_ingress.nginx.confirm import wait_for_version
from nginx_ingress.nginx.process import NginxCommand, NginxProcess, wait_for
from nginx_ingress.nginx.tree import Tree

log = logging.getLogger("nginx_ingress.nginx")

MAIN_FILE = "nginx.conf"
DEFAULT_SERVER_FILE = "conf.d/_default-server.conf"

VersionFile = Callable[[int], tuple[str, str]]
"""version → (relative path, text) of the file whose server answers that version."""


class ApplyError(RuntimeError):
    """The tree was not applied; NGINX serves the previous configuration, unchanged on disk."""

    def __init__(self, message: str, nginx_output: str = "") -> None:
        super().__init__(message)
        self.nginx_output = nginx_output


class ReloadObserver(Protocol):
    """What the manager reports, for metrics (implemented by `observe`)."""

    def reload_succeeded(self, reason: str, seconds: float) -> None: ...

    def reload_failed(self) -> None: ...


@dataclass(frozen=True, slots=True)
class ManagerSettings:
    conf_dir: Path
    run_dir: Path
    version_socket: Path
    binary: str = "nginx"
    reload_timeout: float = 60.0
    """How long new workers may take to answer the new version (`-nginx-reload-timeout`)."""
    test_timeout: float = 300.0
    stop_timeout: float = 30.0
    render_only: bool = False
    """Write checked trees, never start or signal NGINX (`--render-only`)."""


@dataclass(frozen=True, slots=True)
class ApplyResult:
    version: int
    changed: bool
    """False when the tree equals the last one applied: nothing was done."""
    reloaded: bool
    held_back: Mapping[str, str] = field(default_factory=dict)
    """Relative path → NGINX's error, for files kept at their last good version or left out."""
    phases: Mapping[str, float] = field(default_factory=dict)
    """Seconds spent in each phase (stage, test, swap, reload, confirm)."""


class NginxManager:
    def __init__(
        self,
        settings: ManagerSettings,
        version_file: VersionFile,
        *,
        observer: ReloadObserver | None = None,
        on_nginx_exit: Callable[[int], None] | None = None,
    ) -> None:
        self._settings = settings
        self._version_file = version_file
        self._observer = observer
        self._on_nginx_exit = on_nginx_exit
        self._lock = threading.Lock()
        self._live: dict[str, str] = {}
        self._last_request: dict[str, str] | None = None
        self._version = 0
        self._ready = threading.Event()
        self._reload_failed = threading.Event()
        self._last_error: str | None = None
        self._process: NginxProcess | None = None

    @property
    def ready(self) -> bool:
        """True once a tree was applied and NGINX confirmed it (readiness)."""
        return self._ready.is_set()

    @property
    def version(self) -> int:
        return self._version

    @property
    def process(self) -> NginxProcess | None:
        return self._process

    def apply(self, tree: Tree, reason: str = "other") -> ApplyResult:
        """Apply `tree`; raises `ApplyError` when nothing of it could be applied."""
        trees.check_paths(tree)
        with self._lock:
            if self._last_request == tree:
                return ApplyResult(self._version, changed=False, reloaded=False)
            try:
                result = self._apply(dict(tree), reason)
            except ApplyError:
                if self._observer is not None and not self._settings.render_only:
                    self._observer.reload_failed()
                raise
            self._last_request = dict(tree)
            return result

    def stop(self) -> int | None:
        """Stop NGINX gracefully (SIGQUIT, then SIGKILL after the stop timeout)."""
        with self._lock:
            process = self._process
        return process.stop(self._settings.stop_timeout) if process else None

    # --- the steps ---------------------------------------------------------------------

    def _apply(self, desired: dict[str, str], reason: str) -> ApplyResult:
        settings, conf_dir = self._settings, self._settings.conf_dir
        phases: dict[str, float] = {}
        version = self._version + 1
        version_path, version_text = self._version_file(version)
        candidate = {**desired, version_path: version_text}
        stale = trees.stale_files(conf_dir, candidate) if not self._ready.is_set() else []

        candidate, held_back, staging = self._stage_and_check(candidate, version_path, phases)
        visible = set(candidate) - {version_path}
        unchanged = all(self._live.get(p) == candidate[p] for p in visible) and visible == (
            set(self._live) - {version_path}
        )
        if unchanged and not stale and self._ready.is_set():
            trees.discard(conf_dir)  # every change was held back: nothing to reload
            return ApplyResult(self._version, changed=True, reloaded=False, held_back=held_back)

        clock = time.perf_counter()
        previous = self._live
        trees.swap(conf_dir, staging, previous, candidate, stale)
        phases["swap"] = time.perf_counter() - clock
        if settings.render_only:
            self._commit(candidate, version)
            return ApplyResult(version, True, False, held_back, phases)

        clock = time.perf_counter()
        error = self._load(version, phases)
        if error is not None:
            self._restore(previous, candidate)
            raise ApplyError(f"NGINX did not load the new configuration: {error}")
        self._commit(candidate, version)
        if self._observer is not None:
            self._observer.reload_succeeded(reason, time.perf_counter() - clock)
        return ApplyResult(version, True, True, held_back, phases)

    def _stage_and_check(
        self, candidate: dict[str, str], version_path: str, phases: dict[str, float]
    ) -> tuple[dict[str, str], dict[str, str], Path]:
        """Stage and check until NGINX accepts; hold back each file it blames.

        A blamed resource file goes back to its last good version, or out when it has
        none. The main file, the version file, and a core file without a last good
        version cannot be held back: then the whole apply fails.
        """
        conf_dir, held_back = self._settings.conf_dir, dict[str, str]()
        for _attempt in range(len(candidate) + 1):
            clock = time.perf_counter()
            staging = trees.stage(conf_dir, self._live, candidate)
            phases["stage"] = phases.get("stage", 0.0) + time.perf_counter() - clock
            clock = time.perf_counter()
            result = self._check(staging / MAIN_FILE)
            phases["test"] = phases.get("test", 0.0) + time.perf_counter() - clock
            if result.ok:
                return candidate, held_back, staging
            blamed = _blamed_file(result, staging)
            if (
                blamed is None
                or blamed in held_back
                or blamed in (MAIN_FILE, version_path)
                or (blamed == DEFAULT_SERVER_FILE and blamed not in self._live)
            ):
                trees.discard(conf_dir)
                raise ApplyError(f"NGINX refused the configuration: {result.error}", result.output)
            held_back[blamed] = result.error
            if blamed in self._live:
                candidate = {**candidate, blamed: self._live[blamed]}
                log.warning("holding %s at its last good version: %s", blamed, result.error)
            else:
                candidate = {p: t for p, t in candidate.items() if p != blamed}
                log.warning("leaving %s out: %s", blamed, result.error)
        trees.discard(conf_dir)
        raise ApplyError("NGINX kept refusing the configuration")

    def _check(self, main: Path) -> CheckResult:
        if self._settings.render_only:
            return crossplane_test(main)
        command = NginxCommand(self._settings.binary, self._settings.run_dir, main)
        return nginx_test(command, self._settings.test_timeout)

    def _load(self, version: int, phases: dict[str, float]) -> str | None:
        """Start NGINX or reload it, then wait for the version; the reason it failed, or None."""
        settings = self._settings
        self._reload_failed.clear()
        clock = time.perf_counter()
        old_workers: set[int] = set()
        if self._process is None:
            self._process = NginxProcess(
                NginxCommand(settings.binary, settings.run_dir, settings.conf_dir / MAIN_FILE),
                on_exit=self._nginx_exited,
                on_error_line=self._nginx_error,
            )
            self._process.start()
        elif self._process.running:
            old_workers = self._process.worker_pids()
            self._process.reload()
        else:
            return "NGINX is not running (it exited; the controller must restart)"
        phases["reload"] = time.perf_counter() - clock
        clock = time.perf_counter()
        deadline = time.monotonic() + settings.reload_timeout
        confirmed = wait_for_version(
            settings.version_socket, version, settings.reload_timeout, self._reload_failed
        ) and self._old_workers_stopped_accepting(old_workers, deadline)
        phases["confirm"] = time.perf_counter() - clock
        if confirmed:
            return None
        if self._reload_failed.is_set():
            return self._last_error or "NGINX reported an error"
        return f"new workers did not answer version {version} within {settings.reload_timeout:g}s"

    def _old_workers_stopped_accepting(self, old_workers: set[int], deadline: float) -> bool:
        """New workers answering is not enough: until every old worker has closed its
        listeners, a new connection may still land on the old configuration."""
        process = self._process
        if not old_workers or process is None:
            return True
        return wait_for(
            lambda: not (old_workers & process.worker_pids()),
            max(0.0, deadline - time.monotonic()),
        )

    def _restore(self, previous: dict[str, str], candidate: dict[str, str]) -> None:
        """Put the previous tree back and make NGINX run it again.

        With no previous tree (NGINX failed to start) the checked files stay: they
        passed `nginx -t`, and there is nothing better to show.
        """
        if not previous:
            return
        trees.write_tree(self._settings.conf_dir, previous, candidate)
        process = self._process
        if process is None or not process.running:
            return
        self._reload_failed.clear()
        process.reload()
        if not wait_for_version(
            self._settings.version_socket, self._version, self._settings.reload_timeout
        ):
            log.error("NGINX did not confirm the restored configuration %d", self._version)

    def _commit(self, tree: dict[str, str], version: int) -> None:
        self._live = tree
        self._version = version
        self._ready.set()

    def _nginx_error(self, line: str) -> None:
        if "[emerg]" in line:
            self._last_error = line.split(": ", 1)[-1]
            self._reload_failed.set()

    def _nginx_exited(self, code: int) -> None:
        self._reload_failed.set()
        if self._on_nginx_exit is not None:
            self._on_nginx_exit(code)


def _blamed_file(result: CheckResult, staging: Path) -> str | None:
    """The file NGINX blamed, relative to the stage; None if outside it or unnamed."""
    if result.file is None:
        return None
    try:
        return result.file.relative_to(staging).as_posix()
    except ValueError:
        return None
