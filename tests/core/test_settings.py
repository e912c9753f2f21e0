"""Settings are checked at start-up, and flags read NIC's spellings."""

from __future__ import annotations

import argparse
from pathlib import PurePosixPath

import pytest

from nginx_ingress.cli import build_parser
from nginx_ingress.cliflags import normalize_bool_flags
from nginx_ingress.settings import Listeners, Settings, SettingsError
from nginx_ingress.settingsargs import settings_from_arguments


@pytest.mark.parametrize(
    "name",
    [
        "Nginx-Headless",
        "-headless",
        "headless-",
        "1headless",
        "a" * 64,
        "with.dot",
        "with_underscore",
        "",
    ],
)
def test_service_names_kubernetes_would_refuse_stop_the_start(name: str) -> None:
    with pytest.raises(SettingsError, match="zone-sync-service-name"):
        Settings(zone_sync_service_name=name)


def test_a_63_character_service_name_is_fine() -> None:
    Settings(zone_sync_service_name="a" * 63)


@pytest.mark.parametrize(
    "changes",
    [
        {"namespace": "Bad_Namespace"},
        {"cluster_domain": "cluster..local"},
        {"cluster_domain": "cluster.local;"},
        {"conf_dir": PurePosixPath("relative/dir")},
        {"conf_dir": PurePosixPath("/etc/nginx; include /x")},
        {"run_dir": PurePosixPath("/var/lib/../nginx")},
        {"load_modules": (PurePosixPath("/modules/a b.so"),)},
        {"listeners": Listeners(http=0)},
        {"listeners": Listeners(https=80)},
    ],
)
def test_impossible_settings_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(SettingsError):
        Settings(**changes)  # type: ignore[arg-type]


def test_zone_sync_service_fqdn() -> None:
    settings = Settings(
        zone_sync_service_name="edge", namespace="ops", cluster_domain="corp.example"
    )
    assert settings.zone_sync_service_fqdn == "edge.ops.svc.corp.example"


def _render_args(*flags: str) -> argparse.Namespace:
    parser = build_parser()
    arguments = ["render", "--configmap", "x.yaml", "--output", "out", *flags]
    return parser.parse_args(normalize_bool_flags(arguments, parser))


@pytest.mark.parametrize(
    ("flags", "plus"),
    [
        ((), False),
        (("-nginx-plus",), True),
        (("--nginx-plus",), True),
        (("-nginx-plus=true",), True),
        (("-nginx-plus=false",), False),
        (("--nginx-plus=T",), True),
        (("-nginx-plus", "--no-nginx-plus"), False),
    ],
)
def test_bool_flags_take_go_forms(flags: tuple[str, ...], plus: bool) -> None:
    assert _render_args(*flags).nginx_plus is plus


def test_bool_flag_with_a_bad_value_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        _render_args("-nginx-plus=maybe")
    assert exit_info.value.code == 2
    assert "not a boolean" in capsys.readouterr().err


def test_single_dash_value_flags_and_namespace_from_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POD_NAMESPACE", "from-env")
    settings = settings_from_arguments(
        _render_args(
            "-cluster-domain=corp.example", "-nginx-status-port", "8090", "-ready-status=false"
        )
    )
    assert settings.cluster_domain == "corp.example"
    assert settings.namespace == "from-env"
    assert settings.listeners.nginx_status == 8090
    assert not settings.listeners.ready_status_enabled
    assert (
        settings_from_arguments(_render_args("--namespace", "flag-wins")).namespace == "flag-wins"
    )
