"""The API client: in-cluster (service-account token, CA, KUBERNETES_SERVICE_HOST/PORT)
or from a kubeconfig."""

from __future__ import annotations

from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException

from nginx_ingress.kube.api import KubeApi


class KubeConfigError(RuntimeError):
    """No usable cluster configuration."""


def connect(
    kubeconfig: str | None = None, *, context: str | None = None, timeout: float = 10.0
) -> KubeApi:
    """A `KubeApi` for the cluster: `kubeconfig` if given, else the pod's service account.

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
            config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    except (ConfigException, OSError) as error:
        where = kubeconfig or "the in-cluster service account (KUBERNETES_SERVICE_HOST/PORT)"
        raise KubeConfigError(
            f"cannot load the cluster configuration from {where}: {error}"
        ) from error
    configuration.retries = False
    return KubeApi(client.ApiClient(configuration), timeout=timeout)
