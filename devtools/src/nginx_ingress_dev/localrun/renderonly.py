"""What `--render-only` shows instead of requests: the zone-sync server the controller
rendered, and the headless Service it created for it.

Zone sync is the product's headline and needs NGINX Plus, which a workstation rarely
has; with `--nginx-plus --render-only` the controller writes the Plus configuration
without running NGINX, and these lines point at the two things zone sync is made of.
The block is taken from the rendered `nginx.conf` with crossplane (the parser the
tests use), so it is exactly what the controller wrote.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import crossplane

from nginx_ingress_dev.devcluster.store import Store


def zone_sync_block(main_file: Path) -> str | None:
    """The `server { zone_sync; … }` of the stream block, as NGINX text; None without one."""
    try:
        parsed = crossplane.parse(str(main_file), single=True, check_ctx=False, check_args=False)
    except (OSError, crossplane.errors.NgxParserBaseException):
        return None
    for config in parsed.get("config", []):
        for directive in config.get("parsed", []):
            if directive["directive"] != "stream":
                continue
            for server in directive.get("block", []):
                inner = server.get("block", [])
                if server["directive"] == "server" and any(
                    d["directive"] == "zone_sync" for d in inner
                ):
                    return str(crossplane.build([server], indent=4, tabs=False))
    return None


def describe_service(service: Mapping[str, Any]) -> str:
    """`Service ns/name: headless, selector a=b, port zone-sync 12345`."""
    metadata, spec = service["metadata"], service.get("spec") or {}
    selector = ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items()))
    ports = ", ".join(f"{p.get('name') or 'port'} {p.get('port')}" for p in spec.get("ports") or [])
    kind = "headless" if spec.get("clusterIP") == "None" else f"cluster IP {spec.get('clusterIP')}"
    name = f"{metadata['namespace']}/{metadata['name']}"
    return f"Service {name}: {kind}, selector {selector or 'none'}, {ports or 'no ports'}"


def zone_sync_lines(main_file: Path, store: Store, namespace: str, service: str) -> list[str]:
    block = zone_sync_block(main_file)
    if block is None:
        return [
            f"zone sync is off in {main_file} (enable it in the ConfigMap "
            f'{namespace}/nginx-config: zone-sync: "true", as examples/zone-sync does)'
        ]
    lines = [f"the zone-sync server in {main_file}:"]
    lines.extend(f"    {line}" for line in block.splitlines())
    stored = store.find(store.resources.find("services"), namespace, service)
    if stored is not None:
        lines.append(f"its peers come from the headless {describe_service(stored.obj)}")
    return lines
