"""The curl commands printed when the run is ready: one per host and path, through 127.0.0.1,
TLS hosts with their CA."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nginx_ingress_dev.localrun.hints import curl_commands

CA = Path("/state/certificates/ca.crt")


def _path(path: str, path_type: str = "Prefix") -> dict[str, Any]:
    backend = {"service": {"name": "web", "port": {"number": 80}}}
    return {"path": path, "pathType": path_type, "backend": backend}


def _ingress(spec: dict[str, Any], namespace: str = "shop") -> dict[str, Any]:
    return {"metadata": {"name": "web", "namespace": namespace}, "spec": spec}


def _commands(
    *ingresses: dict[str, Any], secrets: dict[tuple[str, str], bool] | None = None
) -> list[str]:
    commands, more = curl_commands(
        ingresses, secrets or {}, http_port=8080, https_port=8443, ca_file=CA
    )
    assert more == 0
    return commands


def test_plain_hosts_get_a_host_header_and_tls_hosts_resolve() -> None:
    ingress = _ingress(
        {
            "tls": [
                {"hosts": ["secure.example.com"], "secretName": "made"},
                {"hosts": ["own.example.com"], "secretName": "theirs"},
                {"hosts": ["missing.example.com"], "secretName": "missing"},
            ],
            "rules": [
                {"host": "plain.example.com", "http": {"paths": [_path("/a"), _path("/b")]}},
                {"host": "secure.example.com", "http": {"paths": [_path("/", "Exact")]}},
                {"host": "own.example.com", "http": {"paths": [_path("/x")]}},
                {"host": "missing.example.com", "http": {"paths": [_path("/y")]}},
                {"http": {"paths": [_path("/anyhost")]}},
                {"host": "*.wild.example.com", "http": {"paths": [_path("/w")]}},
                {
                    "host": "re.example.com",
                    "http": {"paths": [_path("/v[0-9]+", "ImplementationSpecific")]},
                },
            ],
        }
    )
    secrets = {("shop", "made"): True, ("shop", "theirs"): False}
    assert _commands(ingress, secrets=secrets) == [
        "curl -H 'Host: plain.example.com' http://127.0.0.1:8080/a",
        "curl -H 'Host: plain.example.com' http://127.0.0.1:8080/b",
        "curl --cacert /state/certificates/ca.crt --resolve secure.example.com:8443:127.0.0.1 "
        "https://secure.example.com:8443/",
        "curl -k --resolve own.example.com:8443:127.0.0.1 https://own.example.com:8443/x",
        # Its Secret does not exist: the host refuses handshakes, plain HTTP still answers.
        "curl -H 'Host: missing.example.com' http://127.0.0.1:8080/y",
        "curl http://127.0.0.1:8080/anyhost",
        "curl -H 'Host: www.wild.example.com' http://127.0.0.1:8080/w",
    ]


def test_a_default_backend_alone_is_tried_on_any_host() -> None:
    ingress = _ingress({"defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}})
    assert _commands(ingress) == ["curl http://127.0.0.1:8080/"]


def test_the_list_is_cut_and_says_how_many_more() -> None:
    paths = [_path(f"/p{n}") for n in range(12)]
    ingress = _ingress({"rules": [{"host": "a.example.com", "http": {"paths": paths}}]})
    commands, more = curl_commands(
        [ingress, ingress], {}, http_port=1, https_port=2, ca_file=CA, limit=8
    )
    assert len(commands) == 8
    assert more == 4  # duplicates counted once
