"""Fixtures of the deployment tests."""

from helm_world import helm_world

__all__ = ["helm_world"]
