"""The commands to try, made from the Ingresses served: one `curl` per host and path.

`curl --resolve` sends the request to 127.0.0.1 with the Ingress's host name in
the URL (and in TLS's SNI), so nothing needs adding to /etc/hosts; a plain HTTP
host is shown with a `Host` header, the shorter form. A TLS host whose Secret was
made by the local run is checked against the local CA (`--cacert`); a Secret
from the manifests is the user's, whose CA we do not know, so `-k` there.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_PLAIN_PATH = re.compile(r"/[A-Za-z0-9._~!*()+,:@&=/-]*")
"""A path that is itself a URL path (an ImplementationSpecific regular expression is not)."""


@dataclass(frozen=True)
class Target:
    host: str
    """"" for a rule without a host (the catch-all server)."""
    path: str
    tls: bool


def targets(ingress: Mapping[str, Any], tls_ready: set[str]) -> list[Target]:
    """Where a request reaches each path of the Ingress; `tls_ready`: its hosts whose
    TLS Secret exists."""
    spec = ingress.get("spec") or {}
    tls_hosts = {
        host
        for entry in spec.get("tls") or []
        if isinstance(entry, dict)
        for host in entry.get("hosts") or []
        if host in tls_ready
    }
    found: list[Target] = []
    for rule in spec.get("rules") or []:
        if not isinstance(rule, dict):
            continue
        host = rule.get("host") or ""
        example = f"www{host[1:]}" if host.startswith("*.") else host
        for path in ((rule.get("http") or {}).get("paths")) or []:
            text = (path.get("path") or "/") if isinstance(path, dict) else ""
            if _PLAIN_PATH.fullmatch(text):
                found.append(Target(example, text, host in tls_hosts))
    if spec.get("defaultBackend") and not found:
        found.append(Target("", "/", tls=False))
    return found


def curl(target: Target, *, http_port: int, https_port: int, ca_file: Path | None) -> str:
    if target.tls:
        trust = ["--cacert", str(ca_file)] if ca_file is not None else ["-k"]
        url = f"https://{target.host}:{https_port}{target.path}"
        words = ["curl", *trust, "--resolve", f"{target.host}:{https_port}:127.0.0.1", url]
    elif target.host:
        url = f"http://127.0.0.1:{http_port}{target.path}"
        words = ["curl", "-H", f"Host: {target.host}", url]
    else:
        words = ["curl", f"http://127.0.0.1:{http_port}{target.path}"]
    return shlex.join(words)


def curl_commands(
    ingresses: Iterable[Mapping[str, Any]],
    secrets: Mapping[tuple[str, str], bool],
    *,
    http_port: int,
    https_port: int,
    ca_file: Path,
    limit: int = 8,
) -> tuple[list[str], int]:
    """The commands (at most `limit`) and how many more there would be. `secrets`:
    (namespace, name) of each existing TLS Secret → made by the local run."""
    commands: list[str] = []
    for ingress in ingresses:
        namespace = ingress["metadata"].get("namespace", "default")
        ready: set[str] = set()
        ours: set[str] = set()
        for entry in (ingress.get("spec") or {}).get("tls") or []:
            if not isinstance(entry, dict):
                continue
            made_here = secrets.get((namespace, str(entry.get("secretName"))))
            if made_here is None:
                continue
            hosts = {h for h in entry.get("hosts") or [] if isinstance(h, str)}
            ready |= hosts
            if made_here:
                ours |= hosts
        for target in targets(ingress, ready):
            command = curl(
                target,
                http_port=http_port,
                https_port=https_port,
                ca_file=ca_file if target.host in ours or f"*{target.host[3:]}" in ours else None,
            )
            if command not in commands:
                commands.append(command)
    return commands[:limit], max(len(commands) - limit, 0)
