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

from nginx_ingress.layout import DEFAULT_SERVER_FILE, MAIN_FILE
from nginx_ingress.nginx import tree as trees
from nginx_ingress.nginx.check import CheckResult, crossplane_test, nginx_test
from nginx_ingress.nginx.confirm import remove_stale_socket, wait_for_version
from nginx_ingress.nginx.process import NginxCommand, NginxProcess, NginxProcessError, wait_for
from nginx_ingress.nginx.stage import Stage
from nginx_ingress.nginx.tree import Tree

log = logging.getLogger("nginx_ingress.nginx")

_ADDRESS_IN_USE = "Address already in use"  # strerror(EADDRINUSE), in NGINX's bind() error

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
    other_sockets: tuple[Path, ...] = ()
    """Further unix sockets NGINX listens on (the NGINX Plus API's): a master that was killed
    leaves them behind, and NGINX refuses to bind over them."""
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
        """What the live directory holds (and the stage, between applies)."""
        self._desired: dict[str, str] = {}
        """The tree last asked for."""
        self._pending: dict[str, str | None] = {}
        """Changes of an apply that failed, to try again with the next."""
        self._refused: dict[str, tuple[str, str]] = {}
        """Path → (the text NGINX refused, its error)."""
        self._stage = Stage(settings.conf_dir)
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
        """Apply the whole tree `tree`; raises `ApplyError` when nothing of it could be applied.

        Costs a comparison with the last tree asked for; `apply_changes` costs only what
        changed, for callers that know it.
        """
        with self._lock:
            changes: dict[str, str | None] = {
                path: text for path, text in tree.items() if self._desired.get(path) != text
            }
            changes.update({path: None for path in self._desired if path not in tree})
        return self.apply_changes(changes, reason)

    def apply_changes(
        self, changes: Mapping[str, str | None], reason: str = "other"
    ) -> ApplyResult:
        """Apply the last tree asked for with `changes` (path → new text, None to delete).

        A file NGINX refused is remembered with its text: asked for again unchanged, it
        stays held back without another `nginx -t`, until its text changes or a file is
        deleted (what another file held, such as a name, may then be free).
        """
        trees.check_paths(changes)
        with self._lock:
            if self._stopping.is_set():
                raise ApplyError("the controller is stopping")
            for path, text in changes.items():
                if text is None:
                    self._desired.pop(path, None)
                else:
                    self._desired[path] = text
            retry: dict[str, str | None] = {}
            if any(text is None for text in changes.values()):
                retry = {path: self._desired.get(path) for path in self._refused}
                self._refused.clear()
            if not self._pending and not changes and self._ready.is_set():
                return ApplyResult(
                    self._version, changed=False, reloaded=False, held_back=self._held_back()
                )
            wanted = {**self._pending, **retry, **changes}
            try:
                result = self._apply(wanted, reason)
            except ApplyError:
                self._pending = wanted  # tried again, whole, with the next apply
                if self._observer is not None and not self._settings.render_only:
                    self._observer.reload_failed()
                raise
            self._pending = {}
            return result

    def write_without_reload(self, changes: Mapping[str, str | None]) -> None:
        """Write files whose change NGINX already runs, without a check or a reload.

        For upstream servers changed through the NGINX Plus API: the files must agree
        with what NGINX serves, so that the next reload keeps it. The caller vouches that
        only server lines differ (valid addresses, the rest checked before). Raises
        `ApplyError` (and forgets the stage) on a disk error: the caller then reloads.
        """
        trees.check_paths(changes)
        with self._lock:
            if self._stopping.is_set():
                raise ApplyError("the controller is stopping")
            diff = {path: text for path, text in changes.items() if self._live.get(path) != text}
            try:
                self._stage.prepare(self._live)
                for path, text in diff.items():
                    self._stage.put(path, text)
                self._stage.publish(diff)
            except OSError as error:
                self._stage.invalidate()
                raise ApplyError(f"cannot write the configuration: {error}") from error
            _update(self._live, diff)
            _update(self._desired, changes)

    def _held_back(self) -> dict[str, str]:
        """The desired files NGINX refused, each still at its last good version or left out."""
        return {
            path: error
            for path, (text, error) in self._refused.items()
            if self._desired.get(path) == text
        }

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

    def _apply(self, wanted: dict[str, str | None], reason: str) -> ApplyResult:
        settings, live = self._settings, self._live
        phases: dict[str, float] = {}
        self._attempt += 1
        version = self._attempt
        version_path, version_text = self._version_file(version)
        # What goes to disk: the wanted files that differ from live, remembered refusals
        # kept at their live version without a check.
        diff: dict[str, str | None] = {}
        for path, text in wanted.items():
            refused = self._refused.get(path)
            if refused is not None and refused[0] == text:
                continue
            if live.get(path) != text:
                diff[path] = text
        diff[version_path] = version_text
        clock = time.perf_counter()
        try:
            self._stage.prepare(live)
            for path, text in diff.items():
                self._stage.put(path, text)
        except OSError as error:
            self._stage.invalidate()
            raise ApplyError(f"cannot stage the configuration: {error}") from error
        phases["stage"] = time.perf_counter() - clock
        self._check_staged(diff, version_path, phases)
        held_back = self._held_back()
        # Files left by an earlier run, measured against what will really go live.
        stale = (
            trees.stale_files(settings.conf_dir, _paths_after(live, diff))
            if not self._ready.is_set()
            else []
        )
        if set(diff) == {version_path} and not stale and self._ready.is_set():
            self._stage.revert(version_path, live)  # every change was held back
            return ApplyResult(self._version, changed=True, reloaded=False, held_back=held_back)

        clock = time.perf_counter()
        previous = {path: live.get(path) for path in diff}
        try:
            self._stage.publish(diff)
            for path in stale:
                (settings.conf_dir / path).unlink(missing_ok=True)
        except OSError as error:
            self._stage.invalidate()
            self._put_back(previous)
            raise ApplyError(f"cannot write the configuration: {error}") from error
        _update(live, diff)
        phases["swap"] = time.perf_counter() - clock
        if settings.render_only:
            self._commit(version)
            return ApplyResult(version, True, False, held_back, phases)

        clock = time.perf_counter()
        outcome = self._load(version, phases)
        if outcome.error is not None:
            self._restore(previous, reload=not outcome.master_refused)
            raise ApplyError(f"NGINX did not load the new configuration: {outcome.error}")
        self._commit(version)
        if self._observer is not None:
            self._observer.reload_succeeded(reason, time.perf_counter() - clock)
        return ApplyResult(version, True, True, held_back, phases)

    def _check_staged(
        self, diff: dict[str, str | None], version_path: str, phases: dict[str, float]
    ) -> None:
        """Check the stage until NGINX accepts it; hold back each file it blames.

        A blamed resource file goes back to its last good version, or out when it has
        none, and its refusal is remembered. The main file, the version file, a file
        this apply does not change, and a core file without a last good version cannot
        be held back: then the whole apply fails and the stage is put back.
        """
        live, main = self._live, self._stage.dir / MAIN_FILE
        for _attempt in range(len(diff) + 1):
            clock = time.perf_counter()
            result = self._check(main)
            phases["test"] = phases.get("test", 0.0) + time.perf_counter() - clock
            if result.ok:
                return
            blamed = _blamed_file(result, self._stage.dir)
            text = diff.get(blamed) if blamed is not None else None
            if (
                blamed is None
                or blamed not in diff
                or text is None
                or blamed in (MAIN_FILE, version_path)
                or (blamed == DEFAULT_SERVER_FILE and blamed not in live)
            ):
                self._revert_stage(diff)
                raise ApplyError(f"NGINX refused the configuration: {result.error}", result.output)
            self._refused[blamed] = (text, result.error)
            del diff[blamed]
            try:
                self._stage.revert(blamed, live)
            except OSError as error:
                self._stage.invalidate()
                raise ApplyError(f"cannot stage the configuration: {error}") from error
            if blamed in live:
                log.warning("holding %s at its last good version: %s", blamed, result.error)
            else:
                log.warning("leaving %s out: %s", blamed, result.error)
        self._revert_stage(diff)
        raise ApplyError("NGINX kept refusing the configuration")

    def _revert_stage(self, diff: Mapping[str, str | None]) -> None:
        try:
            for path in diff:
                self._stage.revert(path, self._live)
        except OSError:
            self._stage.invalidate()

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
                for socket_path in (settings.version_socket, *settings.other_sockets):
                    remove_stale_socket(socket_path)
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
        timeout = self._confirm_timeout(phases)
        deadline = time.monotonic() + timeout
        confirmed = wait_for_version(
            settings.version_socket, version, timeout, self._give_up
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
        return _LoadOutcome(f"new workers did not answer version {version} within {timeout:g}s")

    def _confirm_timeout(self, phases: Mapping[str, float]) -> float:
        """`-nginx-reload-timeout`, plus twice what `nginx -t` just took on the same files.

        Before its new workers can answer, the master parses the whole configuration again,
        as the check did. With tens of thousands of upstreams that alone takes minutes
        (NGINX resolves each `proxy_pass` by a linear search of every upstream), so a fixed
        timeout would fail every apply of a big cluster, and NGINX would never start.
        """
        return self._settings.reload_timeout + 2 * phases.get("test", 0.0)

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

    def _restore(self, previous: Mapping[str, str | None], *, reload: bool) -> None:
        """Put the previous versions of the changed files back, and make NGINX run them
        again unless it never left them.

        With nothing live before (NGINX failed to start) the checked files stay: they
        passed `nginx -t`, and there is nothing better to show. When the master refused
        the new configuration it still runs the previous one: only the files go back.
        """
        if not any(text is not None for text in previous.values()):
            return
        process = self._process
        if not reload or process is None or not process.running or self._stopping.is_set():
            self._put_back(previous)
            return
        # A fresh version number, so that the old workers cannot confirm the restore.
        self._attempt += 1
        version_path, version_text = self._version_file(self._attempt)
        self._put_back({**previous, version_path: version_text})
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

    def _put_back(self, files: Mapping[str, str | None]) -> None:
        """Write `files` (None: delete) into the live directory and the stage, and remember
        them as live; a failure is logged, since the caller is already reporting the error
        that brought us here."""
        try:
            for path, text in files.items():
                self._stage.put(path, text)
            self._stage.publish(files)
            _update(self._live, files)
        except OSError as error:
            log.error("could not restore the previous configuration files: %s", error)
            self._stage.invalidate()
            self._live.clear()  # unknown: the next apply writes every file
            self._pending = dict(self._desired)

    def _commit(self, version: int) -> None:
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


def _paths_after(live: Mapping[str, str], diff: Mapping[str, str | None]) -> set[str]:
    """The paths of `live` once `diff` is applied (used once, at the first apply)."""
    return {p for p in live if p not in diff} | {p for p, t in diff.items() if t is not None}


def _update(tree: dict[str, str], changes: Mapping[str, str | None]) -> None:
    for path, text in changes.items():
        if text is None:
            tree.pop(path, None)
        else:
            tree[path] = text


def _blamed_file(result: CheckResult, staging: Path) -> str | None:
    """The file NGINX blamed, relative to the stage; None if outside it or unnamed."""
    if result.file is None:
        return None
    try:
        return result.file.relative_to(staging).as_posix()
    except ValueError:
        return None
