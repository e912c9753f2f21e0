"""Typed NGINX values: what a parsed ConfigMap value becomes before it reaches a template.

A value of one of these types has already been validated by its parser in
`nginx_ingress.configmap.parsers`; the renderer's escaping function knows how to
turn each type into NGINX tokens and refuses anything else (in particular a raw
`str` that did not come through a parser). This module imports nothing of ours,
so `configmap`, `model` and `render` can all share it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class TimeKind(enum.Enum):
    """NGINX parses times two ways, and each accepts different units.

    Measured with nginx 1.22: `proxy_read_timeout 1M` and `1y` are "invalid value"
    (millisecond directives start below months), and `resolver … valid=500ms` is an
    "invalid parameter" (second-based values refuse milliseconds).
    """

    SECONDS = "seconds"
    MILLISECONDS = "milliseconds"


@dataclass(frozen=True, slots=True)
class Time:
    """An NGINX time such as `5s` or `1h30m`; `text` is the canonical spelling rendered."""

    text: str
    milliseconds: int

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class Size:
    """An NGINX size such as `4k` or `1m`; `text` is rendered, `bytes` is for comparisons."""

    text: str
    bytes: int

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class Buffers:
    """`<number> <size>`, as in `proxy_buffers 8 4k` and `zone_sync_buffers 8 4k`."""

    number: int
    size: Size

    def __str__(self) -> str:
        return f"{self.number} {self.size}"


class HostKind(enum.Enum):
    IPV4 = "ipv4"
    IPV6 = "ipv6"
    DNS = "dns"


@dataclass(frozen=True, slots=True)
class HostPort:
    """A host (IPv4, IPv6 or an RFC 1123 DNS name) with an optional port.

    `host` holds an IPv6 address without brackets; `str()` gives the NGINX spelling,
    which brackets IPv6 addresses (`[::1]:53`).
    """

    host: str
    kind: HostKind
    port: int | None = None

    def __str__(self) -> str:
        host = f"[{self.host}]" if self.kind is HostKind.IPV6 else self.host
        return host if self.port is None else f"{host}:{self.port}"


@dataclass(frozen=True, slots=True)
class NginxString:
    """Free text that NGINX reads as a quoted string, such as a log format line.

    `text` may hold `$variables`; its parser has checked every one against the
    variables NGINX knows. The renderer always writes it in double quotes.
    """

    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class Network:
    """An address or CIDR block for `set_real_ip_from` (normalized), or `unix:`."""

    text: str

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class ProxyHeader:
    """A request header set towards the upstream: `proxy_set_header name value`.

    `name` is an HTTP header name (letters, digits, `-`); `value` is literal text, or
    the `$http_…` variable of the same request header when the user gave no value.
    """

    name: str
    value: NginxString


@dataclass(frozen=True, slots=True)
class Rate:
    """A request rate as `limit_req_zone` takes it: `10r/s` or `30r/m`."""

    per_minute: int

    def __str__(self) -> str:
        if self.per_minute % 60 == 0:
            return f"{self.per_minute // 60}r/s"
        return f"{self.per_minute}r/m"

    def scaled(self, replicas: int) -> Rate:
        """The rate each of `replicas` controllers enforces so that together they allow this
        one; never below 1r/m (NGINX's floor), rounded down."""
        return Rate(max(1, self.per_minute // max(1, replicas)))
