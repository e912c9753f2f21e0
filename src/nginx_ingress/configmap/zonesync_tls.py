"""The `zone-sync-tls-*` keys: zone sync over TLS with the peers, as the ConfigMap asks.

Read only while zone sync is on, on NGINX Plus (the zone-sync rules apply to them as
to every `zone-sync*` key). The rule that shapes them: once TLS is asked for (any of
these keys set, or `-zone-sync-require-tls`), zone sync runs over TLS or not at all.

- A bad value of a key that only tunes TLS (`-verify`, `-server-name`, `-protocols`,
  `-ciphers`) is reported (`InvalidValue`) and its default used: TLS still runs.
- A bad Secret name cannot be replaced by a default without guessing which
  certificate to trust, so it is reported and TLS is `unusable`: zone sync stays off.
- TLS keys without `zone-sync-tls-secret`, or `-zone-sync-require-tls` without TLS
  and peer verification, make TLS `unusable` too, reported as `ZoneSyncTLSInvalid`.

Whether the Secrets exist and hold a usable certificate is for `generate.zonesync_tls`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from nginx_ingress.configmap.config import (
    DEFAULT_ZONE_SYNC_TLS_PROTOCOLS,
    SecretRef,
    ZoneSyncTlsConfig,
)
from nginx_ingress.configmap.parsers import (
    InvalidValue,
    parse_bool,
    parse_dns_name,
    parse_secret_reference,
    parse_ssl_ciphers,
    parse_ssl_protocols,
)
from nginx_ingress.configmap.problems import Problem, Reason, show
from nginx_ingress.configmap.reader import ValueReader
from nginx_ingress.settings import Settings

SECRET, CA_SECRET = "zone-sync-tls-secret", "zone-sync-tls-ca-secret"
VERIFY = "zone-sync-tls-verify"
SERVER_NAME, PROTOCOLS, CIPHERS = (
    "zone-sync-tls-server-name",
    "zone-sync-tls-protocols",
    "zone-sync-tls-ciphers",
)
ZONE_SYNC_TLS_KEYS = (SECRET, CA_SECRET, VERIFY, SERVER_NAME, PROTOCOLS, CIPHERS)

_OFF = "none: zone sync stays off rather than run in clear text"


def parse_zone_sync_tls(
    values: Mapping[str, str], settings: Settings, problems: list[Problem]
) -> ZoneSyncTlsConfig | None:
    """The TLS keys of a ConfigMap with zone sync on (None: TLS not asked for); problems
    are appended to `problems`."""
    present = [key for key in ZONE_SYNC_TLS_KEYS if key in values]
    if not present and not settings.zone_sync_require_tls:
        return None
    unusable: list[str] = []
    field = ValueReader(values, problems).field

    def reference(key: str) -> SecretRef | None:
        if key not in values:
            return None
        try:
            return parse_secret_reference(values[key], settings.namespace)
        except InvalidValue as error:
            problems.append(Problem(key, str(error), show(values[key]), _OFF))
            unusable.append(f"{key} is not a Secret name")
            return None

    verify = field(VERIFY, parse_bool, None, "true")
    if VERIFY in values and verify is None:
        verify = True  # a value meant as a boolean errs on the safe side
    config = ZoneSyncTlsConfig(
        secret=reference(SECRET),
        ca_secret=reference(CA_SECRET),
        verify=verify,
        server_name=field(
            SERVER_NAME, parse_dns_name, None, f"the headless Service's name {_fqdn(settings)}"
        ),
        protocols=field(
            PROTOCOLS,
            parse_ssl_protocols,
            DEFAULT_ZONE_SYNC_TLS_PROTOCOLS,
            " ".join(DEFAULT_ZONE_SYNC_TLS_PROTOCOLS),
        ),
        ciphers=field(CIPHERS, parse_ssl_ciphers, None, "NGINX's default"),
    )
    if SECRET not in values:
        unusable.append(
            "-zone-sync-require-tls is set and zone-sync-tls-secret is not"
            if not present
            else "zone-sync-tls-secret is not set, and the other zone-sync-tls-* keys need it"
        )
    elif settings.zone_sync_require_tls and config.verify is False:
        unusable.append(
            "-zone-sync-require-tls needs peer verification: zone-sync-tls-verify is false"
        )
    if not unusable:
        return config
    reason = "; ".join(unusable)
    problems.append(
        Problem(
            SECRET,
            f"zone sync over TLS cannot run ({reason}); zone sync stays off",
            reason=Reason.ZONE_SYNC_TLS_INVALID,
        )
    )
    return dataclasses.replace(config, unusable=reason)


def _fqdn(settings: Settings) -> str:
    return settings.zone_sync_service_fqdn
