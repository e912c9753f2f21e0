"""Prometheus metrics under NIC's names, so existing dashboards and alerts keep working.

Every metric carries the label `class` (the ingress class), as NIC's do. Metrics
live in their own registry rather than the process-wide default, so several
controllers can run in one test process.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, disable_created_metrics

NAMESPACE = "nginx_ingress_controller"

# NIC exposes no `_created` series; without this every counter would add one.
disable_created_metrics()  # type: ignore[no-untyped-call]


class Metrics:
    """The controller's metrics; also the NGINX manager's `ReloadObserver`."""

    def __init__(self, ingress_class: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._class = ingress_class
        counter, gauge = self._counter, self._gauge
        self._reloads = counter("nginx_reloads", "Successful NGINX reloads", ("reason",))
        self._reload_errors = counter("nginx_reload_errors", "Failed NGINX reloads", ())
        self._last_reload_status = gauge(
            "nginx_last_reload_status", "1 if the last reload succeeded, else 0", ()
        )
        self._last_reload_milliseconds = gauge(
            "nginx_last_reload_milliseconds", "Duration of the last successful reload", ()
        )
        self._workqueue_depth = gauge("workqueue_depth", "Changes waiting to be applied", ("name",))
        self._zone_sync_enabled = gauge("zone_sync_enabled", "1 if zone sync is switched on", ())
        self._zone_sync_service_ready = gauge(
            "zone_sync_service_ready", "1 if the zone-sync headless Service is in place", ()
        )
        self._zone_sync_nodes_online = gauge(
            "zone_sync_nodes_online", "Zone-sync peers connected (NGINX Plus)", ()
        )
        self._zone_sync_records_pending = gauge(
            "zone_sync_records_pending", "Zone-sync records not yet sent (NGINX Plus)", ("zone",)
        )
        self._zone_sync_records_total = gauge(
            "zone_sync_records_total", "Zone-sync records per zone (NGINX Plus)", ("zone",)
        )
        self._zone_sync_tls_expiry = gauge(
            "zone_sync_tls_certificate_expiry_seconds",
            "When the zone-sync TLS certificate in use expires, seconds since the epoch",
            (),
        )
        self._last_reload_status.labels(self._class).set(0)
        self._reload_errors.labels(self._class)
        self._upstream_server_updates = counter(
            "upstream_server_updates",
            "Upstreams whose servers changed through the NGINX Plus API, without a reload",
            (),
        )
        self._upstream_server_updates.labels(self._class)
        self._ingress_resources = gauge(
            "ingress_resources_total", "Ingresses served, by type", ("type",)
        )
        self._ingress_resources.labels(self._class, "regular").set(0)
        for reason in ("endpoints", "other"):
            self._reloads.labels(self._class, reason)
        self._leader = gauge(
            "leader", "1 if this replica holds the leader-election Lease and writes status", ()
        )
        self._leader.labels(self._class).set(0)
        self._status_updates = counter(
            "ingress_status_updates", "Writes of Ingress status, by result", ("result",)
        )
        for result in ("success", "conflict", "error"):
            self._status_updates.labels(self._class, result)

    def _counter(self, name: str, documentation: str, labels: tuple[str, ...]) -> Counter:
        """A counter whose first label is `class`, as all of NIC's metrics have."""
        return Counter(
            name, documentation, ("class", *labels), namespace=NAMESPACE, registry=self.registry
        )

    def _gauge(self, name: str, documentation: str, labels: tuple[str, ...]) -> Gauge:
        return Gauge(
            name, documentation, ("class", *labels), namespace=NAMESPACE, registry=self.registry
        )

    # ReloadObserver
    def reload_succeeded(self, reason: str, seconds: float) -> None:
        self._reloads.labels(self._class, reason).inc()
        self._last_reload_status.labels(self._class).set(1)
        self._last_reload_milliseconds.labels(self._class).set(round(seconds * 1000))

    def reload_failed(self) -> None:
        self._reload_errors.labels(self._class).inc()
        self._last_reload_status.labels(self._class).set(0)

    def set_workqueue_depth(self, name: str, depth: int) -> None:
        self._workqueue_depth.labels(self._class, name).set(depth)

    def upstream_servers_updated(self, upstreams: int) -> None:
        self._upstream_server_updates.labels(self._class).inc(upstreams)

    def set_ingress_resources(self, regular: int) -> None:
        """Ingresses served (NIC also counts mergeable "master" and "minion", not offered yet)."""
        self._ingress_resources.labels(self._class, "regular").set(regular)

    def track_leader(self, is_leader: Callable[[], bool]) -> None:
        """`leader` asks the elector on every scrape: it turns 0 the moment the renew
        deadline passes, not when the elector's thread next notices."""
        self._leader.labels(self._class).set_function(lambda: 1.0 if is_leader() else 0.0)

    def status_update(self, result: str) -> None:
        """One write of an Ingress's status: `success`, `conflict` or `error`."""
        self._status_updates.labels(self._class, result).inc()

    def set_zone_sync(self, *, enabled: bool, service_ready: bool) -> None:
        self._zone_sync_enabled.labels(self._class).set(int(enabled))
        self._zone_sync_service_ready.labels(self._class).set(int(service_ready))

    def set_zone_sync_status(self, nodes_online: int, zones: Mapping[str, tuple[int, int]]) -> None:
        """`zones`: zone name → (records pending, records total)."""
        self._zone_sync_nodes_online.labels(self._class).set(nodes_online)
        self._zone_sync_records_pending.clear()
        self._zone_sync_records_total.clear()
        for zone, (pending, total) in zones.items():
            self._zone_sync_records_pending.labels(self._class, zone).set(pending)
            self._zone_sync_records_total.labels(self._class, zone).set(total)

    def set_zone_sync_tls_expiry(self, expiry: float | None) -> None:
        """The end of the zone-sync certificate in use; None: no TLS in use (no sample)."""
        if expiry is None:
            self._zone_sync_tls_expiry.clear()
        else:
            self._zone_sync_tls_expiry.labels(self._class).set(expiry)
