"""Session checks shared by every test: the real NGINX must be installed."""

from __future__ import annotations

import shutil

import pytest


@pytest.fixture(scope="session", autouse=True)
def _nginx_is_installed() -> None:
    """Tests run the real `nginx`; without it they must fail, not quietly pass."""
    if shutil.which("nginx") is None:
        pytest.fail("nginx is not installed: run scripts/install-system-deps (make does it)")
