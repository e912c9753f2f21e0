"""Zone sync over TLS end to end: `nginx-ingress run -nginx-plus` on the NGINX Plus stand-in,
against the local API server, with certificates made here.

The stand-in keeps the zone-sync server's TLS listener (its `listen … ssl` and `ssl_*`
directives, docs/plus-standin.md), so the real NGINX underneath serves the certificates the
controller rendered, with `ssl_verify_client on`, and a real TLS client can handshake with
it: a peer with a certificate of the CA gets through, one without a certificate or with a
certificate of another CA is refused. Then rotation: a new certificate is one reload and the
listener serves its serial; a broken one is refused and the old one is still served; the
Secret deleted turns zone sync off while HTTP is still served, restored turns it on again.
"""

from __future__ import annotations

import socket
import ssl
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from nginx_ingress_dev.devcluster import DevCluster
from nginx_ingress_dev.plus_standin import StandinControl, control_socket
from nginx_ingress_dev.plus_standin.plusonly import ZONE_SYNC_ANSWER

from backends import Backend
from certificates import Authority, Pem, b64, make_authority
from controller_harness import (
    APP,
    NS,
    Controller,
    Harness,
    app_world,
    events,
    eventually,
    set_configmap,
)
from ingress_objects import ingress, path, rule
from nginx_sandbox import free_port

RELOADS = "nginx_ingress_controller_nginx_reloads_total"
EXPIRY = "nginx_ingress_controller_zone_sync_tls_certificate_expiry_seconds"
FQDN = f"nginx-ingress-headless.{NS}.svc.cluster.local"
SECRET = "zone-sync-tls"


@pytest.fixture
def world(dev_cluster: DevCluster) -> Iterator[tuple[DevCluster, Harness, Backend]]:
    with app_world(dev_cluster, "coffee") as (box, started):
        dev_cluster.seed(
            [ingress("cafe", rule("cafe.example.com", path("/coffee", "coffee")), namespace=APP)]
        )
        yield dev_cluster, box, started["coffee"]


def peer(authority: Authority, **options: Any) -> Pem:
    return authority.issue(FQDN, f"*.{FQDN}", **options)


def tls_configmap(cluster: DevCluster, port: int, **extra: str) -> str:
    return set_configmap(
        cluster,
        {"zone-sync": "true", "zone-sync-port": str(port), "zone-sync-tls-secret": SECRET, **extra},
    )


def started(box: Harness, *flags: str) -> Controller:
    controller = box.start(*flags, standin=True)
    assert eventually(controller.ready, 60), controller.output()[-3000:]
    return controller


@dataclass
class Running:
    """A controller serving zone sync over TLS with the certificate `serving`."""

    controller: Controller
    ca: Authority
    port: int
    serving: Pem

    def serial(self) -> int | None:
        """The serial the listener serves to a peer of the CA (None: refused)."""
        return served_serial(self.port, self.ca.pem, peer(self.ca))


def running(cluster: DevCluster, box: Harness, **options: Any) -> Running:
    """The TLS Secret (a new CA's peer certificate, with `options`), the ConfigMap, and a
    controller whose listener serves that certificate."""
    ca, port = make_authority(), free_port()
    serving = peer(ca, **options)
    cluster.seed([serving.secret(NS, SECRET)])
    tls_configmap(cluster, port)
    world = Running(started(box), ca, port, serving)
    assert eventually(lambda: world.serial() == serving.serial, 30)
    return world


def handshake(port: int, ca: bytes, client: Pem | None) -> tuple[int, str]:
    """(serial of the listener's certificate, what it sent after the handshake); raises
    `ssl.SSLError` or `OSError` when refused. The listener is checked as a peer checks it:
    against `ca`, for the headless Service's name."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cadata=ca.decode())
    with tempfile.TemporaryDirectory() as directory:
        if client is not None:
            (Path(directory) / "peer.pem").write_bytes(client.certificate + client.key)
            context.load_cert_chain(Path(directory) / "peer.pem")
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname=FQDN) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
            assert der is not None
            received = b""
            while chunk := tls.recv(256):  # TLS 1.3: a refused client learns it here
                received += chunk
    return x509.load_der_x509_certificate(der).serial_number, received.decode()


def served_serial(port: int, ca: bytes, client: Pem) -> int | None:
    try:
        serial, answer = handshake(port, ca, client)
    except (OSError, ssl.SSLError):
        return None
    return serial if answer == ZONE_SYNC_ANSWER else None


def refused(port: int, ca: bytes, client: Pem | None) -> bool:
    try:
        _serial, answer = handshake(port, ca, client)
    except (OSError, ssl.SSLError):
        return True
    return answer != ZONE_SYNC_ANSWER


def reasons(cluster: DevCluster, reason: str) -> list[str]:
    return [e["message"] for e in events(cluster, reason)]


def coffee(controller: Controller) -> int | None:
    got = controller.request("http", "/coffee", host="cafe.example.com")
    return None if got is None else got[0]


def test_a_peer_of_the_ca_gets_through_and_others_are_refused(
    world: tuple[DevCluster, Harness, Backend],
) -> None:
    cluster, box, _ = world
    tls = running(cluster, box)
    controller, ca, port, good = tls.controller, tls.ca, tls.port, tls.serving
    # One NGINX start with zone sync over TLS in it: the Secret's first list was waited for.
    control = StandinControl(control_socket(controller.run_dir)).wait()
    assert control.state()["generation"] == 1, controller.output()[-3000:]  # never reloaded
    main = controller.main()
    for line in (
        f"listen {port} ssl;",
        f"listen [::]:{port} ssl;",
        "ssl_verify_client on;",
        "zone_sync_ssl on;",
        "zone_sync_ssl_verify on;",
        f"zone_sync_ssl_name {FQDN};",
        "zone_sync_ssl_server_name on;",
    ):
        assert line in main, line
    files = sorted((controller.conf_dir / "secrets").glob("_zone-sync-*"))
    assert len(files) == 2 and all(f.stat().st_mode & 0o777 == 0o600 for f in files)
    # Refused: no client certificate, a certificate of another CA, an expired one.
    assert refused(port, ca.pem, None)
    assert refused(port, ca.pem, peer(make_authority("another CA")))
    assert refused(port, ca.pem, peer(ca, expired=True))
    assert eventually(lambda: controller.metric(EXPIRY) > time.time() + 29 * 86400)
    assert eventually(lambda: len(reasons(cluster, "ZoneSyncTLSUpdated")) == 1)
    assert f"serial {good.serial:x}" in reasons(cluster, "ZoneSyncTLSUpdated")[0]
    assert coffee(controller) == 200
    assert controller.stop() == 0


def test_rotation_is_one_reload_and_a_broken_certificate_is_refused(
    world: tuple[DevCluster, Harness, Backend],
) -> None:
    cluster, box, _ = world
    tls = running(cluster, box)
    controller, ca, port = tls.controller, tls.ca, tls.port
    old_files = set((controller.conf_dir / "secrets").glob("_zone-sync-*"))

    # Renewed (cert-manager does it before expiry): one reload, the new serial served.
    reloads = controller.metric(RELOADS)
    second = peer(ca)
    cluster.seed([second.secret(NS, SECRET)])
    assert eventually(lambda: served_serial(port, ca.pem, peer(ca)) == second.serial, 30)
    time.sleep(0.5)  # a second reload would come within the quiet period
    assert controller.metric(RELOADS) == reloads + 1
    assert not old_files & set((controller.conf_dir / "secrets").glob("_zone-sync-*"))
    assert eventually(lambda: len(reasons(cluster, "ZoneSyncTLSUpdated")) == 2)

    # Broken ones: refused with a Warning each, no reload, the last good one still served.
    foreign = peer(make_authority("rogue CA")).secret(NS, SECRET)
    foreign["data"]["ca.crt"] = b64(ca.pem)  # the CA stays ours; the certificate is not of it
    mismatched = peer(ca).secret(NS, SECRET)
    mismatched["data"]["tls.key"] = b64(peer(ca).key)
    for broken, why in (
        (foreign, "is not signed by the CA"),
        (mismatched, "tls.key does not belong to the certificate"),
        (peer(ca, expired=True).secret(NS, SECRET), "expired on"),
    ):
        cluster.seed([broken])

        def said(why: str = why) -> bool:
            return any(why in m for m in reasons(cluster, "ZoneSyncTLSRefused"))

        assert eventually(said), reasons(cluster, "ZoneSyncTLSRefused")
        assert served_serial(port, ca.pem, peer(ca)) == second.serial
    assert controller.metric(RELOADS) == reloads + 1
    (refusal, *_) = reasons(cluster, "ZoneSyncTLSRefused")
    assert f"serial {second.serial:x}" in refusal and "stays in use" in refusal
    assert not events(cluster, "ZoneSyncTLSInvalid")
    assert "zone_sync;" in controller.main()
    assert controller.stop() == 0


def test_the_secret_deleted_turns_zone_sync_off_and_restored_on(
    world: tuple[DevCluster, Harness, Backend],
) -> None:
    cluster, box, _ = world
    tls = running(cluster, box)
    controller, ca, port, good = tls.controller, tls.ca, tls.port, tls.serving

    assert cluster.delete_object("Secret", NS, SECRET)
    assert eventually(lambda: "zone_sync" not in controller.main(), 30)
    assert eventually(lambda: refused(port, ca.pem, peer(ca)))  # the port is closed
    (invalid,) = reasons(cluster, "ZoneSyncTLSInvalid")
    assert f"Secret {NS}/{SECRET} does not exist" in invalid and "stays off" in invalid
    assert coffee(controller) == 200  # NGINX keeps serving HTTP
    assert controller.ready()
    assert eventually(lambda: f"{EXPIRY}{{" not in controller.metrics())  # no sample

    cluster.seed([good.secret(NS, SECRET)])
    assert eventually(lambda: served_serial(port, ca.pem, peer(ca)) == good.serial, 30)
    assert len(reasons(cluster, "ZoneSyncTLSInvalid")) == 1
    assert coffee(controller) == 200
    assert controller.stop() == 0


def test_tls_that_cannot_run_from_the_start_keeps_zone_sync_off(
    world: tuple[DevCluster, Harness, Backend],
) -> None:
    """No Secret at all: never clear text; then the Secret arrives and zone sync starts."""
    cluster, box, _ = world
    ca, port = make_authority(), free_port()
    tls_configmap(cluster, port)
    controller = started(box)
    assert eventually(lambda: bool(events(cluster, "ZoneSyncTLSInvalid")), 30)
    assert "zone_sync" not in controller.main()
    assert eventually(
        lambda: any("does not exist" in e["message"] for e in events(cluster, "UpdatedWithError"))
    )
    assert coffee(controller) == 200
    good = peer(ca)
    cluster.seed([good.secret(NS, SECRET)])
    assert eventually(lambda: served_serial(port, ca.pem, peer(ca)) == good.serial, 30)
    assert controller.stop() == 0


def test_expiry_within_seven_days_is_warned_about_once(
    world: tuple[DevCluster, Harness, Backend],
) -> None:
    cluster, box, _ = world
    tls = running(cluster, box, days=3)
    controller, port, short = tls.controller, tls.port, tls.serving
    assert eventually(lambda: len(reasons(cluster, "ZoneSyncTLSExpiring")) == 1, 30)
    (warning,) = reasons(cluster, "ZoneSyncTLSExpiring")
    assert "expires in 3.0 days" in warning or "expires in 2.9 days" in warning, warning
    not_after = x509.load_pem_x509_certificate(short.certificate).not_valid_after_utc
    assert controller.metric(EXPIRY) == not_after.timestamp()
    set_configmap(  # another change: no second warning for the same certificate
        cluster,
        {
            "zone-sync": "true",
            "zone-sync-port": str(port),
            "zone-sync-tls-secret": SECRET,
            "zone-sync-interval": "2s",
        },
    )
    assert eventually(lambda: "zone_sync_interval 2s;" in controller.main(), 30)
    time.sleep(0.5)
    assert len(reasons(cluster, "ZoneSyncTLSExpiring")) == 1
    assert controller.stop() == 0


def test_require_tls_keeps_clear_text_zone_sync_off(
    world: tuple[DevCluster, Harness, Backend],
) -> None:
    cluster, box, _ = world
    ca, port = make_authority(), free_port()
    set_configmap(cluster, {"zone-sync": "true", "zone-sync-port": str(port)})
    controller = started(box, "-zone-sync-require-tls")
    assert eventually(lambda: bool(events(cluster, "ZoneSyncTLSInvalid")), 30)
    (invalid,) = reasons(cluster, "ZoneSyncTLSInvalid")
    assert "-zone-sync-require-tls" in invalid
    assert "zone_sync" not in controller.main()
    assert coffee(controller) == 200
    good = peer(ca)
    cluster.seed([good.secret(NS, SECRET)])
    tls_configmap(cluster, port)
    assert eventually(lambda: served_serial(port, ca.pem, peer(ca)) == good.serial, 30)
    assert controller.stop() == 0
