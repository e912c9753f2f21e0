"""Processes and ports of the local run: where NGINX is, which ports are free, and
the death signal that keeps the controller from outliving the run.

The controller runs in a session of its own, so a Ctrl-C reaches only the run, which
then stops it in order (SIGTERM: the controller stops NGINX gracefully). Should the
run itself be killed, the kernel sends the controller SIGTERM (`PR_SET_PDEATHSIG`),
and the controller stops its NGINX as on any SIGTERM: nothing is left running.
"""

from __future__ import annotations

import errno
import os
import shutil
import socket
from pathlib import Path

NGINX_PLACES = (
    Path("/usr/sbin/nginx"),
    Path("/usr/local/sbin/nginx"),
    Path("/usr/local/nginx/sbin/nginx"),
)
"""Where NGINX is installed when `PATH` does not have it: Debian puts it in /usr/sbin, which
is not on a non-root user's `PATH`; nginx.org's source build in /usr/local/nginx."""


def find_nginx() -> str | None:
    """The NGINX program: from `PATH`, else from where packages install it."""
    found = shutil.which("nginx")
    if found is not None:
        return found
    for place in NGINX_PLACES:
        if place.is_file() and os.access(place, os.X_OK):
            return str(place)
    return None


def free_port() -> int:
    """A TCP port free on every interface just now (the controller's listeners bind all)."""
    with socket.socket() as probe:
        probe.bind(("", 0))
        return int(probe.getsockname()[1])


def port_problem(port: int) -> str | None:
    """Why NGINX could not listen on `port` (on every interface, as it does), or None.

    Checked before the controller starts: NGINX failing to bind makes the controller
    retry for ever with readiness at 503, which a user would see only as a hang.
    """
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("", port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return "another program listens there"
            if error.errno == errno.EACCES:
                return "only root may listen on ports below 1024"
            return error.strerror or str(error)
    return None
