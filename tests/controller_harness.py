"""Run `nginx-ingress run` as a real process against the local API server.

The cluster holds what a real one would for a controller Deployment: its
namespace, the Deployment → ReplicaSet → Pod chain (with the pod-template-hash a
real ReplicaSet adds), and the controller's ConfigMap. Each controller process
gets its own conf and run directories and free ports, and logs to a file that is
printed when a test fails.
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from nginx_ingress.deathsignal import death_signal_setter
from nginx_ingress_dev.devcluster import DevCluster, RbacAuthorizer

from backends import Backend, backends
from nginx_check import nginx_binary
from nginx_sandbox import free_port

COMMAND = Path(sys.executable).parent / "nginx-ingress"
STANDIN = Path(sys.executable).parent / "nginx-plus-standin"
"""The NGINX Plus stand-in (docs/plus-standin.md): NGINX Plus for `-nginx-plus` runs."""
NS = "nginx-ingress"
CONFIGMAP = "nginx-config"
SERVICE = "nginx-ingress-headless"
HASH = "7c9d5f"
APP = "apps"
"""The namespace of the applications `app_world` runs."""


def cluster_objects(replicas: int = 2) -> list[dict[str, Any]]:
    labels = {"app.kubernetes.io/name": "nginx-ingress", "app.kubernetes.io/instance": "edge"}
    objects: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}},
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "IngressClass",
            "metadata": {"name": "nginx"},
            "spec": {"controller": "nginx.org/ingress-controller"},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "nginx-ingress", "namespace": NS, "labels": labels},
            "spec": {
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}},
            },
        },
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": f"nginx-ingress-{HASH}",
                "namespace": NS,
                "labels": {**labels, "pod-template-hash": HASH},
                "ownerReferences": [_owner("Deployment", "nginx-ingress")],
            },
            "spec": {"selector": {"matchLabels": {**labels, "pod-template-hash": HASH}}},
        },
    ]
    for n in range(replicas):
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": f"nginx-ingress-{HASH}-{n}",
                    "namespace": NS,
                    "labels": {**labels, "pod-template-hash": HASH},
                    "ownerReferences": [_owner("ReplicaSet", f"nginx-ingress-{HASH}")],
                },
                "spec": {"containers": [{"name": "controller", "image": "nginx-ingress"}]},
                "status": {"conditions": [{"type": "Ready", "status": "True"}]},
            }
        )
    return objects


def _owner(kind: str, name: str) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": kind, "name": name, "uid": "", "controller": True}


ROUTING_READS: list[dict[str, Any]] = [
    {
        "kind": "ClusterRole",
        "metadata": {"name": "routing-reads"},
        "rules": [
            {
                "apiGroups": [""],
                "resources": ["services", "secrets"],
                "verbs": ["get", "list", "watch"],
            },
            {
                "apiGroups": ["networking.k8s.io"],
                "resources": ["ingresses", "ingressclasses"],
                "verbs": ["get", "list", "watch"],
            },
            {
                "apiGroups": ["discovery.k8s.io"],
                "resources": ["endpointslices"],
                "verbs": ["get", "list", "watch"],
            },
        ],
    },
    {
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "routing-reads"},
        "roleRef": {"kind": "ClusterRole", "name": "routing-reads"},
        "subjects": [{"kind": "ServiceAccount", "name": "nginx-ingress", "namespace": NS}],
    },
]
"""What every controller reads cluster-wide to route, for tests that enforce RBAC."""

SA_TOKEN = "sa-token"
"""The controller's ServiceAccount token on an `rbac_cluster`."""


def rbac_cluster(factory: Callable[..., DevCluster], rules: list[dict[str, Any]]) -> DevCluster:
    """A local API server that enforces RBAC: the controller's ServiceAccount (`SA_TOKEN`)
    holds `rules` in `NS`, and `ROUTING_READS`."""
    rbac = RbacAuthorizer.from_manifests(
        [
            {"kind": "Role", "metadata": {"name": "controller", "namespace": NS}, "rules": rules},
            {
                "kind": "RoleBinding",
                "metadata": {"name": "controller", "namespace": NS},
                "roleRef": {"kind": "Role", "name": "controller"},
                "subjects": [{"kind": "ServiceAccount", "name": "nginx-ingress", "namespace": NS}],
            },
            *ROUTING_READS,
        ]
    )
    return factory(tokens={SA_TOKEN: f"system:serviceaccount:{NS}:nginx-ingress"}, rbac=rbac)


def seed_cluster(cluster: DevCluster, replicas: int = 2) -> None:
    """Seed the objects in order, giving each owner reference its owner's real uid."""
    uids: dict[tuple[str, str], str] = {}
    for obj in cluster_objects(replicas):
        for reference in obj["metadata"].get("ownerReferences", []):
            reference["uid"] = uids[(reference["kind"], reference["name"])]
        (stored,) = cluster.seed([obj])
        uids[(obj["kind"], obj["metadata"]["name"])] = stored["metadata"]["uid"]


def set_configmap(cluster: DevCluster, data: dict[str, str]) -> str:
    """Create or replace the controller's ConfigMap; returns its new resourceVersion."""
    (stored,) = cluster.seed(
        [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": CONFIGMAP, "namespace": NS},
                "data": data,
            }
        ]
    )
    return str(stored["metadata"]["resourceVersion"])


def eventually(
    condition: Callable[[], bool], timeout: float = 15.0, interval: float = 0.02
) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()


def events(cluster: DevCluster, reason: str | None = None) -> list[dict[str, Any]]:
    found = cluster.objects("Event", NS)
    return [e for e in found if reason is None or e.get("reason") == reason]


def handled(cluster: DevCluster, resource_version: str) -> bool:
    """True once the controller reported on that version of the ConfigMap."""
    return any(
        e["involvedObject"].get("resourceVersion") == resource_version
        and e["reason"] in ("Updated", "UpdatedWithError")
        for e in events(cluster)
    )


@dataclass
class Controller:
    process: subprocess.Popen[bytes]
    root: Path
    ports: dict[str, int]
    log: Path
    exited: bool = field(default=False)

    @property
    def conf_dir(self) -> Path:
        return self.root / "conf"

    @property
    def run_dir(self) -> Path:
        return self.root / "run"

    def main(self) -> str:
        try:
            return (self.conf_dir / "nginx.conf").read_text()
        except FileNotFoundError:
            return ""

    def http_status(self, port_name: str, path: str) -> int | None:
        connection = http.client.HTTPConnection("127.0.0.1", self.ports[port_name], timeout=2)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            return response.status
        except OSError:
            return None
        finally:
            connection.close()

    def ready(self) -> bool:
        """`/nginx-ready` answers 200."""
        return self.http_status("ready", "/nginx-ready") == 200

    def request(
        self, port_name: str, path: str, *, host: str | None = None
    ) -> tuple[int, str] | None:
        """(status, body) of a GET through one of the controller's ports, None if refused."""
        connection = http.client.HTTPConnection("127.0.0.1", self.ports[port_name], timeout=3)
        try:
            connection.request("GET", path, headers={"Host": host} if host else {})
            response = connection.getresponse()
            return response.status, response.read().decode(errors="replace")
        except OSError:
            return None
        finally:
            connection.close()

    def metrics(self) -> str:
        connection = http.client.HTTPConnection("127.0.0.1", self.ports["metrics"], timeout=2)
        try:
            connection.request("GET", "/metrics")
            return connection.getresponse().read().decode()
        finally:
            connection.close()

    def metric(self, name: str, **labels: str) -> float:
        """The sum of `name`'s samples that carry `labels` (0 when there is none)."""
        return sum(
            sample.value
            for family in text_string_to_metric_families(self.metrics())
            for sample in family.samples
            if sample.name == name and labels.items() <= sample.labels.items()
        )

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, number: int = signal.SIGTERM, timeout: float = 30) -> int:
        if self.process.poll() is None:
            self.process.send_signal(number)
        return self.process.wait(timeout)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class Harness:
    def __init__(self, cluster: DevCluster, root: Path) -> None:
        self.cluster = cluster
        self.root = root
        self.kubeconfig = cluster.write_kubeconfig(root / "kubeconfig")
        self.controllers: list[Controller] = []

    def start(
        self,
        *flags: str,
        pod: str = f"nginx-ingress-{HASH}-0",
        plus: bool = True,
        standin: bool = False,
        environ: dict[str, str] | None = None,
        root: Path | None = None,
    ) -> Controller:
        """A controller with its own directories and ports, or those of an earlier one
        (`root`: the same conf and run directories, as a restarted pod would have).

        `plus` alone is `-nginx-plus -render-only`: files checked with crossplane, no NGINX.
        With `standin` too, NGINX Plus runs: the stand-in is the `-nginx-binary`, with the
        real NGINX underneath and the Plus API stub beside it."""
        if root is None:
            root = Path(tempfile.mkdtemp(prefix="ctl-", dir=self.root))
        ports = {name: free_port() for name in ("http", "https", "status", "ready", "metrics")}
        arguments = [
            str(COMMAND),
            "run",
            f"--kubeconfig={self.kubeconfig}",
            f"-nginx-configmaps={NS}/{CONFIGMAP}",
            f"--conf-dir={root / 'conf'}",
            f"--run-dir={root / 'run'}",
            f"-default-http-listener-port={ports['http']}",
            f"-default-https-listener-port={ports['https']}",
            f"-nginx-status-port={ports['status']}",
            f"-ready-status-port={ports['ready']}",
            f"-prometheus-metrics-listen-port={ports['metrics']}",
            f"-nginx-binary={STANDIN if plus and standin else nginx_binary()}",
            "--reload-quiet-period=20ms",
            "--reload-max-delay=200ms",
            "-log-format=text",
            "-log-level=debug",
        ]
        if plus:
            arguments.append("-nginx-plus")
            if not standin:
                arguments.append("-render-only")  # no NGINX: crossplane checks the files
        environment = {**os.environ, "POD_NAMESPACE": NS, "POD_NAME": pod}
        if environ is not None:
            environment = {**os.environ, **environ}
        log = root / f"controller-{len(self.controllers)}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [*arguments, *flags],
                stdout=output,
                stderr=subprocess.STDOUT,
                env=environment,
                # Ends with the test run, even when pytest itself is killed.
                preexec_fn=death_signal_setter(),  # noqa: PLW1509 - takes no lock
            )
        controller = Controller(process, root, ports, log)
        self.controllers.append(controller)
        return controller

    def close(self) -> list[str]:
        """Stop every controller; returns the logs of those that misbehaved."""
        reports = []
        for controller in self.controllers:
            if controller.process.poll() is None:
                controller.process.send_signal(signal.SIGTERM)
                try:
                    controller.process.wait(30)
                except subprocess.TimeoutExpired:
                    controller.process.kill()
                    controller.process.wait(5)
                    reports.append(f"did not stop on SIGTERM:\n{controller.output()}")
        return reports


@contextmanager
def harness(cluster: DevCluster) -> Iterator[Harness]:
    with tempfile.TemporaryDirectory(prefix="h-", dir="/tmp") as directory:
        created = Harness(cluster, Path(directory))
        try:
            yield created
        except BaseException:
            for controller in created.controllers:
                print(f"--- controller log {controller.log} ---\n{controller.output()[-6000:]}")
            raise
        finally:
            problems = created.close()
            assert not problems, problems


def app_service(name: str) -> dict[str, Any]:
    """A Service of `APP` with one unnamed port 80."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"namespace": APP, "name": name},
        "spec": {"ports": [{"name": "", "port": 80, "protocol": "TCP"}]},
    }


@contextmanager
def app_world(cluster: DevCluster, *names: str) -> Iterator[tuple[Harness, dict[str, Backend]]]:
    """The controller's cluster objects, and in namespace `APP` one Service per name whose
    EndpointSlice lists a real backend answering its name; a harness to run controllers."""
    seed_cluster(cluster)
    cluster.seed([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": APP}}])
    with backends(*names) as started, harness(cluster) as box:
        for name in names:
            cluster.seed([app_service(name)])
            cluster.publish_endpoints(APP, name, ["127.0.0.1"], started[name].port)
        yield box, started
