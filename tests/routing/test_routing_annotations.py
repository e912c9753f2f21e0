"""Ingress annotations: each through its typed parser; annotation beats ConfigMap beats default.

A bad annotation is reported and ignored (the ConfigMap's value applies); an
unknown annotation in our namespaces is reported, with a suggestion when it is a
likely typo.
"""

from __future__ import annotations

from typing import Any

import pytest

from nginx_ingress.configmap import GlobalConfig
from nginx_ingress.configmap.keys import CORE_KEYS_BY_NAME
from nginx_ingress.configmap.parsers import InvalidValue
from nginx_ingress.generate.annotations import (
    ANNOTATIONS,
    ANNOTATIONS_BY_NAME,
    IngressOptions,
    parse_annotations,
    parse_rewrites,
    parse_uri,
)
from nginx_ingress.settings import Settings
from nginx_ingress.values import Buffers, NginxString, ProxyHeader, Size, Time

from ingress_objects import config_for

OSS = Settings()
PLUS = Settings(nginx_plus=True)

# The annotations the issue asks for, and the two this controller adds.
_ISSUE_LIST = (
    "proxy-connect-timeout proxy-read-timeout proxy-send-timeout client-max-body-size "
    "proxy-buffering proxy-buffers proxy-buffer-size proxy-max-temp-file-size "
    "proxy-hide-headers proxy-pass-headers proxy-set-headers rewrite-target rewrites "
    "ssl-redirect redirect-to-https hsts hsts-max-age hsts-include-subdomains lb-method "
    "max-fails max-conns fail-timeout keepalive upstream-zone-size server-tokens http2"
)
REQUIRED = {f"nginx.org/{name}" for name in _ISSUE_LIST.split(" ")}
EXTRA = {"nginx.org/hsts-behind-proxy", "ingress.kubernetes.io/ssl-redirect"}

# name → (a valid value, what it parses to, an invalid value, a ConfigMap value, its parse)
CASES: dict[str, tuple[str, Any, str, str | None, Any]] = {
    "nginx.org/proxy-connect-timeout": ("5s", "5s", "5 s", "7s", None),
    "nginx.org/proxy-read-timeout": ("1m", "1m", "-1s", "7s", None),
    "nginx.org/proxy-send-timeout": ("500ms", "500ms", "forever", "7s", None),
    "nginx.org/client-max-body-size": ("16m", "16m", "16mb", "1m", None),
    "nginx.org/proxy-buffering": ("false", False, "nope", "false", None),
    "nginx.org/proxy-buffers": ("16 8k", Buffers(16, Size("8k", 8192)), "16", "8 4k", None),
    "nginx.org/proxy-buffer-size": ("8k", "8k", "8 k", "4k", None),
    "nginx.org/proxy-max-temp-file-size": ("1024m", "1024m", "1 g", "0", None),
    "nginx.org/proxy-hide-headers": ("X-A, X-B", ("X-A", "X-B"), "X A", "X-C", ("X-C",)),
    "nginx.org/proxy-pass-headers": ("Server", ("Server",), "Server;", "X-C", ("X-C",)),
    "nginx.org/proxy-set-headers": (
        "X-A, X-B: b",
        (ProxyHeader("X-A", NginxString("$http_x_a")), ProxyHeader("X-B", NginxString("b"))),
        "X-B: $evil",
        "X-C",
        (ProxyHeader("X-C", NginxString("$http_x_c")),),
    ),
    "nginx.org/rewrite-target": ("/api/", "/api/", "/api/$1", None, None),
    "nginx.org/rewrites": (
        "serviceName=tea rewrite=/;serviceName=coffee rewrite=/beans/",
        {"tea": "/", "coffee": "/beans/"},
        "serviceName=tea",
        None,
        {},
    ),
    "nginx.org/ssl-redirect": ("false", False, "maybe", "false", False),
    "ingress.kubernetes.io/ssl-redirect": ("False", False, "off!", "false", False),
    "nginx.org/redirect-to-https": ("true", True, "yes please", "true", True),
    "nginx.org/hsts": ("true", True, "y e s", "true", True),
    "nginx.org/hsts-max-age": ("60", 60, "-1", "120", 120),
    "nginx.org/hsts-include-subdomains": ("true", True, "2", "true", True),
    "nginx.org/hsts-behind-proxy": ("true", True, "x", "true", True),
    "nginx.org/http2": ("true", True, "h2", "true", True),
    "nginx.org/server-tokens": ("false", "off", "on;", "build", None),
    "nginx.org/lb-method": ("least_conn", ("least_conn",), "fastest", "ip_hash", ("ip_hash",)),
    "nginx.org/max-fails": ("3", 3, "three", "5", 5),
    "nginx.org/max-conns": ("100", 100, "-1", "10", 10),
    "nginx.org/fail-timeout": ("30s", "30s", "30ms", "5s", "5s"),
    "nginx.org/keepalive": ("32", 32, "32 ", "8", 8),
    "nginx.org/upstream-zone-size": ("512k", "512k", "5 m", "1m", "1m"),
}


def _plain(value: object) -> object:
    """Times and sizes compare by their text; other values as they are."""
    return str(value) if isinstance(value, Time | Size) else value


def _parse(
    annotations: dict[str, str],
    configmap: dict[str, str] | None = None,
    settings: Settings = OSS,
) -> tuple[IngressOptions, dict[str, Any]]:
    config = config_for(settings, configmap)
    parsed = parse_annotations(annotations, config, settings)
    return parsed.options, {p.key: p for p in parsed.problems}


def test_every_annotation_is_implemented_and_tested() -> None:
    assert set(ANNOTATIONS_BY_NAME) == REQUIRED | EXTRA
    assert set(CASES) == set(ANNOTATIONS_BY_NAME)


def test_twins_share_the_configmap_parser() -> None:
    for spec in ANNOTATIONS:
        if spec.twin is not None:
            assert spec.parse is CORE_KEYS_BY_NAME[spec.twin].parse, spec.name


@pytest.mark.parametrize("name", sorted(CASES))
def test_valid_annotation_is_used(name: str) -> None:
    valid, expected, _invalid, _cm, _cm_parsed = CASES[name]
    options, problems = _parse({name: valid})
    assert problems == {}
    assert _plain(getattr(options, ANNOTATIONS_BY_NAME[name].field)) == expected


@pytest.mark.parametrize("name", sorted(CASES))
def test_invalid_annotation_is_reported_and_the_configmap_value_used(name: str) -> None:
    _valid, _expected, invalid, cm_value, cm_parsed = CASES[name]
    spec = ANNOTATIONS_BY_NAME[name]
    configmap = {spec.twin: cm_value} if spec.twin and cm_value is not None else {}
    options, problems = _parse({name: invalid}, configmap)
    assert set(problems) == {name}
    problem = problems[name]
    assert problem.value == invalid.replace("\\", "\\\\").replace('"', '\\"')
    assert problem.used == ("the ConfigMap's value" if spec.twin else "nothing")
    # Overrides fall back to the http-level value the ConfigMap sets in nginx.conf: the
    # Ingress repeats nothing. The others carry the ConfigMap's value themselves.
    assert _plain(getattr(options, spec.field)) == cm_parsed


def test_overrides_are_none_unless_annotated() -> None:
    configmap = {spec.twin: CASES[spec.name][3] for spec in ANNOTATIONS if spec.override}
    options, _ = _parse({}, {k: v for k, v in configmap.items() if k and v is not None})
    for spec in ANNOTATIONS:
        if spec.override:
            assert getattr(options, spec.field) is None, spec.name


@pytest.mark.parametrize(
    "name", sorted(n for n, s in ANNOTATIONS_BY_NAME.items() if s.twin and not s.override)
)
def test_precedence_annotation_then_configmap_then_default(name: str) -> None:
    spec = ANNOTATIONS_BY_NAME[name]
    valid, expected, _invalid, cm_value, cm_parsed = CASES[name]
    assert spec.twin is not None and cm_value is not None
    default = getattr(GlobalConfig(), spec.field)
    assert _plain(getattr(_parse({})[0], spec.field)) == _plain(default)
    assert _plain(getattr(_parse({}, {spec.twin: cm_value})[0], spec.field)) == cm_parsed
    both = _parse({name: valid}, {spec.twin: cm_value})[0]
    assert _plain(getattr(both, spec.field)) == expected


def test_the_deprecated_ssl_redirect_loses_to_the_new_spelling() -> None:
    options, problems = _parse(
        {"ingress.kubernetes.io/ssl-redirect": "false", "nginx.org/ssl-redirect": "true"}
    )
    assert options.ssl_redirect is True and problems == {}
    # Even a bad deprecated value is then not read at all.
    options, problems = _parse(
        {"ingress.kubernetes.io/ssl-redirect": "bad", "nginx.org/ssl-redirect": "false"}
    )
    assert options.ssl_redirect is False and problems == {}
    options, _ = _parse({"ingress.kubernetes.io/ssl-redirect": "false"})
    assert options.ssl_redirect is False


def test_defaults() -> None:
    options, problems = _parse({})
    assert problems == {}
    assert options.ssl_redirect is True
    assert options.redirect_to_https is False
    assert options.hsts is False
    assert options.lb_method == ("random", "two", "least_conn")
    assert str(options.upstream_zone_size) == "256k"
    assert options.rewrite_target is None and dict(options.rewrites) == {}
    plus, _ = _parse({}, settings=PLUS)
    assert str(plus.upstream_zone_size) == "512k"


@pytest.mark.parametrize(
    "name,suggestion",
    [
        ("nginx.org/proxy-read-timout", "nginx.org/proxy-read-timeout"),
        ("nginx.org/lb_method", "nginx.org/lb-method"),
        ("nginx.org/hsts-max-ages", "nginx.org/hsts-max-age"),
        ("nginx.com/keepalive", "nginx.org/keepalive"),
        ("nginx.org/rewrite", "nginx.org/rewrites"),
        ("nginx.org/location-snippets", None),
        ("nginx.org/limit-req-rates", "nginx.org/limit-req-rate"),
        ("nginx.org/x", None),
    ],
)
def test_unknown_annotations_in_our_namespaces_are_reported(
    name: str, suggestion: str | None
) -> None:
    options, problems = _parse({name: "whatever"})
    assert set(problems) == {name}
    message = problems[name].message
    assert message.startswith("not supported by this controller; ignored")
    if suggestion is None:
        assert "did you mean" not in message
    else:
        assert message.endswith(f"did you mean {suggestion!r}?")
    assert options == _parse({})[0]


@pytest.mark.parametrize(
    "name",
    [
        "kubernetes.io/ingress.class",
        "example.com/anything",
        "ingress.kubernetes.io/rewrite-target",
    ],
)
def test_other_annotations_are_not_reported(name: str) -> None:
    assert _parse({name: "x"})[1] == {}


def test_mergeable_ingresses_are_reported_as_not_supported() -> None:
    """Masters and minions would otherwise collide oldest-wins with no sign of why."""
    _options, problems = _parse({"nginx.org/mergeable-ingress-type": "master"})
    problem = problems["nginx.org/mergeable-ingress-type"]
    assert "not supported by this controller" in problem.message


def test_problems_are_sorted_and_independent() -> None:
    options, problems = _parse(
        {"nginx.org/max-fails": "x", "nginx.org/keepalive": "4", "nginx.org/hsts": "x"}
    )
    assert list(problems) == ["nginx.org/hsts", "nginx.org/max-fails"]
    assert options.keepalive == 4


# --- buffers: the effective combination must be one NGINX takes ---------------------------------


def test_buffer_size_that_does_not_fit_the_configmap_buffers() -> None:
    options, problems = _parse({"nginx.org/proxy-buffer-size": "64k"}, {"proxy-buffers": "8 4k"})
    assert set(problems) == {"nginx.org/proxy-buffer-size"}
    assert options.proxy_buffer_size is None
    assert problems["nginx.org/proxy-buffer-size"].used == "the ConfigMap's value"


def test_buffers_that_fit_together_in_annotations() -> None:
    options, problems = _parse(
        {"nginx.org/proxy-buffer-size": "16k", "nginx.org/proxy-buffers": "8 16k"}
    )
    assert problems == {}
    assert str(options.proxy_buffer_size) == "16k"


def test_buffers_annotation_checked_against_the_configmap_buffer_size() -> None:
    _, problems = _parse({"nginx.org/proxy-buffers": "3 4k"}, {"proxy-buffer-size": "4k"})
    assert problems == {}
    options, problems = _parse({"nginx.org/proxy-buffers": "2 4k"}, {"proxy-buffer-size": "4k"})
    assert set(problems) == {"nginx.org/proxy-buffers"} and options.proxy_buffers is None


# --- rewrites -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,expected",
    [
        ("serviceName=tea rewrite=/", {"tea": "/"}),
        ("serviceName=tea rewrite=/a/;serviceName=b rewrite=/b", {"tea": "/a/", "b": "/b"}),
        ("serviceName=tea rewrite=/a/; serviceName=b rewrite=/b", {"tea": "/a/", "b": "/b"}),
        (" serviceName=tea rewrite=/x\t", {"tea": "/x"}),
    ],
)
def test_rewrites(text: str, expected: dict[str, str]) -> None:
    assert parse_rewrites(text) == expected


@pytest.mark.parametrize(
    "text,reason",
    [
        ("", "entry 1 must be"),
        ("serviceName=tea", "entry 1 must be"),
        ("serviceName=tea rewrite=/;", "entry 2 must be"),
        ("service=tea rewrite=/", "entry 1 must be"),
        ("serviceName=Tea rewrite=/", "entry 1 must be"),
        ("serviceName=tea  rewrite=/", "entry 1 must be"),
        ("serviceName=tea rewrite=/ extra=1", "entry 1 must be"),
        ("serviceName=tea rewrite=x", "entry 1: the rewrite must be a path"),
        ("serviceName=tea rewrite=/$1", "entry 1: the rewrite must be a path"),
        ("serviceName=tea rewrite=/a/../b", "entry 1: the rewrite must not hold"),
        ("serviceName=tea rewrite=/a;serviceName=tea rewrite=/b", "names service tea twice"),
    ],
)
def test_bad_rewrites(text: str, reason: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        parse_rewrites(text)
    assert str(caught.value).startswith(reason), str(caught.value)


@pytest.mark.parametrize(
    "text,good",
    [
        ("/", True),
        ("/api/v1/", True),
        ("/a%20b", True),
        ("/" + "a" * 1023, True),
        ("/" + "a" * 1024, False),
        ("api", False),
        ("/a b", False),
        ("/a;", False),
        ("/$1", False),
        ("/a?b", False),
        ("//", False),
        ("/./", False),
        ("/é", False),
        ("http://x/", False),
    ],
)
def test_rewrite_target(text: str, good: bool) -> None:
    if good:
        assert parse_uri(text) == text
    else:
        with pytest.raises(InvalidValue):
            parse_uri(text)


def test_temp_file_limit_below_one_buffer_is_refused() -> None:
    """NGINX: 0, or at least the larger of proxy_buffer_size and one buffer."""
    options, problems = _parse({"nginx.org/proxy-max-temp-file-size": "1k"})
    assert set(problems) == {"nginx.org/proxy-max-temp-file-size"}
    assert options.proxy_max_temp_file_size is None
    assert _parse({"nginx.org/proxy-max-temp-file-size": "0"})[1] == {}
    assert _parse({"nginx.org/proxy-max-temp-file-size": "4k"})[1] == {}
    _, problems = _parse(
        {"nginx.org/proxy-max-temp-file-size": "8k"},
        {"proxy-buffers": "8 16k", "proxy-buffer-size": "16k"},
    )
    assert set(problems) == {"nginx.org/proxy-max-temp-file-size"}


def test_annotated_buffers_must_fit_the_configmap_temp_file_limit() -> None:
    options, problems = _parse(
        {"nginx.org/proxy-buffer-size": "16k", "nginx.org/proxy-buffers": "8 16k"},
        {"proxy-max-temp-file-size": "8k"},
    )
    assert set(problems) == {"nginx.org/proxy-buffer-size", "nginx.org/proxy-buffers"}
    assert options.proxy_buffers is None and options.proxy_buffer_size is None
    # With a limit of their own, they fit.
    _, problems = _parse(
        {
            "nginx.org/proxy-buffer-size": "16k",
            "nginx.org/proxy-buffers": "8 16k",
            "nginx.org/proxy-max-temp-file-size": "16k",
        },
        {"proxy-max-temp-file-size": "8k"},
    )
    assert problems == {}


@pytest.mark.parametrize("size,good", [("0", True), ("1", False), ("31k", False), ("32k", True)])
def test_upstream_zone_size_minimum(size: str, good: bool) -> None:
    _, problems = _parse({"nginx.org/upstream-zone-size": size})
    assert (problems == {}) is good
