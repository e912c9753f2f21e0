"""The hostile-value corpus and the base ConfigMaps the hostile tests render against.

Categories come from the injection history of ingress controllers (directive
terminators, comments, newlines, Unicode line breaks, template syntax, number
spellings Python's int() accepts, encodings, size); see the team's reference
`anchors.md`, section C.7.
"""

from __future__ import annotations

from nginx_ingress.configmap import ALL_KEYS
from nginx_ingress.configmap.zonesync_tls import ZONE_SYNC_TLS_KEYS
from nginx_ingress.settings import Settings

HOSTILE: dict[str, str] = {
    "semicolon": "5s; include /etc/passwd",
    "close-and-open-block": "5s;}server{listen 9999;",
    "open-brace": "{",
    "close-brace": "}",
    "double-quote": '"',
    "single-quote": "'",
    "escaped-quote": '\\"',
    "trailing-backslash": "5s\\",
    "comment": "5s #",
    "comment-newline": "# x\nallow all;",
    "dollar": "$",
    "variable": "$http_authorization",
    "braced-variable": "${binary_remote_addr}",
    "newline": "5s\nload_module /tmp/evil.so;",
    "crlf": "5s\r\nssl_engine x;",
    "carriage-return": "5s\r",
    "line-separator": "5s\u2028include /etc/passwd;",
    "next-line": "5s\u0085",
    "vertical-tab": "5s\x0b",
    "form-feed": "5s\x0c",
    "nul": "5s\x00",
    "byte-order-mark": "\ufeff5s",
    "zero-width-space": "5\u200bs",
    "one-mebibyte": "5" * (1 << 20),
    "redos-probe": "a" * 100_000 + "!",
    "arabic-indic-digits": "١٢٣٤٥",
    "underscore-digits": "1_2345",
    "hexadecimal": "0x3039",
    "padded-number": " 12345 ",
    "negative-time": "-5s",
    "spaced-time": "5 s",
    "huge-time": "99999999999999999999s",
    "jinja-expression": "{{ 7*7 }}",
    "jinja-statement": "{% include '/etc/passwd' %}",
    "jinja-globals": "{{ cycler.__init__.__globals__ }}",
    "load-module": "load_module /tmp/x.so",
    "ssl-engine": "ssl_engine x",
    "resolver-parameter": "evil.com valid=1s",
    "ipv6-parameter": "1.2.3.4 ipv6=on",
    "yes": "yes",
    "on": "on",
    "split-bool": "tru e",
    "bool-newline": "true\n",
    "empty": "",
}

# Keys whose value is free text rendered as one quoted string: `;`, braces, quotes
# and `#` are ordinary characters there (JSON log formats need them), so for these
# keys such a value may be accepted. The tests then check it comes back from the
# rendered file as exactly one argument, with no directive added.
FREE_TEXT_KEYS = frozenset({"log-format", "server-tokens"})

# Keys that take HTTP header names: a single word of letters, digits and `-` (`yes`,
# `0x3039`) is a valid header name, so such hostile values may be accepted; the tests
# then check the value was exactly such a word. What they render is checked by the
# Ingress hostile tests (these keys apply in the Ingress files).
HEADER_KEYS = frozenset({"proxy-hide-headers", "proxy-pass-headers", "proxy-set-headers"})

OSS = Settings()
PLUS = Settings(nginx_plus=True)

# The base each key is tested against: on Plus, zone sync is on so that the
# dependent zone-sync keys are validated rather than ignored.
BASES: dict[str, tuple[Settings, dict[str, str]]] = {
    "oss": (OSS, {}),
    "plus": (PLUS, {"zone-sync": "true"}),
}

KEYS = sorted(key for key in ALL_KEYS if key not in ZONE_SYNC_TLS_KEYS)
"""The keys the shared hostile, property and valid-value tests render against `BASES`. The
zone-sync TLS keys need Secrets to render anything: `test_zone_sync_tls_values` covers them
against a base with a usable certificate."""
