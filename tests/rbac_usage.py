"""What RBAC grants, against what a client used: expand Role and ClusterRole rules into
single (group, resource, verb) grants, and read the API server's request records back into
the same terms, so a test can list every grant nobody used."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from nginx_ingress_dev.devcluster import RequestRecord


@dataclass(frozen=True, order=True)
class Grant:
    scope: str
    """"cluster" for a ClusterRole, else the Role's namespace."""
    group: str
    resource: str
    """`plural` or `plural/subresource`."""
    verb: str

    def __str__(self) -> str:
        group = self.group or "core"
        return f"{self.scope}: {self.verb} {group}/{self.resource}"


@dataclass(frozen=True)
class Use:
    namespace: str
    group: str
    resource: str
    verb: str
    name: str


def grants(role: Mapping[str, Any] | None, cluster_role: Mapping[str, Any] | None) -> set[Grant]:
    found = set()
    for obj, scope in ((role, None), (cluster_role, "cluster")):
        if obj is None:
            continue
        where = scope or obj["metadata"]["namespace"]
        for rule in obj.get("rules") or []:
            for group in rule.get("apiGroups") or []:
                for resource in rule.get("resources") or []:
                    for verb in rule.get("verbs") or []:
                        found.add(Grant(where, group, resource, verb))
    return found


def use_of(record: RequestRecord) -> Use | None:
    """The request in RBAC terms; None for discovery and other non-resource paths."""
    parts = [p for p in record.path.split("/") if p]
    if len(parts) >= 3 and parts[0] == "api":
        group, rest = "", parts[2:]
    elif len(parts) >= 4 and parts[0] == "apis":
        group, rest = parts[1], parts[3:]
    else:
        return None
    namespace = ""
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    resource = rest[0] if len(rest) < 3 else f"{rest[0]}/{rest[2]}"
    name = rest[1] if len(rest) > 1 else ""
    return Use(namespace, group, resource, record.verb, name)


def uses(records: Iterable[RequestRecord], user: str) -> list[tuple[Use, int]]:
    """The user's resource requests with their status codes."""
    found = []
    for record in records:
        if record.user != user:
            continue
        use = use_of(record)
        if use is not None:
            found.append((use, record.status))
    return found


def covers(grant: Grant, use: Use) -> bool:
    if (grant.group, grant.resource, grant.verb) != (use.group, use.resource, use.verb):
        return False
    return grant.scope in ("cluster", use.namespace)


def unused(granted: Iterable[Grant], used: Iterable[Use]) -> set[Grant]:
    used = list(used)
    return {g for g in granted if not any(covers(g, u) for u in used)}
