"""The listen policy: loopback freely, anything else only with authentication or an
explicit `insecure_listen_anywhere`, and a warning either way."""

from __future__ import annotations

import pytest

from nginx_ingress_dev.devcluster import DevCluster
from nginx_ingress_dev.devcluster.listen import (
    Authentication,
    ListenRefused,
    exposure_warning,
    is_loopback,
    parse_listen,
)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "localhost"])
def test_loopback_addresses(host: str) -> None:
    assert is_loopback(host)
    assert exposure_warning(host, Authentication(), insecure_listen_anywhere=False) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.7"])
def test_other_addresses_are_refused_without_authentication(host: str) -> None:
    assert not is_loopback(host)
    with pytest.raises(ListenRefused, match=f"refusing to listen on {host} without auth"):
        exposure_warning(host, Authentication(), insecure_listen_anywhere=False)


def test_authentication_or_the_explicit_flag_allows_them_with_a_warning() -> None:
    tokens = exposure_warning(
        "0.0.0.0", Authentication(tokens=True), insecure_listen_anywhere=False
    )
    assert tokens is not None
    assert "authentication: bearer tokens; without TLS, credentials cross the network" in tokens
    certificates = exposure_warning(
        "0.0.0.0",
        Authentication(client_certificates=True, tls=True),
        insecure_listen_anywhere=False,
    )
    assert certificates is not None
    assert "authentication: client certificates)" in certificates
    anyone = exposure_warning("0.0.0.0", Authentication(), insecure_listen_anywhere=True)
    assert anyone is not None
    assert "is system:admin" in anyone


def test_an_unresolvable_host_is_refused() -> None:
    with pytest.raises(ListenRefused, match="cannot resolve listen host"):
        is_loopback("no-such-host.invalid")


@pytest.mark.parametrize(
    "text,expected",
    [("127.0.0.1:8001", ("127.0.0.1", 8001)), (":0", ("127.0.0.1", 0)), ("[::1]:5", ("::1", 5))],
)
def test_parse_listen(text: str, expected: tuple[str, int]) -> None:
    assert parse_listen(text) == expected


@pytest.mark.parametrize("text", ["8001", "host:port", "127.0.0.1:70000"])
def test_parse_listen_rejects(text: str) -> None:
    with pytest.raises(ListenRefused, match="--listen wants HOST:PORT"):
        parse_listen(text)


def test_the_python_api_refuses_too() -> None:
    with pytest.raises(ListenRefused):
        DevCluster("0.0.0.0")
    with DevCluster("0.0.0.0", insecure_listen_anywhere=True) as cluster:
        assert cluster.exposure_warning is not None
    cluster = DevCluster("0.0.0.0", tokens={"t": "alice"})
    assert cluster.exposure_warning is not None
    assert "bearer tokens" in cluster.exposure_warning
