"""Optional authentication (tokens, TLS client certificates, the in-cluster config
path) and RBAC authorization."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.config import incluster_config

from nginx_ingress_dev.devcluster import DevCluster, RbacAuthorizer, TlsConfig, service_account_user
from nginx_ingress_dev.devcluster.pytest_plugin import api_client_for, status_body

InClusterConfigLoader: Any = incluster_config.InClusterConfigLoader

RBAC = """
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: nginx-ingress}
rules:
- apiGroups: [networking.k8s.io]
  resources: [ingresses, ingressclasses]
  verbs: [get, list, watch]
- apiGroups: [networking.k8s.io]
  resources: [ingresses/status]
  verbs: [update, patch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: nginx-ingress}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: nginx-ingress}
subjects:
- {kind: ServiceAccount, name: nginx-ingress, namespace: nginx-ingress}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: nginx-ingress, namespace: nginx-ingress}
rules:
- apiGroups: [""]
  resources: [services]
  verbs: [get, create, update, patch]
- apiGroups: [coordination.k8s.io]
  resources: [leases]
  resourceNames: [nginx-ingress-leader]
  verbs: [get, update]
- apiGroups: [""]
  resources: [secrets]
  resourceNames: [zone-sync-tls]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: nginx-ingress, namespace: nginx-ingress}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: nginx-ingress}
subjects:
- {kind: ServiceAccount, name: nginx-ingress}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: developers-view}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: nginx-ingress}
subjects:
- {kind: Group, name: developers}
"""


def test_bearer_tokens_are_required_when_configured(
    dev_cluster_factory: Callable[..., DevCluster],
) -> None:
    """Authenticating (Kubernetes docs): with token authentication, a request without
    a valid bearer token is 401 Unauthorized."""
    cluster = dev_cluster_factory(tokens={"s3cret": "alice"})
    with api_client_for(cluster, token="s3cret") as api:
        core: Any = client.CoreV1Api(api)
        core.list_namespaced_config_map("default")
    for token in (None, "wrong"):
        with api_client_for(cluster, token=token) as api:
            core = client.CoreV1Api(api)
            with pytest.raises(ApiException) as caught:
                core.list_namespaced_config_map("default")
            assert caught.value.status == 401
            assert status_body(caught.value)["reason"] == "Unauthorized"
    assert [r.user for r in cluster.request_log] == ["alice", "", ""]


def test_in_cluster_configuration_path(
    dev_cluster_factory: Callable[..., DevCluster], certificates: Any, tmp_path: Path
) -> None:
    """The controller's in-cluster path: HTTPS, a CA file, a token file and
    KUBERNETES_SERVICE_HOST/PORT, read by the official InClusterConfigLoader."""
    cluster = dev_cluster_factory(
        tls=TlsConfig(certificates.server_cert, certificates.server_key),
        tokens={"sa-token": service_account_user("nginx-ingress", "nginx-ingress")},
    )
    (tmp_path / "token").write_text("sa-token")
    configuration = client.Configuration()
    InClusterConfigLoader(
        token_filename=str(tmp_path / "token"),
        cert_filename=str(certificates.ca_cert),
        environ={
            "KUBERNETES_SERVICE_HOST": "127.0.0.1",
            "KUBERNETES_SERVICE_PORT": str(cluster.port),
        },
    ).load_and_set(configuration)
    assert configuration.host == cluster.url
    with client.ApiClient(configuration) as api:
        core: Any = client.CoreV1Api(api)
        assert "default" in {n.metadata.name for n in core.list_namespace().items}
    assert cluster.request_log[-1].user == "system:serviceaccount:nginx-ingress:nginx-ingress"


def test_client_certificates_authenticate_and_rbac_sees_their_groups(
    dev_cluster_factory: Callable[..., DevCluster], certificates: Any
) -> None:
    cluster = dev_cluster_factory(
        tls=TlsConfig(certificates.server_cert, certificates.server_key, certificates.ca_cert),
        rbac=RbacAuthorizer.from_manifests(yaml.safe_load_all(RBAC)),
    )
    with api_client_for(
        cluster,
        ca_file=str(certificates.ca_cert),
        cert_file=str(certificates.client_cert),
        key_file=str(certificates.client_key),
    ) as api:
        networking: Any = client.NetworkingV1Api(api)
        networking.list_ingress_for_all_namespaces()  # group "developers" may list
        with pytest.raises(ApiException) as caught:
            networking.create_namespaced_ingress("default", {"metadata": {"name": "x"}})
        assert caught.value.status == 403
    with api_client_for(cluster, ca_file=str(certificates.ca_cert)) as anonymous:
        with pytest.raises(ApiException) as refused:
            client.CoreV1Api(anonymous).list_namespace()
        assert refused.value.status == 401
    assert cluster.request_log[0].user == "alice"


def test_rbac_allows_what_the_roles_grant_and_forbids_the_rest(
    dev_cluster_factory: Callable[..., DevCluster],
) -> None:
    """RBAC (Kubernetes docs): a ClusterRoleBinding grants everywhere, a RoleBinding only
    in its namespace, resourceNames narrow to named objects, ServiceAccount subjects are
    users system:serviceaccount:<ns>:<name>; anything else is 403 Forbidden."""
    cluster = dev_cluster_factory(
        tokens={
            "controller": service_account_user("nginx-ingress", "nginx-ingress"),
            "admin": "admin",
        },
        rbac=RbacAuthorizer.from_manifests(yaml.safe_load_all(RBAC)),
    )
    cluster.seed(
        [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "nginx-ingress"}},
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "metadata": {"name": "web", "namespace": "default"},
                "spec": {},
            },
        ]
    )
    with api_client_for(cluster, token="controller") as api:
        networking: Any = client.NetworkingV1Api(api)
        core: Any = client.CoreV1Api(api)
        leases: Any = client.CoordinationV1Api(api)
        assert [i.metadata.name for i in networking.list_ingress_for_all_namespaces().items] == [
            "web"
        ]
        networking.patch_namespaced_ingress_status(
            "web", "default", {"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}}
        )
        core.create_namespaced_service("nginx-ingress", {"metadata": {"name": "sync"}, "spec": {}})
        denied: list[Callable[[], Any]] = [
            lambda: networking.delete_namespaced_ingress("web", "default"),
            lambda: networking.patch_namespaced_ingress(
                "web", "default", {"metadata": {"labels": {"a": "b"}}}
            ),
            lambda: core.create_namespaced_service(
                "default", {"metadata": {"name": "sync"}, "spec": {}}
            ),
            lambda: leases.read_namespaced_lease("other-lease", "nginx-ingress"),
            lambda: core.list_namespaced_secret("default"),
        ]
        for call in denied:
            with pytest.raises(ApiException) as caught:
                call()
            assert caught.value.status == 403
            assert status_body(caught.value)["reason"] == "Forbidden"
        with pytest.raises(ApiException) as named:
            leases.read_namespaced_lease("nginx-ingress-leader", "nginx-ingress")
        assert named.value.status == 404  # allowed by resourceNames; it just does not exist
        with pytest.raises(ApiException) as message:
            core.list_namespaced_secret("default")
        assert status_body(message.value)["message"] == (
            'secrets is forbidden: User "system:serviceaccount:nginx-ingress:nginx-ingress" '
            'cannot list resource "secrets" in API group "" in the namespace "default"'
        )
    with api_client_for(cluster, token="admin") as api:
        with pytest.raises(ApiException) as outsider:
            client.CoreV1Api(api).list_namespaced_secret("default")
        assert outsider.value.status == 403
        assert client.VersionApi(api).get_code().major == "1"  # discovery is open


def test_resource_names_narrow_a_list_or_watch_by_its_name_field_selector(
    dev_cluster_factory: Callable[..., DevCluster],
) -> None:
    """RBAC (Kubernetes docs): a list or watch restricted by resourceNames is allowed when
    its field selector names one of them, `metadata.name=<name>`; without it, or naming
    another, it is 403."""
    cluster = dev_cluster_factory(
        tokens={"controller": service_account_user("nginx-ingress", "nginx-ingress")},
        rbac=RbacAuthorizer.from_manifests(yaml.safe_load_all(RBAC)),
    )
    cluster.seed(
        [
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": name, "namespace": "nginx-ingress"},
                "type": "Opaque",
            }
            for name in ("zone-sync-tls", "other")
        ]
    )
    with api_client_for(cluster, token="controller") as api:
        core: Any = client.CoreV1Api(api)
        for selector in ("metadata.name=zone-sync-tls", "metadata.name==zone-sync-tls"):
            found = core.list_namespaced_secret("nginx-ingress", field_selector=selector)
            assert [s.metadata.name for s in found.items] == ["zone-sync-tls"]
        watch = core.list_namespaced_secret(
            "nginx-ingress",
            field_selector="metadata.name=zone-sync-tls",
            watch=True,
            timeout_seconds=1,
            _preload_content=False,
        )
        watch.release_conn()
        for denied in (None, "metadata.name=other", "metadata.name!=other"):
            with pytest.raises(ApiException) as caught:
                core.list_namespaced_secret("nginx-ingress", field_selector=denied)
            assert caught.value.status == 403
        with pytest.raises(ApiException) as elsewhere:
            core.list_namespaced_secret("default", field_selector="metadata.name=zone-sync-tls")
        assert elsewhere.value.status == 403
