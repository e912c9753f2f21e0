"""Optional authentication: bearer tokens and TLS client certificates.

With neither configured every request is served as an administrator, which is what
a development server usually wants. With either configured, a request without valid
credentials gets 401, and the user name (and groups) found here is what RBAC sees.
Token users follow the kube-apiserver token file (`token,user,uid,"group1,group2"`),
certificate users its x509 rules (CN is the user, each O a group).
"""

from __future__ import annotations

import csv
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nginx_ingress_dev.devcluster.errors import Unauthorized

AUTHENTICATED = "system:authenticated"
MASTERS = "system:masters"


@dataclass(frozen=True)
class UserInfo:
    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""


ADMIN = UserInfo("system:admin", (MASTERS, AUTHENTICATED))
ANONYMOUS = UserInfo("system:anonymous", ("system:unauthenticated",))


def service_account_user(namespace: str, name: str) -> UserInfo:
    """The user a ServiceAccount token authenticates as."""
    return UserInfo(
        f"system:serviceaccount:{namespace}:{name}",
        ("system:serviceaccounts", f"system:serviceaccounts:{namespace}"),
    )


def read_token_file(path: str | Path) -> dict[str, UserInfo]:
    """A kube-apiserver `--token-auth-file`: `token,user,uid[,"group1,group2"]` per line."""
    tokens: dict[str, UserInfo] = {}
    with Path(path).open(encoding="utf-8", newline="") as stream:
        for row in csv.reader(stream):
            if not row or row[0].startswith("#"):
                continue
            if len(row) < 3:
                raise ValueError(f"{path}: a token line needs token,user,uid: {row!r}")
            groups = tuple(g for g in (row[3].split(",") if len(row) > 3 else []) if g)
            tokens[row[0]] = UserInfo(row[1], groups, row[2])
    return tokens


@dataclass(frozen=True)
class Authenticator:
    """Who sent a request. `tokens` maps bearer tokens to users."""

    tokens: Mapping[str, UserInfo]
    client_certificates: bool = False

    @property
    def enabled(self) -> bool:
        return bool(self.tokens) or self.client_certificates

    def authenticate(
        self, authorization: str | None, peer_certificate: Mapping[str, Any] | None
    ) -> UserInfo:
        if not self.enabled:
            return ADMIN
        if authorization:
            scheme, _, credential = authorization.partition(" ")
            if scheme.lower() == "bearer" and credential.strip():
                user = self._user_for_token(credential.strip())
                if user is not None:
                    return _with_authenticated(user)
            raise Unauthorized("Unauthorized")
        if peer_certificate:
            user = user_from_certificate(peer_certificate)
            if user is not None:
                return _with_authenticated(user)
        raise Unauthorized("Unauthorized")

    def _user_for_token(self, token: str) -> UserInfo | None:
        found: UserInfo | None = None
        for candidate, user in self.tokens.items():
            if hmac.compare_digest(candidate.encode(), token.encode()):
                found = user
        return found


def _with_authenticated(user: UserInfo) -> UserInfo:
    if AUTHENTICATED in user.groups:
        return user
    return UserInfo(user.name, (*user.groups, AUTHENTICATED), user.uid)


def user_from_certificate(certificate: Mapping[str, Any]) -> UserInfo | None:
    """CN is the user name, every O a group (as `ssl.SSLSocket.getpeercert()` gives them)."""
    names: list[str] = []
    groups: list[str] = []
    subject: Iterable[Any] = certificate.get("subject") or ()
    for rdn in subject:
        for attribute, value in rdn:
            if attribute == "commonName":
                names.append(value)
            elif attribute == "organizationName":
                groups.append(value)
    if not names:
        return None
    return UserInfo(names[0], tuple(groups))
