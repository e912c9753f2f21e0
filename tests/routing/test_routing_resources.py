"""The informer transforms: typed views of raw objects, never raising on a hostile shape.

A field of the wrong type becomes a structural problem on the Ingress (which then
rejects it) or is read as absent; nothing an API server or a hand-written manifest
can hold makes `from_object` raise.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nginx_ingress.generate.validate import check_ingress
from nginx_ingress.resources import (
    BackendRef,
    EndpointSlice,
    Ingress,
    IngressClass,
    Secret,
    Service,
)
from nginx_ingress.resources.secret import check_tls

from certificates import b64, certificate
from ingress_objects import (
    NOW,
    Raw,
    endpoint,
    endpoint_slice,
    ingress,
    ingress_class,
    path,
    rule,
    service,
    tls_entry,
    tls_secret,
)

VIEWS: tuple[Callable[[Any], object], ...] = (
    Ingress.from_object,
    IngressClass.from_object,
    Service.from_object,
    EndpointSlice.from_object,
    Secret.from_object,
)

# --- Ingress ------------------------------------------------------------------------------


def test_ingress_view_keeps_what_routing_reads() -> None:
    raw = ingress(
        "cafe",
        rule("cafe.example.com", path("/tea", "tea", "http", "Exact")),
        rule(None, path(None, "coffee", 80, "ImplementationSpecific")),
        annotations={
            "nginx.org/proxy-read-timeout": "5s",
            "kubectl.kubernetes.io/last-applied-configuration": "{...}",
            "kubernetes.io/ingress.class": "nginx",
            "example.com/other": "x",
        },
        tls=[tls_entry("cafe-tls", "cafe.example.com")],
        default_backend={"service": {"name": "fallback", "port": {"number": 8080}}},
    )
    view = Ingress.from_object(raw)
    assert view.key == "default/cafe"
    assert view.created == "2024-01-01T00:00:00Z"
    assert view.class_name == "nginx"
    assert view.class_annotation == "nginx"
    # Only our annotation namespaces and the class annotation are kept.
    assert dict(view.annotations) == {
        "nginx.org/proxy-read-timeout": "5s",
        "kubernetes.io/ingress.class": "nginx",
    }
    assert view.rules[0].host == "cafe.example.com"
    assert view.rules[0].paths[0].path_type == "Exact"
    assert view.rules[0].paths[0].backend == BackendRef("tea", None, "http")
    assert view.rules[1].host == ""
    assert view.rules[1].paths[0].path == ""
    assert view.default_backend == BackendRef("fallback", 8080)
    assert view.tls[0].hosts == ("cafe.example.com",)
    assert view.services == {"tea", "coffee", "fallback"}
    assert view.secrets == {"cafe-tls"}
    assert view.problems == ()


def test_resource_backend_is_kept_as_such() -> None:
    raw = ingress("cafe", rule("a.example.com"))
    raw["spec"]["rules"][0]["http"]["paths"][0]["backend"] = {
        "resource": {"apiGroup": "k8s.example.com", "kind": "StorageBucket", "name": "b"}
    }
    view = Ingress.from_object(raw)
    assert view.rules[0].paths[0].backend == BackendRef(resource=True)
    assert view.services == frozenset()
    problems = check_ingress(view)
    assert [p.key for p in problems] == ["spec.rules[0].http.paths[0].backend"]
    assert "resource backends are not supported" in problems[0].message


def _set(raw: Raw, where: tuple[Any, ...], value: object) -> Raw:
    raw = copy.deepcopy(raw)
    target: Any = raw
    for step in where[:-1]:
        target = target[step]
    target[where[-1]] = value
    return raw


FULL = ingress(
    "cafe",
    rule("cafe.example.com", path("/tea", "tea", "http")),
    annotations={"nginx.org/keepalive": "4"},
    tls=[tls_entry("cafe-tls", "cafe.example.com")],
    default_backend={"service": {"name": "fallback", "port": {"number": 8080}}},
)
P0 = ("spec", "rules", 0, "http", "paths", 0)
# Each field, and the problem its wrong type gives (None: the field is read as absent).
WRONG_TYPES: list[tuple[tuple[Any, ...], str | None]] = [
    (("metadata",), "metadata"),
    (("metadata", "annotations"), "metadata.annotations"),
    (("metadata", "namespace"), None),
    (("metadata", "name"), None),
    (("metadata", "creationTimestamp"), None),
    (("spec",), "spec"),
    (("spec", "ingressClassName"), "spec.ingressClassName"),
    (("spec", "rules"), "spec.rules"),
    (("spec", "rules", 0), "spec.rules[0]"),
    (("spec", "rules", 0, "host"), "spec.rules[0].host"),
    (("spec", "rules", 0, "http"), "spec.rules[0].http"),
    (("spec", "rules", 0, "http", "paths"), "spec.rules[0].http.paths"),
    (P0, "spec.rules[0].http.paths[0]"),
    ((*P0, "path"), "spec.rules[0].http.paths[0].path"),
    ((*P0, "pathType"), "spec.rules[0].http.paths[0].pathType"),
    ((*P0, "backend"), "spec.rules[0].http.paths[0].backend"),
    ((*P0, "backend", "service"), "spec.rules[0].http.paths[0].backend.service"),
    ((*P0, "backend", "service", "name"), "spec.rules[0].http.paths[0].backend.service.name"),
    ((*P0, "backend", "service", "port"), "spec.rules[0].http.paths[0].backend.service.port"),
    (
        (*P0, "backend", "service", "port", "name"),
        "spec.rules[0].http.paths[0].backend.service.port.name",
    ),
    (("spec", "tls"), "spec.tls"),
    (("spec", "tls", 0), "spec.tls[0]"),
    (("spec", "tls", 0, "hosts"), "spec.tls[0].hosts"),
    (("spec", "tls", 0, "hosts", 0), "spec.tls[0].hosts[0]"),
    (("spec", "tls", 0, "secretName"), "spec.tls[0].secretName"),
    (("spec", "defaultBackend"), "spec.defaultBackend"),
    (("spec", "defaultBackend", "service", "port", "number"), None),
]
WRONG_VALUES: list[object] = [7, 1.5, True, "text", ["list"], {"a": "b"}, {1: 2}]


@pytest.mark.parametrize("where,problem", WRONG_TYPES, ids=str)
@pytest.mark.parametrize("value", WRONG_VALUES, ids=repr)
def test_wrong_types_in_an_ingress_never_raise(
    where: tuple[Any, ...], problem: str | None, value: object
) -> None:
    view = Ingress.from_object(_set(FULL, where, value))
    rejected = check_ingress(view)  # never raises either
    if problem is None or _right_type(FULL, where, value):
        return
    assert any(p.startswith(problem + ":") for p in view.problems), view.problems
    assert any(p.key == problem for p in rejected)


def _right_type(raw: Raw, where: tuple[Any, ...], value: object) -> bool:
    """Whether `value` happens to have the type the field takes (then it is no problem)."""
    current: Any = raw
    for step in where:
        current = current[step]
    return type(current) is type(value) or (isinstance(current, dict) and value == {})


def test_wrong_port_number_type_is_a_problem() -> None:
    view = Ingress.from_object(_set(FULL, (*P0, "backend", "service", "port"), {"number": "80"}))
    assert view.problems == (
        "spec.rules[0].http.paths[0].backend.service.port.number: must be an integer",
    )
    assert Ingress.from_object(
        _set(FULL, (*P0, "backend", "service", "port"), {"number": True})
    ).problems


def test_non_string_annotations_are_problems_not_exceptions() -> None:
    view = Ingress.from_object(
        _set(FULL, ("metadata", "annotations"), {"nginx.org/keepalive": 4, 5: "x"})
    )
    assert "nginx.org/keepalive" not in view.annotations
    assert "metadata.annotations.nginx.org/keepalive: must be a string" in view.problems
    # Keys outside our namespaces are never read, so their type does not matter.
    assert not any("5" in p for p in view.problems)


def test_missing_everything() -> None:
    view = Ingress.from_object({})
    assert (view.namespace, view.name, view.rules, view.tls) == ("", "", (), ())
    assert view.default_backend is None
    keys = {p.key for p in check_ingress(view)}
    assert keys == {"metadata", "spec"}


@pytest.mark.parametrize("view", VIEWS, ids=lambda v: v.__qualname__)
def test_every_view_reads_an_empty_object(view: Callable[[Any], object]) -> None:
    view({})
    view({"metadata": None, "spec": None})


# --- IngressClass -----------------------------------------------------------------------------


def test_ingress_class() -> None:
    view = IngressClass.from_object(ingress_class("nginx", default=True))
    assert (view.name, view.controller, view.is_default) == (
        "nginx",
        "nginx.org/ingress-controller",
        True,
    )
    assert not IngressClass.from_object(ingress_class("other")).is_default
    odd = IngressClass.from_object(
        {
            "metadata": {
                "name": "x",
                "annotations": {"ingressclass.kubernetes.io/is-default-class": True},
            }
        }
    )
    assert not odd.is_default  # only the string "true" marks the default
    assert IngressClass.from_object({"spec": {"controller": 5}}).controller == ""


# --- Service ----------------------------------------------------------------------------------


def test_service() -> None:
    view = Service.from_object(
        service(
            "tea", {"name": "http", "port": 80}, {"name": "grpc", "port": 81, "protocol": "UDP"}
        )
    )
    assert view.key == "default/tea"
    assert view.type == "ClusterIP"
    assert view.port(80, "") is not None and view.port(80, "").name == "http"  # type: ignore[union-attr]
    assert view.port(None, "grpc") is not None
    assert view.port(None, "grpc").protocol == "UDP"  # type: ignore[union-attr]
    assert view.port(8080, "") is None
    assert view.port(None, "nope") is None
    assert Service.from_object(service("x", kind="ExternalName")).type == "ExternalName"


@pytest.mark.parametrize("value", WRONG_VALUES, ids=repr)
def test_service_with_wrong_types(value: object) -> None:
    for where in (
        ("spec",),
        ("spec", "ports"),
        ("spec", "ports", 0),
        ("spec", "ports", 0, "port"),
        ("spec", "ports", 0, "name"),
        ("spec", "type"),
    ):
        view = Service.from_object(_set(service("tea"), where, value))
        assert isinstance(view.type, str)
        for port in view.ports:
            assert port.port is None or isinstance(port.port, int)


# --- EndpointSlice ----------------------------------------------------------------------------


def test_endpoint_conditions_follow_the_api() -> None:
    raw = endpoint_slice(
        "tea-1",
        "tea",
        endpoint("10.0.0.1", ready=None),  # nil ready: true
        endpoint("10.0.0.2", ready=False),
        endpoint("10.0.0.3", ready=False, serving=True, terminating=True),
        endpoint("10.0.0.4", ready=False, serving=None, terminating=True),
    )
    view = EndpointSlice.from_object(raw)
    assert view.service_key == "default/tea"
    states = [(e.address, e.ready, e.serving, e.terminating) for e in view.endpoints]
    assert states == [
        ("10.0.0.1", True, True, False),
        ("10.0.0.2", False, False, False),
        ("10.0.0.3", False, True, True),
        # nil serving falls back to ready (the API's rule for old clients).
        ("10.0.0.4", False, False, True),
    ]


def test_endpoint_without_conditions_is_ready() -> None:
    view = EndpointSlice.from_object(endpoint_slice("s", "tea", {"addresses": ["10.0.0.1"]}))
    assert view.endpoints[0].ready and view.endpoints[0].serving
    assert not view.endpoints[0].terminating


@pytest.mark.parametrize("value", [*WRONG_VALUES, None, [], [5], [None, "10.0.0.1"]], ids=repr)
def test_endpoint_slice_with_wrong_types(value: object) -> None:
    base = endpoint_slice("s", "tea", endpoint("10.0.0.1"), ports=[{"name": "http", "port": 80}])
    wheres: list[tuple[Any, ...]] = [
        ("metadata",),
        ("metadata", "labels"),
        ("addressType",),
        ("ports",),
        ("ports", 0),
        ("ports", 0, "port"),
        ("ports", 0, "name"),
        ("ports", 0, "protocol"),
        ("endpoints",),
        ("endpoints", 0),
        ("endpoints", 0, "addresses"),
        ("endpoints", 0, "conditions"),
        ("endpoints", 0, "conditions", "ready"),
        ("endpoints", 0, "conditions", "terminating"),
    ]
    for where in wheres:
        view = EndpointSlice.from_object(_set(base, where, value))
        assert all(isinstance(e.address, str) for e in view.endpoints)
        assert all(isinstance(e.ready, bool) for e in view.endpoints)


def test_slice_without_service_label() -> None:
    raw = endpoint_slice("s", "tea", endpoint("10.0.0.1"))
    del raw["metadata"]["labels"]
    assert EndpointSlice.from_object(raw).service == ""


# --- Secret -----------------------------------------------------------------------------------


def test_valid_tls_secret() -> None:
    pem = certificate()
    view = Secret.from_object(tls_secret("cafe-tls", pem))
    assert view.problem is None and view.tls is not None
    assert view.tls.pem == pem.certificate.decode() + pem.key.decode()
    assert view.tls.subject == "CN=cafe.example.com"
    assert view.tls.not_after > NOW


def test_expired_certificate_is_still_usable() -> None:
    view = Secret.from_object(tls_secret("old", certificate("old.example.com", expired=True)))
    assert view.tls is not None and view.tls.not_after < NOW


def _data(pem_cert: bytes, pem_key: bytes) -> Raw:
    return {"tls.crt": b64(pem_cert), "tls.key": b64(pem_key)}


SECRET_PROBLEMS: list[tuple[str, Raw, str]] = [
    ("opaque", {"type": "Opaque", "data": {}}, "is of type 'Opaque', not kubernetes.io/tls"),
    ("no-type", {"data": {}}, "is of type 'Opaque'"),
    ("type-number", {"type": 5}, "is of type 'Opaque'"),
    ("no-data", {"type": "kubernetes.io/tls"}, "has no tls.crt"),
    ("data-list", {"type": "kubernetes.io/tls", "data": ["x"]}, "has no tls.crt"),
    ("no-crt", {"type": "kubernetes.io/tls", "data": {"tls.key": "eA=="}}, "has no tls.crt"),
    (
        "crt-number",
        {"type": "kubernetes.io/tls", "data": {"tls.crt": 5, "tls.key": "eA=="}},
        "has no tls.crt",
    ),
    (
        "not-base64",
        {"type": "kubernetes.io/tls", "data": {"tls.crt": "!!", "tls.key": "eA=="}},
        "tls.crt is not base64",
    ),
    (
        "non-ascii-base64",
        {"type": "kubernetes.io/tls", "data": {"tls.crt": "ü", "tls.key": "eA=="}},
        "tls.crt is not base64",
    ),
    (
        "not-pem",
        {"type": "kubernetes.io/tls", "data": _data(b"hello", b"x")},
        "tls.crt is not a PEM certificate",
    ),
]


@pytest.mark.parametrize("case,raw,reason", SECRET_PROBLEMS, ids=[c[0] for c in SECRET_PROBLEMS])
def test_unusable_secrets(case: str, raw: Raw, reason: str) -> None:
    view = Secret.from_object({"metadata": {"namespace": "default", "name": case}, **raw})
    assert view.tls is None
    assert view.problem is not None and view.problem.startswith(reason), view.problem


def test_key_of_another_certificate() -> None:
    one, other = certificate("one.example.com"), certificate("other.example.com")
    tls, problem = check_tls(_data(one.certificate, other.key))
    assert tls is None and problem == "tls.key does not belong to the certificate in tls.crt"


def test_key_that_is_not_a_key() -> None:
    pem = certificate()
    tls, problem = check_tls(_data(pem.certificate, pem.certificate))
    assert tls is None and problem == "tls.key is not an unencrypted PEM private key"


def test_certificate_chain_uses_the_leaf() -> None:
    leaf, other = certificate("leaf.example.com"), certificate("ca.example.com")
    tls, problem = check_tls(_data(leaf.certificate + other.certificate, leaf.key))
    assert problem is None and tls is not None and tls.subject == "CN=leaf.example.com"
    assert tls.pem.count("BEGIN CERTIFICATE") == 2


def test_pem_without_final_newline_is_joined_safely() -> None:
    pem = certificate()
    tls, problem = check_tls(_data(pem.certificate.rstrip(b"\n"), pem.key.rstrip(b"\n")))
    assert problem is None and tls is not None
    assert "-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----" in tls.pem
    assert tls.pem.endswith("-----END PRIVATE KEY-----\n")


def test_latin1_bytes_around_the_pem_are_refused() -> None:
    pem = certificate()
    tls, problem = check_tls(_data(pem.certificate + "é".encode("latin-1"), pem.key))
    assert tls is None and problem == "tls.crt or tls.key holds bytes outside PEM's ASCII"


# --- every view, any JSON ----------------------------------------------------------------------

FIELDS = [
    "metadata",
    "spec",
    "rules",
    "http",
    "paths",
    "path",
    "pathType",
    "backend",
    "service",
    "name",
    "port",
    "number",
    "host",
    "tls",
    "hosts",
    "secretName",
    "defaultBackend",
    "resource",
    "annotations",
    "labels",
    "namespace",
    "creationTimestamp",
    "ingressClassName",
    "addressType",
    "ports",
    "endpoints",
    "addresses",
    "conditions",
    "ready",
    "serving",
    "terminating",
    "type",
    "data",
    "tls.crt",
    "tls.key",
    "protocol",
    "controller",
    "kubernetes.io/service-name",
    "nginx.org/keepalive",
    "ingressclass.kubernetes.io/is-default-class",
]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(FIELDS) | st.text(max_size=4) | st.integers(), inner, max_size=4
        )
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=5))
def test_no_json_makes_a_view_raise(raw: Raw) -> None:
    for view in VIEWS:
        view(raw)
    check_ingress(Ingress.from_object(raw))
