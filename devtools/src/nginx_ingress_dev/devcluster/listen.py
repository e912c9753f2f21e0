"""Where the development API server may listen.

Without authentication every request is `system:admin`, so an address beyond the
loopback interface would hand the cluster (and any Secret seeded into it) to whoever
can reach the machine. Such an address is refused unless authentication is on (bearer
tokens or client certificates), or the caller says `insecure_listen_anywhere`; either
way the caller gets a warning line to show.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass


class ListenRefused(ValueError):
    """A listen address this server will not use; the message is one line."""


@dataclass(frozen=True)
class Authentication:
    """What protects the server: the parts of the configuration that matter here."""

    tokens: bool = False
    client_certificates: bool = False
    tls: bool = False

    @property
    def enabled(self) -> bool:
        return self.tokens or self.client_certificates

    def describe(self) -> str:
        methods = (
            ("bearer tokens", self.tokens),
            ("client certificates", self.client_certificates),
        )
        return " and ".join(name for name, on in methods if on) or "none"


def parse_listen(text: str) -> tuple[str, int]:
    """`HOST:PORT`, `[IPv6]:PORT` or `:PORT` (loopback); port 0 picks a free port."""
    host, separator, port = text.rpartition(":")
    if not separator or not port.isdigit() or int(port) > 65535:
        raise ListenRefused(f"--listen wants HOST:PORT, got {text!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def is_loopback(host: str) -> bool:
    """True if every address `host` stands for is a loopback address."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError as error:
        raise ListenRefused(f"cannot resolve listen host {host!r}: {error.strerror}") from None
    return all(ipaddress.ip_address(str(info[4][0]).split("%")[0]).is_loopback for info in infos)


def exposure_warning(
    host: str, authentication: Authentication, *, insecure_listen_anywhere: bool
) -> str | None:
    """None for a loopback address; a warning to show for any other address that may be
    used; `ListenRefused` for one that may not."""
    if is_loopback(host):
        return None
    if authentication.enabled:
        clear_text = "" if authentication.tls else "; without TLS, credentials cross the network"
        return (
            f"listening on {host}, beyond the loopback interface (authentication: "
            f"{authentication.describe()}{clear_text}); a development server, not for production"
        )
    if insecure_listen_anywhere:
        return (
            f"listening on {host} without authentication: anyone who can reach this address "
            "is system:admin (--insecure-listen-anywhere)"
        )
    raise ListenRefused(
        f"refusing to listen on {host} without authentication: every request would be "
        "system:admin. Use a loopback address (127.0.0.1), configure --token-auth-file or "
        "--client-ca-file, or pass --insecure-listen-anywhere"
    )
