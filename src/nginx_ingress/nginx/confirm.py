"""Ask NGINX which configuration version its workers serve, over the config-version socket.

A reload is only done when a new connection is answered by a worker that runs the
new configuration: old workers close their listeners at once, so a fresh
connection always lands on a current worker.
"""

from __future__ import annotations

import socket
import threading
from pathlib import Path

from nginx_ingress.nginx.process import wait_for


def config_version(path: Path, timeout: float = 1.0) -> int | None:
    """The version NGINX answers on `path`, or None when it cannot be asked yet."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
            connection.settimeout(timeout)
            connection.connect(str(path))
            connection.sendall(b"GET /configVersion HTTP/1.0\r\nHost: localhost\r\n\r\n")
            response = bytearray()
            while chunk := connection.recv(4096):
                response += chunk
                if len(response) > 65536:
                    return None
    except OSError:
        return None
    head, _, body = bytes(response).partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200") and not head.startswith(b"HTTP/1.0 200"):
        return None
    try:
        return int(body.strip())
    except ValueError:
        return None


def wait_for_version(
    path: Path, version: int, timeout: float, give_up: threading.Event | None = None
) -> bool:
    """Poll every 25 ms until NGINX answers `version`; False after `timeout` or `give_up`."""
    return wait_for(lambda: config_version(path) == version, timeout, give_up=give_up)


def remove_stale_socket(path: Path) -> bool:
    """Delete a unix socket file of NGINX's that nobody listens on; True if one was deleted.

    NGINX deletes its unix sockets when its master exits, but not when the master is
    killed, and it will not start while the file exists ("Address already in use").
    A socket that still accepts belongs to a running NGINX and is left alone.
    """
    if not path.is_socket():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(str(path))
        except ConnectionRefusedError:
            pass  # the file of a dead listener
        except OSError:
            return False
        else:
            return False
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True
