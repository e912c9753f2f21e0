"""Each typed parser accepts exactly its documented forms."""

from __future__ import annotations

import pytest

from nginx_ingress.configmap.parsers import (
    InvalidValue,
    parse_bool,
    parse_buffers,
    parse_comma_list,
    parse_host,
    parse_int,
    parse_lines,
    parse_network,
    parse_nginx_string,
    parse_port,
    parse_size,
    parse_time,
    refused_character,
)
from nginx_ingress.configmap.variables import unknown_variables
from nginx_ingress.values import HostKind, HostPort, TimeKind


@pytest.mark.parametrize("text", ["1", "t", "T", "TRUE", "true", "True"])
def test_go_true_forms(text: str) -> None:
    assert parse_bool(text) is True


@pytest.mark.parametrize("text", ["0", "f", "F", "FALSE", "false", "False"])
def test_go_false_forms(text: str) -> None:
    assert parse_bool(text) is False


@pytest.mark.parametrize(
    "text",
    ["yes", "no", "on", "off", "", " true", "true ", "true\n", "tRUE", "tru e", "2", "ｔrue"],
)
def test_bool_refuses_what_go_refuses(text: str) -> None:
    """Go's strconv.ParseBool accepts exactly 12 spellings; NIC users rely on that set."""
    with pytest.raises(InvalidValue):
        parse_bool(text)


@pytest.mark.parametrize("text,port", [("1", 1), ("12345", 12345), ("65535", 65535), ("080", 80)])
def test_port_accepts(text: str, port: int) -> None:
    assert parse_port(text) == port


@pytest.mark.parametrize(
    "text",
    [
        "0",
        "-1",
        "65536",
        "12345abc",
        " 12345 ",
        "1_2345",
        "0x3039",
        "١٢٣٤٥",
        "1e4",
        "",
        "+80",
        "123456",
    ],
)
def test_port_refuses(text: str) -> None:
    """Python's int() accepts several of these (spaces, '_', Arabic-Indic digits)."""
    with pytest.raises(InvalidValue):
        parse_port(text)


def test_int_range_and_digits() -> None:
    assert parse_int("16", 16, 20) == 16
    for bad in ("15", "21", "-16", "1.5", "１６", "99999999999"):
        with pytest.raises(InvalidValue):
            parse_int(bad, 16, 20)


@pytest.mark.parametrize(
    "text,canonical,ms",
    [
        ("5s", "5s", 5000),
        ("5", "5s", 5000),
        ("1h30m", "1h30m", 5400000),
        ("1m30", "1m30s", 90000),
        ("500ms", "500ms", 500),
        ("1s500ms", "1s500ms", 1500),
        ("1w2d", "1w2d", 9 * 86400000),
        ("0", "0s", 0),
    ],
)
def test_millisecond_times(text: str, canonical: str, ms: int) -> None:
    time = parse_time(text)
    assert (time.text, time.milliseconds) == (canonical, ms)


@pytest.mark.parametrize("text", ["1y", "1M", "2y1M", "68y", "5s", "10m"])
def test_second_times_accept_years_and_months(text: str) -> None:
    parse_time(text, TimeKind.SECONDS)


@pytest.mark.parametrize(
    "text,kind",
    [
        ("500ms", TimeKind.SECONDS),  # nginx: "invalid parameter: valid=500ms"
        ("1s500ms", TimeKind.SECONDS),
        ("1M", TimeKind.MILLISECONDS),  # nginx: proxy_read_timeout "invalid value"
        ("1y", TimeKind.MILLISECONDS),
        ("30m1h", TimeKind.MILLISECONDS),  # units must fall
        ("1h1h", TimeKind.MILLISECONDS),
        ("2d1w", TimeKind.MILLISECONDS),
        ("-5s", TimeKind.MILLISECONDS),
        ("5 s", TimeKind.MILLISECONDS),
        (" 5s", TimeKind.MILLISECONDS),
        ("5S", TimeKind.MILLISECONDS),
        ("s", TimeKind.MILLISECONDS),
        ("", TimeKind.MILLISECONDS),
        ("5s5", TimeKind.MILLISECONDS),  # a bare number only after units above seconds
        ("99999999999999999999s", TimeKind.MILLISECONDS),
        ("2147483648s", TimeKind.SECONDS),
        ("٥s", TimeKind.MILLISECONDS),
        ("5s;", TimeKind.MILLISECONDS),
    ],
)
def test_times_refused(text: str, kind: TimeKind) -> None:
    with pytest.raises(InvalidValue):
        parse_time(text, kind)


@pytest.mark.parametrize(
    "text,size",
    [("0", 0), ("512", 512), ("8k", 8192), ("8K", 8192), ("1m", 1048576), ("2M", 2097152)],
)
def test_sizes(text: str, size: int) -> None:
    assert parse_size(text).bytes == size


@pytest.mark.parametrize(
    "text", ["1g", "1G", "1kb", "-1k", " 1k", "1 k", "k", "", "1.5m", "9" * 14]
)
def test_sizes_refused(text: str) -> None:
    """NIC's size pattern allows k and m only; nginx would read g in some directives only."""
    with pytest.raises(InvalidValue):
        parse_size(text)


def test_buffers() -> None:
    buffers = parse_buffers("8 4k")
    assert (buffers.number, buffers.size.bytes, str(buffers)) == (8, 4096, "8 4k")
    for bad in ("8", "8  4k", "8 4k ", "0 4k", "8 0", "8,4k", "x 4k"):
        with pytest.raises(InvalidValue):
            parse_buffers(bad)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("10.0.0.10", HostPort("10.0.0.10", HostKind.IPV4)),
        ("10.0.0.10:53", HostPort("10.0.0.10", HostKind.IPV4, 53)),
        ("::1", HostPort("::1", HostKind.IPV6)),
        ("[::1]", HostPort("::1", HostKind.IPV6)),
        ("[fd00::a]:5353", HostPort("fd00::a", HostKind.IPV6, 5353)),
        ("kube-dns.kube-system.svc.cluster.local", None),
        ("kube-dns.kube-system.svc.cluster.local.", None),
        ("localhost:53", HostPort("localhost", HostKind.DNS, 53)),
    ],
)
def test_hosts(text: str, expected: HostPort | None) -> None:
    parsed = parse_host(text)
    if expected is not None:
        assert parsed == expected
    assert str(parsed) == (text if not text.startswith("::") else f"[{text}]")


@pytest.mark.parametrize(
    "text",
    [
        "a..b",
        "-a.b",
        "a-.b",
        "a" * 64 + ".b",
        "evil.com valid=1s",
        "1.2.3.4 ipv6=on",
        "1.2.3.999",
        "01.2.3.4",
        "[::1",
        "[::1]53",
        "fe80::1%eth0",
        "host:0",
        "host:70000",
        "hóst.example",
        "",
        "exa_mple.com",
        ("a." * 130) + "b",
    ],
)
def test_hosts_refused(text: str) -> None:
    with pytest.raises(InvalidValue):
        parse_host(text)


def test_comma_list_trims_spaces_and_refuses_empty_entries() -> None:
    hosts = parse_comma_list(" 10.0.0.1 ,\t[::1]:53,dns.example ", parse_host)
    assert [str(h) for h in hosts] == ["10.0.0.1", "[::1]:53", "dns.example"]
    for bad in ("a.example,,b.example", "a.example,", ",a.example", " "):
        with pytest.raises(InvalidValue, match="empty"):
            parse_comma_list(bad, parse_host)


def test_comma_list_names_the_bad_entry() -> None:
    with pytest.raises(InvalidValue, match="entry 2"):
        parse_comma_list("10.0.0.1, nope!", parse_host)


@pytest.mark.parametrize(
    "text,normalized",
    [
        ("10.0.0.0/8", "10.0.0.0/8"),
        ("10.1.2.3", "10.1.2.3"),
        ("fd00::/8", "fd00::/8"),
        ("unix:", "unix:"),
    ],
)
def test_networks(text: str, normalized: str) -> None:
    assert str(parse_network(text)) == normalized


def test_network_with_host_bits_suggests_the_block() -> None:
    with pytest.raises(InvalidValue, match=r"did you mean 10\.0\.0\.0/8"):
        parse_network("10.1.2.3/8")


def test_free_text_allows_nginx_syntax_but_not_invisible_characters() -> None:
    """Inside double quotes `;`, braces and `#` are plain characters to NGINX."""
    assert parse_nginx_string('{"a":"$remote_addr"} ; # x').text == '{"a":"$remote_addr"} ; # x'
    for character in ("\0", "\r", "\n", "\u2028", "\u0085", "\ufeff", "\u200b", "\u00a0", "\x0b"):
        with pytest.raises(InvalidValue, match="U\\+"):
            parse_nginx_string(f"a{character}b")
    assert refused_character("plain text") is None


def test_free_text_variables_must_exist() -> None:
    assert unknown_variables("$remote_addr ${http_x_a} $sent_http_etag $arg_q") == []
    assert unknown_variables("$nope $ ${unclosed $1 $http_") == [
        "$nope",
        "$ ",
        "${",
        "$1",
        "$http_",
    ]
    with pytest.raises(InvalidValue, match=r"\$nope"):
        parse_nginx_string("$nope")
    with pytest.raises(InvalidValue, match=r"\$"):
        parse_nginx_string("$remote_addr", allow_variables=False)


def test_lines_drop_one_trailing_newline() -> None:
    assert [line.text for line in parse_lines("a\nb\n", what="log format")] == ["a", "b"]
    with pytest.raises(InvalidValue, match="line 2"):
        parse_lines("a\n\nb", what="log format")
