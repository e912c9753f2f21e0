"""One small parser per kind of ConfigMap value.

Each parser takes the raw string and returns a typed value or raises
`InvalidValue` with a message that says what a valid value looks like. They are
deliberately strict: NIC passes about twenty keys to NGINX unparsed, and Python's
own conversions are too lenient for configuration that becomes NGINX syntax
(`int(" 12")`, `int("1_2")` and `int("١٢")` all succeed). Every pattern is
anchored, ASCII-only and free of nested repetition, and every value is length
checked before any pattern sees it, so no input can make a parser slow.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import ssl
import unicodedata
from collections.abc import Callable, Sequence
from typing import TypeVar

from nginx_ingress.configmap.config import SecretRef
from nginx_ingress.configmap.variables import unknown_variables
from nginx_ingress.settings import DNS1123_LABEL, DNS1123_SUBDOMAIN
from nginx_ingress.values import (
    Buffers,
    HostKind,
    HostPort,
    Network,
    NginxString,
    ProxyHeader,
    Rate,
    Size,
    Time,
    TimeKind,
)

T = TypeVar("T")

MAX_TOKEN_LENGTH = 256
"""Longest single-token value we accept (hosts, times, sizes, names)."""

MAX_TEXT_LENGTH = 2048
"""Longest free-text value (a log format line, a return URL); NGINX reads at most
4 KiB per token, and a value this long is a mistake long before that."""


class InvalidValue(ValueError):
    """The value cannot be used; the message says what a valid value looks like."""


def _check_length(text: str, limit: int = MAX_TOKEN_LENGTH) -> None:
    if len(text) > limit:
        raise InvalidValue(f"is {len(text)} characters long; at most {limit} are allowed")


# --- booleans ------------------------------------------------------------------------

_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_GO_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


def parse_bool(text: str) -> bool:
    """A boolean exactly as Go's `strconv.ParseBool` reads it (NIC compatibility)."""
    if text in _GO_TRUE:
        return True
    if text in _GO_FALSE:
        return False
    raise InvalidValue("must be a boolean: true or false (also 1, t, T, TRUE, True, 0, f, F …)")


# --- integers and ports ------------------------------------------------------------------

_DIGITS = re.compile(r"[0-9]{1,10}", re.ASCII)


def parse_int(text: str, minimum: int, maximum: int) -> int:
    """A decimal integer in ASCII digits, no sign, spaces or separators, within a range."""
    if not _DIGITS.fullmatch(text):
        raise InvalidValue(f"must be a whole number from {minimum} to {maximum} in ASCII digits")
    value = int(text)
    if not minimum <= value <= maximum:
        raise InvalidValue(f"must be a whole number from {minimum} to {maximum}")
    return value


def parse_port(text: str) -> int:
    if not re.fullmatch(r"[0-9]{1,5}", text, re.ASCII) or not 1 <= int(text) <= 65535:
        raise InvalidValue("must be a port number from 1 to 65535 in ASCII digits")
    return int(text)


# --- times and sizes -----------------------------------------------------------------------

_SECOND = 1000
_TIME_UNITS: dict[str, int] = {
    "y": 365 * 24 * 3600 * _SECOND,
    "M": 30 * 24 * 3600 * _SECOND,
    "w": 7 * 24 * 3600 * _SECOND,
    "d": 24 * 3600 * _SECOND,
    "h": 3600 * _SECOND,
    "m": 60 * _SECOND,
    "s": _SECOND,
    "ms": 1,
}
_UNIT_ORDER = tuple(_TIME_UNITS)
_UNITS_FOR_KIND = {
    TimeKind.SECONDS: ("y", "M", "w", "d", "h", "m", "s"),
    TimeKind.MILLISECONDS: ("w", "d", "h", "m", "s", "ms"),
}
_TIME_PART = re.compile(r"([0-9]{1,10})(ms|[yMwdhms])?", re.ASCII)
MAX_TIME_MILLISECONDS = (2**31 - 1) * _SECOND


def parse_time(text: str, kind: TimeKind = TimeKind.MILLISECONDS) -> Time:
    """An NGINX time: `<digits><unit>` parts in falling unit order, such as `1h30m`.

    A bare number means seconds. Seconds-based values (`valid=`) take `y M w d h m s`;
    millisecond directives (timeouts) take `w d h m s ms`, as NGINX itself does.
    """
    units = _UNITS_FOR_KIND[kind]
    hint = (
        f"must be an NGINX time such as 5s, 1m30s or 2h: digits with the units "
        f"{' '.join(units)}, largest first, no spaces"
    )
    _check_length(text, 64)
    position, total, last_rank, parts = 0, 0, -1, []
    while position < len(text):
        match = _TIME_PART.match(text, position)
        if match is None:
            raise InvalidValue(hint)
        number, unit = int(match.group(1)), match.group(2)
        position = match.end()
        if unit is None:
            # A bare number is seconds, allowed alone or after a unit larger than seconds.
            if position != len(text) or last_rank >= _UNIT_ORDER.index("s"):
                raise InvalidValue(hint)
            unit = "s"
        if unit not in units:
            raise InvalidValue(hint)
        rank = _UNIT_ORDER.index(unit)
        if rank <= last_rank:
            raise InvalidValue(hint)
        last_rank = rank
        total += number * _TIME_UNITS[unit]
        parts.append(f"{number}{unit}")
    if not parts:
        raise InvalidValue(hint)
    if total > MAX_TIME_MILLISECONDS:
        raise InvalidValue("is too long a time (at most 2147483647s, about 68 years)")
    return Time("".join(parts), total)


_SIZE = re.compile(r"([0-9]{1,13})([kKmM]?)", re.ASCII)
_SIZE_SCALE = {"": 1, "k": 1024, "K": 1024, "m": 1024**2, "M": 1024**2}
MAX_SIZE_BYTES = 2**40


def parse_size(text: str) -> Size:
    """An NGINX size: digits with an optional `k`/`K` (KiB) or `m`/`M` (MiB)."""
    match = _SIZE.fullmatch(text)
    if match is None:
        raise InvalidValue("must be an NGINX size such as 512, 8k or 1m (units k, K, m, M)")
    size = int(match.group(1)) * _SIZE_SCALE[match.group(2)]
    if size > MAX_SIZE_BYTES:
        raise InvalidValue("is too large (at most 1 TiB)")
    return Size(text, size)


def parse_buffers(text: str) -> Buffers:
    """`<number> <size>`, one ASCII space between, as in `8 4k`."""
    number_text, space, size_text = text.partition(" ")
    if not space:
        raise InvalidValue("must be '<number> <size>', such as '8 4k'")
    try:
        number = parse_int(number_text, 1, 1024)
        size = parse_size(size_text)
    except InvalidValue as error:
        raise InvalidValue(f"must be '<number> <size>', such as '8 4k': {error}") from None
    if size.bytes == 0:
        raise InvalidValue("must be '<number> <size>' with a size above 0")
    return Buffers(number, size)


# --- names, hosts and addresses ----------------------------------------------------------

_DNS_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?", re.ASCII)


def is_dns_name(text: str) -> bool:
    """An RFC 1123 host name with at least two labels (or `localhost`).

    The last label is not all digits, so the name cannot pass for an IP address. A
    single label (`kube-dns`, or `yes` typed into the wrong key) would depend on the
    pod's DNS search list, so it is refused: write the name in full.
    """
    name = text[:-1] if text.endswith(".") else text
    if name == "localhost":
        return True
    if not name or len(name) > 253:
        return False
    labels = name.split(".")
    return (
        len(labels) > 1
        and all(_DNS_LABEL.fullmatch(label) for label in labels)
        and not labels[-1].isdigit()
    )


def _ip(text: str, version: int) -> str | None:
    # ipaddress refuses leading zeros in IPv4 and accepts `%scope` in IPv6; refuse scopes.
    if not text.isascii() or "%" in text:
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    return str(address) if address.version == version else None


def parse_host(text: str, allow_port: bool = True) -> HostPort:
    """An IPv4 address, an IPv6 address (bare, or `[…]` to give a port) or a DNS name,
    with an optional `:port`."""
    _check_length(text)
    hint = "must be an IPv4 address, an IPv6 address or a full DNS name" + (
        ", with an optional :port (write IPv6 with a port as [::1]:53)" if allow_port else ""
    )
    host, port = text, None
    if text.startswith("["):
        inner, bracket, rest = text[1:].partition("]")
        address = _ip(inner, 6) if bracket else None
        if address is None or (rest and not rest.startswith(":")):
            raise InvalidValue(hint)
        if rest:
            port = _port_of(rest[1:], hint, allow_port)
        return HostPort(address, HostKind.IPV6, port)
    if text.count(":") > 1:
        address = _ip(text, 6)
        if address is None:
            raise InvalidValue(hint)
        return HostPort(address, HostKind.IPV6)
    if ":" in text:
        host, _, port_text = text.partition(":")
        port = _port_of(port_text, hint, allow_port)
    if (address := _ip(host, 4)) is not None:
        return HostPort(address, HostKind.IPV4, port)
    if re.fullmatch(r"[0-9.]+", host, re.ASCII) or not is_dns_name(host):
        raise InvalidValue(hint)
    return HostPort(host, HostKind.DNS, port)


def _port_of(text: str, hint: str, allow_port: bool) -> int:
    if not allow_port:
        raise InvalidValue(hint)
    try:
        return parse_port(text)
    except InvalidValue as error:
        raise InvalidValue(f"{hint}; the port {error}") from None


def parse_network(text: str) -> Network:
    """An IPv4/IPv6 address or CIDR block without host bits, or `unix:`."""
    if text == "unix:":
        return Network(text)
    _check_length(text)
    hint = "must be an IP address, a CIDR block such as 10.0.0.0/8, or unix:"
    if not re.fullmatch(r"[0-9A-Fa-f.:]+(/[0-9]{1,3})?", text, re.ASCII) or "%" in text:
        raise InvalidValue(hint)
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise InvalidValue(hint) from None
    if "/" in text and str(network.network_address) != text.partition("/")[0]:
        raise InvalidValue(f"has host bits set; did you mean {network}?")
    return Network(str(network) if "/" in text else str(network.network_address))


def parse_comma_list(
    text: str, item: Callable[[str], T], *, max_items: int = 64, allow_empty: bool = False
) -> tuple[T, ...]:
    """Comma-separated items; ASCII spaces and tabs around each item are trimmed.

    An empty item (`a,,b`, a trailing comma) is an error rather than silently skipped.
    """
    _check_length(text, MAX_TEXT_LENGTH)
    if allow_empty and text.strip(" \t") == "":
        return ()
    entries = [entry.strip(" \t") for entry in text.split(",")]
    if len(entries) > max_items:
        raise InvalidValue(f"has {len(entries)} entries; at most {max_items} are allowed")
    parsed: list[T] = []
    for index, entry in enumerate(entries, start=1):
        if not entry:
            raise InvalidValue(f"entry {index} is empty")
        try:
            parsed.append(item(entry))
        except InvalidValue as error:
            raise InvalidValue(f"entry {index} {error}") from None
    return tuple(parsed)


def parse_enum(text: str, choices: Sequence[str]) -> str:
    if text not in choices:
        raise InvalidValue("must be one of: " + ", ".join(choices))
    return text


# --- free text -------------------------------------------------------------------------

# Categories NGINX or a reader of the file could misread: controls (NUL, CR, U+0085),
# format characters (BOM, zero-width space), line and paragraph separators (U+2028),
# surrogates, private use and unassigned code points, and every space but ASCII space.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"})


def refused_character(text: str) -> str | None:
    """The first character free text may not hold, or None."""
    for character in text:
        if character == " ":
            continue
        if unicodedata.category(character) in _REFUSED_CATEGORIES:
            return character
    return None


def parse_nginx_string(
    text: str, *, what: str = "text", allow_variables: bool = True
) -> NginxString:
    """Free text that is rendered as one quoted NGINX string.

    Quotes, braces, `;` and `#` are ordinary characters inside the quotes, so they are
    allowed; control and invisible characters are not, and every `$variable` must be
    one NGINX knows.
    """
    _check_length(text, MAX_TEXT_LENGTH)
    if not text:
        raise InvalidValue(f"must not be empty {what}")
    if (character := refused_character(text)) is not None:
        raise InvalidValue(
            f"must be printable {what}; it holds the invisible or control character "
            f"U+{ord(character):04X}"
        )
    if "$" in text:
        if not allow_variables:
            raise InvalidValue(f"must not hold '$' ({what} takes no NGINX variables)")
        if unknown := unknown_variables(text):
            listed = ", ".join(sorted(set(unknown)))
            raise InvalidValue(f"refers to variables NGINX does not know: {listed}")
    return NginxString(text)


def parse_lines(text: str, *, what: str, max_lines: int = 64) -> tuple[NginxString, ...]:
    """Multi-line free text (a log format): one NginxString per line.

    A single trailing newline, which a YAML block scalar adds, is dropped.
    """
    _check_length(text, MAX_TEXT_LENGTH * 4)
    body = text[:-1] if text.endswith("\n") else text
    lines = body.split("\n")
    if len(lines) > max_lines:
        raise InvalidValue(f"has {len(lines)} lines; at most {max_lines} are allowed")
    parsed = []
    for number, line in enumerate(lines, start=1):
        try:
            parsed.append(parse_nginx_string(line, what=what))
        except InvalidValue as error:
            where = f"line {number} " if len(lines) > 1 else ""
            raise InvalidValue(f"{where}{error}") from None
    return tuple(parsed)


# --- headers ----------------------------------------------------------------------------

_HEADER_NAME = re.compile(r"[A-Za-z0-9-]{1,128}", re.ASCII)


def parse_header_name(text: str) -> str:
    """An HTTP header name as Kubernetes validates them: letters, digits and `-`."""
    if not _HEADER_NAME.fullmatch(text):
        raise InvalidValue("must be a header name: letters, digits and '-'")
    return text


def parse_header_names(text: str) -> tuple[str, ...]:
    """Comma-separated header names (`proxy-hide-headers`, `proxy-pass-headers`)."""
    return parse_comma_list(text, parse_header_name)


def parse_proxy_header(text: str) -> ProxyHeader:
    """`Name: value` sets the header to literal text; `Name` alone passes on the
    client's header of that name (NIC's `proxy-set-headers` forms)."""
    name, colon, value = text.partition(":")
    name = parse_header_name(name.strip(" \t"))
    if not colon:
        return ProxyHeader(name, NginxString("$http_" + name.lower().replace("-", "_")))
    value = value.strip(" \t")
    if not value:
        raise InvalidValue(f"header {name} has an empty value; leave out the ':' to pass it on")
    return ProxyHeader(
        name, parse_nginx_string(value, what="a header value", allow_variables=False)
    )


def parse_proxy_headers(text: str) -> tuple[ProxyHeader, ...]:
    return parse_comma_list(text, parse_proxy_header)


# --- rate limiting -------------------------------------------------------------------------

_RATE = re.compile(r"([1-9][0-9]{0,6})r/([sm])", re.ASCII)
_KEY = re.compile(r"(\$[A-Za-z_][A-Za-z0-9_]*|\$\{[A-Za-z_][A-Za-z0-9_]*\})+", re.ASCII)


def parse_rate(text: str) -> Rate:
    """`<requests>r/s` or `<requests>r/m`, as `limit_req_zone rate=` takes it."""
    match = _RATE.fullmatch(text)
    if match is None:
        raise InvalidValue("must be a rate such as 10r/s or 30r/m (1 to 9999999)")
    number = int(match.group(1))
    return Rate(number * 60 if match.group(2) == "s" else number)


def parse_variable_key(text: str) -> NginxString:
    """A key made of NGINX variables only (`${binary_remote_addr}`, `$http_x_api_key$uri`):
    literal text in a rate-limit key would only make every request share one bucket."""
    _check_length(text, MAX_TOKEN_LENGTH)
    if not _KEY.fullmatch(text):
        raise InvalidValue(
            "must be one or more NGINX variables and nothing else, such as "
            "${binary_remote_addr} or $http_x_api_key"
        )
    if unknown := unknown_variables(text):
        raise InvalidValue(f"refers to variables NGINX does not know: {', '.join(unknown)}")
    return NginxString(text)


# --- TLS -----------------------------------------------------------------------------------

SSL_PROTOCOLS = ("SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")


def parse_ssl_protocols(text: str) -> tuple[str, ...]:
    """Space-separated protocol names as NGINX's `ssl_protocols` takes them, each once."""
    names = text.split(" ")
    for name in names:
        parse_enum(name, SSL_PROTOCOLS)
    if len(set(names)) != len(names):
        raise InvalidValue("names a protocol twice")
    return tuple(names)


def parse_ssl_ciphers(text: str) -> str:
    """An OpenSSL cipher list that selects at least one cipher.

    NGINX fails to start when its OpenSSL selects nothing from the list ("no cipher
    match"); Python's `ssl` asks the same library the same question, so a list this
    accepts is one NGINX built against OpenSSL 3 accepts.
    """
    ciphers = text[:-1] if text.endswith("\n") else text
    hint = "must be an OpenSSL cipher list such as HIGH:!aNULL:!MD5"
    if not re.fullmatch(r"[A-Za-z0-9_+\-:!@=.,]{1,1024}", ciphers, re.ASCII):
        raise InvalidValue(f"{hint} (letters, digits and _+-:!@=.,)")
    if not _openssl_selects_a_cipher(ciphers):
        raise InvalidValue(f"{hint}; OpenSSL selects no cipher from this one")
    return ciphers


@functools.lru_cache(maxsize=64)
def _openssl_selects_a_cipher(ciphers: str) -> bool:
    """Cached: a TLS context costs about 0.2 ms, and the answer depends only on the text."""
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).set_ciphers(ciphers)
    except ssl.SSLError:
        return False
    return True


def parse_secret_reference(text: str, namespace: str) -> SecretRef:
    """`namespace/name` of a Secret, or `name` alone for one in `namespace` (the
    controller's), each part as Kubernetes checks it."""
    _check_length(text, 63 + 1 + 253)
    hint = (
        "must be a Secret as NAMESPACE/NAME or NAME (in the controller's namespace): "
        "lower-case letters, digits, '-' and, in the name, '.'"
    )
    owner, slash, name = text.rpartition("/")
    if not slash:
        owner = namespace
    if len(owner) > 63 or not DNS1123_LABEL.fullmatch(owner):
        raise InvalidValue(hint)
    if len(name) > 253 or not DNS1123_SUBDOMAIN.fullmatch(name):
        raise InvalidValue(hint)
    return SecretRef(owner, name)


def parse_dns_name(text: str) -> HostPort:
    """A full DNS name (two labels at least, or `localhost`), no port, no address."""
    _check_length(text)
    name = text.lower()
    if name.endswith(".") or not is_dns_name(name) or name != text:
        raise InvalidValue(
            "must be a full DNS name in lower case, such as "
            "nginx-ingress-headless.nginx-ingress.svc.cluster.local"
        )
    return HostPort(name, HostKind.DNS)
