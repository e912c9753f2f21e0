"""Hostile values in every annotation and every spec field of an Ingress.

For each value of `tests/hostile.py`'s corpus, put in one annotation or one field
(host, path, pathType, Service name, port name, Secret name, namespace, name,
class), the Ingress is either rejected or ignored (and then has no file), or the
value is reported (and the files are byte-identical to the Ingress without it), or
it is accepted: then the rendered tree, parsed by crossplane with every include
followed, has exactly the baseline's directives and blocks (a value may change
arguments, never add a directive), our three includes plus the catch-all's, and
our `load_module` lines only.

Accepted field values are given objects to match (a Service of that name, a
Secret of that name, everything in that namespace), so they travel all the way
into the output: into file names, upstream names, `server_name`, `ssl_certificate`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from functools import cache
from itertools import product
from pathlib import Path

import pytest

from nginx_ingress.generate.annotations import ANNOTATIONS_BY_NAME
from nginx_ingress.generate.table import Outcome
from nginx_ingress.settings import Settings

from hostile import HOSTILE
from ingress_objects import IngressSpec, Routed, route, with_field
from nginx_check import (
    assert_tree_loads,
    parse,
    sandbox,
    sandbox_settings,
    shape,
    write,
)

BASES = {"oss": Settings(), "plus": Settings(nginx_plus=True)}
CONFIGMAPS: dict[str, dict[str, str]] = {"oss": {}, "plus": {"zone-sync": "true"}}
ANNOTATIONS = sorted(ANNOTATIONS_BY_NAME)
FIELDS = [
    "namespace",
    "name",
    "host",
    "path",
    "path_type",
    "service",
    "port",
    "secret",
    "class_name",
]

# The directives each annotation may add or remove (its own), at most once per entry
# and location; everything else must keep the baseline's shape.
OWN: dict[str, frozenset[str]] = {
    "nginx.org/proxy-hide-headers": frozenset({"proxy_hide_header"}),
    "nginx.org/proxy-pass-headers": frozenset({"proxy_pass_header"}),
    "nginx.org/proxy-set-headers": frozenset({"proxy_set_header"}),
    "nginx.org/server-tokens": frozenset({"server_tokens"}),
}


BASELINE = IngressSpec()


@cache
def _settings(base: str) -> Settings:
    return sandbox_settings(Path("/nonexistent-sandbox"), BASES[base])


def _route(spec: IngressSpec, base: str) -> Routed:
    return route(spec.cluster(), _settings(base), CONFIGMAPS[base])


@cache
def _baseline(base: str, tls: bool = True) -> Routed:
    """The Ingress as written; without `tls`, its Secret is missing (handshakes rejected)."""
    routed = _route(replace(BASELINE, with_secret=tls), base)
    outcome = Outcome.SERVED if tls else Outcome.SERVED_WITH_PROBLEMS
    assert [r.outcome for r in routed.update.reports] == [outcome]
    return routed


def _check(
    spec: IngressSpec, base: str, tmp: Path, annotation: str | None = None, value: str = ""
) -> str:
    """The verdict on one hostile Ingress (rejected, ignored, reported or accepted)."""
    routed = _route(spec, base)
    for report in routed.update.reports:
        for problem in report.problems:
            assert problem.line.isprintable() and "\n" not in problem.line
            assert problem.value is None or len(problem.value) <= 65
    if not routed.update.reports:
        assert routed.table.files == {}
        return "ignored"
    (report,) = routed.update.reports
    if report.outcome == Outcome.REJECTED:
        assert routed.table.files == {}
        return "rejected"
    if annotation is not None and annotation in {p.key for p in report.problems}:
        assert routed.table.files == _baseline(base).table.files
        return "reported"
    # A Secret name that names no usable Secret rejects the handshakes: its baseline is
    # the Ingress whose Secret is missing.
    tls = not any(p.key == "spec.tls" for p in report.problems)
    _assert_same_shape(routed, _baseline(base, tls), base, tmp, annotation=annotation, value=value)
    return "accepted"


def _assert_same_shape(
    routed: Routed, baseline: Routed, base: str, tmp: Path, *, annotation: str | None, value: str
) -> None:
    settings = _settings(base)
    got = parse(write(tmp / "hostile", routed.files))
    want = parse(write(tmp / "baseline", baseline.files))
    own = OWN.get(annotation or "", frozenset())
    assert shape(got, ignore=own) == shape(want, ignore=own)
    got_shape = shape(got)
    # Exactly our own includes (config-version.conf, conf.d, stream-conf.d, and the
    # catch-all server's default-server.d) and our own modules.
    assert sum(n for (*_, name), n in got_shape.items() if name == "include") == 4
    assert got_shape[("load_module",)] == len(settings.load_modules)
    locations = sum(n for (*_, name), n in shape(want).items() if name == "location")
    allowance = (value.count(",") + 1) * max(locations, 1)
    got_own = Counter(d for (*_, d) in got_shape.elements() if d in own)
    want_own = Counter(d for (*_, d) in shape(want).elements() if d in own)
    for directive in own:
        assert got_own[directive] <= want_own[directive] + allowance, directive


@pytest.mark.parametrize("base,annotation,category", list(product(BASES, ANNOTATIONS, HOSTILE)))
def test_hostile_annotation(base: str, annotation: str, category: str, tmp_path: Path) -> None:
    value = HOSTILE[category]
    spec = replace(BASELINE, annotations=((annotation, value),))
    verdict = _check(spec, base, tmp_path, annotation, value)
    assert verdict in ("reported", "accepted")
    if verdict == "accepted":
        # Only the header lists and a Plus server string take such text.
        assert annotation in OWN, (annotation, value)


@pytest.mark.parametrize("base,field,category", list(product(BASES, FIELDS, HOSTILE)))
def test_hostile_field(base: str, field: str, category: str, tmp_path: Path) -> None:
    value = HOSTILE[category]
    verdict = _check(with_field(field, value), base, tmp_path)
    assert verdict != "reported"
    if field == "class_name":
        assert verdict == "ignored"
    if field in ("path", "path_type"):
        assert verdict == "rejected"


@pytest.mark.parametrize("base", list(BASES))
def test_the_baseline_passes_nginx(base: str) -> None:
    with sandbox(BASES[base]) as (root, sandboxed):
        routed = route(BASELINE.cluster(), sandboxed, CONFIGMAPS[base])
        assert_tree_loads(root, sandboxed, routed.files)


def test_accepted_hostile_field_values_reach_the_output() -> None:
    """The check above is not vacuous: values the validators take appear in the files."""
    routed = _route(
        replace(
            BASELINE,
            namespace="yes",
            name="on",
            host="0x3039",
            service="on",
            port="yes",
            secret="on",
        ),
        "oss",
    )
    (report,) = routed.update.reports
    assert report.outcome == Outcome.SERVED, [p.line for p in report.problems]
    text = routed.table.files["conf.d/yes-on.conf"]
    assert "server_name 0x3039;" in text
    assert "ssl_certificate secrets/yes-on;" in text
    assert "upstream yes-on-0x3039-on-yes {" in text
