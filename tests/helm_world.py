"""The `helm_world` fixture: one local API server (chart kinds, tokens, live RBAC) and one
Helm driver for a module of chart tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from nginx_ingress_dev.devcluster import DevCluster

from chart_cluster import ADMIN_TOKEN, chart_cluster
from chart_render import NAMESPACE, RELEASE, Renderer
from helm_client import Helm


@dataclass(frozen=True)
class HelmWorld:
    cluster: DevCluster
    helm: Helm
    render: Renderer
    directory: Path


@pytest.fixture(scope="module")
def helm_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HelmWorld]:
    directory = tmp_path_factory.mktemp("helm")
    with chart_cluster(NAMESPACE, RELEASE, directory) as cluster:
        kubeconfig = cluster.write_kubeconfig(directory / "kubeconfig", token=ADMIN_TOKEN)
        with Helm(kubeconfig) as helm:
            yield HelmWorld(cluster, helm, Renderer(helm), directory)
