"""Kubernetes Events, posted on a background thread so the loop never waits for them.

- Non-blocking: `record` puts the event on a bounded queue; when the queue is full
  (the API server is unreachable for long), new events are dropped with a log line.
- Deduplicated: an event already posted for the same object version, type, reason
  and message is not posted again, so a periodic resync does not repeat it.
- Harmless when failing: a post that fails is retried twice, then dropped; it
  never reaches the reconcile that recorded it.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime

from nginx_ingress.kube.api import EVENTS, KubeApi, KubeError, Object

log = logging.getLogger("nginx_ingress.kube.events")

NORMAL, WARNING = "Normal", "Warning"
MAX_MESSAGE = 1024


@dataclass(frozen=True, slots=True)
class ObjectReference:
    api_version: str
    kind: str
    namespace: str
    name: str
    uid: str = ""
    resource_version: str = ""

    @classmethod
    def of(cls, obj: Object, api_version: str, kind: str) -> ObjectReference:
        metadata = obj.get("metadata", {})
        return cls(
            api_version,
            kind,
            metadata.get("namespace", ""),
            metadata.get("name", ""),
            metadata.get("uid", ""),
            metadata.get("resourceVersion", ""),
        )


@dataclass(frozen=True, slots=True)
class _Event:
    about: ObjectReference
    type: str
    reason: str
    message: str


class EventRecorder:
    def __init__(
        self,
        api: KubeApi,
        *,
        component: str = "nginx-ingress-controller",
        instance: str = "",
        capacity: int = 1000,
        remember: int = 4096,
    ) -> None:
        self._api = api
        self._component = component
        self._instance = instance
        self._queue: queue.Queue[_Event | None] = queue.Queue(capacity)
        self._posted: OrderedDict[_Event, None] = OrderedDict()
        self._remember = remember
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="event-recorder", daemon=True)
        self._thread.start()

    def record(
        self,
        about: ObjectReference,
        type_: str,
        reason: str,
        message: str,
        *,
        deduplicate: bool = True,
    ) -> None:
        """Queue an event. `deduplicate=False` is for callers that already post only on
        change (the same message may then be right again after a different one)."""
        event = _Event(about, type_, reason, message[:MAX_MESSAGE])
        if deduplicate:
            with self._lock:
                if event in self._posted:
                    self._posted.move_to_end(event)
                    return
                self._posted[event] = None
                while len(self._posted) > self._remember:
                    self._posted.popitem(last=False)
        level = logging.WARNING if type_ == WARNING else logging.INFO
        log.log(level, "%s %s/%s: %s: %s", about.kind, about.namespace, about.name, reason, message)
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            log.warning("event queue full; dropping %s %s", reason, message[:80])
            self._forget(event)

    def say(self, about: ObjectReference | None, type_: str, reason: str, message: str) -> None:
        """Post an event its caller posts once per change of state (never deduplicated); with
        no object to post it on (no ConfigMap), log it instead."""
        if about is None:
            level = logging.WARNING if type_ == WARNING else logging.INFO
            log.log(level, "%s: %s", reason, message)
            return
        self.record(about, type_, reason, message, deduplicate=False)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every queued event was posted or dropped (tests, shutdown)."""
        done = threading.Event()

        def wait() -> None:
            self._queue.join()
            done.set()

        threading.Thread(target=wait, daemon=True).start()
        return done.wait(timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Post what is queued for up to `timeout`, then drop the rest and end the thread."""
        self.flush(timeout)
        self._stopping.set()
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)
        self._thread.join(timeout)

    def _forget(self, event: _Event) -> None:
        """A dropped event may be recorded again by a later sync."""
        with self._lock:
            self._posted.pop(event, None)

    def _run(self) -> None:
        while not self._stopping.is_set():
            event = self._queue.get()
            try:
                if event is not None and not self._stopping.is_set():
                    self._post(event)
            except Exception:  # a bug here must not silence every later event
                log.exception("posting an event failed")
            finally:
                self._queue.task_done()

    def _post(self, event: _Event) -> None:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        about = event.about
        body = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": f"{about.name}.", "namespace": about.namespace},
            "involvedObject": {
                "apiVersion": about.api_version,
                "kind": about.kind,
                "namespace": about.namespace,
                "name": about.name,
                "uid": about.uid,
                "resourceVersion": about.resource_version,
            },
            "type": event.type,
            "reason": event.reason,
            "message": event.message,
            "source": {"component": self._component, "host": self._instance},
            "reportingComponent": self._component,
            "reportingInstance": self._instance,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        }
        for attempt in range(3):
            try:
                self._api.create(EVENTS, body, about.namespace)
                return
            except KubeError as error:
                if attempt == 2 or self._stopping.is_set():
                    log.warning("could not post event %s: %s", event.reason, error)
                    self._forget(event)  # a later sync may record it again
                    return
                self._stopping.wait(0.5 * (attempt + 1))
