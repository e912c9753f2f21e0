"""What one sync tells the user: the summary event of a ConfigMap version, and the log lines.

One function decides the verdict of a sync, so the summary event cannot contradict
the warnings posted just before it: `Normal Updated` ("updated without error") only
when every value was valid, the configuration is live, and what the ConfigMap asked of
zone sync is in effect; otherwise `Warning UpdatedWithError`, naming each reason. The
same outcome says whether, and why, the sync is retried, and what an apply changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from nginx_ingress.kube.events import NORMAL, WARNING
from nginx_ingress.kube.headless import ServiceOutcome, ServiceState
from nginx_ingress.nginx.manager import ApplyResult
from nginx_ingress.render import CONFIG_VERSION_FILE


@dataclass(frozen=True, slots=True)
class SyncOutcome:
    """What one sync achieved, as far as the user can tell."""

    invalid_values: bool
    """The ConfigMap had problems (reported one by one, their keys at the defaults)."""
    zone_sync_wanted: bool
    service: ServiceOutcome
    apply_error: str | None = None
    """Why the configuration was not applied at all; None when it was."""
    held_back: tuple[tuple[str, str], ...] = ()
    """(path, NGINX's error) of files NGINX refused, kept at their last good version."""
    tls_problem: str | None = None
    """Why zone sync over TLS cannot run (it stays off then); None when it can, or when
    TLS is not asked for."""

    def zone_sync_shortfall(self) -> str | None:
        """Why zone sync is not as the ConfigMap asked, or None when it is."""
        if self.zone_sync_wanted and self.tls_problem is not None:
            return f"zone sync is off, over TLS it cannot run: {self.tls_problem}"
        state, message = self.service.state, self.service.message
        if state is ServiceState.CONFLICT:
            return f"zone sync is off: {message}"
        if state is ServiceState.FAILED and self.zone_sync_wanted:
            return f"zone sync is off until its headless Service is in place: {message}"
        if state is ServiceState.FAILED:
            return f"zone sync is off, but its headless Service could not be deleted: {message}"
        if self.zone_sync_wanted and state is not ServiceState.READY:
            return "zone sync is off: its headless Service is not in place"
        return None

    def retry_reasons(self) -> list[str]:
        """Why the sync must run again; empty when it converged. Two outcomes wait for a
        change instead, as retrying would only repeat the refusal: a conflict (the
        Service's watch reports its change) and a file NGINX refused (a terminal problem
        of its resource: the manager checks it again once its text changes)."""
        reasons = []
        if self.apply_error is not None:
            reasons.append(f"the configuration was not applied: {self.apply_error}")
        if self.service.state is ServiceState.FAILED:
            reasons.append(f"the zone-sync headless Service: {self.service.message}")
        return reasons


@dataclass(frozen=True, slots=True)
class Summary:
    """The one event that sums up a ConfigMap version."""

    type: str
    reason: str
    message: str


def summarize(name: str, outcome: SyncOutcome) -> Summary:
    """The summary event for ConfigMap `name` (NAMESPACE/NAME); NIC's reasons and wording."""
    if outcome.apply_error is not None:
        return Summary(
            WARNING, "UpdatedWithError", f"ConfigMap {name} was not applied: {outcome.apply_error}"
        )
    reasons = []
    if outcome.invalid_values:
        reasons.append("Ignoring invalid values")
    if (shortfall := outcome.zone_sync_shortfall()) is not None:
        reasons.append(shortfall)
    reasons += [
        f"NGINX refused {path}, kept at its last good version: {error}"
        for path, error in outcome.held_back
    ]
    if reasons:
        text = "; ".join(reasons)
        message = f"ConfigMap {name} updated with errors. {text[0].upper()}{text[1:]}"
        return Summary(WARNING, "UpdatedWithError", message)
    return Summary(NORMAL, "Updated", f"ConfigMap {name} updated without error")


def describe_apply(
    changes: Mapping[str, str | None],
    result: ApplyResult,
    *,
    first: bool,
    render_only: bool,
    conf_dir: str,
) -> str:
    """One log line for an apply: its version and which files it changed or wrote.

    `changes` are the files handed to the manager (path → text, None: removed). The
    config-version file is left out: the manager rewrites it with every new version.
    Long lists are cut (the first apply of a big cluster writes thousands of files).
    """
    version = result.version
    if not result.changed:
        return f"configuration version {version} unchanged: nothing to apply"
    left_out = {*result.held_back, CONFIG_VERSION_FILE}
    changed = sorted(p for p, t in changes.items() if t is not None and p not in left_out)
    removed = sorted(p for p, t in changes.items() if t is None)
    if render_only:
        written = _listed([*changed, CONFIG_VERSION_FILE])
        line = f"configuration version {version} written to {conf_dir} (-render-only, NGINX is "
        line += f"not run): wrote {written}"
    elif not result.reloaded:
        return f"configuration version {version} kept: NGINX refused every change"
    else:
        how = "started" if first else "reloaded"
        line = f"configuration version {version} applied, NGINX {how}: "
        line += f"changed {_listed(changed)}" if changed else "no file changed"
    if removed:
        line += f"; removed {_listed(removed)}"
    return line


def _listed(paths: list[str], limit: int = 10) -> str:
    shown = ", ".join(paths[:limit])
    return shown if len(paths) <= limit else f"{shown} and {len(paths) - limit} more"
