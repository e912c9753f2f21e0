"""docs/deployment.md lists every value of the chart, and no value the chart does not have."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import yaml

from helm_client import CHART, ROOT

OPAQUE = {
    "controller.resources",
    "controller.podSecurityContext",
    "controller.securityContext",
    "prometheus.service.labels",
}
"""Kubernetes objects passed through whole: documented as one value."""
COMMENTED = {
    "controller.podDisruptionBudget.minAvailable",
    "controller.podDisruptionBudget.maxUnavailable",
}
"""Values shown commented out in values.yaml (setting one means something)."""


def leaves(values: dict[str, Any], prefix: str = "") -> Iterator[str]:
    for key, value in values.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict) and value and path not in OPAQUE:
            yield from leaves(value, path)
        else:
            yield path


def test_every_chart_value_is_documented() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    text = (ROOT / "docs" / "deployment.md").read_text()
    documented = set(re.findall(r"^\| `([A-Za-z0-9.]+)` \|", text, re.MULTILINE))
    assert documented == set(leaves(values)) | COMMENTED


def test_the_readme_points_to_the_deployment_guide() -> None:
    assert "docs/deployment.md" in (ROOT / "README.md").read_text()
