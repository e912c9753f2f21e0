"""The controller under exactly the RBAC the chart installs, authenticated with the chart's
ServiceAccount token: the zone-sync lifecycle driven by `helm upgrade`, for each workload kind.
The local API server enforces the Roles Helm stored, so a missing verb fails a test; and every
verb granted but never used is either pending (below, with its reason) or a failure.

The routing scenario runs beside the zone-sync one (the same `chart_world` fixture, with
Ingresses, their Services, EndpointSlices and a TLS Secret seeded), and so do leader
election and Ingress status: two replicas, the Lease Helm created, the chart's
LoadBalancer Service as the address, or the pods' nodes when the Service is a NodePort.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from nginx_ingress_dev.devcluster import DevCluster
from status_helpers import leaders, metric

from backends import backends
from certificates import Pem, make_authority, make_certificate
from chart_cluster import stored_objects
from chart_render import NAMESPACE, RELEASE, container, one, workload
from chart_world import USER, ChartWorld
from controller_harness import Controller, events, eventually, handled
from nginx_sandbox import free_port
from rbac_usage import Grant


def lease_of(cluster: DevCluster, name: str) -> str | None:
    lease = cluster.get_object("Lease", NAMESPACE, name)
    return None if lease is None else (lease.get("spec") or {}).get("holderIdentity")


HEADLESS = f"{RELEASE}-headless"
KINDS = {"deployment": "Deployment", "daemonset": "DaemonSet", "statefulset": "StatefulSet"}

PENDING: dict[tuple[str, str, str, str], str] = {
    # (scope: "cluster" or "namespace", API group, resource, verb): why it is granted before
    # the controller uses it. A used entry fails the test too: then delete it here.
}

STATUS_ELSEWHERE = {
    # Used by test_leader_election_and_status_under_the_charts_rbac, not by scenarios that
    # have no address to report or never lose the Lease the chart creates.
    Grant("cluster", "networking.k8s.io", "ingresses/status", "update"),
    Grant(NAMESPACE, "coordination.k8s.io", "leases", "create"),
}
LEFTOVER_CLEANUP = Grant(NAMESPACE, "", "services", "delete")
"""NGINX OSS: used only to delete a Service an earlier NGINX Plus run left (tested below)."""


PENDING_OSS = PENDING

SCALE_ONLY = {Grant(NAMESPACE, "", "pods", verb) for verb in ("list", "watch")}
"""Used once an Ingress asks for `nginx.org/limit-req-scale` (the ready replicas counted), or
for Ingress status without an external Service (the pods' nodes)."""


def pending_for(rendered: list[dict[str, Any]]) -> Callable[[Grant], bool]:
    allowed = PENDING if "-nginx-plus=true" in container(rendered)["args"] else PENDING_OSS

    def pending(grant: Grant) -> bool:
        scope = "cluster" if grant.scope == "cluster" else "namespace"
        return (scope, grant.group, grant.resource, grant.verb) in allowed

    return pending


def scaled_ingress(namespace: str) -> dict[str, Any]:
    """An Ingress asking for `limit-req-scale`: the controller counts its replicas' pods."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "namespace": namespace,
            "name": "scaled",
            "annotations": {
                "nginx.org/limit-req-rate": "10r/s",
                "nginx.org/limit-req-scale": "true",
            },
        },
        "spec": {
            "ingressClassName": "nginx",
            "rules": [
                {
                    "host": "scaled.example",
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "web", "port": {"number": 80}}},
                            }
                        ]
                    },
                }
            ],
        },
    }


def scaled_rate(controller: Controller, namespace: str) -> str | None:
    """The rate of the scaled Ingress's zone in the controller's files (None: not there)."""
    for found in (controller.conf_dir / "conf.d").glob(f"{namespace}-scaled*.conf"):
        match = re.search(r" rate=(\S+);", found.read_text())
        if match:
            return match.group(1)
    return None


def zone_sync_on(main: str) -> bool:
    """The zone-sync server is in nginx.conf (not just the words in a temporary path)."""
    return "zone_sync;" in main or "zone_sync_server " in main


def zone_sync_server(port: int) -> str:
    return f"zone_sync_server {HEADLESS}.{NAMESPACE}.svc.cluster.local:{port} resolve;"


def zone_sync_peers(policy: dict[str, Any], port: int) -> list[dict[str, Any]]:
    """The sources the NetworkPolicy admits to the zone-sync port."""
    rules = [
        r for r in policy["spec"]["ingress"] if {"port": port, "protocol": "TCP"} in r["ports"]
    ]
    return [peer for rule in rules for peer in rule.get("from", [{"anywhere": True}])]


@pytest.mark.parametrize("kind", list(KINDS))
def test_zone_sync_lifecycle_under_the_charts_rbac(chart_world: ChartWorld, kind: str) -> None:
    world, cluster = chart_world, chart_world.cluster
    before = stored_objects(cluster)

    def values(**zone_sync: Any) -> dict[str, Any]:
        return {
            "controller": {
                "kind": kind,
                "nginxplus": True,
                "replicaCount": 2,
                "zoneSync": zone_sync,
            }
        }

    cluster.seed([scaled_ingress(NAMESPACE)])
    rendered = world.install(values(enable=False))
    configmap = one(rendered, "ConfigMap")["metadata"]["name"]
    controllers = world.start(rendered, replicas=2)
    # Without zone sync, each of the two ready replicas limits to half the rate.
    assert eventually(lambda: all(scaled_rate(c, NAMESPACE) == "5r/s" for c in controllers), 30)
    version = cluster.get_object("ConfigMap", NAMESPACE, configmap)["metadata"]["resourceVersion"]  # type: ignore[index]
    assert eventually(lambda: handled(cluster, version), 30)
    assert eventually(lambda: all(c.main() for c in controllers), 30)
    assert not any(zone_sync_on(c.main()) for c in controllers)
    assert cluster.get_object("Service", NAMESPACE, HEADLESS) is None

    # On: the Service first (selecting the workload's pods, owned by the workload), then NGINX.
    rendered = world.upgrade(values(enable=True))
    assert eventually(lambda: all(zone_sync_server(12345) in c.main() for c in controllers), 30)
    service = cluster.get_object("Service", NAMESPACE, HEADLESS)
    assert service is not None
    stored = cluster.get_object(KINDS[kind], NAMESPACE, workload(rendered)["metadata"]["name"])
    assert stored is not None
    assert service["spec"]["clusterIP"] == "None" and service["spec"]["publishNotReadyAddresses"]
    assert service["spec"]["ports"] == [
        {"name": "zone-sync", "port": 12345, "targetPort": 12345, "protocol": "TCP"}
    ]
    selector = stored["spec"]["selector"]["matchLabels"]
    assert service["spec"]["selector"] == selector
    (owner,) = service["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["uid"]) == (KINDS[kind], stored["metadata"]["uid"])
    # The NetworkPolicy admits the zone-sync port from exactly the pods the Service selects.
    assert zone_sync_peers(one(rendered, "NetworkPolicy"), 12345) == [
        {"podSelector": {"matchLabels": selector}}
    ]
    if kind == "statefulset":
        assert stored["spec"]["serviceName"] == HEADLESS

    # Port change: the Service, NGINX and the NetworkPolicy follow the one value.
    rendered = world.upgrade(values(enable=True, port=34100))
    assert eventually(
        lambda: all(
            zone_sync_server(34100) in c.main() and "listen 34100;" in c.main() for c in controllers
        ),
        30,
    )
    service = cluster.get_object("Service", NAMESPACE, HEADLESS)
    assert service is not None and service["spec"]["ports"][0]["port"] == 34100
    assert zone_sync_peers(one(rendered, "NetworkPolicy"), 34100) == [
        {"podSelector": {"matchLabels": selector}}
    ]

    # Off: NGINX drops the zone-sync server, then the Service goes.
    world.upgrade(values(enable=False))
    assert eventually(lambda: cluster.get_object("Service", NAMESPACE, HEADLESS) is None, 30)
    assert not any(zone_sync_on(c.main()) for c in controllers)

    assert world.forbidden() == []
    assert not events(cluster, "ZoneSyncServiceFailed")
    never_used, pending_but_used = world.unused_grants(rendered, pending_for(rendered))
    # `get` of the Service is used only by the replica that loses the race to create it.
    never_used -= {Grant(NAMESPACE, "", "services", "get")}
    assert never_used == STATUS_ELSEWHERE, sorted(map(str, never_used))
    assert not pending_but_used, (
        f"used now, remove from PENDING: {sorted(map(str, pending_but_used))}"
    )

    assert all(c.stop() == 0 for c in controllers)
    world.helm.uninstall(RELEASE, NAMESPACE)
    cluster.delete_object("Ingress", NAMESPACE, "scaled")
    assert eventually(lambda: stored_objects(cluster) == before, 10), (
        stored_objects(cluster) - before
    )


def test_nginx_oss_serves_under_the_charts_rbac_and_removes_a_plus_leftover(
    chart_world: ChartWorld,
) -> None:
    """On NGINX OSS the Role grants only `delete` of the headless Service: the controller
    uses it for a Service an earlier NGINX Plus run left, and real NGINX serves."""
    world, cluster = chart_world, chart_world.cluster
    cluster.seed([
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": HEADLESS,
                "namespace": NAMESPACE,
                "labels": {
                    "app.kubernetes.io/managed-by": "nginx-ingress-controller",
                    "app.kubernetes.io/component": "zone-sync",
                },
            },
            "spec": {"clusterIP": "None", "ports": [{"name": "zone-sync", "port": 12345}]},
        }
    ])  # fmt: skip
    rendered = world.install({"controller": {"kind": "deployment"}})
    (controller,) = world.start(rendered, replicas=1)
    assert eventually(lambda: controller.http_status("ready", "/nginx-ready") == 200, 30)
    assert eventually(lambda: cluster.get_object("Service", NAMESPACE, HEADLESS) is None, 30)
    assert controller.http_status("http", "/") == 404  # NGINX's catch-all server
    stored = cluster.get_object(
        "ConfigMap", NAMESPACE, one(rendered, "ConfigMap")["metadata"]["name"]
    )
    assert stored is not None
    assert eventually(lambda: handled(cluster, stored["metadata"]["resourceVersion"]), 30)
    assert world.forbidden() == []
    never_used, pending_but_used = world.unused_grants(rendered, pending_for(rendered))
    never_used -= SCALE_ONLY  # no Ingress here asks for it: the routing test below does
    assert never_used == STATUS_ELSEWHERE, sorted(map(str, never_used))
    assert not pending_but_used, (
        f"used now, remove from PENDING: {sorted(map(str, pending_but_used))}"
    )
    assert controller.stop() == 0


def test_the_local_api_server_enforces_the_charts_rules(chart_world: ChartWorld) -> None:
    """The tests above can fail: without `create` on Services in the stored Role, the
    controller is refused (403), reports it, and keeps zone sync off."""
    world, cluster = chart_world, chart_world.cluster
    rendered = world.install({"controller": {"nginxplus": True, "zoneSync": {"enable": True}}})
    role = cluster.get_object("Role", NAMESPACE, one(rendered, "Role")["metadata"]["name"])
    assert role is not None
    role["rules"] = [
        r for r in role["rules"] if r["verbs"] != ["create"] or r["resources"] != ["services"]
    ]
    cluster.seed([role])
    (controller,) = world.start(rendered, replicas=1)
    assert eventually(lambda: bool(events(cluster, "ZoneSyncServiceFailed")), 30)
    assert "create services" in " ".join(world.forbidden())
    assert controller.main() and not zone_sync_on(controller.main())


def test_routing_under_the_charts_rbac(chart_world: ChartWorld) -> None:
    """Ingresses in another namespace, their Service, EndpointSlice and TLS Secret: the
    controller lists and watches them cluster-wide, posts its events on the Ingress there,
    and real NGINX routes to a real backend, with nothing refused and nothing granted idle."""
    world, cluster = chart_world, chart_world.cluster
    app = "shop"
    pem = make_certificate("secure.shop.example")
    with backends("web") as started:
        seed_app_ingress(cluster, app, secure=pem)
        cluster.seed([scaled_ingress(app)])
        cluster.publish_endpoints(app, "web", ["127.0.0.1"], {"http": started["web"].port})
        rendered = world.install({"controller": {"kind": "deployment"}})
        (controller,) = world.start(rendered, replicas=1)
        assert eventually(lambda: controller.http_status("ready", "/nginx-ready") == 200, 30)
        # NGINX OSS: the one ready replica is counted from the pods the chart's selector names.
        assert scaled_rate(controller, app) == "10r/s"
        answer = controller.request("http", "/", host="web.shop.example")
        assert answer is not None and answer[0] == 200 and answer[1].startswith("web "), answer
        assert (controller.conf_dir / "secrets" / f"{app}-secure-tls").exists()
        assert eventually(
            lambda: any(
                e["reason"] == "AddedOrUpdated" and e["involvedObject"]["name"] == "web"
                for e in cluster.objects("Event", app)
            ),
            30,
        )
        assert world.forbidden() == []
        never_used, pending_but_used = world.unused_grants(rendered, pending_for(rendered))
        # The chart's LoadBalancer Service has no address here: nothing to write.
        assert never_used == {LEFTOVER_CLEANUP, *STATUS_ELSEWHERE}, sorted(map(str, never_used))
        assert not pending_but_used, (
            f"used now, remove from PENDING: {sorted(map(str, pending_but_used))}"
        )
        assert controller.stop() == 0


def seed_app_ingress(cluster: DevCluster, app: str = "shop", *, secure: Pem | None = None) -> None:
    """Namespace `app`, its Service web and an Ingress web routing web.shop.example to it;
    with `secure`, also secure.shop.example over TLS, `secure` its Secret secure-tls."""
    hosts = ["web.shop.example"]
    tls: dict[str, Any] = {}
    if secure is not None:
        hosts.append("secure.shop.example")
        tls["tls"] = [{"hosts": ["secure.shop.example"], "secretName": "secure-tls"}]
    cluster.seed([
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": app}},
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"namespace": app, "name": "web"},
            "spec": {"ports": [{"name": "http", "port": 80, "protocol": "TCP"}]},
        },
        *([] if secure is None else [secure.secret(app, "secure-tls")]),
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {"namespace": app, "name": "web"},
            "spec": {
                "ingressClassName": "nginx",
                **tls,
                "rules": [
                    {
                        "host": host,
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {"service": {"name": "web", "port": {"number": 80}}},
                                }
                            ]
                        },
                    }
                    for host in hosts
                ],
            },
        },
    ])  # fmt: skip


def ingress_status(cluster: DevCluster, app: str = "shop") -> list[dict[str, Any]]:
    found = cluster.get_object("Ingress", app, "web")
    assert found is not None
    return list(((found.get("status") or {}).get("loadBalancer") or {}).get("ingress") or [])


def set_load_balancer(cluster: DevCluster, address: str) -> None:
    service = cluster.get_object("Service", NAMESPACE, f"{RELEASE}-controller")
    assert service is not None
    service["status"] = {"loadBalancer": {"ingress": [{"ip": address}]}}
    cluster.seed([service])


def test_leader_election_and_status_under_the_charts_rbac(chart_world: ChartWorld) -> None:
    """Two replicas, the Lease Helm created (empty), the chart's LoadBalancer Service as the
    address: one leader writes the Ingress's status through `ingresses/status`, follows the
    Service's address, and creates the Lease again when someone deletes it."""
    world, cluster = chart_world, chart_world.cluster
    seed_app_ingress(cluster)
    rendered = world.install({"controller": {"kind": "deployment", "replicaCount": 2}})
    lock = one(rendered, "Lease")["metadata"]["name"]
    assert not cluster.get_object("Lease", NAMESPACE, lock).get("spec")  # type: ignore[union-attr]
    set_load_balancer(cluster, "192.0.2.80")
    controllers = world.start(rendered, replicas=2)
    assert eventually(lambda: ingress_status(cluster) == [{"ip": "192.0.2.80"}], 30)
    assert eventually(lambda: len(leaders(controllers)) == 1, 30)
    holder = lease_of(cluster, lock)
    assert holder in {p["metadata"]["name"] for p in cluster.objects("Pod", NAMESPACE)}
    # Once the follower has seen who leads, it waits for a deleted Lease as for an expired one.
    assert eventually(
        lambda: all(
            f"{holder} is the leader" in c.output() or c in leaders(controllers)
            for c in controllers
        ),
        30,
    )

    cluster.delete_object("Lease", NAMESPACE, lock)
    assert eventually(lambda: lease_of(cluster, lock) == holder, 30)  # the leader's create
    set_load_balancer(cluster, "192.0.2.81")
    assert eventually(lambda: ingress_status(cluster) == [{"ip": "192.0.2.81"}], 30)
    assert len(leaders(controllers)) == 1

    assert world.forbidden() == []
    never_used, pending_but_used = world.unused_grants(rendered, pending_for(rendered))
    # The pods are watched for limit-req-scale or the status by node: the next test.
    assert never_used == {LEFTOVER_CLEANUP, *SCALE_ONLY}, sorted(map(str, never_used))
    assert not pending_but_used
    assert all(c.stop() == 0 for c in controllers)


def test_status_from_the_pods_nodes_under_the_charts_rbac(chart_world: ChartWorld) -> None:
    """A NodePort Service: no external Service, so the controller watches its pods (the
    Role grants list and watch on them only then) and reports their nodes."""
    world, cluster = chart_world, chart_world.cluster
    seed_app_ingress(cluster)
    values = {"controller": {"kind": "deployment", "service": {"type": "NodePort"}}}
    rendered = world.install(values)
    assert "-external-service" not in " ".join(container(rendered)["args"])
    (controller,) = world.start(rendered, replicas=1)
    (pod,) = cluster.objects("Pod", NAMESPACE)
    pod["status"] = {"phase": "Running", "hostIP": "10.9.0.4"}
    cluster.seed([pod])
    assert eventually(lambda: ingress_status(cluster) == [{"ip": "10.9.0.4"}], 30)
    assert eventually(lambda: bool(cluster.objects("Event", "shop")), 30)
    assert world.forbidden() == []
    never_used, _ = world.unused_grants(rendered, pending_for(rendered))
    leases_create = Grant(NAMESPACE, "coordination.k8s.io", "leases", "create")
    assert never_used == {LEFTOVER_CLEANUP, leases_create}, sorted(map(str, never_used))
    assert controller.stop() == 0


def test_without_the_status_grant_writes_are_refused_and_serving_goes_on(
    chart_world: ChartWorld,
) -> None:
    """The scenarios above can fail: without `update` on `ingresses/status` in the stored
    ClusterRole, the leader's writes are refused (403), counted, and routing goes on."""
    world, cluster = chart_world, chart_world.cluster
    seed_app_ingress(cluster)
    rendered = world.install({"controller": {"kind": "deployment"}})
    name = one(rendered, "ClusterRole")["metadata"]["name"]
    cluster_role = cluster.get_object("ClusterRole", "", name)
    assert cluster_role is not None
    cluster_role["rules"] = [
        r for r in cluster_role["rules"] if r["resources"] != ["ingresses/status"]
    ]
    cluster.seed([cluster_role])
    set_load_balancer(cluster, "192.0.2.80")
    (controller,) = world.start(rendered, replicas=1)
    assert eventually(lambda: "update ingresses/status shop/web" in world.forbidden(), 30)
    assert ingress_status(cluster) == []
    assert eventually(
        lambda: (metric(controller, "ingress_status_updates_total", result="error") or 0) >= 1
    )
    assert eventually(lambda: controller.http_status("ready", "/nginx-ready") == 200, 30)


def test_zone_sync_over_tls_reads_its_secrets_by_name_only(chart_world: ChartWorld) -> None:
    """The zone-sync TLS Secret (kubernetes.io/tls, no ca.crt) and a CA Secret of NIC's type
    nginx.org/ca, which the ClusterRole's read of TLS Secrets does not cover: the Role grants
    list and watch of those two names, and that is enough. To show it, the ClusterRole's
    cluster-wide Secret read is taken away (routing reads its TLS Secrets in `shop`, through a
    Role there): the controller still runs zone sync over TLS, with nothing refused."""
    world, cluster = chart_world, chart_world.cluster
    fqdn = f"{HEADLESS}.{NAMESPACE}.svc.cluster.local"
    ca, port = make_authority(), free_port()
    cluster.seed([
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}},
        ca.issue(fqdn, f"*.{fqdn}").without_ca().secret(NAMESPACE, "zone-sync-tls"),
        ca.secret(NAMESPACE, "zone-sync-ca"),
        ca.secret(NAMESPACE, "unrelated", "Opaque"),
    ])  # fmt: skip
    rendered = world.install(
        {
            "controller": {
                "nginxplus": True,
                "watchSecretNamespace": "shop",
                "zoneSync": {
                    "enable": True,
                    "port": port,
                    "requireTLS": True,
                    "tls": {"secretName": "zone-sync-tls", "caSecretName": "zone-sync-ca"},
                },
            }
        }
    )
    cluster_role = cluster.get_object(
        "ClusterRole", "", one(rendered, "ClusterRole")["metadata"]["name"]
    )
    assert cluster_role is not None
    for rule in cluster_role["rules"]:
        rule["resources"] = [r for r in rule["resources"] if r != "secrets"]
    reader = {"apiGroups": [""], "resources": ["secrets"], "verbs": ["list", "watch"]}
    cluster.seed([
        cluster_role,
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
         "metadata": {"name": "tls-reader", "namespace": "shop"}, "rules": [reader]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": "tls-reader", "namespace": "shop"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                     "name": "tls-reader"},
         "subjects": [{"kind": "ServiceAccount", "name": RELEASE, "namespace": NAMESPACE}]},
    ])  # fmt: skip
    (controller,) = world.start(rendered, replicas=1)  # one: the TLS listener binds the port
    assert eventually(lambda: "zone_sync_ssl_verify on;" in controller.main(), 30), (
        controller.output()[-3000:]
    )
    assert f"listen {port} ssl;" in controller.main()
    stored = cluster.get_object(
        "ConfigMap", NAMESPACE, one(rendered, "ConfigMap")["metadata"]["name"]
    )
    assert stored is not None
    assert eventually(lambda: handled(cluster, stored["metadata"]["resourceVersion"]), 30)
    assert world.forbidden() == []
    assert not events(cluster, "ZoneSyncTLSInvalid")
    never_used, pending_but_used = world.unused_grants(rendered, pending_for(rendered))
    # The Service's get, update and delete: the zone-sync lifecycle test above uses them.
    never_used -= {Grant(NAMESPACE, "", "services", v) for v in ("get", "update", "delete")}
    never_used -= SCALE_ONLY | STATUS_ELSEWHERE
    assert not never_used, sorted(map(str, never_used))
    assert not pending_but_used, sorted(map(str, pending_but_used))
    # Every Secret read named its Secret: nothing else in the namespace was listed.
    reads = [
        record.path + "?" + record.query
        for record in cluster.request_log
        if record.user == USER
        and "/secrets" in record.path
        and f"/namespaces/{NAMESPACE}/" in record.path
    ]
    assert reads and all(
        "metadata.name%3Dzone-sync-tls" in r or "metadata.name%3Dzone-sync-ca" in r for r in reads
    ), reads
    assert controller.stop() == 0
