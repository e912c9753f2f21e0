"""deploy/ is what Helm renders from the chart's defaults today, and every file in it is
valid for every supported Kubernetes version."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from chart_render import documents, one, schema_problems
from helm_client import ROOT

DEPLOY = ROOT / "deploy"
MANIFESTS = sorted(DEPLOY.glob("*/*.yaml"))


def regenerate_script() -> ModuleType:
    path = ROOT / "scripts" / "regenerate_manifests.py"
    spec = importlib.util.spec_from_file_location("regenerate_manifests", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_deploy_is_current_with_the_chart() -> None:
    expected: dict[Path, str] = regenerate_script().expected_files()
    assert sorted(expected) == MANIFESTS, "run `make manifests`"
    stale = [str(p.relative_to(ROOT)) for p, text in expected.items() if p.read_text() != text]
    assert not stale, f"stale, run `make manifests`: {stale}"


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: str(p.relative_to(DEPLOY)))
def test_plain_manifests_are_valid_kubernetes(path: Path) -> None:
    objects = documents(path.read_text())
    assert one(objects, "Namespace")["metadata"]["name"] == "nginx-ingress"
    assert schema_problems(objects) == []


def test_there_is_a_set_per_kind_and_edition() -> None:
    assert [str(p.relative_to(DEPLOY)) for p in MANIFESTS] == [
        f"{kind}/{edition}.yaml"
        for kind in ("daemon-set", "deployment", "stateful-set")
        for edition in ("nginx-ingress", "nginx-plus-ingress")
    ]
