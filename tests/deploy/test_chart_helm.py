"""The chart with real Helm (helm-sdkpy) against the local API server: lint, install,
upgrade with zone sync toggled and uninstall for every combination, each rendered manifest
valid for every supported Kubernetes version, and the checks that make Helm refuse."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from chart_cluster import stored_objects
from chart_render import (
    COMBINATIONS,
    KUBERNETES_VERSIONS,
    NAMESPACE,
    RELEASE,
    Combination,
    by_kind,
    documents,
    one,
    schema_problems,
)
from helm_client import CHART, HelmFailed
from helm_world import HelmWorld

LINT_WARNING, LINT_ERROR = 2, 3
"""Helm's lint severities: 1 info, 2 warning, 3 error."""


def names(objects: list[dict[str, Any]]) -> set[str]:
    return {
        f"{o['kind']} {o['metadata'].get('namespace', '')}/{o['metadata']['name']}" for o in objects
    }


def test_helm_lint_passes(helm_world: HelmWorld) -> None:
    result = helm_world.helm.lint()
    assert result["TotalChartsLinted"] == 1
    assert not result["Errors"]
    assert all(m["Severity"] < LINT_WARNING for m in result["Messages"]), result["Messages"]


def test_helm_lint_fails_a_broken_chart(helm_world: HelmWorld, tmp_path: Path) -> None:
    """The lint above can fail: the same chart with one template that cannot render."""
    broken = tmp_path / "nginx-ingress"
    shutil.copytree(CHART, broken)
    (broken / "templates" / "broken.yaml").write_text("{{ .Values.controller.nope.deeper }}\n")
    result = helm_world.helm.lint(broken)
    assert result["Errors"]
    assert {"Severity": LINT_ERROR, "Path": "templates/"} in [
        {"Severity": m["Severity"], "Path": m["Path"]} for m in result["Messages"]
    ]


@pytest.mark.parametrize("combination", COMBINATIONS, ids=lambda c: c.id)
def test_install_upgrade_with_zone_sync_toggled_and_uninstall(
    helm_world: HelmWorld, combination: Combination
) -> None:
    cluster, helm = helm_world.cluster, helm_world.helm
    before = stored_objects(cluster)
    if combination.zone_sync and not combination.plus:
        with pytest.raises(HelmFailed, match=r"zoneSync.enable needs NGINX Plus"):
            helm.install(RELEASE, NAMESPACE, combination.values())
        assert stored_objects(cluster) == before
        assert helm.releases(NAMESPACE) == []
        return

    installed = documents(helm.install(RELEASE, NAMESPACE, combination.values())["manifest"])
    assert schema_problems(installed) == []
    assert stored_objects(cluster) - before == names(installed)
    check_zone_sync(installed, combination)

    toggled = combination.toggled()
    if combination.plus:
        upgraded = documents(helm.upgrade(RELEASE, NAMESPACE, toggled.values())["manifest"])
        assert schema_problems(upgraded) == []
        check_zone_sync(upgraded, toggled)
        stored = cluster.get_object(
            "ConfigMap", NAMESPACE, one(upgraded, "ConfigMap")["metadata"]["name"]
        )
        assert stored is not None
        assert (stored.get("data") or {}).get("zone-sync") == (
            "true" if toggled.zone_sync else None
        )
    else:
        with pytest.raises(HelmFailed, match=r"zoneSync.enable needs NGINX Plus"):
            helm.upgrade(RELEASE, NAMESPACE, toggled.values())
        (release,) = helm.releases(NAMESPACE)
        assert (release["version"], release["info"]["status"]) == (1, "deployed")

    helm.uninstall(RELEASE, NAMESPACE)
    assert stored_objects(cluster) == before
    assert helm.releases(NAMESPACE) == []


def check_zone_sync(objects: list[dict[str, Any]], combination: Combination) -> None:
    data = one(objects, "ConfigMap").get("data") or {}
    if combination.zone_sync:
        assert data == {"zone-sync": "true", "zone-sync-port": "12345"}
    else:
        assert data == {}
    policy = one(objects, "NetworkPolicy")
    zone_sync_rules = [
        rule
        for rule in policy["spec"]["ingress"]
        if {"port": 12345, "protocol": "TCP"} in rule["ports"]
    ]
    assert len(zone_sync_rules) == (1 if combination.plus else 0)


def test_schema_validation_catches_an_unknown_field() -> None:
    """The offline validation the tests rely on does fail: a field no version has."""
    bad = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "x", "namespace": "y"},
        "data": {},
        "dataa": {},
    }
    problems = schema_problems([bad], KUBERNETES_VERSIONS[:1])
    assert len(problems) == 1 and "dataa" in problems[0]


def test_the_oldest_supported_kubernetes_is_the_charts_kube_version() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert chart["kubeVersion"] == f">={KUBERNETES_VERSIONS[0]}.0-0"


REFUSED = [
    pytest.param(
        {"fullnameOverride": "a" * 55},
        r"has 64 characters, at most 63",
        id="headless-service-name-too-long",
    ),
    pytest.param(
        {"controller": {"nginxplus": True, "zoneSync": {"enable": True, "serviceName": "Sync"}}},
        r"at '/controller/zoneSync/serviceName'",
        id="headless-service-name-not-dns-1035",
    ),
    pytest.param(
        {"controller": {"config": {"entries": {"worker-shutdown-timeout": "1m"}}}},
        r"terminationGracePeriodSeconds \(30\) must be at least worker-shutdown-timeout \(60 s\)",
        id="grace-period-below-worker-shutdown-timeout",
    ),
    pytest.param(
        {"controller": {"config": {"entries": {"worker-shutdown-timeout": "26s"}}}},
        r"at least worker-shutdown-timeout \(26 s\) \+ 5 s",
        id="grace-period-without-5-seconds-to-spare",
    ),
    pytest.param(
        {"controller": {"config": {"entries": {"worker-shutdown-timeout": "soon"}}}},
        r"is not an NGINX time",
        id="worker-shutdown-timeout-unreadable",
    ),
    pytest.param(
        {"controller": {"nginxplus": True, "zoneSync": {"enable": True},
                        "config": {"entries": {"zone-sync-port": "4000"}}}},
        r"not with controller.config.entries",
        id="zone-sync-set-twice",
    ),
    pytest.param(
        {"controller": {"nginxplus": True, "zoneSync": {"tls": {"secretName": "zs"}}}},
        r"controller.zoneSync.tls needs zone sync",
        id="zone-sync-tls-without-zone-sync",
    ),
    pytest.param(
        {"controller": {"nginxplus": True, "zoneSync": {"enable": True,
                                                        "tls": {"caSecretName": "ca"}}}},
        r"caSecretName needs a certificate",
        id="zone-sync-tls-ca-without-certificate",
    ),
    pytest.param(
        {"controller": {"nginxplus": True,
                        "zoneSync": {"enable": True, "tls": {"certManager": {"enabled": True}}}}},
        r"needs controller.zoneSync.tls.certManager.issuerRef.name",
        id="zone-sync-tls-cert-manager-without-issuer",
    ),
    pytest.param(
        {"controller": {"nginxplus": True,
                        "zoneSync": {"enable": True, "tls": {"secretName": "zs"}},
                        "config": {"entries": {"zone-sync-tls-ca-secret": "other/ca"}}}},
        r"not with controller.config.entries zone-sync-tls-ca-secret",
        id="zone-sync-tls-set-twice",
    ),
    pytest.param(
        {"controller": {"nginxplus": True, "zoneSync": {"enable": True},
                        "config": {"entries": {"zone-sync-tls-secret": "mine"}}}},
        r"with controller.zoneSync.tls \(secretName, caSecretName\), not with "
        r"controller.config.entries zone-sync-tls-secret",
        id="zone-sync-tls-secret-only-in-entries",  # the Role would not let it be read
    ),
    pytest.param(
        {"controller": {"nginxplus": True,
                        "zoneSync": {"enable": True, "tls": {"secretName": "Bad_Name"}}}},
        r"at '/controller/zoneSync/tls/secretName'",
        id="schema-zone-sync-tls-secret-name",
    ),
    pytest.param(
        {"controller": {"kind": "replicaset"}}, r"at '/controller/kind'", id="schema-kind"
    ),
    pytest.param(
        {"controller": {"zoneSync": {"port": 70000}}},
        r"at '/controller/zoneSync/port'",
        id="schema-zone-sync-port",
    ),
    pytest.param(
        {"controller": {"podDisruptionBudget": {"enabled": True, "minAvailable": 1,
                                                "maxUnavailable": 1}}},
        r"not both",
        id="pdb-both-bounds",
    ),
    pytest.param(
        {"controller": {"kind": "daemonset", "autoscaling": {"enabled": True}}},
        r"does not apply to a daemonset",
        id="daemonset-autoscaling",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("values", "message"), REFUSED)
def test_helm_refuses_values_that_cannot_work(
    helm_world: HelmWorld, values: dict[str, Any], message: str
) -> None:
    before = stored_objects(helm_world.cluster)
    with pytest.raises(HelmFailed, match=message):
        helm_world.helm.install(RELEASE, NAMESPACE, values)
    assert stored_objects(helm_world.cluster) == before
    assert helm_world.helm.releases(NAMESPACE) == []


@pytest.mark.parametrize(
    ("timeout", "grace"), [("25s", 30), ("500ms", 6), ("2m30s", 155), ("40", 45)]
)
def test_a_grace_period_above_worker_shutdown_timeout_is_accepted(
    helm_world: HelmWorld, timeout: str, grace: int
) -> None:
    values = {
        "controller": {
            "terminationGracePeriodSeconds": grace,
            "config": {"entries": {"worker-shutdown-timeout": timeout}},
        }
    }
    objects = documents(helm_world.render.render(values))
    assert one(objects, "ConfigMap")["data"] == {"worker-shutdown-timeout": timeout}
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] == grace


def test_a_nic_values_file_is_read_with_nics_names(helm_world: HelmWorld) -> None:
    """Values in NIC's names (and NIC-only values, which are ignored) render as NIC's do."""
    nic_values = {
        "controller": {
            "kind": "daemonset",
            "nginxplus": True,
            "image": {"repository": "registry.example/nginx-plus-ingress", "tag": "5.5.4"},
            "ingressClass": {"name": "edge", "create": True, "setAsDefaultIngress": True},
            "config": {"name": "edge-config", "entries": {"proxy-read-timeout": "120s"}},
            "logLevel": "debug",
            "nginxStatus": {"port": 8090, "allowCidrs": "10.0.0.0/8"},
            "readyStatus": {"port": 8181},
            "service": {"type": "NodePort", "httpPort": {"nodePort": 30080}},
            "appprotect": {"enable": False},
            "enableCustomResources": False,
            "tolerations": [{"key": "edge", "operator": "Exists"}],
        },
        "prometheus": {"port": 9200},
        "serviceInsight": {"create": False},
    }
    objects = documents(helm_world.render.render(nic_values))
    daemon_set = one(objects, "DaemonSet")
    pod = daemon_set["spec"]["template"]["spec"]
    (controller,) = pod["containers"]
    assert controller["image"] == "registry.example/nginx-plus-ingress:5.5.4"
    assert {
        "-nginx-plus=true",
        "-ingress-class=edge",
        "-nginx-configmaps=$(POD_NAMESPACE)/edge-config",
        "-log-level=debug",
        "-nginx-status-port=8090",
        "-nginx-status-allow-cidrs=10.0.0.0/8",
        "-ready-status-port=8181",
        "-prometheus-metrics-listen-port=9200",
    } <= set(controller["args"])
    assert pod["tolerations"] == [{"key": "edge", "operator": "Exists"}]
    assert "affinity" not in pod  # one pod per node already
    ingress_class = one(objects, "IngressClass")
    assert ingress_class["metadata"]["name"] == "edge"
    assert ingress_class["metadata"]["annotations"] == {
        "ingressclass.kubernetes.io/is-default-class": "true"
    }
    assert ingress_class["spec"] == {"controller": "nginx.org/ingress-controller"}
    assert one(objects, "ConfigMap")["data"] == {"proxy-read-timeout": "120s"}
    service = one(objects, "Service")
    assert service["spec"]["type"] == "NodePort"
    assert service["spec"]["ports"][0]["nodePort"] == 30080
    assert by_kind(objects, "HorizontalPodAutoscaler") == []
    assert schema_problems(objects) == []


def test_every_optional_object_validates(helm_world: HelmWorld) -> None:
    values = {
        "controller": {
            "nginxplus": True,
            "zoneSync": {"enable": True, "port": 34100, "serviceName": "edge-peers"},
            "autoscaling": {"enabled": True},
            "podDisruptionBudget": {"enabled": True, "maxUnavailable": 1},
            "podAntiAffinity": "hard",
            "networkPolicy": {
                "readinessFrom": [{"ipBlock": {"cidr": "10.0.0.0/8"}}],
                "egress": [{"to": [{"namespaceSelector": {}}]}],
            },
            "config": {"entries": {"worker-shutdown-timeout": "20s"}},
        },
        "prometheus": {"service": {"create": True}},
    }
    objects = documents(helm_world.render.render(values))
    assert schema_problems(objects) == []
    kinds = {o["kind"] for o in objects}
    assert {"HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy", "Lease"} <= kinds
    deployment = one(objects, "Deployment")
    assert "replicas" not in deployment["spec"]  # the autoscaler owns it
    pod = deployment["spec"]["template"]["spec"]
    assert "requiredDuringSchedulingIgnoredDuringExecution" in pod["affinity"]["podAntiAffinity"]
    assert "-zone-sync-service-name=edge-peers" in pod["containers"][0]["args"]
    assert one(objects, "ConfigMap")["data"] == {
        "worker-shutdown-timeout": "20s",
        "zone-sync": "true",
        "zone-sync-port": "34100",
    }
    policy = one(objects, "NetworkPolicy")["spec"]
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    ports = [rule["ports"][0]["port"] for rule in policy["ingress"]]
    assert ports == [80, 34100, 9113, 8081]


@pytest.mark.parametrize("kind", ["deployment", "daemonset", "statefulset"])
def test_the_pod_is_non_root_read_only_and_probed_for_readiness_only(
    helm_world: HelmWorld, kind: str
) -> None:
    objects = documents(helm_world.render.render({"controller": {"kind": kind}}))
    pod = next(o for o in objects if o["kind"].lower() == kind)["spec"]["template"]["spec"]
    (controller,) = pod["containers"]
    assert controller["readinessProbe"]["httpGet"] == {
        "path": "/nginx-ready",
        "port": "readiness-port",
    }
    assert "livenessProbe" not in controller  # a busy NGINX must not be killed
    assert controller["securityContext"] == {
        "runAsUser": 101,
        "runAsGroup": 101,
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
    }
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    mounts = {m["mountPath"]: m["name"] for m in controller["volumeMounts"]}
    empty_dirs = {v["name"] for v in pod["volumes"] if v.get("emptyDir") == {}}
    assert set(mounts) == {
        "/etc/nginx",
        "/var/lib/nginx",
        "/var/cache/nginx",
        "/var/log/nginx",
        "/tmp",
    }
    assert set(mounts.values()) == empty_dirs
    assert {e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"] for e in controller["env"]} == {
        "POD_NAMESPACE": "metadata.namespace",
        "POD_NAME": "metadata.name",
    }
    assert ("affinity" in pod) == (kind != "daemonset")


def test_the_clusterrole_writes_nothing_but_ingress_status_and_events(
    helm_world: HelmWorld,
) -> None:
    """Cluster-wide, only Ingress status and the Events the controller posts on Ingresses in
    their namespaces; every other write is in the namespaced Role."""
    objects = documents(helm_world.render.render({"controller": {"nginxplus": True}}))
    read = {"get", "list", "watch"}
    writes = [
        (rule["resources"], rule["verbs"])
        for rule in one(objects, "ClusterRole")["rules"]
        if set(rule["verbs"]) - read
    ]
    assert sorted(writes) == [(["events"], ["create"]), (["ingresses/status"], ["update"])]
    service_writes = [
        r for r in one(objects, "Role")["rules"]
        if "services" in r["resources"] and set(r["verbs"]) - read
    ]  # fmt: skip
    assert service_writes and all(
        r.get("resourceNames") == ["nginx-ingress-headless"] or r["verbs"] == ["create"]
        for r in service_writes
    )


def zone_sync_secret_rule(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in one(objects, "Role")["rules"] if r["resources"] == ["secrets"]]


def test_zone_sync_over_tls_with_a_cert_manager_certificate(helm_world: HelmWorld) -> None:
    """One value: the Certificate (the headless Service's name and its wildcard, server and
    client authentication), its Secret in the ConfigMap, and the Role reads that Secret only."""
    values = {
        "controller": {
            "nginxplus": True,
            "clusterDomain": "corp.example",
            "zoneSync": {
                "enable": True,
                "requireTLS": True,
                "tls": {"certManager": {"enabled": True, "issuerRef": {"name": "zone-sync-ca"}}},
            },
        }
    }
    objects = documents(helm_world.render.render(values))
    assert schema_problems(objects) == []
    secret = f"{RELEASE}-zone-sync-tls"
    assert one(objects, "ConfigMap")["data"] == {
        "zone-sync": "true",
        "zone-sync-port": "12345",
        "zone-sync-tls-secret": secret,
    }
    fqdn = f"{RELEASE}-headless.{NAMESPACE}.svc.corp.example"
    certificate = one(objects, "Certificate")
    assert certificate["spec"] == {
        "secretName": secret,
        "issuerRef": {"name": "zone-sync-ca", "kind": "Issuer", "group": "cert-manager.io"},
        "dnsNames": [fqdn, f"*.{fqdn}"],
        "usages": ["digital signature", "key encipherment", "server auth", "client auth"],
        "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
        "duration": "2160h",
        "renewBefore": "360h",
    }
    assert zone_sync_secret_rule(objects) == [
        {"apiGroups": [""], "resources": ["secrets"], "resourceNames": [secret],
         "verbs": ["list", "watch"]}
    ]  # fmt: skip
    args = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert {"-zone-sync-require-tls=true", "-cluster-domain=corp.example"} <= set(args)
    # The NetworkPolicy stays: TLS keeps strangers out of the sync, the policy off the port.
    assert zone_sync_peers_rule(objects)


def zone_sync_peers_rule(objects: list[dict[str, Any]]) -> bool:
    policy = one(objects, "NetworkPolicy")
    return any(
        {"port": 12345, "protocol": "TCP"} in rule["ports"] and "from" in rule
        for rule in policy["spec"]["ingress"]
    )


def test_zone_sync_over_tls_with_secrets_of_ones_own(helm_world: HelmWorld) -> None:
    values = {
        "controller": {
            "nginxplus": True,
            "zoneSync": {"enable": True, "tls": {"secretName": "zs", "caSecretName": "zs-ca"}},
        }
    }
    objects = documents(helm_world.render.render(values))
    assert schema_problems(objects) == []
    data = one(objects, "ConfigMap")["data"]
    assert (data["zone-sync-tls-secret"], data["zone-sync-tls-ca-secret"]) == ("zs", "zs-ca")
    assert by_kind(objects, "Certificate") == []
    (rule,) = zone_sync_secret_rule(objects)
    assert rule["resourceNames"] == ["zs", "zs-ca"]
    # Zone sync off, or clear text: no Secret read.
    off = documents(helm_world.render.render({"controller": {"nginxplus": True}}))
    assert zone_sync_secret_rule(off) == []
    args = one(off, "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "-zone-sync-require-tls=false" in args


def test_the_production_values(helm_world: HelmWorld) -> None:
    """values-production.yaml: NGINX Plus, zone sync over TLS from cert-manager, and
    -zone-sync-require-tls, so that a missing certificate never means clear text."""
    values = yaml.safe_load((CHART / "values-production.yaml").read_text())
    objects = documents(helm_world.render.render(values))
    assert schema_problems(objects) == []
    args = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert {"-nginx-plus=true", "-zone-sync-require-tls=true"} <= set(args)
    assert one(objects, "ConfigMap")["data"]["zone-sync-tls-secret"] == f"{RELEASE}-zone-sync-tls"
    assert one(objects, "Certificate")["spec"]["secretName"] == f"{RELEASE}-zone-sync-tls"
    assert zone_sync_peers_rule(objects)
    assert by_kind(objects, "PodDisruptionBudget")
