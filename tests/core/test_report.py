"""The verdict of a sync: `Updated` only when everything the ConfigMap asked for is in effect.

The controller tests show the common cases live; these cover every combination of the
pure function, including those a live test cannot stage cheaply (a refused delete, a file
held back, a configuration NGINX refused).
"""

from __future__ import annotations

import itertools

import pytest

from nginx_ingress.controller.report import (
    SyncOutcome,
    describe_apply,
    summarize,
)
from nginx_ingress.kube.headless import ServiceOutcome, ServiceState
from nginx_ingress.nginx.manager import ApplyResult

NAME = "nginx-ingress/nginx-config"
READY = ServiceOutcome(ServiceState.READY)
ABSENT = ServiceOutcome(ServiceState.ABSENT)
FAILED = ServiceOutcome(ServiceState.FAILED, "403 Forbidden: services is forbidden")
CONFLICT = ServiceOutcome(ServiceState.CONFLICT, "Service x/y exists and is not managed by us")


def test_clean_is_updated() -> None:
    for wanted, service in ((True, READY), (False, ABSENT)):
        summary = summarize(NAME, SyncOutcome(False, wanted, service))
        assert (summary.type, summary.reason) == ("Normal", "Updated")
        assert summary.message == f"ConfigMap {NAME} updated without error"


def _short_cases() -> list[
    tuple[bool, bool, ServiceOutcome, str | None, tuple[tuple[str, str], ...]]
]:
    """Every combination but the clean ones (and READY without zone sync, which cannot happen)."""
    cases = []
    for invalid, wanted, service, apply_error, held_back in itertools.product(
        (False, True),
        (False, True),
        (READY, ABSENT, FAILED, CONFLICT),
        (None, "NGINX refused the configuration: boom"),
        ((), (("conf.d/a.conf", "host not found"),)),
    ):
        clean_service = service is (READY if wanted else ABSENT)
        if not wanted and service is READY:
            continue
        if not invalid and apply_error is None and not held_back and clean_service:
            continue
        cases.append((invalid, wanted, service, apply_error, held_back))
    return cases


@pytest.mark.parametrize(
    ("invalid", "wanted", "service", "apply_error", "held_back"), _short_cases()
)
def test_anything_short_of_what_was_asked_is_updated_with_error(
    invalid: bool,
    wanted: bool,
    service: ServiceOutcome,
    apply_error: str | None,
    held_back: tuple[tuple[str, str], ...],
) -> None:
    outcome = SyncOutcome(invalid, wanted, service, apply_error, held_back)
    summary = summarize(NAME, outcome)
    assert (summary.type, summary.reason) == ("Warning", "UpdatedWithError")
    if apply_error is not None:
        assert summary.message == f"ConfigMap {NAME} was not applied: {apply_error}"
        return
    if invalid:
        assert "Ignoring invalid values" in summary.message
    if service.state in (ServiceState.FAILED, ServiceState.CONFLICT):
        assert service.message in summary.message
    for path, error in held_back:
        assert path in summary.message and error in summary.message


def test_nic_wording_when_only_values_were_invalid() -> None:
    summary = summarize(NAME, SyncOutcome(True, False, ABSENT))
    assert summary.message == f"ConfigMap {NAME} updated with errors. Ignoring invalid values"


def test_a_refused_delete_says_zone_sync_is_off_but_the_service_stayed() -> None:
    summary = summarize(NAME, SyncOutcome(False, False, FAILED))
    assert summary.message == (
        f"ConfigMap {NAME} updated with errors. Zone sync is off, but its headless Service "
        f"could not be deleted: {FAILED.message}"
    )


def test_retry_reasons() -> None:
    assert SyncOutcome(True, True, READY).retry_reasons() == []
    # A foreign Service is waited out through the watch, not on a timer.
    assert SyncOutcome(False, True, CONFLICT).retry_reasons() == []
    assert SyncOutcome(False, True, FAILED).retry_reasons() == [
        f"the zone-sync headless Service: {FAILED.message}"
    ]
    reasons = SyncOutcome(
        False, False, ABSENT, "NGINX refused it", (("conf.d/a.conf", "e"),)
    ).retry_reasons()
    # A refused file is terminal: checked again when its text changes, not on a timer.
    assert reasons == ["the configuration was not applied: NGINX refused it"]


def test_describe_apply() -> None:
    first = {"nginx.conf": "a", "conf.d/x.conf": "x", "config-version.conf": "v"}
    result = ApplyResult(1, changed=True, reloaded=True)
    line = describe_apply(first, result, first=True, render_only=False, conf_dir="/etc/nginx")
    assert line == (
        "configuration version 1 applied, NGINX started: changed conf.d/x.conf, nginx.conf"
    )
    second = {"nginx.conf": "b", "conf.d/y.conf": "y", "conf.d/x.conf": None}
    result = ApplyResult(2, True, False, {"conf.d/y.conf": "refused"})
    assert describe_apply(second, result, first=False, render_only=True, conf_dir="/c") == (
        "configuration version 2 written to /c (-render-only, NGINX is not run): wrote "
        "nginx.conf, config-version.conf; removed conf.d/x.conf"
    )
    assert describe_apply(
        {}, ApplyResult(1, False, False), first=False, render_only=False, conf_dir="/c"
    ) == ("configuration version 1 unchanged: nothing to apply")
    many = {f"conf.d/{n:02}.conf": "x" for n in range(12)}
    line = describe_apply(
        many, ApplyResult(3, True, True), first=False, render_only=False, conf_dir="/c"
    )
    assert line.endswith("conf.d/09.conf and 2 more")
