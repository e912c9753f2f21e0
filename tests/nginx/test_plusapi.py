"""The Plus API client against the stub, over real HTTP on TCP and on a unix socket.

The stub follows nginx.org's `ngx_http_api_module` page (shapes, status codes, error
object); the tests of the stub's wire format use plain `http.client`, so that they do not
depend on the client they are there to check.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import os
import re
import tempfile
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from nginx_ingress.nginx.plusapi import (
    PATH_NOT_FOUND,
    UNKNOWN_VERSION,
    UPSTREAM_NOT_FOUND,
    UPSTREAM_SERVER_NOT_FOUND,
    PlusApiClient,
    PlusApiError,
    PlusApiNotFound,
    PlusApiResponseError,
    PlusApiUnavailable,
    UpstreamServer,
    ZoneSyncStatus,
    ZoneSyncZone,
)
from nginx_ingress_dev.plusapi_stub import (
    ERROR_HREF,
    ConfiguredUpstream,
    Delay,
    DropConnection,
    PlusApiStub,
    ServerError,
)

SHORT_TIMEOUT = 0.2
SERVERS = "/api/9/http/upstreams/backend/servers/"
INITIAL_SERVERS = (
    {"server": "10.0.0.1:8080"},
    {"server": "10.0.0.2:8080", "weight": 2},
    {"server": "10.0.0.3:8080", "down": True},
)
# The example of `/stream/zone_sync/` on nginx.org, zones in reverse order.
ZONE_SYNC_EXAMPLE = {
    "zones": {
        "zone2": {"records_pending": 0, "records_total": 14749},
        "zone1": {"records_pending": 2061, "records_total": 260575},
    },
    "status": {
        "bytes_in": 1364923761,
        "msgs_in": 337236,
        "msgs_out": 346717,
        "bytes_out": 1402765472,
        "nodes_online": 15,
    },
}


@pytest.fixture(autouse=True)
def _no_thread_outlives_its_test() -> Iterator[None]:
    """A stopped stub has ended every thread it started (set up first, torn down last)."""
    before = set(threading.enumerate())
    yield
    assert set(threading.enumerate()) <= before


@pytest.fixture
def socket_directory() -> Iterator[str]:
    # Short on purpose: a unix socket path has at most 107 bytes.
    with tempfile.TemporaryDirectory(prefix="plusapi-") as directory:
        yield directory


@pytest.fixture(params=["tcp", "unix"])
def stub(request: pytest.FixtureRequest, socket_directory: str) -> Iterator[PlusApiStub]:
    unix_socket = os.path.join(socket_directory, "api.sock") if request.param == "unix" else None
    with PlusApiStub(unix_socket=unix_socket) as started:
        started.add_upstream("backend", INITIAL_SERVERS)
        yield started


@pytest.fixture
def tcp_stub() -> Iterator[PlusApiStub]:
    with PlusApiStub() as started:
        started.add_upstream("backend", INITIAL_SERVERS)
        yield started


def client_of(stub: PlusApiStub, **options: Any) -> PlusApiClient:
    return PlusApiClient(stub.url, unix_socket=stub.unix_socket, **options)


def writes(stub: PlusApiStub) -> list[tuple[str, str, int]]:
    return [(r.method, r.path, r.status) for r in stub.requests if r.is_write]


def addresses(stub: PlusApiStub, upstream: str = "backend") -> list[object]:
    return [server["server"] for server in stub.servers(upstream)]


def raw_request(
    stub: PlusApiStub, method: str, path: str, body: bytes | None = None
) -> tuple[int, Any]:
    """One request with plain http.client, to check the stub's own answers."""
    host, _, port = stub.url.removeprefix("http://").partition("/")[0].partition(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        connection.request(method, path, body=body)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


# --- version negotiation ------------------------------------------------------------------


@pytest.mark.parametrize(
    "offered, chosen",
    [(range(1, 10), 9), (range(1, 9), 8), (range(1, 13), 9), ((4,), 4)],
)
def test_client_uses_the_newest_version_both_sides_speak(
    offered: range | tuple[int, ...], chosen: int
) -> None:
    with PlusApiStub(versions=tuple(offered)) as stub:
        client = client_of(stub)
        client.nginx_info()
        client.nginx_info()
        assert client.api_version() == chosen
        # The list is asked for once, at the first call.
        assert [r.path for r in stub.requests] == ["/api"] + [f"/api/{chosen}/nginx"] * 2


def test_a_fixed_version_is_used_without_asking_for_the_list() -> None:
    with PlusApiStub() as stub:
        client_of(stub, api_version=7).nginx_info()
        assert [r.path for r in stub.requests] == ["/api/7/nginx"]


def test_no_common_version_is_an_error_of_its_own() -> None:
    with PlusApiStub(versions=(1, 2, 3)) as stub:
        with pytest.raises(PlusApiError, match=r"offers API versions \[1, 2, 3\]") as caught:
            client_of(stub).nginx_info()
        assert type(caught.value) is PlusApiError


def test_a_fixed_version_nginx_does_not_know_is_an_unknown_version() -> None:
    with PlusApiStub(versions=range(1, 9)) as stub:
        with pytest.raises(PlusApiNotFound) as caught:
            client_of(stub, api_version=9).nginx_info()
        assert caught.value.code == UNKNOWN_VERSION


@pytest.mark.parametrize(
    "url, options",
    [
        ("https://127.0.0.1/api", {}),
        ("127.0.0.1:8080/api", {}),
        ("http://127.0.0.1/api", {"timeout": 0}),
        ("http://127.0.0.1/api", {"api_version": 3}),
        ("http://127.0.0.1/api", {"api_version": 10}),
    ],
)
def test_the_client_refuses_settings_it_cannot_work_with(url: str, options: Any) -> None:
    with pytest.raises(ValueError, match=r"URL|timeout|version"):
        PlusApiClient(url, **options)


def test_nginx_info_reads_the_reload_generation(stub: PlusApiStub) -> None:
    info = client_of(stub).nginx_info()
    assert info.generation == 1
    assert info.build == "nginx-plus-r34-stub"
    assert info.pid == os.getpid()


# --- one server at a time -----------------------------------------------------------------


def test_add_read_update_delete_one_server(stub: PlusApiStub) -> None:
    client = client_of(stub)
    added = client.add_upstream_server(
        "backend", UpstreamServer("10.0.0.4:8080", max_conns=10, slow_start="30s")
    )
    assert added == UpstreamServer("10.0.0.4:8080", max_conns=10, slow_start="30s", id=3)
    assert client.upstream_servers("backend")[-1] == added

    updated = client.update_upstream_server("backend", 3, {"weight": 4, "down": True})
    assert (updated.weight, updated.down, updated.max_conns) == (4, True, 10)

    remaining = client.delete_upstream_server("backend", 0)
    assert [server.server for server in remaining] == [
        "10.0.0.2:8080",
        "10.0.0.3:8080",
        "10.0.0.4:8080",
    ]
    assert [(method, status) for method, _, status in writes(stub)] == [
        ("POST", 201),
        ("PATCH", 200),
        ("DELETE", 200),
    ]


def test_servers_read_from_nginx_carry_every_parameter(stub: PlusApiStub) -> None:
    assert client_of(stub).upstream_servers("backend") == (
        UpstreamServer("10.0.0.1:8080", id=0),
        UpstreamServer("10.0.0.2:8080", weight=2, id=1),
        UpstreamServer("10.0.0.3:8080", down=True, id=2),
    )


def test_a_post_carries_the_address_and_only_parameters_that_differ_from_defaults(
    tcp_stub: PlusApiStub,
) -> None:
    client_of(tcp_stub).add_upstream_server(
        "backend", UpstreamServer("10.0.0.9", weight=3, fail_timeout="1m", backup=True)
    )
    posted = next(r for r in tcp_stub.requests if r.method == "POST")
    assert json.loads(posted.body) == {
        "server": "10.0.0.9:80",
        "weight": 3,
        "fail_timeout": "60s",
        "backup": True,
    }


def test_ipv6_addresses_are_written_and_read_back_in_canonical_form(stub: PlusApiStub) -> None:
    client = client_of(stub)
    assert client.add_upstream_server("backend", UpstreamServer("[2001:db8::1]:8080")).server == (
        "[2001:db8::1]:8080"
    )
    assert client.add_upstream_server("backend", UpstreamServer("[2001:0DB8::0002]")).server == (
        "[2001:db8::2]:80"
    )
    assert client.add_upstream_server("backend", UpstreamServer("2001:db8::3")).server == (
        "[2001:db8::3]:80"
    )
    assert addresses(stub)[-3:] == ["[2001:db8::1]:8080", "[2001:db8::2]:80", "[2001:db8::3]:80"]


# --- errors -------------------------------------------------------------------------------


def test_an_unknown_upstream_is_not_found_with_code_and_text(stub: PlusApiStub) -> None:
    with pytest.raises(PlusApiNotFound) as caught:
        client_of(stub).upstream_servers("missing")
    error = caught.value
    assert (error.status, error.code, error.text) == (404, UPSTREAM_NOT_FOUND, "upstream not found")
    assert re.fullmatch(r"[0-9a-f]{32}", error.request_id)
    assert "GET /api/9/http/upstreams/missing/servers/: 404 UpstreamNotFound" in str(error)


def test_an_unknown_server_id_is_not_found(stub: PlusApiStub) -> None:
    client = client_of(stub)
    for call in (
        lambda: client.update_upstream_server("backend", 42, {"weight": 2}),
        lambda: client.delete_upstream_server("backend", 42),
    ):
        with pytest.raises(PlusApiNotFound) as caught:
            call()
        assert caught.value.code == UPSTREAM_SERVER_NOT_FOUND
        assert caught.value.text == 'server with ID "42" does not exist'


def test_a_refused_server_is_a_response_error_but_not_a_not_found(stub: PlusApiStub) -> None:
    with pytest.raises(PlusApiResponseError) as caught:
        client_of(stub).add_upstream_server("backend", UpstreamServer("backend.example.com:80"))
    assert not isinstance(caught.value, PlusApiNotFound)
    assert (caught.value.status, caught.value.code) == (400, "UpstreamConfNoResolver")


def test_an_upstream_without_a_zone_cannot_be_changed(stub: PlusApiStub) -> None:
    stub.add_upstream("configured-only", [{"server": "10.0.1.1:80"}], static=True)
    with pytest.raises(PlusApiResponseError) as caught:
        client_of(stub).upstream_servers("configured-only")
    assert (caught.value.status, caught.value.code) == (400, "UpstreamStatic")


def test_a_read_only_api_refuses_every_change() -> None:
    with PlusApiStub(write=False) as stub:
        stub.add_upstream("backend", INITIAL_SERVERS)
        client = client_of(stub)
        assert len(client.upstream_servers("backend")) == 3
        with pytest.raises(PlusApiResponseError) as caught:
            client.add_upstream_server("backend", UpstreamServer("10.0.0.4:8080"))
        assert (caught.value.status, caught.value.code) == (405, "MethodDisabled")


def test_a_sibling_serves_the_same_data_with_its_own_write(socket_directory: str) -> None:
    """One NGINX Plus, two `api` locations: a read-only sibling sees the writes of the
    read-write listener, and refuses its own."""
    with PlusApiStub() as stub:
        stub.add_upstream("backend", INITIAL_SERVERS)
        sibling = stub.sibling(unix_socket=os.path.join(socket_directory, "ro.sock"), write=False)
        with sibling:
            client_of(stub).add_upstream_server("backend", UpstreamServer("10.0.0.9:80"))
            read_only = client_of(sibling)
            assert "10.0.0.9:80" in [s.server for s in read_only.upstream_servers("backend")]
            with pytest.raises(PlusApiResponseError) as caught:
                read_only.delete_upstream_server("backend", 0)
            assert (caught.value.status, caught.value.code) == (405, "MethodDisabled")
            # One request log for both listeners.
            assert [(r.method, r.status) for r in stub.requests if r.is_write] == [
                ("POST", 201),
                ("DELETE", 405),
            ]
        assert not os.path.exists(os.path.join(socket_directory, "ro.sock"))


def test_a_load_is_a_reload_that_forgets_api_changes(stub: PlusApiStub) -> None:
    client = client_of(stub)
    client.add_upstream_server("backend", UpstreamServer("10.0.0.9:80"))
    problems = stub.load([ConfiguredUpstream("backend", ({"server": "10.0.0.1:8080"},))])
    assert problems == ()  # the first load: generation stays 1
    assert addresses(stub) == ["10.0.0.1:8080"] and client.nginx_info().generation == 1
    problems = stub.load(
        [
            ConfiguredUpstream(
                "backend",
                (
                    {"server": "10.0.0.2:80", "weight": 3},
                    {"server": "backend.example:80"},
                    {"server": "10.0.0.3:80", "resolve": True},
                ),
            ),
            ConfiguredUpstream("fixed", ({"server": "10.0.1.1:80"},), static=True),
        ]
    )
    assert addresses(stub) == ["10.0.0.2:80"] and client.nginx_info().generation == 2
    assert [s["id"] for s in stub.servers("backend")] == [0]  # IDs count from 0 again
    assert len(problems) == 2
    assert "backend.example:80" in problems[0] and "UpstreamConfNoResolver" in problems[0]
    assert "resolve" in problems[1] and "UpstreamConfFormatError" in problems[1]
    with pytest.raises(PlusApiResponseError, match="static"):
        client.upstream_servers("fixed")


def test_restore_puts_back_what_saved_copied(stub: PlusApiStub) -> None:
    saved = stub.saved()
    stub.load([ConfiguredUpstream("other", ())])
    stub.load([ConfiguredUpstream("third", ())])
    assert stub.upstream_names() == ("third",) and stub.generation == 2
    stub.restore(saved)
    assert stub.upstream_names() == ("backend",) and stub.generation == 1
    assert addresses(stub) == ["10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.3:8080"]


def test_an_error_page_instead_of_the_error_object_keeps_status_and_text(
    stub: PlusApiStub,
) -> None:
    stub.fault = ServerError()
    with pytest.raises(PlusApiResponseError) as caught:
        client_of(stub).upstream_servers("backend")
    assert (caught.value.status, caught.value.code) == (500, "")
    assert "500 Internal Server Error" in caught.value.text


def test_an_answer_later_than_the_timeout_is_unavailable(stub: PlusApiStub) -> None:
    client = client_of(stub, timeout=SHORT_TIMEOUT)
    client.api_version()
    stub.fault = Delay(60)  # leaving the stub ends the wait, not the 60 seconds
    started = time.monotonic()
    with pytest.raises(PlusApiUnavailable) as caught:
        client.upstream_servers("backend")
    assert time.monotonic() - started < SHORT_TIMEOUT + 1
    assert isinstance(caught.value.__cause__, TimeoutError)


def test_a_refused_connection_is_unavailable_and_recovers(stub: PlusApiStub) -> None:
    client = client_of(stub)
    stub.refuse_connections()
    with pytest.raises(PlusApiUnavailable) as caught:
        client.upstream_servers("backend")
    assert isinstance(caught.value.__cause__, ConnectionRefusedError)
    stub.accept_connections()
    assert len(client.upstream_servers("backend")) == 3


def test_a_dropped_connection_is_unavailable(stub: PlusApiStub) -> None:
    stub.fault = DropConnection()
    with pytest.raises(PlusApiUnavailable):
        client_of(stub).upstream_servers("backend")


def test_a_missing_unix_socket_is_unavailable(socket_directory: str) -> None:
    client = PlusApiClient(
        "http://localhost/api", unix_socket=os.path.join(socket_directory, "none.sock")
    )
    with pytest.raises(PlusApiUnavailable) as caught:
        client.nginx_info()
    assert isinstance(caught.value.__cause__, FileNotFoundError)


# --- the diff ----------------------------------------------------------------------------


def test_update_adds_deletes_and_patches_by_address(stub: PlusApiStub) -> None:
    client = client_of(stub)
    generation = client.nginx_info().generation
    added, deleted, updated = client.update_upstream_servers(
        "backend",
        [
            UpstreamServer("10.0.0.1:8080", weight=5),
            UpstreamServer("10.0.0.2:8080", weight=2),
            UpstreamServer("10.0.0.4:8080"),
        ],
    )
    assert added == (UpstreamServer("10.0.0.4:8080", id=3),)
    assert deleted == (UpstreamServer("10.0.0.3:8080", down=True, id=2),)
    assert updated == (UpstreamServer("10.0.0.1:8080", weight=5, id=0),)
    # Adds first, deletes last: the upstream is never emptier than either list.
    assert writes(stub) == [
        ("POST", "/api/9/http/upstreams/backend/servers/", 201),
        ("PATCH", "/api/9/http/upstreams/backend/servers/0", 200),
        ("DELETE", "/api/9/http/upstreams/backend/servers/2", 200),
    ]
    patch = next(r for r in stub.requests if r.method == "PATCH")
    assert json.loads(patch.body) == {"weight": 5}
    assert addresses(stub) == ["10.0.0.1:8080", "10.0.0.2:8080", "10.0.0.4:8080"]
    assert client.nginx_info().generation == generation


def test_a_second_identical_update_writes_nothing(stub: PlusApiStub) -> None:
    client = client_of(stub)
    desired = [
        UpstreamServer("10.0.0.7"),
        UpstreamServer("[2001:DB8:0:0::7]:8080", fail_timeout="1m", slow_start="0"),
        UpstreamServer("10.0.0.2:8080", weight=2),
    ]
    first = client.update_upstream_servers("backend", desired)
    assert len(first.added) == 2 and len(first.deleted) == 2
    stub.clear_requests()

    assert client.update_upstream_servers("backend", desired) == ((), (), ())
    assert [(r.method, r.path) for r in stub.requests] == [
        ("GET", "/api/9/http/upstreams/backend/servers/")
    ]
    assert addresses(stub) == ["10.0.0.2:8080", "10.0.0.7:80", "[2001:db8::7]:8080"]


def test_a_changed_backup_flag_replaces_the_server(stub: PlusApiStub) -> None:
    client = client_of(stub)
    current = {server.server: server for server in client.upstream_servers("backend")}
    desired = [dataclasses.replace(server, id=None) for server in current.values()]
    desired[0] = UpstreamServer("10.0.0.1:8080", backup=True)
    added, deleted, updated = client.update_upstream_servers("backend", desired)
    assert deleted == (current["10.0.0.1:8080"],)
    assert added == (UpstreamServer("10.0.0.1:8080", backup=True, id=3),)
    assert updated == ()
    assert "PATCH" not in {r.method for r in stub.requests}


def test_extra_copies_of_an_address_in_nginx_are_deleted(stub: PlusApiStub) -> None:
    stub.add_upstream("doubled", [{"server": "10.0.2.1:80"}, {"server": "10.0.2.1:80"}])
    added, deleted, updated = client_of(stub).update_upstream_servers(
        "doubled", [UpstreamServer("10.0.2.1:80")]
    )
    assert (added, updated) == ((), ())
    assert [server.id for server in deleted] == [1]
    assert addresses(stub, "doubled") == ["10.0.2.1:80"]


def test_an_empty_list_deletes_every_server(stub: PlusApiStub) -> None:
    changes = client_of(stub).update_upstream_servers("backend", [])
    assert len(changes.deleted) == 3
    assert stub.servers("backend") == []


def test_identical_duplicates_in_the_desired_list_are_one_server(stub: PlusApiStub) -> None:
    changes = client_of(stub).update_upstream_servers(
        "backend", [UpstreamServer("10.0.0.9:80"), UpstreamServer("10.0.0.9")]
    )
    assert [server.server for server in changes.added] == ["10.0.0.9:80"]


@pytest.mark.parametrize(
    "desired, complaint",
    [
        (
            [UpstreamServer("10.0.0.9:80"), UpstreamServer("10.0.0.9", weight=2)],
            "wanted twice with different parameters",
        ),
        ([UpstreamServer("10.0.0.9:80", fail_timeout="soon")], "fail_timeout 'soon' must be"),
        ([UpstreamServer("10.0.0.9:http")], "port that is not a number"),
    ],
)
def test_a_desired_list_that_cannot_be_right_fails_before_any_request(
    stub: PlusApiStub, desired: list[UpstreamServer], complaint: str
) -> None:
    with pytest.raises(ValueError, match=complaint):
        client_of(stub).update_upstream_servers("backend", desired)
    assert stub.requests == ()


def test_the_first_failed_write_stops_the_update_before_any_delete(stub: PlusApiStub) -> None:
    with pytest.raises(PlusApiResponseError) as caught:
        client_of(stub).update_upstream_servers(
            "backend", [UpstreamServer("10.0.0.1:8080"), UpstreamServer("name.example.com:80")]
        )
    assert caught.value.code == "UpstreamConfNoResolver"
    assert [method for method, _, _ in writes(stub)] == ["POST"]
    assert len(stub.servers("backend")) == 3


def test_updating_an_unknown_upstream_is_not_found(stub: PlusApiStub) -> None:
    with pytest.raises(PlusApiNotFound) as caught:
        client_of(stub).update_upstream_servers("missing", [UpstreamServer("10.0.0.1:80")])
    assert caught.value.code == UPSTREAM_NOT_FOUND


# --- zone sync ----------------------------------------------------------------------------


def test_zone_sync_status_is_read(stub: PlusApiStub) -> None:
    stub.set_zone_sync(ZONE_SYNC_EXAMPLE)
    assert client_of(stub).zone_sync() == ZoneSyncStatus(
        nodes_online=15,
        bytes_in=1364923761,
        bytes_out=1402765472,
        msgs_in=337236,
        msgs_out=346717,
        zones=(ZoneSyncZone("zone1", 2061, 260575), ZoneSyncZone("zone2", 0, 14749)),
    )


def test_zone_sync_is_none_where_it_is_not_configured(stub: PlusApiStub) -> None:
    assert client_of(stub).zone_sync() is None
    assert stub.requests[-1].status == 404


def test_an_unknown_version_is_not_mistaken_for_no_zone_sync() -> None:
    with PlusApiStub(versions=range(1, 8)) as stub:
        stub.set_zone_sync(ZONE_SYNC_EXAMPLE)
        with pytest.raises(PlusApiNotFound) as caught:
            client_of(stub, api_version=8).zone_sync()
        assert caught.value.code == UNKNOWN_VERSION


def test_a_zone_sync_answer_of_the_wrong_shape_is_an_error(stub: PlusApiStub) -> None:
    stub.set_zone_sync({"status": {"nodes_online": "many"}, "zones": {}})
    with pytest.raises(PlusApiError, match="nodes_online"):
        client_of(stub).zone_sync()


# --- the stub's own answers, checked without the client ------------------------------------

SERVER_FIELDS = {
    "id",
    "server",
    "weight",
    "max_conns",
    "max_fails",
    "fail_timeout",
    "slow_start",
    "route",
    "backup",
    "down",
}


def test_the_stub_answers_with_the_documented_statuses_and_shapes(tcp_stub: PlusApiStub) -> None:
    assert raw_request(tcp_stub, "GET", "/api") == (200, list(range(1, 10)))
    assert raw_request(tcp_stub, "GET", "/api/") == (200, list(range(1, 10)))

    status, created = raw_request(tcp_stub, "POST", SERVERS, b'{"server": "10.0.0.4:8080"}')
    assert (status, set(created), created["id"]) == (201, SERVER_FIELDS, 3)

    status, patched = raw_request(tcp_stub, "PATCH", SERVERS + "3", b'{"drain": true}')
    assert (status, patched["drain"]) == (200, True)

    status, remaining = raw_request(tcp_stub, "DELETE", SERVERS + "3")
    assert status == 200
    assert [server["id"] for server in remaining] == [0, 1, 2]
    assert all(set(server) == SERVER_FIELDS for server in remaining)


FORMAT_ERROR = (400, "UpstreamConfFormatError")


@pytest.mark.parametrize(
    "method, path, body, expected",
    [
        ("GET", "/api/99/nginx", None, (404, UNKNOWN_VERSION)),
        ("GET", "/api/9/nginx/extra", None, (404, PATH_NOT_FOUND)),
        ("GET", "/api/9/stream/zone_sync/", None, (404, PATH_NOT_FOUND)),
        ("GET", "/api/9/http/upstreams/missing/servers/", None, (404, UPSTREAM_NOT_FOUND)),
        ("GET", SERVERS + "7", None, (404, UPSTREAM_SERVER_NOT_FOUND)),
        ("GET", SERVERS + "x", None, (400, "UpstreamBadServerId")),
        ("PUT", SERVERS, b"{}", (405, "MethodNotSupported")),
        ("POST", SERVERS, b"{", (415, "JsonError")),
        ("POST", SERVERS, b"[]", FORMAT_ERROR),
        ("POST", SERVERS, b"{}", FORMAT_ERROR),
        ("POST", SERVERS, b'{"server": "10.0.0.9:80", "id": 5}', FORMAT_ERROR),
        ("POST", SERVERS, b'{"server": "10.0.0.9:80", "weight": "2"}', FORMAT_ERROR),
        ("POST", SERVERS, b'{"server": "10.0.0.9:80", "weight": 0}', (400, "UpstreamBadWeight")),
        (
            "POST",
            SERVERS,
            b'{"server": "10.0.0.9:80", "max_fails": -1}',
            (400, "UpstreamBadMaxFails"),
        ),
        (
            "POST",
            SERVERS,
            b'{"server": "10.0.0.9:80", "slow_start": "500ms"}',
            (400, "UpstreamBadSlowStart"),
        ),
        ("POST", SERVERS, b'{"server": "10.0.0.9:70000"}', (400, "UpstreamBadAddress")),
        ("PATCH", SERVERS + "0", b'{"backup": true}', FORMAT_ERROR),
    ],
)
def test_the_stub_answers_errors_with_the_documented_error_object(
    tcp_stub: PlusApiStub, method: str, path: str, body: bytes | None, expected: tuple[int, str]
) -> None:
    status, code = expected
    answered, document = raw_request(tcp_stub, method, path, body)
    assert answered == status
    assert set(document) == {"error", "request_id", "href"}
    assert document["error"]["status"] == status
    assert document["error"]["code"] == code
    assert document["error"]["text"]
    assert document["href"] == ERROR_HREF
    assert tcp_stub.servers("backend") == [
        {**server, "id": index} for index, server in enumerate(expected_initial())
    ]


def expected_initial() -> list[dict[str, object]]:
    defaults: dict[str, object] = {
        "weight": 1,
        "max_conns": 0,
        "max_fails": 1,
        "fail_timeout": "10s",
        "slow_start": "0s",
        "route": "",
        "backup": False,
        "down": False,
    }
    return [{**defaults, **server} for server in INITIAL_SERVERS]


def test_the_stub_refuses_initial_servers_the_api_would_refuse() -> None:
    with PlusApiStub() as stub, pytest.raises(ValueError, match="UpstreamBadWeight"):
        stub.add_upstream("backend", [{"server": "10.0.0.1:80", "weight": -1}])
