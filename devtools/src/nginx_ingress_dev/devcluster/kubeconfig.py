"""Kubeconfig files for the development API server, readable by the official client
and by kubectl. Credentials and CA are embedded (`*-data`), so the file stands alone."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

CONTEXT = "devcluster"
NO_AUTHENTICATION_TOKEN = "devcluster-no-authentication"
"""A token for servers that authenticate nobody: they ignore it, and kubectl, seeing a
credential, does not prompt for one."""


@dataclass(frozen=True)
class Credentials:
    token: str | None = None
    client_cert_file: Path | None = None
    client_key_file: Path | None = None

    @property
    def present(self) -> bool:
        return self.token is not None or (
            self.client_cert_file is not None and self.client_key_file is not None
        )


def _data(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def kubeconfig_document(
    server: str,
    *,
    ca_file: Path | None = None,
    credentials: Credentials = Credentials(),
    namespace: str = "default",
) -> dict[str, Any]:
    cluster: dict[str, Any] = {"server": server}
    if ca_file is not None:
        cluster["certificate-authority-data"] = _data(ca_file)
    user: dict[str, Any] = {}
    if credentials.token is not None:
        user["token"] = credentials.token
    if credentials.client_cert_file is not None and credentials.client_key_file is not None:
        user["client-certificate-data"] = _data(credentials.client_cert_file)
        user["client-key-data"] = _data(credentials.client_key_file)
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT, "cluster": cluster}],
        "users": [{"name": CONTEXT, "user": user}],
        "contexts": [
            {
                "name": CONTEXT,
                "context": {"cluster": CONTEXT, "user": CONTEXT, "namespace": namespace},
            }
        ],
        "current-context": CONTEXT,
        "preferences": {},
    }


def write_kubeconfig(path: str | Path, document: dict[str, Any]) -> Path:
    """Write atomically (a reader never sees half a file), readable by the owner only."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
        yaml.safe_dump(document, stream, sort_keys=False)
    temporary.replace(target)
    return target
