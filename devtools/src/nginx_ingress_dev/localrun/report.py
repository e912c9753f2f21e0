"""The live report: one line per configuration the controller applied, and the events
it recorded, read from where a cluster's user would read them.

- The version comes from NGINX itself (the controller's config-version socket: the
  version its workers serve), or with `--render-only` from the version file the
  controller wrote, since no NGINX runs then.
- The events come from a watch on the local API server's Events (its Python API),
  as `kubectl get events -w` would show them.
- The counts are the state the events describe: an Ingress is served while its
  latest event is `AddedOrUpdated` or `AddedOrUpdatedWithError`, and an object has a
  problem while its latest event is a Warning (`AddedOrUpdatedWithError`,
  `Rejected`, the ConfigMap's `UpdatedWithError`). A deleted object counts no more.

The controller posts events from a background queue just after it applied a
configuration, so the lines of one change are printed together once the report
has been quiet for a moment.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nginx_ingress.nginx.confirm import config_version
from nginx_ingress_dev.devcluster.errors import Expired
from nginx_ingress_dev.devcluster.selectors import EVERYTHING
from nginx_ingress_dev.devcluster.store import Store
from nginx_ingress_dev.devcluster.watch import ADDED, Watcher
from nginx_ingress_dev.localrun.console import Console

log = logging.getLogger(__name__)

COMPONENT = "nginx-ingress-controller"
SERVED = frozenset({"AddedOrUpdated", "AddedOrUpdatedWithError"})
OUTCOMES = {
    "Ingress": frozenset({"AddedOrUpdated", "AddedOrUpdatedWithError", "Rejected"}),
    "ConfigMap": frozenset({"Updated", "UpdatedWithError"}),
}
"""The reasons that state an object's current outcome (others, such as InvalidValue,
detail it)."""
_VERSION_FILE = re.compile(r"return 200 (\d+);")


def socket_version(path: Path) -> Callable[[], int | None]:
    """The version NGINX serves, asked on its config-version socket."""
    return lambda: config_version(path, timeout=0.5)


def file_version(path: Path, since: float = 0.0) -> Callable[[], int | None]:
    """The version the controller wrote last (`--render-only`: no NGINX to ask), from a file
    written at `since` (a timestamp) or later: the file an earlier run left in the state
    directory has a version number the new controller will write again."""

    def read() -> int | None:
        try:
            if path.stat().st_mtime < since:
                return None
            found = _VERSION_FILE.search(path.read_text())
        except OSError:
            return None
        return int(found[1]) if found else None

    return read


@dataclass(frozen=True)
class Outcome:
    uid: str
    type: str
    reason: str


def plural(count: int, word: str, words: str = "") -> str:
    """`1 problem`, `2 problems`; `words` for a plural that is not `word` + s."""
    return f"{count} {word if count == 1 else (words or word + 's')}"


class LiveReport:
    def __init__(
        self,
        store: Store,
        console: Console,
        version: Callable[[], int | None],
        *,
        render_only: bool,
        quiet: float = 0.4,
    ) -> None:
        self._store = store
        self._console = console
        self._version = version
        self._render_only = render_only
        self._quiet = quiet
        self._events = store.resources.find("events", "v1")
        self._ingresses = store.resources.find("ingresses")
        self._configmaps = store.resources.find("configmaps")
        self._outcomes: dict[tuple[str, str, str], Outcome] = {}
        self._applied: int | None = None
        self._pending_version: int | None = None
        self._pending: list[str] = []
        self._last_activity = 0.0
        self.first_applied = threading.Event()
        """Set once the first configuration version has been reported."""
        self._stop = threading.Event()
        self._resource_version = str(store.resource_version)
        self._watcher = self._watch()
        self._thread = threading.Thread(target=self._run, name="dev-live-report", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._watcher.close("the local run is stopping")
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _watch(self) -> Watcher:
        """A watch on every Event from the last one seen (or, if that is too old, from now)."""
        try:
            start = self._store.watch(self._events, None, self._resource_version, EVERYTHING)
        except Expired:
            start = self._store.watch(
                self._events, None, str(self._store.resource_version), EVERYTHING
            )
        for change in start.replay:
            self._take(change.type, change.current.obj)
        return start.watcher

    def _run(self) -> None:
        next_probe = 0.0
        while not self._stop.is_set():
            change = self._watcher.next(timeout=0.1)
            if change is not None:
                self._resource_version = str(change.resource_version)
                self._take(change.type, change.current.obj)
            elif self._watcher.closed and not self._stop.is_set():
                self._watcher = self._watch()  # dropped (queue full): resume where it was
            now = time.monotonic()
            if now >= next_probe:
                next_probe = now + 0.1
                version = self._version()
                if version is not None and version != self._applied:
                    self._applied = self._pending_version = version
                    self._last_activity = now
            if (self._pending or self._pending_version is not None) and (
                now - self._last_activity >= self._quiet
            ):
                try:
                    self._flush()
                except Exception:  # a bug here must not end the report
                    log.exception("the live report failed")

    def _take(self, change_type: str, event: Mapping[str, Any]) -> None:
        if change_type != ADDED:
            return
        source = (event.get("source") or {}).get("component") or event.get("reportingComponent")
        if source != COMPONENT:
            return
        about = event.get("involvedObject") or {}
        kind, namespace, name = (
            about.get("kind", ""),
            about.get("namespace", ""),
            about.get("name", ""),
        )
        reason, kind_of_event = event.get("reason", ""), event.get("type", "")
        if reason in OUTCOMES.get(kind, ()):
            self._outcomes[(kind, namespace, name)] = Outcome(
                about.get("uid", ""), kind_of_event, reason
            )
        reference = f"{kind} {namespace}/{name}"
        message = str(event.get("message", "")).removeprefix(f"{reference}: ")
        self._pending.append(f"  {kind_of_event} {reason} {reference}: {message}")
        self._last_activity = time.monotonic()

    def _current(self) -> dict[tuple[str, str, str], Outcome]:
        """The outcomes of objects that still exist (the same object: same uid)."""
        current = {}
        for key, outcome in self._outcomes.items():
            kind, namespace, name = key
            resource = self._ingresses if kind == "Ingress" else self._configmaps
            stored = self._store.find(resource, namespace, name)
            if stored is not None and (not outcome.uid or stored.uid == outcome.uid):
                current[key] = outcome
        return current

    def _flush(self) -> None:
        current = self._current()
        lines: list[str] = []
        if self._pending_version is not None:
            served = sum(1 for k, o in current.items() if k[0] == "Ingress" and o.reason in SERVED)
            problems = sum(1 for o in current.values() if o.type == "Warning")
            done = "wrote" if self._render_only else "applied"
            lines.append(
                f"{done} version {self._pending_version}: "
                f"{plural(served, 'Ingress', 'Ingresses')}, {plural(problems, 'problem')}"
            )
        lines.extend(self._pending)
        self._pending, self._pending_version = [], None
        self._console.lines(lines)
        if lines and lines[0].startswith(("applied", "wrote")):
            self.first_applied.set()
