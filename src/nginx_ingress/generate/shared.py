"""The annotations of the state zone sync shares: rate limits and sticky sessions.

Rate limits use NIC's annotations (`nginx.org/limit-req-*`): one `limit_req_zone` per
Ingress, named `<namespace>/<name>` so every replica renders the same name. With zone
sync on, the zone is `<namespace>/<name>_sync` and carries `sync`: NGINX cannot add or
drop `sync` on an existing zone across a reload, so toggling zone sync renames every
zone in the same apply. `limit-req-scale` divides the rate by the number of ready
controller replicas when each keeps its own counters; with zone sync the counters are
shared, so it is ignored, and said so (NIC only logs it).

Sticky sessions are NGINX Plus: `nginx.com/sticky-cookie-services` as NIC has it, and,
beyond NIC, `nginx.com/sticky-learn-services`, whose learned sessions live in a zone
that zone sync shares (`sticky learn … zone=<name>:<size> sync`).

Each value goes through a typed parser; a bad one is reported and the feature is left
out for that Ingress (a rate limit with a bad key would not be the limit the user
meant), never half-applied.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from nginx_ingress.configmap.parsers import (
    InvalidValue,
    parse_bool,
    parse_int,
    parse_rate,
    parse_size,
    parse_time,
    parse_variable_key,
)
from nginx_ingress.configmap.problems import Problem, show
from nginx_ingress.model import RateLimit, StickyCookie, StickyLearn
from nginx_ingress.values import NginxString, Size, Time, TimeKind

LIMIT_REQ = "nginx.org/limit-req-"
LIMIT_REQ_ANNOTATIONS = tuple(
    f"{LIMIT_REQ}{name}"
    for name in (
        "rate",
        "key",
        "zone-size",
        "burst",
        "delay",
        "no-delay",
        "dry-run",
        "log-level",
        "reject-code",
        "scale",
    )
)
STICKY_COOKIE = "nginx.com/sticky-cookie-services"
STICKY_LEARN = "nginx.com/sticky-learn-services"
KNOWN = frozenset({*LIMIT_REQ_ANNOTATIONS, STICKY_COOKIE, STICKY_LEARN})
"""Annotation names this module reads (the general table reports the others it does not know)."""

DEFAULT_KEY = NginxString("${binary_remote_addr}")
DEFAULT_ZONE_SIZE = Size("10m", 10 * 1024**2)
MIN_ZONE_SIZE = 32 * 1024
"""NGINX refuses a shared zone smaller than 8 pages ("zone is too small")."""
LOG_LEVELS = ("info", "notice", "warn", "error")
SYNC_SUFFIX = "_sync"
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RateLimitRequest:
    """What the annotations ask for, before zone sync and the replica count are known."""

    rate_limit: RateLimit
    scale: bool

    def effective(self, *, zone_sync: bool, replicas: int) -> RateLimit:
        """The zone as rendered: renamed and synced with zone sync, else scaled if asked."""
        limit = self.rate_limit
        if zone_sync:
            return dataclasses.replace(limit, zone=limit.zone + SYNC_SUFFIX, sync=True)
        if self.scale:
            return dataclasses.replace(limit, rate=limit.rate.scaled(replicas))
        return limit


def parse_rate_limit(
    annotations: Mapping[str, str], namespace: str, name: str
) -> tuple[RateLimitRequest | None, list[Problem]]:
    """The Ingress's rate limit (None without `limit-req-rate`), and the problems found."""
    present = [a for a in LIMIT_REQ_ANNOTATIONS if a in annotations]
    if not present:
        return None, []
    problems: list[Problem] = []
    rate_text = annotations.get(f"{LIMIT_REQ}rate")
    if rate_text is None:
        return None, [
            Problem(a, "has no effect without nginx.org/limit-req-rate; ignored") for a in present
        ]

    def value(key: str, parse: Callable[[str], T], default: T) -> T:
        text = annotations.get(f"{LIMIT_REQ}{key}")
        if text is None:
            return default
        try:
            return parse(text)
        except InvalidValue as error:
            problems.append(
                Problem(
                    f"{LIMIT_REQ}{key}", str(error), show(text), "no rate limit for this Ingress"
                )
            )
            return default

    rate = value("rate", _optional(parse_rate), None)
    key = value("key", parse_variable_key, DEFAULT_KEY)
    size = value("zone-size", _zone_size, DEFAULT_ZONE_SIZE)
    burst = value("burst", _optional(lambda t: parse_int(t, 0, 10**9)), None)
    delay = value("delay", _optional(lambda t: parse_int(t, 0, 10**9)), None)
    no_delay = value("no-delay", parse_bool, False)
    dry_run = value("dry-run", parse_bool, False)
    log_level = value("log-level", _log_level, "error")
    reject_code = value("reject-code", lambda t: parse_int(t, 400, 599), 429)
    scale = value("scale", parse_bool, False)
    if problems or rate is None:
        # A limit other than the one asked for would be a surprise: leave it out whole.
        return None, problems
    if delay is not None and no_delay:
        problems.append(
            Problem(f"{LIMIT_REQ}delay", "is ignored: limit-req-no-delay is true", show(str(delay)))
        )
        delay = None
    limit = RateLimit(
        zone=f"{namespace}/{name}",
        key=key,
        size=size,
        rate=rate,
        sync=False,
        burst=burst,
        delay=delay,
        no_delay=no_delay,
        dry_run=dry_run,
        log_level=log_level,
        reject_code=reject_code,
    )
    return RateLimitRequest(limit, scale), problems


def _optional(parse: Callable[[str], T]) -> Callable[[str], T | None]:
    return parse


def _zone_size(text: str) -> Size:
    size = parse_size(text)
    if size.bytes < MIN_ZONE_SIZE:
        raise InvalidValue("must be at least 32k: NGINX refuses a smaller zone")
    return size


def _log_level(text: str) -> str:
    if text not in LOG_LEVELS:
        raise InvalidValue("must be one of: " + ", ".join(LOG_LEVELS))
    return text


# --- sticky sessions -------------------------------------------------------------------------

_SERVICE = re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?", re.ASCII)
_COOKIE_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}", re.ASCII)
_DOMAIN = re.compile(
    r"\.?[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*", re.ASCII
)
_COOKIE_PATH = re.compile(r"/[A-Za-z0-9\-._~!*()+,:@&=/]{0,255}", re.ASCII)
SAMESITE = ("strict", "lax", "none")


@dataclass(frozen=True, slots=True)
class StickyLearnRequest:
    """`sticky learn` as annotated; its zone is named once the upstream's name is known."""

    create: tuple[NginxString, ...]
    lookup: tuple[NginxString, ...]
    size: Size
    timeout: Time | None
    header: bool

    def for_upstream(self, upstream: str, *, zone_sync: bool) -> StickyLearn:
        zone = f"{upstream}-learn" + (SYNC_SUFFIX if zone_sync else "")
        return StickyLearn(
            self.create, self.lookup, zone, self.size, self.timeout, self.header, zone_sync
        )


StickyRequest = StickyCookie | StickyLearnRequest


def parse_sticky(
    annotations: Mapping[str, str], *, plus: bool
) -> tuple[dict[str, StickyRequest], list[Problem]]:
    """Service name → its sticky method, from either annotation; problems on the way."""
    found: dict[str, StickyRequest] = {}
    problems: list[Problem] = []
    parsers: tuple[tuple[str, Callable[[list[str]], StickyRequest]], ...] = (
        (STICKY_COOKIE, _sticky_cookie),
        (STICKY_LEARN, _sticky_learn),
    )
    for name, parse in parsers:
        text = annotations.get(name)
        if text is None:
            continue
        if not plus:
            problems.append(Problem(name, "requires NGINX Plus (-nginx-plus); ignored", show(text)))
            continue
        try:
            entries = _entries(text, parse)
        except InvalidValue as error:
            problems.append(Problem(name, str(error), show(text), "no sticky sessions"))
            continue
        for service, method in entries.items():
            if service in found:
                problems.append(
                    Problem(name, f"names service {service} again; the first method is used")
                )
                continue
            found[service] = method
    return found, problems


def _entries(text: str, parse: Callable[[list[str]], StickyRequest]) -> dict[str, StickyRequest]:
    """`serviceName=<service> <parameters>` entries separated by `;` (NIC's form)."""
    entries: dict[str, StickyRequest] = {}
    for index, entry in enumerate(text.split(";"), start=1):
        words = entry.strip(" \t").split(" ")
        head = words[0].partition("=")
        if head[0] != "serviceName" or not _SERVICE.fullmatch(head[2]) or len(words) < 2:
            raise InvalidValue(
                f"entry {index} must be 'serviceName=<service> <parameters>'; entries are "
                "separated by ';'"
            )
        if head[2] in entries:
            raise InvalidValue(f"names service {head[2]} twice")
        try:
            entries[head[2]] = parse(words[1:])
        except InvalidValue as error:
            raise InvalidValue(f"entry {index}: {error}") from None
    return entries


def _sticky_cookie(words: list[str]) -> StickyCookie:
    """`<cookie name> [expires=<time>|max] [domain=<domain>] [path=<path>] [httponly]
    [secure] [samesite=strict|lax|none]`."""
    name, *options = words
    if not _COOKIE_NAME.fullmatch(name):
        raise InvalidValue("the cookie name must be letters, digits, '_' and '-'")
    fields: dict[str, Any] = {
        "expires": None,
        "domain": None,
        "path": None,
        "httponly": False,
        "secure": False,
        "samesite": None,
    }
    for option in options:
        key, equals, value = option.partition("=")
        if not equals and key in ("httponly", "secure"):
            fields[key] = True
        elif key == "expires" and equals:
            fields[key] = value if value == "max" else parse_time(value, TimeKind.SECONDS).text
        elif (
            (key == "domain" and equals and _DOMAIN.fullmatch(value) and len(value) <= 253)
            or (key == "path" and equals and _COOKIE_PATH.fullmatch(value))
            or (key == "samesite" and equals and value in SAMESITE)
        ):
            fields[key] = value
        else:
            raise InvalidValue(
                f"unknown or bad cookie parameter {show(option)!r}: expected expires=, "
                "domain=, path=, httponly, secure or samesite="
            )
    return StickyCookie(name, **fields)


def _sticky_learn(words: list[str]) -> StickyLearnRequest:
    """`create=<$variables> … lookup=<$variables> … [zone_size=<size>] [timeout=<time>]
    [header]`: sessions made from a response, looked up in later requests."""
    create: list[NginxString] = []
    lookup: list[NginxString] = []
    size, timeout, header = Size("1m", 1024**2), None, False
    for option in words:
        key, equals, value = option.partition("=")
        if key == "create" and equals:
            create.append(parse_variable_key(value))
        elif key == "lookup" and equals:
            lookup.append(parse_variable_key(value))
        elif key == "zone_size" and equals:
            size = _zone_size(value)
        elif key == "timeout" and equals:
            timeout = parse_time(value, TimeKind.SECONDS)
        elif option == "header":
            header = True
        else:
            raise InvalidValue(
                f"unknown or bad parameter {show(option)!r}: expected create=, lookup=, "
                "zone_size=, timeout= or header"
            )
    if not create or not lookup:
        raise InvalidValue("sticky learn needs at least one create= and one lookup=")
    return StickyLearnRequest(tuple(create), tuple(lookup), size, timeout, header)
