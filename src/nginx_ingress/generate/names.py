"""Deterministic names for what an Ingress becomes: its file and its upstreams.

Every replica must derive the same names from the same objects (the Plus API and
metrics address upstreams by name), so they depend only on the resources, never
on the pod or on order. NIC's shapes are kept (`<namespace>-<name>`,
`<namespace>-<ingress>-<host>-<service>-<port>`), with two repairs:

- NIC's names are ambiguous: namespace `a-b` with Ingress `c` and namespace `a`
  with Ingress `b-c` both give `a-b-c`, so one Ingress could overwrite another's
  file. The caller resolves such a clash oldest-first (`stem_for`); the loser's
  stem gets a hash suffix that depends only on its own namespace and name.
- Names are cut to `MAX_NAME` characters with a hash suffix, so a long host never
  makes a token NGINX or a metrics system refuses.
"""

from __future__ import annotations

import hashlib

MAX_NAME = 200
_HASH_LENGTH = 8


def short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:_HASH_LENGTH]


def ingress_stem(namespace: str, name: str) -> str:
    """NIC's file stem, `<namespace>-<name>` (cut and hashed when long)."""
    return _fit(f"{namespace}-{name}", f"{namespace}/{name}")


def disambiguated_stem(namespace: str, name: str) -> str:
    """The stem for an Ingress whose NIC stem another (older) Ingress already has."""
    suffix = "-" + short_hash(f"{namespace}/{name}")
    return _fit(f"{namespace}-{name}", f"{namespace}/{name}", MAX_NAME - len(suffix)) + suffix


def host_part(host: str) -> str:
    """A host as it appears in names: `_` for the catch-all, `_.` for a `*.` wildcard."""
    if not host:
        return "_"
    return "_" + host[1:] if host.startswith("*") else host


def upstream_name(stem: str, host: str, service: str, port: str) -> str:
    plain = f"{stem}-{host_part(host)}-{service}-{port}"
    return _fit(plain, plain)


def _fit(name: str, identity: str, limit: int = MAX_NAME) -> str:
    if len(name) <= limit:
        return name
    suffix = "-" + short_hash(identity)
    return name[: limit - len(suffix)] + suffix
