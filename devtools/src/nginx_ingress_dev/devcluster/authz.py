"""Optional RBAC authorization from Role, ClusterRole, RoleBinding and ClusterRoleBinding
manifests, so a deployment's RBAC can be tested against the calls the controller makes.

The rules are Kubernetes' own: a RoleBinding grants its Role or ClusterRole inside the
binding's namespace, a ClusterRoleBinding grants a ClusterRole everywhere; `*` matches
any verb, group or resource, `resourceNames` narrows requests that name one object (a
list or watch names one by the field selector `metadata.name=<name>`, as kube-apiserver
reads it);
subjects are users, groups, or ServiceAccounts (user
`system:serviceaccount:<namespace>:<name>`). `system:masters` may do anything, and
discovery and health paths are open to every authenticated user, like the built-in
`system:discovery` role. Everything else is 403 Forbidden.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nginx_ingress_dev.devcluster.authn import MASTERS, UserInfo
from nginx_ingress_dev.devcluster.errors import Forbidden
from nginx_ingress_dev.devcluster.loading import read_manifests

RBAC_API_VERSION = "rbac.authorization.k8s.io/v1"


@dataclass(frozen=True)
class RequestAttributes:
    """What a request does, in the terms RBAC rules are written in."""

    verb: str
    path: str
    api_group: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    is_resource_request: bool = True


@dataclass(frozen=True)
class PolicyRule:
    verbs: frozenset[str]
    api_groups: frozenset[str] = frozenset()
    resources: frozenset[str] = frozenset()
    resource_names: frozenset[str] = frozenset()
    non_resource_urls: frozenset[str] = frozenset()

    @staticmethod
    def from_manifest(rule: Mapping[str, Any]) -> PolicyRule:
        def field(name: str) -> frozenset[str]:
            return frozenset(str(item) for item in rule.get(name) or [])

        return PolicyRule(
            verbs=field("verbs"),
            api_groups=field("apiGroups"),
            resources=field("resources"),
            resource_names=field("resourceNames"),
            non_resource_urls=field("nonResourceURLs"),
        )

    def allows(self, request: RequestAttributes) -> bool:
        if not ("*" in self.verbs or request.verb in self.verbs):
            return False
        if not request.is_resource_request:
            return any(
                url == request.path or (url.endswith("*") and request.path.startswith(url[:-1]))
                for url in self.non_resource_urls
            )
        if not ("*" in self.api_groups or request.api_group in self.api_groups):
            return False
        resource = request.resource
        if request.subresource:
            wanted = {f"{resource}/{request.subresource}", f"*/{request.subresource}", "*"}
        else:
            wanted = {resource, "*"}
        if not wanted & self.resources:
            return False
        return not self.resource_names or request.name in self.resource_names


@dataclass(frozen=True)
class Subject:
    kind: str
    name: str
    namespace: str = ""

    def covers(self, user: UserInfo) -> bool:
        if self.kind == "User":
            return user.name == self.name
        if self.kind == "Group":
            return self.name in user.groups
        if self.kind == "ServiceAccount":
            return user.name == f"system:serviceaccount:{self.namespace}:{self.name}"
        return False


@dataclass(frozen=True)
class Binding:
    namespace: str
    """Empty for a ClusterRoleBinding."""
    role_kind: str
    role_name: str
    subjects: tuple[Subject, ...]


@dataclass(frozen=True)
class RbacAuthorizer:
    roles: Mapping[tuple[str, str], tuple[PolicyRule, ...]]
    """(namespace, name) → rules; ClusterRoles have namespace ""."""
    bindings: tuple[Binding, ...]

    @staticmethod
    def from_manifests(documents: Iterable[Mapping[str, Any]]) -> RbacAuthorizer:
        roles: dict[tuple[str, str], tuple[PolicyRule, ...]] = {}
        bindings: list[Binding] = []
        for document in documents:
            kind = document.get("kind")
            metadata = document.get("metadata") or {}
            namespace = str(metadata.get("namespace") or "")
            if kind in ("Role", "ClusterRole"):
                key = (namespace if kind == "Role" else "", str(metadata["name"]))
                roles[key] = tuple(PolicyRule.from_manifest(r) for r in document.get("rules") or [])
            elif kind in ("RoleBinding", "ClusterRoleBinding"):
                role_ref = document.get("roleRef") or {}
                bindings.append(
                    Binding(
                        namespace=namespace if kind == "RoleBinding" else "",
                        role_kind=str(role_ref.get("kind")),
                        role_name=str(role_ref.get("name")),
                        subjects=tuple(
                            Subject(
                                str(s.get("kind")),
                                str(s.get("name")),
                                str(
                                    s.get("namespace")
                                    or (namespace if kind == "RoleBinding" else "")
                                ),
                            )
                            for s in document.get("subjects") or []
                        ),
                    )
                )
        return RbacAuthorizer(roles, tuple(bindings))

    @staticmethod
    def from_path(path: str | Path) -> RbacAuthorizer:
        """RBAC objects from a YAML file or a directory of them; other kinds are ignored.
        Raises `nginx_ingress.manifests.ManifestError` for an unreadable file."""
        return RbacAuthorizer.from_manifests(m.object for m in read_manifests([path]))

    def allows(self, user: UserInfo, request: RequestAttributes) -> bool:
        if MASTERS in user.groups:
            return True
        for binding in self.bindings:
            if binding.namespace and binding.namespace != request.namespace:
                continue
            if not any(subject.covers(user) for subject in binding.subjects):
                continue
            role_namespace = binding.namespace if binding.role_kind == "Role" else ""
            rules = self.roles.get((role_namespace, binding.role_name), ())
            if any(rule.allows(request) for rule in rules):
                return True
        return False

    def check(self, user: UserInfo, request: RequestAttributes) -> None:
        if not self.allows(user, request):
            raise forbidden(user, request)


def forbidden(user: UserInfo, request: RequestAttributes) -> Forbidden:
    """The 403 the API server sends, with its wording."""
    if not request.is_resource_request:
        return Forbidden(
            f'forbidden: User "{user.name}" cannot {request.verb.lower()} path "{request.path}"'
        )
    group_resource = (
        f"{request.resource}.{request.api_group}" if request.api_group else request.resource
    )
    subject = f'{group_resource} "{request.name}"' if request.name else group_resource
    resource = (
        f"{request.resource}/{request.subresource}" if request.subresource else request.resource
    )
    scope = (
        f'in the namespace "{request.namespace}"' if request.namespace else "at the cluster scope"
    )
    return Forbidden(
        f'{subject} is forbidden: User "{user.name}" cannot {request.verb} resource "{resource}" '
        f'in API group "{request.api_group}" {scope}',
        details={"name": request.name, "group": request.api_group, "kind": request.resource},
    )
