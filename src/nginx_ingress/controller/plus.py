"""Upstream servers changed through the NGINX Plus API, without a reload.

An EndpointSlice change that changes nothing but the servers of existing upstreams
(the routing table says so: `Update.servers_only`) goes to NGINX Plus's API: each
upstream's servers are set to exactly what its file now lists (with the file's
`max_fails`, `fail_timeout` and `max_conns`; the `down` placeholder when it has no
endpoint), then the files are written without a reload so that the next reload
agrees. Any failure of the API leaves the caller to reload instead.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from nginx_ingress.model import Upstream
from nginx_ingress.nginx.plusapi import PlusApiClient, PlusApiError, UpstreamServer

log = logging.getLogger("nginx_ingress.controller")

PLACEHOLDER = UpstreamServer("127.0.0.1:8181", down=True)
"""The server an upstream without endpoints lists in its file (see ingress.conf.j2)."""


def desired_servers(upstream: Upstream) -> list[UpstreamServer]:
    if not upstream.servers:
        return [PLACEHOLDER]
    return [
        UpstreamServer(
            str(server.address),
            max_conns=upstream.max_conns,
            max_fails=upstream.max_fails,
            fail_timeout=str(upstream.fail_timeout),
        )
        for server in upstream.servers
    ]


def update_servers(client: PlusApiClient, upstreams: Mapping[str, Upstream]) -> str | None:
    """Set every upstream's servers through the API; None when all succeeded, else why not
    (then the caller reloads: the files hold the same servers)."""
    for name in sorted(upstreams):
        try:
            changes = client.update_upstream_servers(name, desired_servers(upstreams[name]))
        except PlusApiError as error:
            return f"upstream {name}: {error}"
        log.debug("upstream %s through the NGINX Plus API: %s", name, changes)
    return None
