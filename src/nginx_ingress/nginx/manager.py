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
from nginx_ingress.nginx.confirm import remove_stale_socket, wait_for_version
from nginx_ingress.nginx.process import NginxCommand, NginxProcess, NginxProcessError, wait_for
from nginx_ingress.nginx.tree import Tree

log = logging.getLogger("nginx_ingress.nginx")

MAIN_FILE = "nginx.conf"
_ADDRESS_IN_USE = "Address already in use"  # strerror(EADDRINUSE), in NGINX's bind() error
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


@dataclass(frozen=True, slots=True)
class _LoadOutcome:
    error: str | None = None
    master_refused: bool = False
    """The master logged `[emerg]` and kept its old configuration: no reload is needed to undo."""


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
        self._lock = threading.Lock()  # one apply at a time
        self._process_lock = threading.Lock()  # starting NGINX versus stopping it
        self._live: dict[str, str] = {}
        self._last_request: dict[str, str] | None = None
        self._attempt = 0  # every apply and restore gets a new version number
        self._version = 0  # the last one NGINX confirmed
        self._ready = threading.Event()
        self._stopping = threading.Event()
        self._give_up = threading.Event()  # ends a confirmation wait: [emerg], exit or stop
        self._last_error: str | None = None
        self._starting = False  # between starting NGINX and its first answer or exit
        self._start_errors: list[str] = []
        self._start_again = False  # NGINX could not start for a reason that may pass
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
            if self._stopping.is_set():
                raise ApplyError("the controller is stopping")
            if self._last_request == tree:
                return ApplyResult(self._version, changed=False, reloaded=False)
            try:
                result = self._apply(dict(tree), reason)
            except ApplyError:
                if self._observer is not None and not self._settings.render_only:
                    self._observer.reload_failed()
                raise
            # Only a tree applied whole is remembered: a held-back file is checked again
            # next time, as what NGINX refused (a name that did not resolve yet) may pass.
            self._last_request = None if result.held_back else dict(tree)
            return result

    def stop(self) -> int | None:
        """Stop NGINX gracefully (SIGQUIT, then SIGKILL after the stop timeout).

        Does not wait for an apply in progress: that apply stops waiting for NGINX at
        once, and no apply starts NGINX after this.
        """
        with self._process_lock:
            self._stopping.set()
            self._give_up.set()
            process = self._process
        return process.stop(self._settings.stop_timeout) if process else None

    # --- the steps ---------------------------------------------------------------------

    def _apply(self, desired: dict[str, str], reason: str) -> ApplyResult:
        settings, conf_dir = self._settings, self._settings.conf_dir
        phases: dict[str, float] = {}
        self._attempt += 1
        version = self._attempt
        version_path, version_text = self._version_file(version)
        candidate = {**desired, version_path: version_text}

        candidate, held_back, staging = self._stage_and_check(candidate, version_path, phases)
        # Files left by an earlier run, measured against what will really go live.
        stale = trees.stale_files(conf_dir, candidate) if not self._ready.is_set() else []
        visible = set(candidate) - {version_path}
        unchanged = all(self._live.get(p) == candidate[p] for p in visible) and visible == (
            set(self._live) - {version_path}
        )
        if unchanged and not stale and self._ready.is_set():
            trees.discard(conf_dir)  # every change was held back: nothing to reload
            return ApplyResult(self._version, changed=True, reloaded=False, held_back=held_back)

        clock = time.perf_counter()
        previous = self._live
        try:
            trees.swap(conf_dir, staging, previous, candidate, stale)
        except OSError as error:
            self._put_back(previous, candidate)
            trees.discard(conf_dir)
            raise ApplyError(f"cannot write the configuration: {error}") from error
        phases["swap"] = time.perf_counter() - clock
        if settings.render_only:
            self._commit(candidate, version)
            return ApplyResult(version, True, False, held_back, phases)

        clock = time.perf_counter()
        outcome = self._load(version, phases)
        if outcome.error is not None:
            self._restore(previous, candidate, reload=not outcome.master_refused)
            raise ApplyError(f"NGINX did not load the new configuration: {outcome.error}")
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
            try:
                staging = trees.stage(conf_dir, self._live, candidate)
            except OSError as error:
                trees.discard(conf_dir)
                raise ApplyError(f"cannot stage the configuration: {error}") from error
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

    def _load(self, version: int, phases: dict[str, float]) -> _LoadOutcome:
        """Start NGINX or reload it, then wait until it serves `version`."""
        settings = self._settings
        self._give_up.clear()
        self._last_error = None
        clock = time.perf_counter()
        old_workers: set[int] = set()
        with self._process_lock:
            if self._stopping.is_set():
                return _LoadOutcome("the controller is stopping")
            process = self._process
            if process is None:
                process = NginxProcess(
                    NginxCommand(settings.binary, settings.run_dir, settings.conf_dir / MAIN_FILE),
                    on_exit=self._nginx_exited,
                    on_error_line=self._nginx_error,
                )
                remove_stale_socket(settings.version_socket)
                self._starting, self._start_errors, self._start_again = True, [], False
                try:
                    process.start()
                except NginxProcessError as error:
                    # Nothing in this process will make NGINX startable: the same as its death.
                    self._starting = False
                    self._nginx_exited(-1)
                    return _LoadOutcome(str(error))
                self._process = process
            elif not process.running:
                return _LoadOutcome("NGINX is not running (it exited; the controller must restart)")
            else:
                old_workers = process.worker_pids()
                try:
                    process.reload()
                except NginxProcessError as error:
                    return _LoadOutcome(str(error))
        phases["reload"] = time.perf_counter() - clock
        clock = time.perf_counter()
        deadline = time.monotonic() + settings.reload_timeout
        confirmed = wait_for_version(
            settings.version_socket, version, settings.reload_timeout, self._give_up
        ) and self._old_workers_stopped_accepting(process, old_workers, deadline)
        phases["confirm"] = time.perf_counter() - clock
        starting, self._starting = self._starting, False
        if confirmed:
            return _LoadOutcome()
        if self._stopping.is_set():
            return _LoadOutcome("the controller is stopping")
        if starting and process.exited.is_set():
            return self._failed_start(process)
        if self._last_error is not None:
            return _LoadOutcome(self._last_error, master_refused=True)
        if self._give_up.is_set():
            return _LoadOutcome("NGINX exited")
        return _LoadOutcome(
            f"new workers did not answer version {version} within {settings.reload_timeout:g}s"
        )

    def _old_workers_stopped_accepting(
        self, process: NginxProcess, old_workers: set[int], deadline: float
    ) -> bool:
        """New workers answering is not enough: until every old worker has closed its
        listeners, a new connection may still land on the old configuration."""
        if not old_workers:
            return True
        return wait_for(
            lambda: not (old_workers & process.worker_pids()),
            max(0.0, deadline - time.monotonic()),
            give_up=self._give_up,
        )

    def _restore(
        self, previous: dict[str, str], candidate: dict[str, str], *, reload: bool
    ) -> None:
        """Put the previous tree back, and make NGINX run it again unless it never left it.

        With no previous tree (NGINX failed to start) the checked files stay: they
        passed `nginx -t`, and there is nothing better to show. When the master refused
        the new configuration it still runs the previous one: only the files go back.
        """
        if not previous:
            return
        process = self._process
        if not reload or process is None or not process.running or self._stopping.is_set():
            self._put_back(previous, candidate)
            return
        # A fresh version number, so that the old workers cannot confirm the restore.
        self._attempt += 1
        version_path, version_text = self._version_file(self._attempt)
        restored = {**previous, version_path: version_text}
        self._put_back(restored, candidate)
        self._give_up.clear()
        old_workers = process.worker_pids()
        try:
            process.reload()
        except NginxProcessError:
            return
        deadline = time.monotonic() + self._settings.reload_timeout
        if wait_for_version(
            self._settings.version_socket,
            self._attempt,
            self._settings.reload_timeout,
            self._give_up,
        ) and self._old_workers_stopped_accepting(process, old_workers, deadline):
            self._version = self._attempt
        else:
            log.error("NGINX did not confirm the restored configuration %d", self._attempt)

    def _put_back(self, tree: dict[str, str], written: dict[str, str]) -> None:
        """Write `tree` over `written` and remember it as live; a failure is logged, since the
        caller is already reporting the error that brought us here."""
        try:
            trees.write_tree(self._settings.conf_dir, tree, written)
            self._live = tree
        except OSError as error:
            log.error("could not restore the previous configuration files: %s", error)
            self._live = {}  # unknown: the next apply writes every file

    def _commit(self, tree: dict[str, str], version: int) -> None:
        self._live = tree
        self._version = version
        self._ready.set()

    def _failed_start(self, process: NginxProcess) -> _LoadOutcome:
        """NGINX exited before it served: say why, and forget it if it may start next time."""
        reason = next(iter(self._start_errors), f"it exited with status {process.returncode}")
        if not self._start_again:
            return _LoadOutcome(f"NGINX could not start: {reason}")
        with self._process_lock:
            if self._process is process:
                self._process = None  # the next apply starts a new one
        return _LoadOutcome(f"NGINX could not start, will try again: {reason}")

    def _nginx_error(self, line: str) -> None:
        if "[emerg]" not in line:
            return
        message = line.split(": ", 1)[-1]
        if self._starting:
            # A starting master logs [emerg] for each failed bind() and tries again for
            # about two seconds: only its exit says the start failed.
            self._start_errors.append(message)
            return
        self._last_error = message
        self._give_up.set()

    def _nginx_exited(self, code: int) -> None:
        """NGINX exited on its own: fatal for the controller, unless it never served and
        only failed to bind a port another process holds, which that process may release
        (the previous pod of a rolling update, say): then the next apply tries again."""
        if (
            self._starting
            and not self._stopping.is_set()
            and any(_ADDRESS_IN_USE in error for error in self._start_errors)
        ):
            self._start_again = True
            self._give_up.set()
            return
        self._give_up.set()
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
