"""ConfigMap data → GlobalConfig: defaults, the zone-sync rules, cross-key checks, messages."""

from __future__ import annotations

import dataclasses

import pytest

from nginx_ingress.configmap import GlobalConfig, Reason, parse_configmap
from nginx_ingress.configmap.keys import CORE_KEYS
from nginx_ingress.configmap.problems import show
from nginx_ingress.configmap.zonesync import ZONE_SYNC_KEYS
from nginx_ingress.settings import Listeners, Settings
from nginx_ingress.values import HostKind, HostPort

OSS = Settings()
PLUS = Settings(nginx_plus=True)


def test_every_global_config_field_has_exactly_one_key() -> None:
    fields = {f.name for f in dataclasses.fields(GlobalConfig)} - {"zone_sync"}
    assert sorted(spec.field for spec in CORE_KEYS) == sorted(fields)


def test_no_configmap_means_nic_defaults() -> None:
    result = parse_configmap(None, OSS)
    assert result.problems == ()
    config = result.config
    assert str(config.proxy_read_timeout) == "60s"
    assert str(config.client_max_body_size) == "1m"
    assert config.worker_connections == 1024
    assert config.lb_method == ("random", "two", "least_conn")
    assert str(config.upstream_zone_size) == "256k"
    assert not config.zone_sync.enabled


def test_plus_changes_the_upstream_zone_default() -> None:
    assert str(parse_configmap({}, PLUS).config.upstream_zone_size) == "512k"
    result = parse_configmap({"upstream-zone-size": "0"}, PLUS)
    assert str(result.config.upstream_zone_size) == "512k"
    assert [p.key for p in result.problems] == ["upstream-zone-size"]
    assert parse_configmap({"upstream-zone-size": "0"}, OSS).config.upstream_zone_size.bytes == 0


def test_zone_sync_minimal() -> None:
    result = parse_configmap({"zone-sync": "true"}, PLUS)
    zone_sync = result.config.zone_sync
    assert result.problems == ()
    assert zone_sync.enabled and zone_sync.port == 12345
    assert zone_sync.resolver_addresses == (
        HostPort("kube-dns.kube-system.svc.cluster.local", HostKind.DNS),
    )
    assert str(zone_sync.resolver_valid) == "5s" and zone_sync.resolver_ipv6 is None


def test_zone_sync_resolver_follows_the_cluster_domain() -> None:
    settings = Settings(nginx_plus=True, cluster_domain="corp.example")
    zone_sync = parse_configmap({"zone-sync": "true"}, settings).config.zone_sync
    assert str(zone_sync.resolver_addresses[0]) == "kube-dns.kube-system.svc.corp.example"


def test_each_zone_sync_key_is_validated_on_its_own() -> None:
    """NIC returns at the first bad key; here a bad port leaves the resolver keys applied."""
    result = parse_configmap(
        {
            "zone-sync": "true",
            "zone-sync-port": "1_2345",
            "zone-sync-resolver-addresses": "10.0.0.10",
            "zone-sync-resolver-valid": "10s",
            "zone-sync-resolver-ipv6": "maybe",
            "zone-sync-interval": "2s",
        },
        PLUS,
    )
    zone_sync = result.config.zone_sync
    assert zone_sync.enabled and zone_sync.port == 12345
    assert [str(a) for a in zone_sync.resolver_addresses] == ["10.0.0.10"]
    assert str(zone_sync.resolver_valid) == "10s"
    assert zone_sync.resolver_ipv6 is None
    assert str(zone_sync.interval) == "2s"
    assert [(p.key, p.used) for p in result.problems] == [
        ("zone-sync-port", "12345"),
        ("zone-sync-resolver-ipv6", "NGINX's default (ipv6=on)"),
    ]


@pytest.mark.parametrize("value", ["true", "false"])
def test_oss_reports_every_zone_sync_key_and_stays_off(value: str) -> None:
    data = {"zone-sync": value, "zone-sync-port": "34100", "zone-sync-buffers": "8 16k"}
    result = parse_configmap(data, OSS)
    assert not result.config.zone_sync.enabled
    assert [p.key for p in result.problems] == sorted(data)
    assert all("requires NGINX Plus" in p.message for p in result.problems)
    assert all(p.reason is Reason.INVALID_VALUE for p in result.problems)


@pytest.mark.parametrize("zone_sync", [None, "false", "0"])
def test_dependent_keys_are_ignored_silently_while_off(zone_sync: str | None) -> None:
    data = {key: "not even valid" for key in ZONE_SYNC_KEYS if key != "zone-sync"}
    if zone_sync is not None:
        data["zone-sync"] = zone_sync
    result = parse_configmap(data, PLUS)
    assert result.problems == ()
    assert not result.config.zone_sync.enabled


def test_bad_zone_sync_switch_is_reported_and_off() -> None:
    result = parse_configmap({"zone-sync": "yes", "zone-sync-port": "bad"}, PLUS)
    assert not result.config.zone_sync.enabled
    assert [(p.key, p.value, p.used) for p in result.problems] == [("zone-sync", "yes", "false")]


@pytest.mark.parametrize(
    "port,listener",
    [
        ("80", "HTTP"),
        ("443", "HTTPS"),
        ("8080", "status"),
        ("8081", "readiness"),
        ("9113", "metrics"),
    ],
)
def test_zone_sync_port_may_not_collide_with_a_listener(port: str, listener: str) -> None:
    result = parse_configmap({"zone-sync": "true", "zone-sync-port": port}, PLUS)
    assert result.config.zone_sync.enabled and result.config.zone_sync.port == 12345
    (problem,) = result.problems
    assert problem.key == "zone-sync-port" and listener in problem.message


def test_disabled_listeners_do_not_collide() -> None:
    settings = Settings(
        nginx_plus=True,
        listeners=Listeners(prometheus_metrics_enabled=False, ready_status_enabled=False),
    )
    for port in ("9113", "8081"):
        result = parse_configmap({"zone-sync": "true", "zone-sync-port": port}, settings)
        assert result.problems == () and result.config.zone_sync.port == int(port)


def test_zone_sync_stays_off_when_even_the_default_port_is_taken() -> None:
    settings = Settings(nginx_plus=True, listeners=Listeners(nginx_status=12345))
    result = parse_configmap({"zone-sync": "true"}, settings)
    assert not result.config.zone_sync.enabled
    (problem,) = result.problems
    assert "12345" in problem.message and "stays off" in problem.message


def test_zone_sync_tuning_keys() -> None:
    data = {
        "zone-sync": "true",
        "zone-sync-interval": "1s",
        "zone-sync-timeout": "10s",
        "zone-sync-connect-timeout": "2s",
        "zone-sync-connect-retry-interval": "500ms",
        "zone-sync-buffers": "16 8k",
        "zone-sync-recv-buffer-size": "64k",
    }
    result = parse_configmap(data, PLUS)
    zone_sync = result.config.zone_sync
    assert result.problems == ()
    assert [str(zone_sync.interval), str(zone_sync.connect_retry_interval)] == ["1s", "500ms"]
    assert str(zone_sync.buffers) == "16 8k" and str(zone_sync.recv_buffer_size) == "64k"


def test_receive_buffer_must_hold_one_buffer() -> None:
    data = {"zone-sync": "true", "zone-sync-buffers": "8 16k", "zone-sync-recv-buffer-size": "8k"}
    result = parse_configmap(data, PLUS)
    assert result.config.zone_sync.recv_buffer_size is None
    assert [p.key for p in result.problems] == ["zone-sync-recv-buffer-size"]


def test_plus_only_core_keys_on_oss() -> None:
    data = {"resolver-addresses": "10.0.0.10", "resolver-valid": "30s"}
    result = parse_configmap(data, OSS)
    assert result.config.resolver_addresses == ()
    assert [p.key for p in result.problems] == ["resolver-addresses", "resolver-valid"]


def test_unknown_keys_are_reported_once_with_a_suggestion() -> None:
    result = parse_configmap(
        {"Zone-Sync": "true", "zone-sync ": "true", "worker-proceses": "2"}, PLUS
    )
    assert not result.config.zone_sync.enabled
    messages = {p.key: p.message for p in result.problems}
    assert all(p.reason is Reason.UNKNOWN_KEY for p in result.problems)
    assert "did you mean 'zone-sync'" in messages["Zone-Sync"]
    assert "did you mean 'zone-sync'" in messages["zone-sync "]
    assert "did you mean 'worker-processes'" in messages["worker-proceses"]
    assert (
        parse_configmap({"completely-unrelated": "x"}, OSS).problems[0].message
        == "unknown key, ignored"
    )


def test_non_string_values_are_problems() -> None:
    """A YAML `true` without quotes is a bool; the API server would refuse it too."""
    result = parse_configmap({"proxy-buffering": False, "worker-connections": 2048}, OSS)
    assert result.config.proxy_buffering is True
    assert {p.key: p.message for p in result.problems} == {
        "proxy-buffering": "must be a string; quote it in the YAML",
        "worker-connections": "must be a string; quote it in the YAML",
    }


def test_one_bad_key_does_not_stop_the_others() -> None:
    data = {
        "proxy-read-timeout": "5 s",
        "proxy-send-timeout": "30s",
        "worker-connections": "4096",
        "error-log-level": "loud",
    }
    result = parse_configmap(data, OSS)
    assert str(result.config.proxy_read_timeout) == "60s"
    assert str(result.config.proxy_send_timeout) == "30s"
    assert result.config.worker_connections == 4096
    assert result.config.error_log_level == "notice"
    assert [p.key for p in result.problems] == ["error-log-level", "proxy-read-timeout"]


def test_messages_escape_and_cut_the_value() -> None:
    hostile = "5s;\n}\u2028" + "x" * 200
    (problem,) = parse_configmap({"proxy-read-timeout": hostile}, OSS).problems
    assert problem.value is not None
    assert problem.value.startswith("5s;\\n}\\u2028x") and problem.value.endswith("…")
    assert len(problem.value) <= 65
    assert "\n" not in problem.line and "\u2028" not in problem.line
    assert problem.line == (
        f'proxy-read-timeout: invalid value "{problem.value}": {problem.message}; using 60s'
    )


def test_show_never_splits_an_escape() -> None:
    assert show("\u2028" * 20, limit=14) == "\\u2028\\u2028…"
    assert show('a"b\\c') == 'a\\"b\\\\c'
    assert show("\ufeff\u200b\x00") == "\\ufeff\\u200b\\0"


def test_problems_come_in_a_stable_order() -> None:
    data = {"zone-sync-port": "x", "hsts": "x", "zone-sync": "true", "http2": "x", "z-unknown": "1"}
    first = parse_configmap(data, PLUS).problems
    again = parse_configmap(dict(reversed(list(data.items()))), PLUS).problems
    assert first == again
    assert [p.key for p in first] == ["hsts", "http2", "z-unknown", "zone-sync-port"]


@pytest.mark.parametrize(
    "data,blamed",
    [
        ({"proxy-buffer-size": "64k"}, ["proxy-buffer-size"]),
        ({"proxy-buffers": "2 4k"}, ["proxy-buffers"]),
        ({"proxy-buffers": "1 64k"}, ["proxy-buffers"]),
        ({"proxy-buffers": "4 2048m"}, ["proxy-buffers"]),
        ({"proxy-buffers": "4 16k", "proxy-buffer-size": "64k"}, ["proxy-buffer-size"]),
    ],
)
def test_proxy_buffer_combinations_nginx_would_refuse(
    data: dict[str, str], blamed: list[str]
) -> None:
    result = parse_configmap(data, OSS)
    assert [p.key for p in result.problems] == blamed


def test_proxy_buffer_combination_nginx_accepts() -> None:
    result = parse_configmap({"proxy-buffers": "8 16k", "proxy-buffer-size": "32k"}, OSS)
    assert result.problems == ()


@pytest.mark.parametrize(
    "value,expected",
    [
        ("round_robin", ("round_robin",)),
        ("least_conn", ("least_conn",)),
        ("random two least_conn", ("random", "two", "least_conn")),
        ("hash $request_uri consistent", None),
    ],
)
def test_lb_methods(value: str, expected: tuple[str, ...] | None) -> None:
    result = parse_configmap({"lb-method": value}, OSS)
    assert result.problems == ()
    if expected is not None:
        assert result.config.lb_method == expected


@pytest.mark.parametrize(
    "value", ["least_time header", "hash", "hash $nope", "hash $host fast", "fastest"]
)
def test_lb_methods_refused_on_oss(value: str) -> None:
    assert [p.key for p in parse_configmap({"lb-method": value}, OSS).problems] == ["lb-method"]


def test_plus_lb_methods() -> None:
    assert parse_configmap({"lb-method": "least_time last_byte inflight"}, PLUS).problems == ()


@pytest.mark.parametrize(
    "value,settings,ok",
    [
        ("true", OSS, True),
        ("False", OSS, True),
        ("build", OSS, True),
        ("MyServer/1.0", OSS, False),
        ("MyServer/1.0", PLUS, True),
    ],
)
def test_server_tokens(value: str, settings: Settings, ok: bool) -> None:
    assert (parse_configmap({"server-tokens": value}, settings).problems == ()) is ok


@pytest.mark.parametrize(
    "value,ok",
    [
        ("404", True),
        ("444", True),
        ("200 OK", True),
        ("302 https://example.com/", True),
        ("301 $scheme://example.com$request_uri", True),
        ("302", False),
        ("302 ftp://x", False),
        ("99", False),
        ("600", False),
        ("404 $nope", False),
        ("abc", False),
    ],
)
def test_default_server_return(value: str, ok: bool) -> None:
    assert (parse_configmap({"default-server-return": value}, OSS).problems == ()) is ok
