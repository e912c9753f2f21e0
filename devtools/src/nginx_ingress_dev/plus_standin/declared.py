"""What a configuration declares that the NGINX Plus API shows: HTTP upstreams with their
servers, and zone sync with the zones it syncs.

At every (re)load NGINX Plus builds its upstreams from the configuration, so the
stand-in seeds the API stub from the same place, each time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from nginx_ingress_dev.plus_standin.config import Config, walk
from nginx_ingress_dev.plusapi_stub import ConfiguredUpstream

_NUMBERS = frozenset({"weight", "max_conns", "max_fails"})
_FLAGS = frozenset({"backup", "down", "drain", "resolve"})
_SYNCED = frozenset({"limit_req_zone", "sticky", "keyval_zone"})


@dataclass(frozen=True, slots=True)
class Declared:
    """The API's view of a configuration."""

    upstreams: tuple[ConfiguredUpstream, ...]
    zone_sync: bool
    """A stream server with `zone_sync` exists."""
    synced_zones: tuple[str, ...]
    """Zones declared with `sync`: `limit_req_zone`, `sticky learn`, `keyval_zone`."""

    def zone_sync_document(self) -> dict[str, object] | None:
        """What `/stream/zone_sync/` answers right after a (re)load: no peer online yet, every
        synced zone empty; None without `zone_sync` (the API answers 404)."""
        if not self.zone_sync:
            return None
        return {
            "status": {
                "nodes_online": 0,
                "msgs_in": 0,
                "msgs_out": 0,
                "bytes_in": 0,
                "bytes_out": 0,
            },
            "zones": {
                name: {"records_pending": 0, "records_total": 0} for name in self.synced_zones
            },
        }


def declared(config: Config) -> Declared:
    upstreams: list[ConfiguredUpstream] = []
    zone_sync = False
    zones: list[str] = []
    for directive, parents in walk(config):
        name = directive["directive"]
        if name == "upstream" and parents == ("http",):
            upstreams.append(_upstream(directive))
        elif name == "zone_sync" and parents[:1] == ("stream",):
            zone_sync = True
        elif name in _SYNCED and "sync" in directive["args"]:
            zone = _zone_name(directive["args"])
            if zone is not None and zone not in zones:
                zones.append(zone)
    return Declared(tuple(upstreams), zone_sync, tuple(zones))


def _upstream(directive: Mapping[str, object]) -> ConfiguredUpstream:
    block = directive.get("block") or []
    assert isinstance(block, list)
    servers = tuple(
        server_parameters(child["args"]) for child in block if child["directive"] == "server"
    )
    static = not any(child["directive"] == "zone" for child in block)
    args = directive["args"]
    assert isinstance(args, list)
    return ConfiguredUpstream(str(args[0]), servers, static)


def server_parameters(args: list[str]) -> dict[str, object]:
    """An upstream's `server` line as the API's JSON: `server 10.0.0.1:80 weight=2 down` is
    `{"server": "10.0.0.1:80", "weight": 2, "down": true}`. A parameter the API does not
    know is passed on as it is, for the stub to refuse (and the stand-in to report)."""
    parameters: dict[str, object] = {"server": args[0]}
    for argument in args[1:]:
        key, equals, value = argument.partition("=")
        if not equals:
            parameters[key] = True if key in _FLAGS else argument
        elif key in _NUMBERS and value.isascii() and value.isdigit():
            parameters[key] = int(value)
        else:
            parameters[key] = value
    return parameters


def _zone_name(args: list[str]) -> str | None:
    for argument in args:
        if argument.startswith("zone="):
            return argument.removeprefix("zone=").partition(":")[0]
    return None
