"""Fixtures of the deployment tests."""

from chart_world import chart_world
from helm_world import helm_world

__all__ = ["chart_world", "helm_world"]
