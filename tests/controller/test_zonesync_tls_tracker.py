"""The controller's zone-sync TLS decisions, in process, over Secrets held in a dictionary:
the last good certificate kept through a bad rotation (and only while it is good), a deleted
Secret or a changed key turning zone sync off, one event per change of state, the expiry
warning and metric. The real watches, reloads and handshakes are in
test_controller_zone_sync_tls.py."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from nginx_ingress.configmap import ZoneSyncConfig, parse_configmap
from nginx_ingress.configmap.config import SecretRef
from nginx_ingress.controller.zonesync_tls import (
    EXPIRY_WARNING,
    TlsState,
    ZoneSyncTlsTracker,
)
from nginx_ingress.observe.metrics import Metrics
from nginx_ingress.resources import CertificateSecret
from nginx_ingress.settings import Settings

from certificates import Pem, make_authority

PLUS = Settings(nginx_plus=True)
NS, FQDN = PLUS.namespace, PLUS.zone_sync_service_fqdn
REF = SecretRef(NS, "zs")
EXPIRY = "nginx_ingress_controller_zone_sync_tls_certificate_expiry_seconds"


class Secrets:
    def __init__(self) -> None:
        self.objects: dict[SecretRef, dict[str, Any]] = {}
        self.followed: set[SecretRef] = set()
        self.listed = True
        self.error: str | None = None

    def follow(self, refs: Iterable[SecretRef]) -> None:
        self.followed = set(refs)

    def lookup(self, ref: SecretRef) -> CertificateSecret | None:
        found = self.objects.get(ref)
        return None if found is None else CertificateSecret.from_object(found)

    def waiting(self, refs: Iterable[SecretRef]) -> bool:  # noqa: ARG002
        return not self.listed and self.error is None

    def unreadable(self, refs: Iterable[SecretRef]) -> str | None:  # noqa: ARG002
        return None if self.listed else f"Secret cannot be read: {self.error}"

    def put(self, pem: Pem) -> None:
        self.objects[REF] = pem.secret(NS, "zs")


class World:
    def __init__(self) -> None:
        self.secrets = Secrets()
        self.said: list[tuple[str, str, str]] = []
        self.metrics = Metrics("nginx")
        self.tracker = ZoneSyncTlsTracker(
            self.secrets, PLUS, self.metrics, lambda *event: self.said.append(event)
        )

    def resolve(self, keys: dict[str, str] | None = None, now: float | None = None) -> TlsState:
        return self.tracker.resolve(zone_sync(**(keys or {})), time.time() if now is None else now)

    def reasons(self) -> list[str]:
        return [reason for _kind, reason, _message in self.said]

    def expiry(self) -> float | None:
        return self.metrics.registry.get_sample_value(EXPIRY, {"class": "nginx"})


def zone_sync(**keys: str) -> ZoneSyncConfig:
    data = {"zone-sync": "true", "zone-sync-tls-secret": "zs", **keys}
    return parse_configmap(data, PLUS).config.zone_sync


def test_a_bad_rotation_keeps_the_last_good_certificate_while_it_is_good() -> None:
    world, ca = World(), make_authority()
    good = ca.issue(FQDN)
    world.secrets.put(good)
    first = world.resolve()
    assert first.material is not None and first.material.serial == good.serial
    assert world.secrets.followed == {REF}
    world.tracker.applied(first, in_place=True, now=time.time())
    assert world.reasons() == ["ZoneSyncTLSUpdated"]
    assert world.expiry() == first.material.not_after

    rogue = make_authority("rogue").issue(FQDN).secret(NS, "zs")
    rogue["data"]["ca.crt"] = good.secret(NS, "zs")["data"]["ca.crt"]  # not of our CA
    world.secrets.objects[REF] = rogue
    for _ in range(3):  # one Warning, however many syncs
        kept = world.resolve()
        assert kept.material == first.material and kept.problem is None
    assert world.reasons() == ["ZoneSyncTLSUpdated", "ZoneSyncTLSRefused"]
    assert "is not signed by the CA" in world.said[-1][2]
    assert "stays in use" in world.said[-1][2]
    # A renewal without ca.crt would stop peer verification: refused too, not a downgrade.
    world.secrets.put(ca.issue(FQDN).without_ca())
    assert world.resolve().material == first.material
    assert world.reasons()[-1] == "ZoneSyncTLSRefused"
    assert "no longer has a ca.crt" in world.said[-1][2]
    # Once the kept certificate has expired, it cannot be kept: zone sync off.
    later = world.resolve(now=first.material.not_after + 1)
    assert later.material is None and later.problem is not None
    assert world.reasons()[-1] == "ZoneSyncTLSInvalid"


def test_a_deleted_secret_turns_zone_sync_off_and_back_on() -> None:
    world, ca = World(), make_authority()
    good = ca.issue(FQDN)
    world.secrets.put(good)
    world.tracker.applied(world.resolve(), in_place=True, now=time.time())
    del world.secrets.objects[REF]
    off = world.resolve()
    assert off.material is None and off.problem == f"Secret {REF} does not exist"
    assert not off.allows_zone_sync
    world.tracker.applied(off, in_place=False, now=time.time())
    assert world.expiry() is None
    world.resolve()  # the same state: no second event
    assert world.reasons() == ["ZoneSyncTLSUpdated", "ZoneSyncTLSInvalid"]
    world.secrets.put(good)
    on = world.resolve()
    assert on.material is not None
    world.tracker.applied(on, in_place=True, now=time.time())
    assert world.reasons()[-1] == "ZoneSyncTLSUpdated"


def test_a_changed_key_is_not_a_rotation() -> None:
    """The last good certificate was checked for the old name: a name it does not cover
    turns zone sync off instead of keeping it."""
    world, ca = World(), make_authority()
    world.secrets.put(ca.issue(FQDN))
    assert world.resolve().material is not None
    renamed = world.resolve({"zone-sync-tls-server-name": "other.example.com"})
    assert renamed.material is None and "does not name other.example.com" in str(renamed.problem)


def test_the_first_list_is_waited_for_and_a_failed_one_is_a_problem() -> None:
    world, ca = World(), make_authority()
    world.secrets.put(ca.issue(FQDN))
    world.secrets.listed = False
    assert world.resolve().waiting
    world.secrets.error = "403 Forbidden"
    state = world.resolve()
    assert not state.waiting and "403 Forbidden" in str(state.problem)


def test_keys_that_rule_tls_out_are_reported_by_the_configmap_not_twice() -> None:
    world = World()
    state = world.resolve({"zone-sync-tls-secret": "Not A Name"})
    assert state.asked and state.problem is not None and world.said == []
    assert world.secrets.followed == set()
    clear = world.tracker.resolve(
        parse_configmap({"zone-sync": "true"}, PLUS).config.zone_sync, time.time()
    )
    assert clear == TlsState() and clear.allows_zone_sync


def test_expiry_is_warned_about_once_per_certificate_and_on_time() -> None:
    world, ca = World(), make_authority()
    world.secrets.put(ca.issue(FQDN, days=30))
    state = world.resolve()
    assert state.material is not None
    now = time.time()
    world.tracker.applied(state, in_place=True, now=now)
    assert "ZoneSyncTLSExpiring" not in world.reasons()
    warn_at = state.material.not_after - EXPIRY_WARNING
    assert world.tracker.next_deadline() == warn_at  # the loop's timer
    world.tracker.check_expiry(warn_at + 1)
    world.tracker.check_expiry(warn_at + 2)
    assert world.reasons().count("ZoneSyncTLSExpiring") == 1
    assert world.tracker.next_deadline() == state.material.not_after
