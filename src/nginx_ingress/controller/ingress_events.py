"""Events on Ingresses, NIC's reasons, each posted once per change of what it says.

- `AddedOrUpdated` (Normal): served as written;
- `AddedOrUpdatedWithError` (Warning): served, but something of it is not in effect
  (a bad annotation, a missing Service or Secret, a host another Ingress owns, or a
  file NGINX refused and that stays at its last good version), each problem named;
- `Rejected` (Warning): nothing of it is served, and why.

A resync, an endpoint change or a restart of the sync loop that leaves an
Ingress's outcome as it was posts nothing: one event per change, no storms.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from nginx_ingress.generate.table import IngressReport, Outcome
from nginx_ingress.kube.events import NORMAL, WARNING, EventRecorder, ObjectReference
from nginx_ingress.resources import Ingress

ADDED_OR_UPDATED = "AddedOrUpdated"
ADDED_OR_UPDATED_WITH_ERROR = "AddedOrUpdatedWithError"
REJECTED = "Rejected"


class IngressEvents:
    """Owned by the sync thread."""

    def __init__(self, recorder: EventRecorder) -> None:
        self._recorder = recorder
        self._last: dict[str, tuple[Ingress, str, str]] = {}
        self._reports: dict[str, IngressReport] = {}

    def report(self, reports: Iterable[IngressReport], refused: Mapping[str, str]) -> None:
        """Post what changed. `refused`: Ingress key → NGINX's refusal of its file (which
        stays at its last good version); an Ingress there is reported again even when
        the routing table did not rebuild it."""
        for report in reports:
            if report.outcome == Outcome.GONE:
                self._last.pop(report.key, None)
                self._reports.pop(report.key, None)
            else:
                self._reports[report.key] = report
        for key in {*(r.key for r in reports), *refused}:
            current = self._reports.get(key)
            if current is not None and current.ingress is not None:
                self._post(current, current.ingress, refused.get(key))

    def _post(self, report: IngressReport, ingress: Ingress, refusal: str | None) -> None:
        name = ingress.key
        problems = "; ".join(problem.line for problem in report.problems)
        if report.outcome == Outcome.REJECTED:
            kind, reason, message = WARNING, REJECTED, f"{name} was rejected: {problems}"
        elif refusal is not None:
            kind, reason = WARNING, ADDED_OR_UPDATED_WITH_ERROR
            message = (
                f"Configuration for {name} was added or updated, but NGINX refused it and "
                f"keeps its last good version: {refusal}"
            )
            if problems:
                message += f"; also: {problems}"
        elif report.outcome == Outcome.SERVED_WITH_PROBLEMS:
            kind, reason = WARNING, ADDED_OR_UPDATED_WITH_ERROR
            message = f"Configuration for {name} was added or updated with problems: {problems}"
        else:
            kind, reason = NORMAL, ADDED_OR_UPDATED
            message = f"Configuration for {name} was added or updated"
        said = (ingress, reason, message)
        if self._last.get(report.key) == said:
            return
        self._last[report.key] = said
        about = ObjectReference(
            "networking.k8s.io/v1", "Ingress", ingress.namespace, ingress.name, ingress.uid
        )
        self._recorder.record(about, kind, reason, message, deduplicate=False)
