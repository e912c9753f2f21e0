"""What only NGINX Plus understands, and a parsed configuration without it.

OSS `nginx` refuses every NGINX Plus directive ("unknown directive") and some
Plus parameters of OSS directives (`sync` on `limit_req_zone`, `resolve` on an
upstream `server`). The stand-in, and the tests that run OSS `nginx -t` on
Plus-mode output, need the rest of the configuration as NGINX Plus would read it:
these rules take out the Plus parts and keep everything else as it was parsed.

The rules work on crossplane's parsed form (`{"directive", "line", "args",
"block"}`) one file at a time, with no context but the directive's own shape, so an
included file is stripped the same wherever it is included:

- a Plus-only directive goes (`sticky`, `status_zone`, `health_check`, ...), except
  `keyval`, which becomes a `map` to the empty string, so that its variable stays
  defined for what uses it;
- a block whose handler is Plus-only goes whole: the stream `server` with
  `zone_sync` (OSS cannot resolve its peers and has no handler for it), `match`,
  `mgmt`; except a zone-sync server that listens with `ssl`, which stays as a TLS
  listener (see `ZONE_SYNC_ANSWER`), so that tests handshake with the real NGINX over
  the certificates the configuration names;
- a Plus-only parameter goes and its directive stays (`limit_req_zone … sync`,
  upstream `server … resolve slow_start=30s route=a drain`, `random … least_time=`);
- an `api` location is routed (see `ApiRoute`): in a server that listens only on
  unix sockets and serves nothing but the API, the whole server goes and the
  stand-in serves the API on those sockets itself; anywhere else (the status
  port) the location stays, with a `proxy_pass` to the stand-in's API instead of
  `api`, so the real NGINX keeps the port, its `allow`/`deny` and its other
  locations.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

Directive = dict[str, Any]
"""One directive as crossplane parses it."""

PLUS_ONLY_DIRECTIVES = frozenset(
    {
        "api",
        "auth_jwt",
        "auth_jwt_claim_set",
        "auth_jwt_header_set",
        "auth_jwt_key_cache",
        "auth_jwt_key_file",
        "auth_jwt_key_request",
        "auth_jwt_leeway",
        "auth_jwt_require",
        "auth_jwt_type",
        "f4f",
        "f4f_buffer_size",
        "fastcgi_cache_purge",
        "health_check",
        "health_check_timeout",
        "hls",
        "hls_buffers",
        "hls_forward_args",
        "hls_fragment",
        "hls_mp4_buffer_size",
        "hls_mp4_max_buffer_size",
        "keyval",
        "keyval_zone",
        "least_time",
        "license_token",
        "match",
        "mgmt",
        "mp4_limit_rate",
        "mp4_limit_rate_after",
        "ntlm",
        "proxy_cache_purge",
        "queue",
        "scgi_cache_purge",
        "session_log",
        "session_log_format",
        "session_log_zone",
        "state",
        "status",
        "status_format",
        "status_zone",
        "sticky",
        "sticky_cookie_insert",
        "upstream_conf",
        "uwsgi_cache_purge",
        "zone_sync",
    }
)
"""NGINX Plus directives (nginx.org's reference, and crossplane's Plus list without the
njs and long-gone OSS ones), besides every `zone_sync_*` directive."""

_PLUS_ONLY_PREFIXES = ("zone_sync_",)

ZONE_SYNC_ANSWER = "nginx-plus-standin: zone sync is not modelled"
"""What the kept zone-sync TLS listener sends after a completed handshake (stream `return`)."""

_SERVER_TOKENS_OSS = frozenset({"on", "off", "build"})
"""`server_tokens` with any other value is NGINX Plus's custom Server header."""

_CACHE_PATHS = frozenset(
    {"proxy_cache_path", "fastcgi_cache_path", "scgi_cache_path", "uwsgi_cache_path"}
)


@dataclass(frozen=True, slots=True)
class ApiRoute:
    """Where an `api` location that the real NGINX keeps sends its requests: the stand-in's
    read-write and read-only API listeners (`proxy_pass` URLs such as
    `http://127.0.0.1:41234`). Over TCP on loopback, not unix sockets: NGINX's workers may
    run as another user (`nobody` under root), who could not reach a socket in the run dir.
    """

    read_write: str
    read_only: str


@dataclass(frozen=True, slots=True)
class ApiSocket:
    """A unix socket on which NGINX Plus would serve only the API: the stand-in serves it."""

    path: str
    write: bool


@dataclass(frozen=True, slots=True)
class Stripped:
    """One file without its Plus parts, and the API sockets that were taken out of it."""

    directives: list[Directive]
    api_sockets: tuple[ApiSocket, ...]


def is_plus_only(directive: Directive) -> bool:
    """A directive NGINX OSS does not have (or, for `server_tokens`, not with this value)."""
    name: str = directive["directive"]
    if name == "server_tokens":
        return bool(directive["args"]) and directive["args"][0] not in _SERVER_TOKENS_OSS
    return name in PLUS_ONLY_DIRECTIVES or name.startswith(_PLUS_ONLY_PREFIXES)


def is_plus_parameter(directive: Directive, argument: str) -> bool:
    """A parameter only NGINX Plus takes on a directive OSS also has."""
    name: str = directive["directive"]
    if name == "limit_req_zone":
        return argument == "sync"
    if name == "server" and "block" not in directive:  # an upstream's server
        return argument in ("resolve", "drain") or argument.startswith(
            ("service=", "slow_start=", "route=")
        )
    if name == "random":
        return argument.startswith("least_time=")
    if name == "resolver":
        return argument.startswith("status_zone=")
    if name in _CACHE_PATHS:
        return argument.startswith("purger")
    return False


def api_write(location: Directive) -> bool | None:
    """`write=on` of the `api` directive in `location`; None when it holds none."""
    for child in location.get("block", ()):
        if child["directive"] == "api":
            return "write=on" in child["args"]
    return None


def strip(directives: Sequence[Directive], route: ApiRoute) -> Stripped:
    """`directives` (one file's, as parsed) without their Plus parts; see the module's doc."""
    sockets: list[ApiSocket] = []
    kept = _strip(directives, route, sockets)
    return Stripped(kept, tuple(sockets))


def _strip(
    directives: Iterable[Directive], route: ApiRoute, sockets: list[ApiSocket]
) -> list[Directive]:
    kept: list[Directive] = []
    for directive in directives:
        if directive["directive"] == "keyval" and len(directive["args"]) >= 2:
            kept.append(_empty_variable(directive))
            continue
        if is_plus_only(directive):
            continue
        block = directive.get("block")
        if block is None:
            args = [a for a in directive["args"] if not is_plus_parameter(directive, a)]
            kept.append({**directive, "args": args})
            continue
        if any(child["directive"] == "zone_sync" for child in block):
            listener = zone_sync_tls_listener(directive)
            if listener is not None:
                kept.append(listener)
            continue  # the stream server of zone sync
        if directive["directive"] == "server":
            api_only = _api_only_sockets(block)
            if api_only is not None:
                sockets.extend(api_only)
                continue
        if directive["directive"] == "location":
            write = api_write(directive)
            if write is not None:
                kept.append({**directive, "block": _proxied(block, route, write)})
                continue
        kept.append({**directive, "block": _strip(block, route, sockets)})
    return kept


def zone_sync_tls_listener(server: Directive) -> Directive | None:
    """The zone-sync server as a TLS listener OSS NGINX can run, or None when it does not
    listen with `ssl`: its `listen` and `ssl_*` directives (certificate, key, client
    verification, CA, protocols, ciphers) as they are, and `zone_sync` replaced by a
    `return` of `ZONE_SYNC_ANSWER`. Its `resolver` and the `zone_sync_*` directives go:
    OSS NGINX cannot resolve the peers' name, and connects to no peer."""
    block = server["block"]
    listens = [d for d in block if d["directive"] == "listen"]
    if not any("ssl" in d["args"][1:] for d in listens):
        return None
    kept = [d for d in block if d["directive"] == "listen" or d["directive"].startswith("ssl_")]
    zone_sync = next(d for d in block if d["directive"] == "zone_sync")
    answer = {"directive": "return", "line": zone_sync.get("line"), "args": [ZONE_SYNC_ANSWER]}
    return {**server, "block": [*kept, answer]}


def _empty_variable(keyval: Directive) -> Directive:
    """`keyval $key $variable zone=z;` as `map $key $variable { default ""; }`: the variable
    stays defined (always empty), so what uses it still loads."""
    key, variable = keyval["args"][:2]
    line = keyval.get("line")
    default = {"directive": "default", "line": line, "args": [""]}
    return {"directive": "map", "line": line, "args": [key, variable], "block": [default]}


def _api_only_sockets(server: Sequence[Directive]) -> tuple[ApiSocket, ...] | None:
    """The sockets of a server that listens only on unix sockets and whose every location
    is an API location; None for any other server."""
    listens = [d["args"][0] for d in server if d["directive"] == "listen" and d["args"]]
    locations = [d for d in server if d["directive"] == "location"]
    if not listens or not all(address.startswith("unix:") for address in listens):
        return None
    writes = [api_write(location) for location in locations]
    if not writes or any(write is None for write in writes):
        return None
    write = any(writes)  # one location per socket in practice; write wins if they differ
    return tuple(ApiSocket(address.removeprefix("unix:"), write) for address in listens)


def _proxied(block: Sequence[Directive], route: ApiRoute, write: bool) -> list[Directive]:
    kept: list[Directive] = []
    for child in block:
        if child["directive"] == "api":
            target = route.read_write if write else route.read_only
            kept.append({**child, "directive": "proxy_pass", "args": [target]})
        elif not is_plus_only(child):
            kept.append(child)
    return kept
