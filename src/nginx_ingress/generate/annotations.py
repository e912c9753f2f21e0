"""Ingress annotations → the options of one Ingress, each through a typed parser.

Precedence: annotation, then the ConfigMap, then the default. An annotation with a
ConfigMap twin uses that key's parser, so a value means the same in both places.
A bad annotation is reported and ignored: the Ingress is still served, with the
ConfigMap's value, and its event says `AddedOrUpdatedWithError` (NIC rejects the
whole Ingress for one bad annotation).

Annotations in our namespaces (`nginx.org/`, `nginx.com/`) that this controller
does not implement are reported too, so a typo or a NIC-only feature is visible
instead of silently doing nothing.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nginx_ingress.configmap import GlobalConfig
from nginx_ingress.configmap.keys import CORE_KEYS_BY_NAME
from nginx_ingress.configmap.parse import max_temp_file_size_refusal, proxy_buffers_refusal
from nginx_ingress.configmap.parsers import InvalidValue
from nginx_ingress.configmap.problems import Problem, show
from nginx_ingress.generate import shared
from nginx_ingress.settings import Settings
from nginx_ingress.values import Buffers, NginxString, ProxyHeader, Size, Time

SSL_REDIRECT_DEPRECATED = "ingress.kubernetes.io/ssl-redirect"
REWRITES = "nginx.org/rewrites"
REWRITE_TARGET = "nginx.org/rewrite-target"
OUR_PREFIXES = ("nginx.org/", "nginx.com/")


@dataclass(frozen=True, slots=True)
class IngressOptions:
    """What the annotations of one Ingress say, merged with the ConfigMap.

    The effective fields hold the annotation's value, else the ConfigMap's. The
    overrides are None unless an annotation sets them: the http-level value the
    ConfigMap set in `nginx.conf` then applies, and nothing is repeated per location.
    """

    # effective: locations (NGINX does not merge these lists with the http level)
    proxy_hide_headers: tuple[str, ...]
    proxy_pass_headers: tuple[str, ...]
    proxy_set_headers: tuple[ProxyHeader, ...]
    # effective: servers
    ssl_redirect: bool
    redirect_to_https: bool
    hsts: bool
    hsts_max_age: int
    hsts_include_subdomains: bool
    hsts_behind_proxy: bool
    http2: bool
    # effective: upstreams
    lb_method: tuple[str | NginxString, ...]
    max_fails: int
    max_conns: int
    fail_timeout: Time
    keepalive: int
    upstream_zone_size: Size
    # overrides
    proxy_connect_timeout: Time | None = None
    proxy_read_timeout: Time | None = None
    proxy_send_timeout: Time | None = None
    client_max_body_size: Size | None = None
    proxy_buffering: bool | None = None
    proxy_buffers: Buffers | None = None
    proxy_buffer_size: Size | None = None
    proxy_max_temp_file_size: Size | None = None
    server_tokens: str | NginxString | None = None
    # annotation only
    rewrite_target: str | None = None
    rewrites: Mapping[str, str] = field(default_factory=dict)
    """Service name → the URI its locations proxy to (NIC's `nginx.org/rewrites`)."""


Parser = Callable[[str, Settings], Any]


@dataclass(frozen=True, slots=True)
class AnnotationSpec:
    name: str
    field: str
    parse: Parser
    twin: str | None
    """The ConfigMap key with the same meaning, whose value applies when unset."""
    valid: str
    override: bool = False
    """True: the option is None unless annotated (an http-level value applies)."""


def _twin(key: str) -> Parser:
    return CORE_KEYS_BY_NAME[key].parse


def _nginx_org(key: str, *, override: bool = False, field: str | None = None) -> AnnotationSpec:
    spec = CORE_KEYS_BY_NAME[key]
    return AnnotationSpec(
        f"nginx.org/{key}", field or spec.field, spec.parse, key, spec.valid, override
    )


_URI = re.compile(r"/[A-Za-z0-9\-._~!*()+,:@&=%/]{0,1023}", re.ASCII)


def parse_uri(text: str) -> str:
    """A path to proxy to instead of the matched one (a rewrite target)."""
    if not _URI.fullmatch(text):
        raise InvalidValue(
            "must be a path starting with '/': letters, digits and -._~!*()+,:@&=%/ "
            "(no '$': captures need regex paths, which this controller does not offer yet)"
        )
    if "//" in text or any(part in (".", "..") for part in text.split("/")[1:]):
        raise InvalidValue("must not hold '//', '.' or '..' segments")
    return text


_SERVICE = re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?", re.ASCII)


def parse_rewrites(text: str) -> dict[str, str]:
    """NIC's `serviceName=svc rewrite=/path/;serviceName=svc2 rewrite=/`."""
    rewrites: dict[str, str] = {}
    for index, entry in enumerate(text.split(";"), start=1):
        words = entry.strip(" \t").split(" ")
        service, _, path = words[0].partition("=") if words else ("", "", "")
        key, _, target = words[1].partition("=") if len(words) == 2 else ("", "", "")
        if service != "serviceName" or key != "rewrite" or not _SERVICE.fullmatch(path):
            raise InvalidValue(
                f"entry {index} must be 'serviceName=<service> rewrite=<path>'; "
                "entries are separated by ';'"
            )
        if path in rewrites:
            raise InvalidValue(f"names service {path} twice")
        try:
            rewrites[path] = parse_uri(target)
        except InvalidValue as error:
            raise InvalidValue(f"entry {index}: the rewrite {error}") from None
    return rewrites


ANNOTATIONS: tuple[AnnotationSpec, ...] = (
    _nginx_org("proxy-connect-timeout", override=True),
    _nginx_org("proxy-read-timeout", override=True),
    _nginx_org("proxy-send-timeout", override=True),
    _nginx_org("client-max-body-size", override=True),
    _nginx_org("proxy-buffering", override=True),
    _nginx_org("proxy-buffers", override=True),
    _nginx_org("proxy-buffer-size", override=True),
    _nginx_org("proxy-max-temp-file-size", override=True),
    _nginx_org("proxy-hide-headers"),
    _nginx_org("proxy-pass-headers"),
    _nginx_org("proxy-set-headers"),
    AnnotationSpec(
        REWRITE_TARGET,
        "rewrite_target",
        lambda text, _s: parse_uri(text),
        None,
        "a path such as `/` or `/api/`: the matched path is replaced by it",
    ),
    AnnotationSpec(
        REWRITES,
        "rewrites",
        lambda text, _s: parse_rewrites(text),
        None,
        "`serviceName=<service> rewrite=<path>`, entries separated by `;`",
    ),
    _nginx_org("ssl-redirect"),
    AnnotationSpec(
        SSL_REDIRECT_DEPRECATED,
        "ssl_redirect",
        _twin("ssl-redirect"),
        "ssl-redirect",
        "boolean (deprecated spelling of `nginx.org/ssl-redirect`, which wins)",
    ),
    _nginx_org("redirect-to-https"),
    _nginx_org("hsts"),
    _nginx_org("hsts-max-age"),
    _nginx_org("hsts-include-subdomains"),
    _nginx_org("hsts-behind-proxy"),
    _nginx_org("http2"),
    _nginx_org("server-tokens", override=True),
    _nginx_org("lb-method"),
    _nginx_org("max-fails"),
    _nginx_org("max-conns"),
    _nginx_org("fail-timeout"),
    _nginx_org("keepalive"),
    _nginx_org("upstream-zone-size"),
)
ANNOTATIONS_BY_NAME = {spec.name: spec for spec in ANNOTATIONS}


@dataclass(frozen=True, slots=True)
class ParsedAnnotations:
    options: IngressOptions
    problems: tuple[Problem, ...]


def parse_annotations(
    annotations: Mapping[str, str], config: GlobalConfig, settings: Settings
) -> ParsedAnnotations:
    """The options of one Ingress; never raises for bad input."""
    problems: list[Problem] = []
    values: dict[str, Any] = {
        spec.field: getattr(config, spec.field)
        for spec in ANNOTATIONS
        if spec.twin is not None and not spec.override
    }
    for name in sorted(annotations):
        spec = ANNOTATIONS_BY_NAME.get(name)
        if spec is None:
            if name.startswith(OUR_PREFIXES) and name not in shared.KNOWN:
                problems.append(_unknown(name))
            continue
        if name == SSL_REDIRECT_DEPRECATED and "nginx.org/ssl-redirect" in annotations:
            continue
        text = annotations[name]
        try:
            values[spec.field] = spec.parse(text, settings)
        except InvalidValue as error:
            used = "the ConfigMap's value" if spec.twin else "nothing"
            problems.append(Problem(name, str(error), show(text), used))
    options = IngressOptions(**values)
    options = _check_buffers(options, config, annotations, problems)
    return ParsedAnnotations(options, tuple(sorted(problems, key=lambda p: p.key)))


def _check_buffers(
    options: IngressOptions,
    config: GlobalConfig,
    annotations: Mapping[str, str],
    problems: list[Problem],
) -> IngressOptions:
    """The effective buffer settings (annotation, else ConfigMap) must be ones NGINX takes."""
    for name, field_name in (
        ("nginx.org/proxy-buffer-size", "proxy_buffer_size"),
        ("nginx.org/proxy-buffers", "proxy_buffers"),
    ):
        if getattr(options, field_name) is None:
            continue
        buffers = options.proxy_buffers or config.proxy_buffers
        buffer_size = options.proxy_buffer_size or config.proxy_buffer_size
        reason = proxy_buffers_refusal(buffers, buffer_size)
        if reason is not None:
            problems.append(Problem(name, reason, show(annotations[name]), "the ConfigMap's value"))
            options = dataclasses.replace(options, **{field_name: None})  # type: ignore[arg-type]
    # The temporary file limit (annotated, or inherited from the ConfigMap) must hold one
    # buffer of the effective size: blame the limit first, then the larger buffers.
    for name, field_name in (
        ("nginx.org/proxy-max-temp-file-size", "proxy_max_temp_file_size"),
        ("nginx.org/proxy-buffer-size", "proxy_buffer_size"),
        ("nginx.org/proxy-buffers", "proxy_buffers"),
    ):
        if getattr(options, field_name) is None:
            continue
        reason = max_temp_file_size_refusal(
            options.proxy_max_temp_file_size or config.proxy_max_temp_file_size,
            options.proxy_buffers or config.proxy_buffers,
            options.proxy_buffer_size or config.proxy_buffer_size,
        )
        if reason is not None:
            problems.append(Problem(name, reason, show(annotations[name]), "the ConfigMap's value"))
            options = dataclasses.replace(options, **{field_name: None})  # type: ignore[arg-type]
    return options


def _unknown(name: str) -> Problem:
    message = "not supported by this controller; ignored"
    close = difflib.get_close_matches(name, [*ANNOTATIONS_BY_NAME, *shared.KNOWN], n=1, cutoff=0.85)
    if close:
        message += f"; did you mean {close[0]!r}?"
    return Problem(name, message)
