"""Discovery documents (`/version`, `/api`, `/apis`, …), built once from the table.

Clients read these before anything else: kubectl and the dynamic client look up
each resource's `namespaced` flag, `kind` and `verbs` here, and some clients ask for
`/version/` with a trailing slash, so both spellings are served.
"""

from __future__ import annotations

from typing import Any

import orjson

from nginx_ingress import __version__
from nginx_ingress_dev.devcluster.resources import ResourceTable

KUBERNETES_VERSION = ("1", "34")
"""The Kubernetes minor version whose API these semantics follow."""


def _version_document() -> dict[str, Any]:
    major, minor = KUBERNETES_VERSION
    return {
        "major": major,
        "minor": minor,
        "gitVersion": f"v{major}.{minor}.0-devcluster+{__version__}",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "1970-01-01T00:00:00Z",
        "goVersion": "none (Python development server)",
        "compiler": "cpython",
        "platform": "linux/amd64",
    }


def build_discovery(table: ResourceTable, server_address: str) -> dict[str, bytes]:
    """Every discovery path mapped to its JSON body."""
    documents: dict[str, Any] = {"/version": _version_document()}
    documents["/api"] = {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }
    groups: list[dict[str, Any]] = []
    for group_version in table.group_versions():
        group, version = group_version.group, group_version.version
        resources: list[dict[str, Any]] = []
        for resource in table.in_group_version(group, version):
            entry: dict[str, Any] = {
                "name": resource.plural,
                "singularName": resource.singular,
                "namespaced": resource.namespaced,
                "kind": resource.kind,
                "verbs": list(resource.verbs),
            }
            if resource.short_names:
                entry["shortNames"] = list(resource.short_names)
            resources.append(entry)
            if resource.has_status:
                resources.append(
                    {
                        "name": f"{resource.plural}/status",
                        "singularName": "",
                        "namespaced": resource.namespaced,
                        "kind": resource.kind,
                        "verbs": ["get", "patch", "update"],
                    }
                )
        resource_list = {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": group_version.group_version,
            "resources": resources,
        }
        if not group:
            documents[f"/api/{version}"] = resource_list
            continue
        documents[f"/apis/{group}/{version}"] = resource_list
        version_entry = {"groupVersion": group_version.group_version, "version": version}
        existing = next((g for g in groups if g["name"] == group), None)
        if existing is None:
            groups.append(
                {"name": group, "versions": [version_entry], "preferredVersion": version_entry}
            )
        else:
            existing["versions"].append(version_entry)
    for group_entry in groups:
        documents[f"/apis/{group_entry['name']}"] = {
            "kind": "APIGroup",
            "apiVersion": "v1",
            **group_entry,
        }
    documents["/apis"] = {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
    encoded = {path: orjson.dumps(body) for path, body in documents.items()}
    encoded.update({f"{path}/": body for path, body in list(encoded.items())})
    return encoded
