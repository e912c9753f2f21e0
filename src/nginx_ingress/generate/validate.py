"""The spec of an Ingress, checked field by field before anything is generated.

A problem here rejects the Ingress (a Warning `Rejected` event names the field):
a host, path or backend that cannot be routed safely has no partial meaning.
Every check is anchored, ASCII-only and length-bounded first, so no input makes
it slow, and every value that passes can be written as a bare NGINX token.
"""

from __future__ import annotations

import re

from nginx_ingress.configmap.problems import Problem, show
from nginx_ingress.resources import BackendRef, Ingress

PATH_TYPES = ("Exact", "Prefix", "ImplementationSpecific")
MAX_PATH = 1024

# RFC 1123 labels, lower case as Kubernetes requires for Ingress hosts.
_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", re.ASCII)
# RFC 3986 path characters without those NGINX or a reader could misread: no
# whitespace, `;`, braces, quotes, `\`, `$`, `#`, `?` or anything non-ASCII; and no
# `%`: NGINX matches locations against the decoded path, so `location /a%20b` would
# only ever match a request for `/a%2520b`.
_PATH = re.compile(r"/[A-Za-z0-9\-._~!*()+,:@&=/]*", re.ASCII)
# A Service name is a DNS-1035 label; a named port an IANA service name.
_SERVICE = re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?", re.ASCII)
_PORT_NAME = re.compile(r"(?=.*[a-z])[a-z0-9]([a-z0-9]|-(?!-)){0,13}[a-z0-9]|[a-z]", re.ASCII)
_SECRET_NAME = re.compile(
    r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*", re.ASCII
)


def check_host(host: str) -> str | None:
    """Why `host` is not an Ingress host (RFC 1123, optionally `*.`-prefixed), or None."""
    if len(host) > 253:
        return "must be at most 253 characters"
    name = host[2:] if host.startswith("*.") else host
    labels = name.split(".")
    if not all(_LABEL.fullmatch(label) for label in labels):
        return (
            "must be a lower-case DNS name (RFC 1123), optionally starting with '*.': "
            "letters, digits, '-' and '.'"
        )
    if all(label.isdigit() for label in labels):
        return "must be a DNS name, not an IP address"
    return None


def check_path(path: str, path_type: str) -> str | None:
    """Why `path` cannot be served with `path_type`, or None."""
    if path_type not in PATH_TYPES:
        return f"pathType must be one of {', '.join(PATH_TYPES)}"
    if not path:
        return None if path_type == "ImplementationSpecific" else "must not be empty"
    if len(path) > MAX_PATH:
        return f"must be at most {MAX_PATH} characters"
    if not _PATH.fullmatch(path):
        return (
            "must start with '/' and hold only letters, digits and -._~!*()+,:@&=/ "
            "(no whitespace, ';', braces, quotes, '\\', '$', '#', '?', non-ASCII, or '%': "
            "NGINX matches the decoded path, so a percent-encoded one never matches)"
        )
    segments = path.split("/")[1:]
    if any(segment in (".", "..") for segment in segments):
        return "must not hold '.' or '..' segments"
    if "//" in path:
        return "must not hold '//' (NGINX merges slashes before matching)"
    if path_type == "ImplementationSpecific":
        # NIC compiles every path as a regular expression; keep its rule so an Ingress
        # that works here also works there.
        try:
            re.compile(path)
        except re.error as error:
            return f"must be a valid regular expression for ImplementationSpecific: {error}"
    return None


def check_backend(backend: BackendRef) -> str | None:
    if backend.resource:
        return "resource backends are not supported; use a service backend"
    if not backend.service:
        return "service.name is required"
    if len(backend.service) > 63 or not _SERVICE.fullmatch(backend.service):
        return "service.name must be a Service name (a DNS-1035 label)"
    if backend.port_number is not None:
        if not 1 <= backend.port_number <= 65535:
            return "service.port.number must be from 1 to 65535"
        return None
    if not backend.port_name:
        return "service.port needs a number or a name"
    if not _PORT_NAME.fullmatch(backend.port_name):
        return "service.port.name must be a port name (up to 15 lower-case letters, digits, '-')"
    return None


def check_secret_name(name: str) -> str | None:
    if len(name) > 253 or not _SECRET_NAME.fullmatch(name):
        return "must be a Secret name (a lower-case DNS subdomain)"
    return None


_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", re.ASCII)


def check_ingress(ingress: Ingress) -> tuple[Problem, ...]:
    """Every reason to reject `ingress`, each naming its field."""
    problems = [
        Problem(field, message)
        for field, _, message in (text.partition(": ") for text in ingress.problems)
    ]
    if not _NAMESPACE.fullmatch(ingress.namespace) or check_secret_name(ingress.name):
        # The API server guarantees both; without them the file name is not safe.
        problems.append(Problem("metadata", "needs a valid namespace and name"))
    if not ingress.rules and ingress.default_backend is None:
        problems.append(Problem("spec", "needs rules or a defaultBackend"))
    if ingress.default_backend is not None and (reason := check_backend(ingress.default_backend)):
        problems.append(Problem("spec.defaultBackend", reason))
    for i, rule in enumerate(ingress.rules):
        where = f"spec.rules[{i}]"
        if rule.host and (reason := check_host(rule.host)):
            problems.append(Problem(f"{where}.host", reason, show(rule.host)))
        if not rule.paths and ingress.default_backend is None:
            problems.append(Problem(f"{where}.http.paths", "needs at least one path"))
        for j, path in enumerate(rule.paths):
            at = f"{where}.http.paths[{j}]"
            if reason := check_path(path.path, path.path_type):
                problems.append(Problem(f"{at}.path", reason, show(path.path)))
            if reason := check_backend(path.backend):
                problems.append(Problem(f"{at}.backend", reason))
    for i, tls in enumerate(ingress.tls):
        where = f"spec.tls[{i}]"
        for j, host in enumerate(tls.hosts):
            if reason := check_host(host):
                problems.append(Problem(f"{where}.hosts[{j}]", reason, show(host)))
        if tls.secret_name and (reason := check_secret_name(tls.secret_name)):
            problems.append(Problem(f"{where}.secretName", reason, show(tls.secret_name)))
    return tuple(problems)
