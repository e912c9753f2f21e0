"""The escaping function refuses every unsafe value, whatever the parsers let through."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nginx_ingress.render.escape import UnsafeValue, bare, nginx_arg, quoted
from nginx_ingress.values import Buffers, HostKind, HostPort, NginxString, Size, Time


@pytest.mark.parametrize(
    "token",
    [
        "",
        "a;b",
        "{",
        "}",
        '"',
        "'",
        "#",
        "$x",
        "a b",
        "a\tb",
        "a\nb",
        "a\\b",
        "\u2028",
        "\x85",
        "\x00",
        "é",
    ],
)
def test_bare_tokens_refuse_what_nginx_would_read_differently(token: str) -> None:
    with pytest.raises(UnsafeValue):
        bare(token)


def test_bare_tokens_keep_the_characters_nginx_values_need() -> None:
    for token in (
        "5s",
        "[::1]:53",
        "HIGH:!aNULL:!MD5",
        "/etc/nginx/conf.d/*.conf",
        "TLSv1.2",
        "a=b",
    ):
        assert bare(token) == token


def test_quoted_text_escapes_quotes_and_backslashes() -> None:
    assert quoted('a"b\\c') == '"a\\"b\\\\c"'
    assert quoted("{ ; # }") == '"{ ; # }"'


@pytest.mark.parametrize("text", ["a\nb", "a\rb", "\u2028", "\x00", "\ufeff", "\u200b", "x" * 4000])
def test_quoted_text_refuses_controls_and_overlong_text(text: str) -> None:
    with pytest.raises(UnsafeValue):
        quoted(text)


def test_typed_values() -> None:
    assert nginx_arg(True) == "on"
    assert nginx_arg(False) == "off"
    assert nginx_arg(12345) == "12345"
    assert nginx_arg(Time("5s", 5000)) == "5s"
    assert nginx_arg(Size("4k", 4096)) == "4k"
    assert nginx_arg(HostPort("::1", HostKind.IPV6, 53)) == "[::1]:53"
    assert nginx_arg(NginxString('say "hi"')) == '"say \\"hi\\""'
    assert nginx_arg(PurePosixPath("/etc/nginx")) == "/etc/nginx"


@pytest.mark.parametrize("value", [None, 1.5, b"bytes", ["list"], Buffers(8, Size("4k", 4096))])
def test_anything_else_is_refused(value: object) -> None:
    with pytest.raises(UnsafeValue):
        nginx_arg(value)


@given(st.text())
def test_a_raw_string_is_either_a_safe_token_or_refused(text: str) -> None:
    """Whatever a template is handed, one NGINX token comes out or nothing does."""
    try:
        token = nginx_arg(text)
    except UnsafeValue:
        return
    assert token == text and token.isascii() and token.isprintable()
    assert not set(token) & set(" \t;{}\"'#$\\")
