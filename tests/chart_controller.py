"""Run `nginx-ingress run` as a pod of the installed chart would: with the container's
arguments and environment from the workload Helm stored, the chart's ServiceAccount token,
and nothing else but what a laptop needs instead of a node (its own directories and free
ports, the local `nginx` binary, and for NGINX Plus the NGINX Plus stand-in).

Each flag the chart set is kept; the overrides come after it, so they win.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nginx_ingress.deathsignal import death_signal_setter
from nginx_ingress_dev.devcluster import DevCluster

from chart_cluster import CONTROLLER_TOKEN
from controller_harness import COMMAND, STANDIN, Controller
from nginx_check import nginx_binary
from nginx_sandbox import free_port

PORT_FLAGS = {
    "http": "default-http-listener-port",
    "https": "default-https-listener-port",
    "status": "nginx-status-port",
    "ready": "ready-status-port",
    "metrics": "prometheus-metrics-listen-port",
}


def pod_environment(container: Mapping[str, Any], pod: Mapping[str, Any]) -> dict[str, str]:
    """The container's env as the kubelet sets it: values and downward-API fields."""
    environment = {}
    for variable in container.get("env") or []:
        if "value" in variable:
            environment[variable["name"]] = str(variable["value"])
            continue
        path = variable["valueFrom"]["fieldRef"]["fieldPath"]
        section, _, field = path.partition(".")
        environment[variable["name"]] = str(pod[section][field])
    return environment


def expand(argument: str, environment: Mapping[str, str]) -> str:
    """$(VAR) in arguments, as the kubelet expands it; unknown references stay as written."""
    return re.sub(
        r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
        lambda m: environment.get(m.group(1), m.group(0)),
        argument,
    )


@dataclass
class PodRun:
    cluster: DevCluster
    kubeconfig: Path
    root: Path

    def start(self, workload: Mapping[str, Any], pod_name: str) -> Controller:
        namespace = workload["metadata"]["namespace"]
        pod = self.cluster.get_object("Pod", namespace, pod_name)
        assert pod is not None, f"no pod {pod_name}: call start_pods first"
        spec = workload["spec"]["template"]["spec"]
        (container,) = [c for c in spec["containers"] if c["name"] == "nginx-ingress"]
        environment = pod_environment(container, pod)
        arguments = [expand(a, environment) for a in container["args"]]
        root = Path(tempfile.mkdtemp(prefix="pod-", dir=self.root))
        ports = {name: free_port() for name in PORT_FLAGS}
        overrides = [
            f"--kubeconfig={self.kubeconfig}",
            f"--conf-dir={root / 'conf'}",
            f"--run-dir={root / 'run'}",
            f"-nginx-binary={nginx_binary()}",
            "--reload-quiet-period=20ms",
            "--reload-max-delay=200ms",
            "-log-format=text",
            "-log-level=debug",
            *(f"-{flag}={ports[name]}" for name, flag in PORT_FLAGS.items()),
        ]
        if "-nginx-plus=true" in arguments:
            # NGINX Plus is the stand-in (docs/plus-standin.md): the real NGINX runs what it
            # can of the files, and its API stub answers the controller.
            overrides[overrides.index(f"-nginx-binary={nginx_binary()}")] = (
                f"-nginx-binary={STANDIN}"
            )
        log = root / "controller.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [str(COMMAND), *arguments, *overrides],
                stdout=output,
                stderr=subprocess.STDOUT,
                env={**os.environ, **environment},
                preexec_fn=death_signal_setter(),  # noqa: PLW1509 - ends with the test run
            )
        return Controller(process, root, ports, log)


def service_account_kubeconfig(cluster: DevCluster, directory: Path) -> Path:
    """What the pod's projected token gives it: the ServiceAccount's identity, over TLS."""
    return cluster.write_kubeconfig(directory / "kubeconfig-sa", token=CONTROLLER_TOKEN)
