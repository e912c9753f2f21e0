"""The API client: in-cluster (service-account token, CA, KUBERNETES_SERVICE_HOST/PORT)
or from a kubeconfig."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException
from kubernetes.config.incluster_config import InClusterConfigLoader

from nginx_ingress.kube.api import KubeApi

SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
CONNECTION_POOL_SIZE = 32
"""Connections kept open to the API server: more than the controller uses at once."""


class KubeConfigError(RuntimeError):
    """No usable cluster configuration."""


def connect(
    kubeconfig: str | None = None,
    *,
    context: str | None = None,
    timeout: float = 10.0,
    service_account: Path = SERVICE_ACCOUNT,
    environ: Mapping[str, str] | None = None,
) -> KubeApi:
    """A `KubeApi` for the cluster: `kubeconfig` if given, else the pod's service account
    (`service_account`/token and ca.crt, and KUBERNETES_SERVICE_HOST/PORT from `environ`).

    urllib3's own retries are off: the reflectors and reconcilers back off themselves,
    with jitter and Retry-After, and a hidden retry loop would only hide an outage.
    """
    configuration = client.Configuration()
    try:
        if kubeconfig:
            config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=kubeconfig,
                context=context,
                client_configuration=configuration,
                persist_config=False,
            )
        else:
            InClusterConfigLoader(
                token_filename=str(service_account / "token"),
                cert_filename=str(service_account / "ca.crt"),
                environ=dict(os.environ if environ is None else environ),
            ).load_and_set(configuration)  # type: ignore[no-untyped-call]
    except (ConfigException, OSError) as error:
        where = kubeconfig or (
            f"the pod's service account ({service_account}, KUBERNETES_SERVICE_HOST/PORT)"
        )
        raise KubeConfigError(
            f"cannot load the cluster configuration from {where}: {error}"
        ) from error
    configuration.retries = False
    # Every open watch holds a connection (a dozen kinds, with the Lease and the zone-sync
    # Secrets) beside the status workers, events and writes; with the client's default
    # (5 per CPU) the pool overflows, and each overflow is a new TLS handshake to the API
    # server and a warning when the watches end together at shutdown.
    configuration.connection_pool_maxsize = CONNECTION_POOL_SIZE
    return KubeApi(client.ApiClient(configuration), timeout=timeout)
