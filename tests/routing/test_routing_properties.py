"""Property: whatever Unicode an annotation or a spec field holds, generating and rendering
the Ingress raises nothing, and the rendered files gain no directive.

For every annotation and every string field of the spec, on OSS and on Plus,
Hypothesis draws arbitrary text, text made of NGINX syntax, and valid values with
syntax around them. `generate_ingress` and the renderers must not raise (an
`UnsafeValue` escaping means a validator let through what the renderer refuses).
Then either the Ingress is rejected, or the value is reported and the files are
byte-identical to the Ingress without it, or crossplane finds exactly the
baseline's directives and blocks (apart from an annotation's own directives, at
most once more per entry and location).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from nginx_ingress.configmap import GlobalConfig
from nginx_ingress.generate.annotations import ANNOTATIONS_BY_NAME
from nginx_ingress.generate.ingress import IngressResult, generate_ingress
from nginx_ingress.generate.names import ingress_stem
from nginx_ingress.generate.table import ingress_files, ingress_inputs
from nginx_ingress.settings import Settings

from ingress_objects import NOW, IngressSpec, config_for, with_field
from nginx_check import parse, shape, write
from valid_samples import VALID

BASES = {"oss": Settings(), "plus": Settings(nginx_plus=True)}
ANNOTATIONS = sorted(ANNOTATIONS_BY_NAME)
FIELDS = ["namespace", "name", "host", "path", "path_type", "service", "port", "secret"]
OWN: dict[str, frozenset[str]] = {
    "nginx.org/proxy-hide-headers": frozenset({"proxy_hide_header"}),
    "nginx.org/proxy-pass-headers": frozenset({"proxy_pass_header"}),
    "nginx.org/proxy-set-headers": frozenset({"proxy_set_header"}),
    "nginx.org/server-tokens": frozenset({"server_tokens"}),
    # Values that change which directives a block holds, by design:
    "nginx.org/lb-method": frozenset({"random", "least_conn", "ip_hash", "hash", "least_time"}),
    "nginx.org/keepalive": frozenset({"keepalive", "proxy_set_header"}),
    "nginx.org/upstream-zone-size": frozenset({"zone"}),
    "nginx.org/ssl-redirect": frozenset({"if", "return"}),
    "ingress.kubernetes.io/ssl-redirect": frozenset({"if", "return"}),
    "nginx.org/redirect-to-https": frozenset({"if", "return"}),
    "nginx.org/hsts": frozenset({"set", "if", "add_header"}),
    "nginx.org/hsts-behind-proxy": frozenset({"set", "if", "add_header"}),
    **{
        f"nginx.org/{key}": frozenset({key.replace("-", "_")})
        for key in [
            "proxy-connect-timeout",
            "proxy-read-timeout",
            "proxy-send-timeout",
            "client-max-body-size",
            "proxy-buffering",
            "proxy-buffers",
            "proxy-buffer-size",
            "proxy-max-temp-file-size",
        ]
    },
}

# A wrapper main file: the Ingress files in `http`, the catch-all locations in a server.
MAIN = (
    "events {}\n"
    "http {\n"
    "    include conf.d/*.conf;\n"
    "    server {\n"
    "        listen 8080 default_server;\n"
    "        include default-server.d/*.conf;\n"
    "    }\n"
    "}\n"
)

SYNTAX = [
    *"0123456789smhk ;{}#$\"'\\\n\r\t,.:[]-_/=!@%*()?&+~abcfxzAZ",
    *("\u2028", "\u0085", "\x00", "\ufeff", "\u200b", "é", "ı", "K"),  # K: Kelvin sign
    *("..", "//", "*.", "true", "$remote_addr", "${host}", "{{", "}}", "include ", "::1"),
    *("serviceName=", " rewrite=", "tea", "http", "cafe.example.com", "10.0.0.1"),
]
FRAGMENTS = st.lists(st.sampled_from(SYNTAX), max_size=12).map("".join)
ARBITRARY = st.one_of(st.text(st.characters(exclude_categories=()), max_size=60), FRAGMENTS)
VALID_FIELDS: dict[str, list[str]] = {
    "namespace": ["default", "kube-system", "a"],
    "name": ["cafe", "a.b-c", "x"],
    "host": ["cafe.example.com", "*.example.com", "a"],
    "path": ["/coffee", "/", "/a-b/c.d", "/v1:list"],
    "path_type": ["Prefix", "Exact", "ImplementationSpecific"],
    "service": ["coffee", "a-b"],
    "port": ["http", "h2c", "web-8080"],
    "secret": ["cafe-tls", "a.b"],
    "nginx.org/rewrite-target": ["/", "/api/", "/a%20b"],
    "nginx.org/rewrites": ["serviceName=coffee rewrite=/beans/", "serviceName=tea rewrite=/"],
}


def _valid(target: str) -> list[str]:
    if target in VALID_FIELDS:
        return VALID_FIELDS[target]
    spec = ANNOTATIONS_BY_NAME[target]
    assert spec.twin is not None
    return VALID[spec.twin]


def values_for(target: str) -> st.SearchStrategy[str]:
    valid = st.sampled_from(_valid(target))
    near_valid = st.tuples(FRAGMENTS, valid, FRAGMENTS).map("".join)
    return st.one_of(ARBITRARY, valid, near_valid)


def _generate(spec: IngressSpec, base: str) -> tuple[IngressResult, dict[str, str]]:
    """generate_ingress and the renderers on one Ingress; never raises."""
    source = spec.cluster().source()
    (view,) = source.ingresses.values()
    stem = ingress_stem(view.namespace, view.name)
    # The routing table's own assembly of inputs and files, so that a fault in it shows here.
    inputs = ingress_inputs(
        source,
        view,
        stem,
        lost_hosts={},
        taken_upstreams=frozenset(),
        zone_sync=False,
        replicas=1,
    )
    settings_ = BASES[base]
    result = generate_ingress(inputs, _config(base), settings_, NOW)
    return result, ingress_files(stem, result)


@cache
def _config(base: str) -> GlobalConfig:
    return config_for(BASES[base], {"zone-sync": "true"} if base == "plus" else {})


@cache
def _baseline(base: str, tls: bool = True) -> dict[str, str]:
    result, files = _generate(replace(IngressSpec(), with_secret=tls), base)
    assert result.config is not None and (not result.warnings) is tls
    return files


# Annotations that only change arguments, never which directives there are.
ARGUMENTS_ONLY = frozenset(
    f"nginx.org/{name}"
    for name in [
        "rewrite-target",
        "rewrites",
        "http2",
        "hsts-max-age",
        "hsts-include-subdomains",
        "max-fails",
        "max-conns",
        "fail-timeout",
    ]
)


def test_every_target_has_valid_samples_and_an_oracle() -> None:
    for target in (*ANNOTATIONS, *FIELDS):
        assert _valid(target)
    assert set(OWN) | ARGUMENTS_ONLY == set(ANNOTATIONS)


@pytest.mark.parametrize("base", list(BASES))
@pytest.mark.parametrize("target", ANNOTATIONS + FIELDS)
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_no_value_escapes_or_adds_a_directive(
    tmp_path_factory: pytest.TempPathFactory, base: str, target: str, data: st.DataObject
) -> None:
    value = data.draw(values_for(target), label="value")
    if target in FIELDS:
        spec = with_field(target, value)
    else:
        spec = replace(IngressSpec(), annotations=((target, value),))
    result, files = _generate(spec, base)
    for problem in result.problems:
        assert problem.line.isprintable()
    if result.config is None:
        event("rejected")
        assert files == {}
        return
    if target in {p.key for p in result.problems}:
        event("reported")
        assert files == _baseline(base)
        return
    event("accepted")
    tls = not any(p.key == "spec.tls" for p in result.problems)
    root = tmp_path_factory.mktemp("routing-property")
    got = _parse(root / "value", files)
    want = _parse(root / "baseline", _baseline(base, tls))
    own = OWN.get(target, frozenset())
    if target in ("path", "path_type"):
        # `Prefix /foo` is two locations; `Exact`, `ImplementationSpecific` and `Prefix /`
        # are one: fewer, never more.
        assert not shape(got) - shape(want)
        return
    assert shape(got, ignore=own) == shape(want, ignore=own)
    locations = sum(n for (*_, name), n in shape(want).items() if name == "location")
    allowance = (value.count(",") + 1) * locations
    got_own = Counter(d for (*_, d) in shape(got).elements() if d in own)
    want_own = Counter(d for (*_, d) in shape(want).elements() if d in own)
    for directive in own:
        assert got_own[directive] <= want_own[directive] + allowance, directive


def _parse(root: Path, files: dict[str, str]) -> dict[str, object]:
    return parse(write(root, {"nginx.conf": MAIN, **files}))
