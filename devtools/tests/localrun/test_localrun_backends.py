"""`--backends`: one small HTTP server per Service address, following the annotations."""

from __future__ import annotations

import http.client
import socket

from nginx_ingress_dev.localrun.backends import BackendStandIn
from nginx_ingress_dev.localrun.endpoints import LocalAddress


def _free() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(address: LocalAddress, host: str, path: str) -> str | None:
    connection = http.client.HTTPConnection(address.ip, address.port, timeout=2)
    try:
        connection.request("GET", path, headers={"Host": host})
        return connection.getresponse().read().decode()
    except OSError:
        return None
    finally:
        connection.close()


def test_backends_answer_with_their_name_and_follow_the_addresses() -> None:
    stand_in = BackendStandIn()
    coffee, tea = LocalAddress("127.0.0.1", _free()), LocalAddress("127.0.0.1", _free())
    try:
        assert stand_in.reconcile({"cafe/coffee": (coffee,), "cafe/tea": (tea,)}) == [
            f"backend coffee (Service cafe/coffee) listening on {coffee}",
            f"backend tea (Service cafe/tea) listening on {tea}",
        ]
        assert _get(coffee, "cafe.example.com", "/coffee?x=1") == (
            f"coffee cafe.example.com /coffee?x=1 {coffee}\n"
        )
        assert stand_in.reconcile({"cafe/coffee": (coffee,), "cafe/tea": (tea,)}) == []
        assert stand_in.reconcile({"cafe/coffee": (coffee,)}) == [f"backend tea on {tea} stopped"]
        assert _get(tea, "x", "/") is None
    finally:
        stand_in.close()
    assert _get(coffee, "x", "/") is None


def test_an_address_it_cannot_use_is_said_once() -> None:
    stand_in = BackendStandIn()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = LocalAddress("127.0.0.1", taken.getsockname()[1])
        remote = LocalAddress("10.1.2.3", 80)
        try:
            lines = stand_in.reconcile({"a/busy": (busy,), "a/remote": (remote,)})
            assert lines == [
                f"warning: backend busy on {busy}: cannot listen there: Address already in use",
                f"warning: backend remote on {remote}: not a loopback address, so no backend "
                "is started there",
            ]
            assert stand_in.reconcile({"a/busy": (busy,), "a/remote": (remote,)}) == []
        finally:
            stand_in.close()


def test_two_services_on_one_address_get_one_backend() -> None:
    stand_in = BackendStandIn()
    shared = LocalAddress("127.0.0.1", _free())
    try:
        lines = stand_in.reconcile({"a/one": (shared,), "a/two": (shared,)})
        assert lines == [
            f"backend one (Service a/one) listening on {shared}",
            f"warning: backend two on {shared}: backend one of this run listens there already",
        ]
    finally:
        stand_in.close()
