"""Validation of an Ingress's spec: every value that passes is a safe bare NGINX token.

Accept and reject tables for hosts, paths, path types, backends, Secret names and
metadata; a problem names its field and rejects the whole Ingress.
"""

from __future__ import annotations

import re

import pytest

from nginx_ingress.generate.validate import (
    check_backend,
    check_host,
    check_ingress,
    check_path,
    check_secret_name,
)
from nginx_ingress.render.escape import bare
from nginx_ingress.resources import BackendRef, Ingress

from ingress_objects import ingress, path, rule, tls_entry

LABEL63 = "a" * 63
HOST253 = ".".join([LABEL63] * 3 + ["b" * 61])
HOST254 = HOST253 + "b"

GOOD_HOSTS = [
    "cafe.example.com",
    "a",
    "x-1.example.com",
    "*.example.com",
    "*.a",
    "0x3039",  # looks like a number, but is a DNS name
    "1.2.3.4a",
    "123.example.com",
    LABEL63 + ".com",
    HOST253,
    "xn--bcher-kva.example",  # IDNs in their ASCII (punycode) form
]
BAD_HOSTS = [
    ("", "lower-case DNS name"),  # check_host is only asked about set hosts
    ("Cafe.example.com", "lower-case"),
    ("cafe.example.com.", "lower-case"),
    (".example.com", "lower-case"),
    ("cafe..example.com", "lower-case"),
    ("-cafe.example.com", "lower-case"),
    ("cafe-.example.com", "lower-case"),
    ("a" * 64 + ".com", "lower-case"),
    (HOST254, "at most 253"),
    ("*", "lower-case"),
    ("*.", "lower-case"),
    ("**.example.com", "lower-case"),
    ("a.*.example.com", "lower-case"),
    ("*example.com", "lower-case"),
    ("cafe.example.com:80", "lower-case"),
    ("cafe_1.example.com", "lower-case"),
    ("bücher.example", "lower-case"),
    ("café.example.com", "lower-case"),
    ("ｃａｆｅ.example.com", "lower-case"),  # fullwidth letters
    ("cafe.example.com\n", "lower-case"),
    ("cafe example.com", "lower-case"),
    ("1.2.3.4", "not an IP address"),
    ("10.0.0.1", "not an IP address"),
    ("*.1.2.3", "not an IP address"),
    ("127", "not an IP address"),
    ("::1", "lower-case"),
    ("[::1]", "lower-case"),
    ("cafe.example.com;", "lower-case"),
    ("$host", "lower-case"),
]


@pytest.mark.parametrize("host", GOOD_HOSTS)
def test_good_hosts(host: str) -> None:
    assert check_host(host) is None
    assert bare(host) == host


@pytest.mark.parametrize("host,reason", BAD_HOSTS, ids=[repr(h) for h, _ in BAD_HOSTS])
def test_bad_hosts(host: str, reason: str) -> None:
    problem = check_host(host)
    assert problem is not None and reason in problem


GOOD_PATHS = [
    ("/", "Prefix"),
    ("/", "Exact"),
    ("/coffee", "Prefix"),
    ("/coffee/", "Prefix"),
    ("/a/b/c", "Exact"),
    ("/a-b_c.d~e", "Prefix"),
    ("/v1:list", "Prefix"),
    ("/@user", "Prefix"),
    ("/a=b&c=d", "Prefix"),
    ("/a+b,c!d", "Exact"),
    ("/...", "Prefix"),  # three dots is a name, not a dot segment
    ("/.well-known/acme-challenge", "Prefix"),
    ("/a.", "Exact"),
    ("/" + "a" * 1023, "Prefix"),
    ("", "ImplementationSpecific"),  # means `/`
    ("/coffee", "ImplementationSpecific"),
    ("/(a)", "ImplementationSpecific"),
    ("/a*", "ImplementationSpecific"),
]
BAD_PATHS = [
    ("", "Prefix", "must not be empty"),
    ("", "Exact", "must not be empty"),
    ("coffee", "Prefix", "must start with '/'"),
    ("*", "Prefix", "must start with '/'"),
    ("/" + "a" * 1024, "Prefix", "at most 1024"),
    ("/a b", "Prefix", "no whitespace"),
    ("/a\tb", "Prefix", "no whitespace"),
    ("/a\nb", "Exact", "no whitespace"),
    ("/a;b", "Prefix", "';'"),
    ("/a{b}", "Prefix", "braces"),
    ("/a}", "Prefix", "braces"),
    ('/a"b', "Prefix", "quotes"),
    ("/a'b", "Prefix", "quotes"),
    ("/a\\b", "Prefix", "'\\'"),
    ("/a$b", "Prefix", "'$'"),
    ("/a#b", "Prefix", "'#'"),
    ("/a?b=c", "Prefix", "'?'"),
    ("/a\x00", "Prefix", "must start with '/'"),
    ("/a\x7f", "Prefix", "must start with '/'"),
    ("/a\u2028b", "Prefix", "must start with '/'"),
    ("/a\u0085", "Prefix", "must start with '/'"),
    ("/café", "Prefix", "non-ASCII"),
    ("/a\u200b", "Prefix", "non-ASCII"),
    # NGINX matches the decoded path: `location /a%20b` would answer `/a%2520b` only.
    ("/%41", "Prefix", "'%'"),
    ("/a%20b", "Exact", "'%'"),
    ("/a%2Fb", "ImplementationSpecific", "'%'"),
    ("/..", "Prefix", "'..' segments"),
    ("/a/../b", "Prefix", "'..' segments"),
    ("/a/..", "Exact", "'..' segments"),
    ("/./a", "Prefix", "'.' or '..'"),
    ("/a/.", "Prefix", "'.' or '..'"),
    ("//", "Prefix", "'//'"),
    ("//a", "Prefix", "'//'"),
    ("/a//b", "Exact", "'//'"),
    ("/a", "prefix", "pathType must be one of"),
    ("/a", "", "pathType must be one of"),
    ("/a", "Regex", "pathType must be one of"),
    ("/(a", "ImplementationSpecific", "valid regular expression"),
    ("/a**", "ImplementationSpecific", "valid regular expression"),
    ("/a)", "ImplementationSpecific", "valid regular expression"),
]


@pytest.mark.parametrize("value,kind", GOOD_PATHS, ids=[f"{k}:{p!r}"[:60] for p, k in GOOD_PATHS])
def test_good_paths(value: str, kind: str) -> None:
    assert check_path(value, kind) is None
    if value:
        assert bare(value) == value


@pytest.mark.parametrize(
    "value,kind,reason", BAD_PATHS, ids=[f"{k}:{p!r}"[:60] for p, k, _ in BAD_PATHS]
)
def test_bad_paths(value: str, kind: str, reason: str) -> None:
    problem = check_path(value, kind)
    assert problem is not None and reason in problem, problem


def test_prefix_and_exact_take_regex_metacharacters_literally() -> None:
    # Only ImplementationSpecific paths must compile as a regular expression (NIC's rule).
    assert check_path("/(a", "Prefix") is None
    assert check_path("/a**", "Exact") is None


GOOD_BACKENDS = [
    BackendRef("coffee", 80),
    BackendRef("c", 1),
    BackendRef("a" + "b" * 62, 65535),
    BackendRef("coffee", None, "http"),
    BackendRef("coffee", None, "h"),
    BackendRef("coffee", None, "http-alt-8080"),
    BackendRef("coffee", None, "a" * 15),
    BackendRef("coffee", None, "8080a"),
    BackendRef("coffee", 80, "ignored when a number is given"),
]
BAD_BACKENDS = [
    (BackendRef(resource=True), "resource backends are not supported"),
    (BackendRef("", 80), "service.name is required"),
    (BackendRef("Coffee", 80), "DNS-1035"),
    (BackendRef("1coffee", 80), "DNS-1035"),
    (BackendRef("coffee-", 80), "DNS-1035"),
    (BackendRef("cof.fee", 80), "DNS-1035"),
    (BackendRef("a" * 64, 80), "DNS-1035"),
    (BackendRef("coffee;", 80), "DNS-1035"),
    (BackendRef("café", 80), "DNS-1035"),
    (BackendRef("coffee", 0), "from 1 to 65535"),
    (BackendRef("coffee", 65536), "from 1 to 65535"),
    (BackendRef("coffee", -1), "from 1 to 65535"),
    (BackendRef("coffee"), "needs a number or a name"),
    (BackendRef("coffee", None, "HTTP"), "port name"),
    (BackendRef("coffee", None, "8080"), "port name"),  # a name needs a letter
    (BackendRef("coffee", None, "a" * 16), "port name"),
    (BackendRef("coffee", None, "-http"), "port name"),
    (BackendRef("coffee", None, "http-"), "port name"),
    (BackendRef("coffee", None, "ht--tp"), "port name"),
    (BackendRef("coffee", None, "h;"), "port name"),
    (BackendRef("coffee", None, "ｈttp"), "port name"),
]


@pytest.mark.parametrize("value", GOOD_BACKENDS, ids=repr)
def test_good_backends(value: BackendRef) -> None:
    assert check_backend(value) is None


@pytest.mark.parametrize("value,reason", BAD_BACKENDS, ids=[repr(b) for b, _ in BAD_BACKENDS])
def test_bad_backends(value: BackendRef, reason: str) -> None:
    problem = check_backend(value)
    assert problem is not None and reason in problem, problem


@pytest.mark.parametrize(
    "name,good",
    [
        ("cafe-tls", True),
        ("cafe.tls", True),
        ("a", True),
        ("x" * 253, True),
        ("x" * 254, False),
        ("Cafe", False),
        ("cafe_tls", False),
        ("-cafe", False),
        ("cafe.", False),
        ("cafe..tls", False),
        ("cafe/tls", False),
        ("../etc/passwd", False),
        ("café", False),
        ("cafe\n", False),
    ],
)
def test_secret_names(name: str, good: bool) -> None:
    assert (check_secret_name(name) is None) is good


# --- whole Ingresses -------------------------------------------------------------------------


def _problems(raw: dict[str, object]) -> dict[str, str]:
    return {p.key: p.message for p in check_ingress(Ingress.from_object(raw))}


def test_a_valid_ingress_has_no_problem() -> None:
    raw = ingress(
        "cafe",
        rule("cafe.example.com", path("/tea", "tea", "http", "Exact"), path("/", kind="Prefix")),
        rule(None, path(None, kind="ImplementationSpecific")),
        tls=[tls_entry("cafe-tls", "cafe.example.com"), tls_entry(None, "*.example.com")],
    )
    assert _problems(raw) == {}


def test_every_problem_names_its_field() -> None:
    raw = ingress(
        "cafe",
        rule("Cafe.example.com", path("/a b"), path("/ok", "Bad_Service")),
        rule("ok.example.com", path("/", "coffee", 0)),
        tls=[tls_entry("Bad", "10.0.0.1")],
        default_backend={"service": {"name": "fallback", "port": {}}},
    )
    assert set(_problems(raw)) == {
        "spec.rules[0].host",
        "spec.rules[0].http.paths[0].path",
        "spec.rules[0].http.paths[1].backend",
        "spec.rules[1].http.paths[0].backend",
        "spec.tls[0].hosts[0]",
        "spec.tls[0].secretName",
        "spec.defaultBackend",
    }


def test_problems_show_the_value_escaped() -> None:
    raw = ingress("cafe", rule("evil.com;\n}", path("/")))
    (problem,) = check_ingress(Ingress.from_object(raw))
    assert problem.value == "evil.com;\\n}"
    assert problem.line.isprintable()


def test_needs_rules_or_a_default_backend() -> None:
    assert _problems(ingress("cafe")) == {"spec": "needs rules or a defaultBackend"}
    only_default = ingress(
        "cafe", default_backend={"service": {"name": "c", "port": {"number": 1}}}
    )
    assert _problems(only_default) == {}


def test_a_rule_without_paths_needs_a_default_backend() -> None:
    raw = ingress("cafe", {"host": "cafe.example.com"})
    assert _problems(raw) == {"spec.rules[0].http.paths": "needs at least one path"}
    raw["spec"]["defaultBackend"] = {"service": {"name": "c", "port": {"number": 1}}}
    assert _problems(raw) == {}


@pytest.mark.parametrize(
    "namespace,name",
    [
        ("", "cafe"),
        ("default", ""),
        ("Default", "cafe"),
        ("default", "Cafe"),
        ("a" * 64, "cafe"),
        ("default", "ca/fe"),
        ("de.fault", "cafe"),
        ("default", "x" * 254),
    ],
)
def test_metadata_must_make_a_safe_file_name(namespace: str, name: str) -> None:
    assert "metadata" in _problems(ingress(name, rule("a.com"), namespace=namespace))


def test_metadata_that_nic_allows() -> None:
    assert _problems(ingress("ca.fe-1", rule("a.com"), namespace="a" * 63)) == {}


def test_structural_problems_reject() -> None:
    raw = ingress("cafe", rule("a.com"))
    raw["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["port"]["number"] = "80"
    problems = _problems(raw)
    assert problems["spec.rules[0].http.paths[0].backend.service.port.number"] == (
        "must be an integer"
    )


def test_every_accepted_path_is_one_bare_token_in_any_location_form() -> None:
    for value, _kind in GOOD_PATHS:
        for text in (value or "/", (value.rstrip("/") or "/") + "/"):
            assert re.fullmatch(r"/[!-~]*", text, re.ASCII)
            bare(text)
