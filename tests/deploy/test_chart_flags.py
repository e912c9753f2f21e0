"""The chart passes the controller only flags `nginx-ingress run` accepts, with values it
accepts; flags for features the controller lacks wait in the PENDING block of
templates/_args.tpl, and this file says when one of them can leave it."""

from __future__ import annotations

import argparse
import re
from typing import Any

import pytest

from nginx_ingress.cli import build_parser
from nginx_ingress.cliflags import normalize_bool_flags

from chart_render import COMBINATIONS, NAMESPACE, RELEASE, container, documents
from helm_client import CHART
from helm_world import HelmWorld

PENDING: set[str] = set()
"""Flags the chart would render once the controller accepts them (none now)."""

EVERYTHING_SET: dict[str, Any] = {
    "controller": {
        "nginxplus": True,
        "zoneSync": {"enable": True, "port": 34100, "serviceName": "edge-peers"},
        "loadModules": ["/usr/lib/nginx/modules/ngx_stream_module.so"],
        "logLevel": "trace",
        "logFormat": "json",
        "nginxReloadTimeout": 5000,
        "disableIPV6": True,
        "defaultHTTPListenerPort": 8080,
        "defaultHTTPSListenerPort": 8443,
        "nginxStatus": {"enable": False, "port": 8090, "allowCidrs": "10.0.0.0/8,::1"},
        "readyStatus": {"enable": False, "port": 8181},
        "config": {"name": "my-config"},
        "ingressClass": {"name": "edge"},
        "watchNamespace": "a,b",
        "watchSecretNamespace": "c",
        "defaultTLS": {"secret": "edge/default-tls"},
        "healthStatus": True,
        "reportIngressStatus": {
            "externalService": "edge-lb",
            "leaderElectionLockName": "edge-lock",
        },
    },
    "prometheus": {"create": False, "port": 9200},
}


def run_parser() -> argparse.ArgumentParser:
    parser = build_parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    run: argparse.ArgumentParser = commands.choices["run"]
    return run


def known_flags() -> set[str]:
    return {s.lstrip("-") for a in run_parser()._actions for s in a.option_strings}


def parse(arguments: list[str]) -> argparse.Namespace:
    """As the pod runs them: the kubelet expands $(POD_NAMESPACE), then the controller's
    own parser reads them."""
    expanded = [a.replace("$(POD_NAMESPACE)", NAMESPACE) for a in arguments]
    assert expanded[0] == "run"
    parser = build_parser()
    return parser.parse_args(normalize_bool_flags(expanded, parser))


def flag_names(arguments: list[str]) -> set[str]:
    return {a.lstrip("-").partition("=")[0] for a in arguments if a.startswith("-")}


RENDERED = [
    pytest.param(c.values(), id=c.id) for c in COMBINATIONS if c.plus or not c.zone_sync
] + [pytest.param(EVERYTHING_SET, id="everything-set")]


@pytest.mark.parametrize("values", RENDERED)
def test_every_rendered_flag_is_one_the_controller_accepts(
    helm_world: HelmWorld, values: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    arguments = container(documents(helm_world.render.render(values)))["args"]
    unknown = flag_names(arguments) - known_flags()
    assert not unknown, f"the chart passes flags `nginx-ingress run` does not know: {unknown}"
    try:
        parse(arguments)
    except SystemExit:
        pytest.fail(f"`nginx-ingress run` refuses the chart's arguments: {capsys.readouterr().err}")


def test_values_reach_the_controller_as_flags(helm_world: HelmWorld) -> None:
    args = parse(container(documents(helm_world.render.render(EVERYTHING_SET)))["args"])
    assert args.nginx_plus is True
    assert args.zone_sync_service_name == "edge-peers"
    assert args.nginx_configmaps == f"{NAMESPACE}/my-config"
    assert args.ingress_class == "edge"
    assert args.load_module == ["/usr/lib/nginx/modules/ngx_stream_module.so"]
    assert (args.log_level, args.log_format) == ("trace", "json")
    assert args.nginx_reload_timeout == 5000
    assert args.disable_ipv6 is True
    assert (args.default_http_listener_port, args.default_https_listener_port) == (8080, 8443)
    assert (args.nginx_status, args.nginx_status_port) == (False, 8090)
    assert args.nginx_status_allow_cidrs == "10.0.0.0/8,::1"
    assert (args.ready_status, args.ready_status_port) == (False, 8181)
    assert (args.enable_prometheus_metrics, args.prometheus_metrics_listen_port) == (False, 9200)
    assert (args.report_ingress_status, args.external_service) == (True, "edge-lb")
    assert (args.enable_leader_election, args.leader_election_lock_name) == (True, "edge-lock")


@pytest.mark.parametrize(
    ("values", "service", "lock"),
    [
        # The chart's own Service, a LoadBalancer, is the default external Service.
        ({}, f"{RELEASE}-controller", f"{RELEASE}-leader-election"),
        # Not a LoadBalancer: no external Service, the controller reports its pods' nodes.
        ({"service": {"type": "NodePort"}}, None, f"{RELEASE}-leader-election"),
        # Without status, no Service and no election (it only decides who writes status).
        ({"reportIngressStatus": {"enable": False}}, None, None),
        ({"reportIngressStatus": {"enableLeaderElection": False}}, f"{RELEASE}-controller", None),
    ],
)
def test_status_and_leader_election_flags(
    helm_world: HelmWorld, values: dict[str, Any], service: str | None, lock: str | None
) -> None:
    rendered = documents(helm_world.render.render({"controller": values}))
    args = parse(container(rendered)["args"])
    assert args.external_service == service
    leases = [d for d in rendered if d["kind"] == "Lease"]
    if lock is None:
        assert not (args.report_ingress_status and args.enable_leader_election)
        assert leases == []
    else:
        assert (args.enable_leader_election, args.leader_election_lock_name) == (True, lock)
        assert [d["metadata"]["name"] for d in leases] == [lock]


def test_nginx_oss_loads_debians_stream_module_and_plus_loads_none(helm_world: HelmWorld) -> None:
    oss = parse(container(documents(helm_world.render.render({})))["args"])
    plus_values = {"controller": {"nginxplus": True}}
    plus = parse(container(documents(helm_world.render.render(plus_values)))["args"])
    assert oss.load_module == ["/usr/lib/nginx/modules/ngx_stream_module.so"]
    assert plus.load_module == []


def pending_block() -> str:
    text = (CHART / "templates" / "_args.tpl").read_text()
    start = text.index("PENDING:")
    return text[start : text.index("*/", start)]


def test_pending_flags_are_marked_in_the_one_arguments_helper() -> None:
    pending = set(re.findall(r"^- -([a-z0-9-]+)=", pending_block(), re.MULTILINE))
    assert pending == PENDING


def test_no_pending_flag_is_known_to_the_controller_yet() -> None:
    """Fails once the controller accepts a pending flag: then move its line in _args.tpl
    out of the PENDING block, drop it from PENDING here, and drop its verbs from the
    allowlist in tests/deploy/test_chart_rbac.py."""
    known = PENDING & known_flags()
    assert not known, f"`nginx-ingress run` accepts {sorted(known)} now: render them (_args.tpl)"
