"""Zone-sync TLS in the running controller: the Secrets followed, the last good certificate kept.

The Secrets the `zone-sync-tls-*` keys name are watched by name (one reflector each,
`metadata.name=<name>` in their namespace, any type: a CA Secret need not be
`kubernetes.io/tls`), so a renewed certificate reaches NGINX in one sync and one reload.
What each sync decides (`ZoneSyncTlsTracker.resolve`):

- the Secrets are checked (`generate.zonesync_tls`); usable: that material is used;
- unusable while a certificate of the same Secrets was good before and has not expired:
  the new one is refused with a Warning `ZoneSyncTLSRefused` and the last good one stays,
  so a bad rotation never cuts the sync;
- a named Secret deleted, nothing good before, or the last good one expired: zone sync
  stays off, with a Warning `ZoneSyncTLSInvalid` naming the Secret and the reason.

After an apply that put zone sync in place (`applied`): a Normal `ZoneSyncTLSUpdated`
when the certificate in use changed, a Warning `ZoneSyncTLSExpiring` once per
certificate within 7 days of its end, and its expiry as the metric
`…_zone_sync_tls_certificate_expiry_seconds`. Each event is posted once per change of
state, not once per sync.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from nginx_ingress.configmap import ZoneSyncConfig
from nginx_ingress.configmap.config import SecretRef, ZoneSyncTlsConfig
from nginx_ingress.generate.zonesync_tls import (
    TlsCheck,
    TlsMaterial,
    check_zone_sync_tls,
    server_name_of,
    when,
)
from nginx_ingress.kube.api import SECRETS, KubeApi
from nginx_ingress.kube.events import NORMAL, WARNING
from nginx_ingress.kube.reflector import Reflector, WatchTiming
from nginx_ingress.observe.metrics import Metrics
from nginx_ingress.resources import CertificateSecret
from nginx_ingress.settings import Settings

INVALID, REFUSED = "ZoneSyncTLSInvalid", "ZoneSyncTLSRefused"
UPDATED, EXPIRING = "ZoneSyncTLSUpdated", "ZoneSyncTLSExpiring"
EXPIRY_WARNING = 7 * 24 * 3600.0
"""How long before its end a certificate in use is warned about."""

Say = Callable[[str, str, str], None]
"""Post an event on the ConfigMap: (type, reason, message)."""


class SecretSource(Protocol):
    """The Secrets the TLS keys name, as `ZoneSyncTlsSecrets` follows them."""

    def follow(self, refs: Iterable[SecretRef]) -> None: ...

    def lookup(self, ref: SecretRef) -> CertificateSecret | None: ...

    def waiting(self, refs: Iterable[SecretRef]) -> bool: ...

    def unreadable(self, refs: Iterable[SecretRef]) -> str | None: ...


@dataclass(frozen=True, slots=True)
class TlsState:
    """What zone-sync TLS allows in this sync."""

    asked: bool = False
    """TLS is asked for: zone sync runs over TLS or not at all."""
    material: TlsMaterial | None = None
    problem: str | None = None
    """Why zone sync stays off (TLS asked for, no usable material)."""
    waiting: bool = False
    """A Secret's first list has not come yet: deciding now would reload twice."""

    @property
    def allows_zone_sync(self) -> bool:
        return not self.asked or self.material is not None


class ZoneSyncTlsSecrets:
    """One reflector per Secret named, started and stopped as the names change."""

    def __init__(self, api: KubeApi, on_change: Callable[[], None], timing: WatchTiming) -> None:
        self._api, self._on_change, self._timing = api, on_change, timing
        self._lock = threading.Lock()
        self._stopped = False
        self._reflectors: dict[SecretRef, Reflector[CertificateSecret]] = {}

    def follow(self, refs: Iterable[SecretRef]) -> None:
        wanted = set(refs)
        with self._lock:
            if self._stopped:
                return
            gone = [self._reflectors.pop(r) for r in list(self._reflectors) if r not in wanted]
            for ref in wanted - set(self._reflectors):
                reflector: Reflector[CertificateSecret] = Reflector(
                    self._api,
                    SECRETS,
                    namespace=ref.namespace,
                    field_selector=f"metadata.name={ref.name}",
                    on_change=lambda _keys: self._on_change(),
                    timing=self._timing,
                    transform=CertificateSecret.from_object,
                )
                self._reflectors[ref] = reflector
                reflector.start()
        for reflector in gone:
            reflector.stop()

    def lookup(self, ref: SecretRef) -> CertificateSecret | None:
        with self._lock:
            reflector = self._reflectors.get(ref)
        return None if reflector is None else reflector.get(str(ref))

    def waiting(self, refs: Iterable[SecretRef]) -> bool:
        """A reflector has neither listed nor failed yet."""
        with self._lock:
            found = [self._reflectors.get(ref) for ref in refs]
        return any(r is not None and not r.synced.is_set() and r.last_error is None for r in found)

    def unreadable(self, refs: Iterable[SecretRef]) -> str | None:
        """Why a Secret cannot be read (its first list failed), or None."""
        with self._lock:
            found = [(ref, self._reflectors.get(ref)) for ref in refs]
        for ref, reflector in found:
            if reflector is not None and not reflector.synced.is_set():
                return f"Secret {ref} cannot be read: {reflector.last_error}"
        return None

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            reflectors, self._reflectors = list(self._reflectors.values()), {}
        for reflector in reflectors:
            reflector.stop()


class ZoneSyncTlsTracker:
    """Owned by the sync thread."""

    def __init__(
        self, secrets: SecretSource, settings: Settings, metrics: Metrics, say: Say
    ) -> None:
        self._secrets, self._settings, self._metrics = secrets, settings, metrics
        self._post = say
        self._last_good: tuple[object, TlsMaterial] | None = None
        self._said: dict[str, str | None] = {INVALID: None, REFUSED: None}
        self._in_use: TlsMaterial | None = None
        self._warned: str | None = None
        """Fingerprint of the certificate last warned about as expiring."""

    def resolve(self, zone_sync: ZoneSyncConfig, now: float) -> TlsState:
        config = zone_sync.tls if zone_sync.enabled else None
        if config is None:
            self._secrets.follow(())
            self._last_good = None
            self._said = {INVALID: None, REFUSED: None}
            return TlsState()
        if config.unusable is not None:  # reported with the ConfigMap's own problems
            self._secrets.follow(())
            self._last_good = None
            self._said = {INVALID: None, REFUSED: None}
            return TlsState(asked=True, problem=config.unusable)
        refs = [ref for ref in (config.secret, config.ca_secret) if ref is not None]
        self._secrets.follow(refs)
        if self._secrets.waiting(refs):
            return TlsState(asked=True, waiting=True)
        unreadable = self._secrets.unreadable(refs)
        check = (
            TlsCheck(problem=unreadable)
            if unreadable is not None
            else check_zone_sync_tls(config, self._secrets.lookup, self._settings, now)
        )
        return self._decide(config, check, now)

    def _decide(self, config: ZoneSyncTlsConfig, check: TlsCheck, now: float) -> TlsState:
        identity = (
            config.secret,
            config.ca_secret,
            config.verify,
            server_name_of(config, self._settings),
        )
        check = self._no_downgrade(config, identity, check)
        if check.material is not None:
            self._last_good = (identity, check.material)
            self._say(INVALID, None)
            self._say(REFUSED, None)
            return TlsState(asked=True, material=check.material)
        problem = check.problem or "no usable certificate"
        if self._last_good is not None and not check.missing:
            kept_for, kept = self._last_good
            if kept_for == identity and kept.not_after > now:
                self._say(REFUSED, f"{problem}; {kept.describe()} stays in use")
                return TlsState(asked=True, material=kept)
        self._last_good = None
        self._say(REFUSED, None)
        self._say(INVALID, f"zone sync over TLS cannot run, zone sync stays off: {problem}")
        return TlsState(asked=True, problem=problem)

    def _no_downgrade(
        self, config: ZoneSyncTlsConfig, identity: object, check: TlsCheck
    ) -> TlsCheck:
        """A renewed Secret without the `ca.crt` its predecessor had would end peer
        verification, which the keys never asked for: refused like any bad certificate
        (`zone-sync-tls-verify: "false"` says it on purpose)."""
        last = self._last_good
        material = check.material
        if (
            material is None
            or material.ca_pem is not None
            or last is None
            or last[0] != identity
            or last[1].ca_pem is None
        ):
            return check
        return TlsCheck(
            problem=f"Secret {config.secret} no longer has a ca.crt: peers would no longer be "
            'verified (set zone-sync-tls-verify: "false" to run without verification)'
        )

    def applied(self, state: TlsState, *, in_place: bool, now: float) -> None:
        """After a successful apply: `in_place` when NGINX now runs the zone-sync server."""
        material = state.material if in_place else None
        self._metrics.set_zone_sync_tls_expiry(None if material is None else material.not_after)
        previous, self._in_use = self._in_use, material
        if material is None:
            return
        if previous is None or previous.fingerprint != material.fingerprint:
            self._post(NORMAL, UPDATED, f"zone sync uses {material.describe()}")
        self.check_expiry(now)

    def check_expiry(self, now: float) -> None:
        """A Warning, once per certificate, when the one in use ends within 7 days."""
        material = self._in_use
        if material is None or material.fingerprint == self._warned:
            return
        left = material.not_after - now
        if left > EXPIRY_WARNING:
            return
        self._warned = material.fingerprint
        self._post(
            WARNING,
            EXPIRING,
            f"{material.describe()} expires in {max(left, 0) / 86400:.1f} days "
            f"({when(material.not_after)}): renew it; an expired certificate turns zone sync off",
        )

    def next_deadline(self) -> float | None:
        """When the sync should look again without a change: the start of the expiry
        warning, then the end of the certificate in use."""
        material = self._in_use
        if material is None:
            return None
        if material.fingerprint != self._warned:
            return material.not_after - EXPIRY_WARNING
        return material.not_after

    def _say(self, reason: str, message: str | None) -> None:
        """Post `message` when it differs from the last one of `reason` (None: the state
        that reason reports is over)."""
        if message is not None and message != self._said[reason]:
            self._post(WARNING, reason, message)
        self._said[reason] = message
