"""Where every file of the NGINX configuration lives, relative to the conf dir.

One module names them for `render`, the NGINX manager and the templates alike
(the templates' `include` lines use the same names, passed in by `render`).
Per-resource names follow NIC (`conf.d/<namespace>-<name>.conf`,
`secrets/<namespace>-<name>`) so users find the files where they expect them.
"""

from __future__ import annotations

from pathlib import PurePosixPath

MAIN_FILE = "nginx.conf"
CONFIG_VERSION_FILE = "config-version.conf"
CONF_DIR = "conf.d"
STREAM_CONF_DIR = "stream-conf.d"
SECRETS_DIR = "secrets"
CATCH_ALL_DIR = "default-server.d"
"""Locations of Ingress rules without a host: included by the catch-all server."""
DEFAULT_SERVER_FILE = f"{CONF_DIR}/_default-server.conf"
DEFAULT_SECRET_FILE = f"{SECRETS_DIR}/default"
"""The catch-all server's certificate (`-default-server-tls-secret`), as NIC names it; no
Ingress Secret's file can have this name (theirs are `<namespace>-<name>`)."""

ZONE_SYNC_SECRET_STEM = f"{SECRETS_DIR}/_zone-sync"
"""Zone-sync TLS files: `_zone-sync-<fingerprint>` (this replica's certificate and key) and
`_zone-sync-ca-<fingerprint>` (the CA peers are checked against). The fingerprint of the
content is in the name, so a rotated certificate is a new file and `nginx.conf` changes
with it; `_` is in no namespace name, so no Ingress Secret's file can take these names."""

OWNED_DIRECTORIES = (CONF_DIR, STREAM_CONF_DIR, SECRETS_DIR, CATCH_ALL_DIR)
"""Directories whose files are all the controller's: one not in the tree is stale."""


def ingress_file(stem: str) -> str:
    """`conf.d/<stem>.conf`; the stem is `<namespace>-<name>` (see `ingress_stem`)."""
    return f"{CONF_DIR}/{stem}.conf"


def catch_all_file(stem: str) -> str:
    return f"{CATCH_ALL_DIR}/{stem}.conf"


def secret_file(namespace: str, name: str) -> str:
    return f"{SECRETS_DIR}/{namespace}-{name}"


def secret_reference(namespace: str, name: str) -> PurePosixPath:
    """How the configuration names a TLS Secret's file: relative, like the includes.

    NGINX resolves a relative `ssl_certificate` against the directory of the main
    file, so `nginx -t` on a staged tree checks the staged certificate, not the live
    one it is about to replace.
    """
    return PurePosixPath(secret_file(namespace, name))


def zone_sync_secret_file(fingerprint: str, *, ca: bool = False) -> str:
    return f"{ZONE_SYNC_SECRET_STEM}-{'ca-' if ca else ''}{fingerprint}"


def is_secret(relative: str) -> bool:
    return PurePosixPath(relative).parts[0] == SECRETS_DIR
