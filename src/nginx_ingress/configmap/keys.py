"""The table of core ConfigMap keys: name, field, parser and documentation, one row each.

Adding a key is one row here and one field in `GlobalConfig`. The zone-sync keys
have rules that span keys and live in `zonesync`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from nginx_ingress.configmap.config import GlobalConfig
from nginx_ingress.configmap.parsers import (
    SSL_PROTOCOLS,
    InvalidValue,
    parse_bool,
    parse_buffers,
    parse_comma_list,
    parse_enum,
    parse_header_names,
    parse_host,
    parse_int,
    parse_lines,
    parse_network,
    parse_nginx_string,
    parse_proxy_headers,
    parse_size,
    parse_ssl_ciphers,
    parse_ssl_protocols,
    parse_time,
)
from nginx_ingress.settings import Settings
from nginx_ingress.values import HostPort, Network, NginxString, Size, Time, TimeKind

Parser = Callable[[str, Settings], object]


@dataclass(frozen=True, slots=True)
class KeySpec:
    """One ConfigMap key. `parse` raises `InvalidValue`; the default is the field's default."""

    key: str
    field: str
    parse: Parser
    valid: str
    """What a valid value looks like, for the docs."""
    plus_only: bool = False
    unset: str = "NGINX's default"
    """How the default reads in a message when the field's default is None."""


def _plain(parser: Callable[[str], object]) -> Parser:
    return lambda text, _settings: parser(text)


def _time(kind: TimeKind = TimeKind.MILLISECONDS) -> Parser:
    return lambda text, _settings: parse_time(text, kind)


def _int(minimum: int, maximum: int) -> Parser:
    return lambda text, _settings: parse_int(text, minimum, maximum)


def _worker_processes(text: str) -> int | None:
    return None if text == "auto" else parse_int(text, 1, 1024)


def _keepalive_timeout(text: str) -> tuple[Time, ...]:
    timeout, space, header_timeout = text.partition(" ")
    if not space:
        return (parse_time(timeout),)
    try:
        return (parse_time(timeout), parse_time(header_timeout, TimeKind.SECONDS))
    except InvalidValue as error:
        raise InvalidValue(
            f"must be '<timeout>' or '<timeout> <header timeout>': {error}"
        ) from None


def _log_format(text: str) -> tuple[NginxString, ...]:
    """The lines of a log format, joined by one space, as NIC does.

    NGINX concatenates the strings of a `log_format` with nothing between them, so a
    format written over several lines (a YAML block) would glue the last field of one
    line to the first of the next (`404 146"REF"`). NIC documents that each line break
    becomes a space; each line after the first carries that space at its start.
    """
    lines = parse_lines(text, what="log format")
    return (lines[0], *(NginxString(f" {line.text}") for line in lines[1:]))


LOG_FORMAT_ESCAPING = ("default", "json", "none")

_ADDRESS_HEADER = re.compile(r"[A-Za-z][A-Za-z0-9]*(-[A-Za-z0-9]+)+", re.ASCII)


def _real_ip_header(text: str) -> str:
    """`proxy_protocol`, or the name of a header that carries the client address.

    Every such header in use (X-Real-IP, X-Forwarded-For, True-Client-IP,
    CF-Connecting-IP …) is hyphenated; requiring that turns a value typed into the
    wrong key (`true`, `yes`, a number) into an error instead of a header name.
    """
    if text == "proxy_protocol" or (len(text) <= 64 and _ADDRESS_HEADER.fullmatch(text)):
        return text
    raise InvalidValue(
        "must be proxy_protocol or a header name such as X-Forwarded-For "
        "(letters and digits in '-'-separated words)"
    )


ERROR_LOG_LEVELS = ("debug", "info", "notice", "warn", "error", "crit", "alert", "emerg")
LB_METHODS = (
    "round_robin",
    "least_conn",
    "ip_hash",
    "random",
    "random two",
    "random two least_conn",
)
LB_METHODS_PLUS = (
    *LB_METHODS,
    "random two least_time=header",
    "random two least_time=last_byte",
    "least_time header",
    "least_time last_byte",
    "least_time header inflight",
    "least_time last_byte inflight",
)


def _lb_method(text: str, settings: Settings) -> tuple[str | NginxString, ...]:
    choices = LB_METHODS_PLUS if settings.nginx_plus else LB_METHODS
    words = text.split(" ")
    if words[0] == "hash" and len(words) in (2, 3):
        if len(words) == 3 and words[2] != "consistent":
            raise InvalidValue("must be 'hash <key>' or 'hash <key> consistent'")
        key = parse_nginx_string(words[1], what="a hash key")
        return ("hash", key, *words[2:])
    if text not in choices:
        raise InvalidValue("must be one of: " + ", ".join(choices) + ", hash <key> [consistent]")
    return tuple(words)


REDIRECT_CODES = (301, 302, 303, 307, 308)


def _default_server_return(text: str) -> tuple[int, NginxString | None]:
    code_text, space, target = text.partition(" ")
    code = parse_int(code_text, 100, 599)
    if not space:
        if code in REDIRECT_CODES:
            raise InvalidValue(f"a redirect ({code}) needs a URL: '{code} https://example.com'")
        return (code, None)
    what = "a redirect URL" if code in REDIRECT_CODES else "response text"
    parsed = parse_nginx_string(target, what=what)
    if code in REDIRECT_CODES and not target.startswith(("http://", "https://", "$scheme://", "/")):
        raise InvalidValue("the redirect URL must start with http://, https://, $scheme:// or /")
    return (code, parsed)


def _server_tokens(text: str, settings: Settings) -> str | NginxString:
    try:
        return "on" if parse_bool(text) else "off"
    except InvalidValue:
        pass
    if text == "build":
        return text
    if not settings.nginx_plus:
        raise InvalidValue("must be a boolean or 'build' (a custom string needs NGINX Plus)")
    return parse_nginx_string(text, what="a server name string")


# NGINX refuses a shared memory zone of fewer than 8 pages ("zone is too small"): 32k with
# the usual 4 KiB pages.
MIN_UPSTREAM_ZONE = 32 * 1024


def _upstream_zone_size(text: str, settings: Settings) -> Size:
    size = parse_size(text)
    if settings.nginx_plus and size.bytes == 0:
        raise InvalidValue("must be above 0: NGINX Plus changes upstreams through their zones")
    if 0 < size.bytes < MIN_UPSTREAM_ZONE:
        raise InvalidValue("must be 0 or at least 32k: NGINX refuses a smaller zone")
    return size


CORE_KEYS: tuple[KeySpec, ...] = (
    KeySpec("proxy-connect-timeout", "proxy_connect_timeout", _time(), "time"),
    KeySpec("proxy-read-timeout", "proxy_read_timeout", _time(), "time"),
    KeySpec("proxy-send-timeout", "proxy_send_timeout", _time(), "time"),
    KeySpec(
        "client-max-body-size", "client_max_body_size", _plain(parse_size), "size; 0 = no limit"
    ),
    KeySpec("proxy-buffering", "proxy_buffering", _plain(parse_bool), "boolean"),
    KeySpec("proxy-buffers", "proxy_buffers", _plain(parse_buffers), "`<number> <size>`"),
    KeySpec("proxy-buffer-size", "proxy_buffer_size", _plain(parse_size), "size"),
    KeySpec(
        "proxy-max-temp-file-size",
        "proxy_max_temp_file_size",
        _plain(parse_size),
        "size; 0 = no temporary files",
    ),
    KeySpec(
        "proxy-hide-headers",
        "proxy_hide_headers",
        _plain(parse_header_names),
        "comma-separated header names",
        unset="none",
    ),
    KeySpec(
        "proxy-pass-headers",
        "proxy_pass_headers",
        _plain(parse_header_names),
        "comma-separated header names",
        unset="none",
    ),
    KeySpec(
        "proxy-set-headers",
        "proxy_set_headers",
        _plain(parse_proxy_headers),
        "comma-separated `Name` (pass the client's) or `Name: value`",
        unset="none",
    ),
    KeySpec(
        "worker-processes",
        "worker_processes",
        _plain(_worker_processes),
        "`auto` or 1–1024",
        unset="auto",
    ),
    KeySpec("worker-connections", "worker_connections", _int(16, 1048576), "16–1048576"),
    KeySpec("worker-shutdown-timeout", "worker_shutdown_timeout", _time(), "time"),
    KeySpec(
        "keepalive-timeout",
        "keepalive_timeout",
        _plain(_keepalive_timeout),
        "time, optionally followed by a header time",
    ),
    KeySpec("keepalive-requests", "keepalive_requests", _int(0, 1000000000), "0–1000000000"),
    KeySpec(
        "server-names-hash-bucket-size",
        "server_names_hash_bucket_size",
        _int(32, 32768),
        "32–32768",
    ),
    KeySpec(
        "server-names-hash-max-size",
        "server_names_hash_max_size",
        _int(64, 16777216),
        "64–16777216",
    ),
    KeySpec(
        "error-log-level",
        "error_log_level",
        _plain(lambda text: parse_enum(text, ERROR_LOG_LEVELS)),
        " ".join(ERROR_LOG_LEVELS),
    ),
    KeySpec("access-log-off", "access_log_off", _plain(parse_bool), "boolean"),
    KeySpec(
        "log-format",
        "log_format",
        _plain(_log_format),
        "text, one or more lines (joined by one space); `$variables` NGINX knows",
        unset="the built-in format",
    ),
    KeySpec(
        "log-format-escaping",
        "log_format_escaping",
        _plain(lambda text: parse_enum(text, LOG_FORMAT_ESCAPING)),
        " ".join(LOG_FORMAT_ESCAPING),
        unset="default",
    ),
    KeySpec(
        "ssl-protocols",
        "ssl_protocols",
        _plain(parse_ssl_protocols),
        "space-separated: " + " ".join(SSL_PROTOCOLS),
    ),
    KeySpec("ssl-ciphers", "ssl_ciphers", _plain(parse_ssl_ciphers), "OpenSSL cipher list"),
    KeySpec(
        "ssl-prefer-server-ciphers", "ssl_prefer_server_ciphers", _plain(parse_bool), "boolean"
    ),
    KeySpec("http2", "http2", _plain(parse_bool), "boolean"),
    KeySpec("hsts", "hsts", _plain(parse_bool), "boolean"),
    KeySpec("hsts-max-age", "hsts_max_age", _int(0, 2**31 - 1), "seconds, 0–2147483647"),
    KeySpec("hsts-include-subdomains", "hsts_include_subdomains", _plain(parse_bool), "boolean"),
    KeySpec("hsts-behind-proxy", "hsts_behind_proxy", _plain(parse_bool), "boolean"),
    KeySpec("ssl-redirect", "ssl_redirect", _plain(parse_bool), "boolean"),
    KeySpec("redirect-to-https", "redirect_to_https", _plain(parse_bool), "boolean"),
    KeySpec(
        "real-ip-header",
        "real_ip_header",
        _plain(_real_ip_header),
        "a client-address header such as `X-Forwarded-For`, or `proxy_protocol`",
    ),
    KeySpec(
        "set-real-ip-from",
        "set_real_ip_from",
        _plain(lambda text: parse_comma_list(text, parse_network)),
        "comma-separated addresses or CIDR blocks, or `unix:`",
    ),
    KeySpec("real-ip-recursive", "real_ip_recursive", _plain(parse_bool), "boolean"),
    KeySpec("proxy-protocol", "proxy_protocol", _plain(parse_bool), "boolean"),
    KeySpec(
        "lb-method",
        "lb_method",
        _lb_method,
        "round_robin, least_conn, ip_hash, random [two [least_conn]], hash <key> [consistent]"
        "; NGINX Plus adds least_time forms",
    ),
    KeySpec("max-fails", "max_fails", _int(0, 1000000), "0–1000000"),
    KeySpec("max-conns", "max_conns", _int(0, 1000000), "0–1000000; 0 = no limit"),
    KeySpec("fail-timeout", "fail_timeout", _time(TimeKind.SECONDS), "time (seconds or larger)"),
    KeySpec("keepalive", "keepalive", _int(0, 1000000), "0–1000000 idle connections per worker"),
    KeySpec(
        "upstream-zone-size",
        "upstream_zone_size",
        _upstream_zone_size,
        "size, at least 32k; 0 drops the zone (OSS only)",
    ),
    KeySpec(
        "default-server-return",
        "default_server_return",
        _plain(_default_server_return),
        "status code, with a URL for redirects: `404`, `302 https://example.com`",
    ),
    KeySpec(
        "server-tokens",
        "server_tokens",
        _server_tokens,
        "boolean or `build`; NGINX Plus also takes a string",
    ),
    KeySpec(
        "external-status-address",
        "external_status_address",
        _plain(lambda text: parse_comma_list(text, lambda e: parse_host(e, allow_port=False))),
        "comma-separated IP addresses or DNS names",
    ),
    KeySpec(
        "resolver-addresses",
        "resolver_addresses",
        _plain(lambda text: parse_comma_list(text, parse_host, max_items=16)),
        "comma-separated IPs or DNS names with optional :port",
        plus_only=True,
    ),
    KeySpec(
        "resolver-valid",
        "resolver_valid",
        _time(TimeKind.SECONDS),
        "time (seconds or larger)",
        plus_only=True,
    ),
    KeySpec("resolver-ipv6", "resolver_ipv6", _plain(parse_bool), "boolean", plus_only=True),
    KeySpec("resolver-timeout", "resolver_timeout", _time(), "time", plus_only=True),
)

CORE_KEYS_BY_NAME = {spec.key: spec for spec in CORE_KEYS}
_DEFAULTS = GlobalConfig()
PLUS_UPSTREAM_ZONE_SIZE = Size("512k", 512 * 1024)


def describe_default(spec: KeySpec, settings: Settings) -> str:
    default = default_of(spec, settings)
    return spec.unset if default is None else describe(default)


def default_of(spec: KeySpec, settings: Settings) -> object:
    if spec.key == "upstream-zone-size" and settings.nginx_plus:
        return PLUS_UPSTREAM_ZONE_SIZE
    return getattr(_DEFAULTS, spec.field)


def describe(value: object) -> str:
    """How a parsed value reads in a message ("using 60s")."""
    if value is None:
        return "NGINX's default"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        if not value:
            return "none"
        separator = ", " if isinstance(value[0], (HostPort, Network)) else " "
        return separator.join(describe(v) for v in value if v is not None)
    return str(value)
