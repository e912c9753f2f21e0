"""The zone-sync keys and the rules of `spec/zone-sync.md` section 1.

- Each key is validated on its own: a bad value falls back to that key's default
  and never stops the other keys (NIC stops at the first bad key and renders a
  `zone_sync_server … resolve` without a resolver).
- On NGINX OSS, or an NGINX without the stream module (where the `stream {}`
  block is left out), every zone-sync key present is reported and zone sync
  stays off.
- While `zone-sync` is off, the other keys are ignored without a word: switching
  zone sync off is legitimate and must not produce warnings.
- The port must not be one another listener of this controller uses.
- The TLS keys (`zonesync_tls`): once asked for, TLS or nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from nginx_ingress.configmap.config import (
    DEFAULT_RESOLVER_VALID,
    ZONE_SYNC_DEFAULT_PORT,
    ZoneSyncConfig,
)
from nginx_ingress.configmap.parsers import (
    parse_bool,
    parse_buffers,
    parse_comma_list,
    parse_host,
    parse_port,
    parse_size,
    parse_time,
)
from nginx_ingress.configmap.problems import Problem, show
from nginx_ingress.configmap.reader import ValueReader
from nginx_ingress.configmap.zonesync_tls import ZONE_SYNC_TLS_KEYS, parse_zone_sync_tls
from nginx_ingress.settings import Settings
from nginx_ingress.values import HostKind, HostPort, TimeKind

ZONE_SYNC_KEYS = (
    "zone-sync",
    "zone-sync-port",
    "zone-sync-resolver-addresses",
    "zone-sync-resolver-valid",
    "zone-sync-resolver-ipv6",
    "zone-sync-interval",
    "zone-sync-timeout",
    "zone-sync-connect-timeout",
    "zone-sync-connect-retry-interval",
    "zone-sync-buffers",
    "zone-sync-recv-buffer-size",
    *ZONE_SYNC_TLS_KEYS,
)


def parse_zone_sync(
    values: Mapping[str, str], settings: Settings
) -> tuple[ZoneSyncConfig, list[Problem]]:
    """The zone-sync part of a ConfigMap whose values are all strings."""
    present = [key for key in ZONE_SYNC_KEYS if key in values]
    refusal = None
    if not settings.nginx_plus:
        refusal = "requires NGINX Plus (-nginx-plus); zone sync stays off"
    elif not settings.stream_module:
        refusal = "requires NGINX's stream module, which this NGINX lacks; zone sync stays off"
    if refusal is not None:
        return ZoneSyncConfig(), [Problem(key, refusal, show(values[key])) for key in present]

    problems: list[Problem] = []
    reader = ValueReader(values, problems)
    field, optional = reader.field, reader.optional

    enabled = field("zone-sync", parse_bool, False, "false")
    if not enabled:
        return ZoneSyncConfig(), problems

    port = field("zone-sync-port", parse_port, ZONE_SYNC_DEFAULT_PORT, str(ZONE_SYNC_DEFAULT_PORT))
    port, enabled = _avoid_listener_ports(port, values, settings, problems)

    default_resolver: tuple[HostPort, ...] = (
        HostPort(settings.default_zone_sync_resolver, HostKind.DNS),
    )
    resolver_addresses = field(
        "zone-sync-resolver-addresses",
        lambda text: parse_comma_list(text, parse_host, max_items=16),
        default_resolver,
        settings.default_zone_sync_resolver,
    )
    config = ZoneSyncConfig(
        enabled=enabled,
        port=port,
        resolver_addresses=resolver_addresses,
        resolver_valid=field(
            "zone-sync-resolver-valid",
            lambda text: parse_time(text, TimeKind.SECONDS),
            DEFAULT_RESOLVER_VALID,
            str(DEFAULT_RESOLVER_VALID),
        ),
        resolver_ipv6=optional("zone-sync-resolver-ipv6", parse_bool, "NGINX's default (ipv6=on)"),
        # Tuning keys: unset renders nothing, so NGINX's own default holds.
        interval=optional("zone-sync-interval", parse_time),
        timeout=optional("zone-sync-timeout", parse_time),
        connect_timeout=optional("zone-sync-connect-timeout", parse_time),
        connect_retry_interval=optional("zone-sync-connect-retry-interval", parse_time),
        buffers=optional("zone-sync-buffers", parse_buffers),
        recv_buffer_size=optional("zone-sync-recv-buffer-size", parse_size),
        tls=parse_zone_sync_tls(values, settings, problems),
    )
    return _check_receive_buffer(config, values, problems), problems


def _avoid_listener_ports(
    port: int, values: Mapping[str, str], settings: Settings, problems: list[Problem]
) -> tuple[int, bool]:
    """The zone-sync port, moved back to the default if another listener holds it.

    Returns (port, enabled): if even the default port is taken, zone sync stays off
    rather than render a `listen` NGINX cannot bind.
    """
    in_use = settings.listeners.in_use()
    if port not in in_use:
        return port, True
    if port != ZONE_SYNC_DEFAULT_PORT and ZONE_SYNC_DEFAULT_PORT not in in_use:
        problems.append(
            Problem(
                "zone-sync-port",
                f"port {port} is already used by {in_use[port]}",
                show(values.get("zone-sync-port", str(port))),
                str(ZONE_SYNC_DEFAULT_PORT),
            )
        )
        return ZONE_SYNC_DEFAULT_PORT, True
    problems.append(
        Problem(
            "zone-sync-port",
            f"port {port} is already used by {in_use[port]}; set zone-sync-port to a free "
            "port. Zone sync stays off",
            show(values["zone-sync-port"]) if "zone-sync-port" in values else None,
        )
    )
    return port, False


def _check_receive_buffer(
    config: ZoneSyncConfig, values: Mapping[str, str], problems: list[Problem]
) -> ZoneSyncConfig:
    """NGINX needs the receive buffer to hold at least one of the `zone_sync_buffers`."""
    if (
        config.recv_buffer_size is not None
        and config.buffers is not None
        and config.recv_buffer_size.bytes < config.buffers.size.bytes
    ):
        problems.append(
            Problem(
                "zone-sync-recv-buffer-size",
                f"must be at least one zone-sync-buffers buffer ({config.buffers.size})",
                show(values["zone-sync-recv-buffer-size"]),
                "NGINX's default",
            )
        )
        return dataclasses.replace(config, recv_buffer_size=None)
    return config
