"""Reading `nginx -V`: OSS or Plus, the stream module built in, dynamic or absent, and the
`load_module` lines that follow; and `nginx -V` run for real, with its failures."""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pytest

from nginx_ingress.nginx.binary import (
    NginxBinaryError,
    NginxBuild,
    Stream,
    inspect_binary,
    mode_mismatch,
    parse_build,
    plan_modules,
)

from nginx_check import DEBIAN_STREAM_MODULE, PLUS_CONFIGURE, PLUS_VERSION, fake_nginx, nginx_binary

DEBIAN = """\
nginx version: nginx/1.22.1
built with OpenSSL 3.0.22 25 Aug 2026
TLS SNI support enabled
configure arguments: --with-cc-opt='-g -O2 -ffile-prefix-map=/build/nginx-1.22.1=. -fPIC' \
--prefix=/usr/share/nginx --conf-path=/etc/nginx/nginx.conf --modules-path=/usr/lib/nginx/modules \
--with-http_ssl_module --with-stream_ssl_module --with-mail=dynamic --with-stream=dynamic \
--with-stream_geoip_module=dynamic
"""

PLUS = f"""\
nginx version: {PLUS_VERSION}
built by gcc 12.2.0 (Debian 12.2.0-14)
configure arguments: {PLUS_CONFIGURE} --with-stream_ssl_module
"""

STREAM = PurePosixPath("/usr/lib/nginx/modules/ngx_stream_module.so")


def build(stream: Stream, modules: str = "/usr/lib/nginx/modules") -> NginxBuild:
    return NginxBuild("nginx/1.22.1", None, stream, PurePosixPath(modules))


def test_debian_has_a_dynamic_stream_module_in_its_modules_path() -> None:
    found = parse_build(DEBIAN)
    assert (found.version, found.release, found.plus) == ("nginx/1.22.1", None, False)
    assert found.stream is Stream.DYNAMIC  # not fooled by --with-stream_ssl_module
    assert found.stream_module_file == STREAM


def test_plus_is_told_by_its_release_and_has_stream_built_in() -> None:
    found = parse_build(PLUS)
    assert found.plus and found.release == "nginx-plus-r31-p1"
    assert found.stream is Stream.BUILT_IN
    assert found.describe() == PLUS_VERSION


@pytest.mark.parametrize(
    ("configure", "stream", "modules"),
    [
        ("--with-http_ssl_module", Stream.ABSENT, "/usr/local/nginx/modules"),
        ("--prefix=/opt/ngx --with-stream=dynamic", Stream.DYNAMIC, "/opt/ngx/modules"),
        ("--prefix=/opt/ngx --modules-path=mods --with-stream", Stream.BUILT_IN, "/opt/ngx/mods"),
        ("--with-cc-opt='-O2 --with-stream=dynamic", Stream.DYNAMIC, "/usr/local/nginx/modules"),
    ],
)
def test_defaults_and_odd_configure_lines(configure: str, stream: Stream, modules: str) -> None:
    found = parse_build(f"nginx version: nginx/1.27.0\nconfigure arguments: {configure}\n")
    assert (found.stream, found.modules_path) == (stream, PurePosixPath(modules))


def test_a_plus_looking_word_elsewhere_is_not_plus() -> None:
    assert not parse_build("nginx version: nginx/1.27.0 (Ubuntu)\n").plus


def test_text_that_is_not_nginx_is_refused() -> None:
    with pytest.raises(NginxBinaryError, match="no 'nginx version:' line"):
        parse_build("Apache/2.4.57\n")


def test_mode_mismatch_both_ways_says_what_to_pass() -> None:
    oss, plus = parse_build(DEBIAN), parse_build(PLUS)
    assert mode_mismatch(oss, "nginx", plus=False) is None
    assert mode_mismatch(plus, "nginx", plus=True) is None
    refused = mode_mismatch(oss, "/usr/sbin/nginx", plus=True) or ""
    assert "-nginx-plus is set but /usr/sbin/nginx is NGINX OSS (nginx/1.22.1)" in refused
    assert "-nginx-binary=PATH" in refused and "--render-only" in refused
    assert "add -nginx-plus" in (mode_mismatch(plus, "nginx", plus=False) or "")


def test_a_dynamic_stream_module_that_is_installed_is_loaded_first() -> None:
    geoip = PurePosixPath("/usr/lib/nginx/modules/ngx_stream_geoip_module.so")
    plan = plan_modules(build(Stream.DYNAMIC), [geoip], exists=lambda _path: True)
    assert plan.load_modules == (STREAM, geoip) and plan.stream
    assert plan.notes == (f"the stream module is dynamic: loading {STREAM}",)


def test_a_module_given_both_ways_or_twice_is_loaded_once() -> None:
    mine = PurePosixPath("/opt/modules/ngx_stream_module.so")
    plan = plan_modules(build(Stream.DYNAMIC), [mine, STREAM], exists=lambda _path: True)
    assert plan.load_modules == (mine,) and plan.stream
    assert plan.notes == (
        f"-load-module {STREAM}: ngx_stream_module.so is already loaded; ignored",
    )


def test_a_missing_dynamic_module_leaves_stream_out_and_says_how_to_install_it() -> None:
    plan = plan_modules(build(Stream.DYNAMIC), [], exists=lambda _path: False)
    assert plan.load_modules == () and not plan.stream
    (note,) = plan.notes
    assert f"{STREAM} is not installed" in note and "libnginx-mod-stream" in note
    assert "the stream block is left out and zone sync is refused" in note


def test_no_stream_at_all_and_built_in() -> None:
    assert not plan_modules(build(Stream.ABSENT), []).stream
    built_in = plan_modules(build(Stream.BUILT_IN), [])
    assert (built_in.load_modules, built_in.stream, built_in.notes) == ((), True, ())


def test_without_a_binary_the_assumption_is_said() -> None:
    plan = plan_modules(None, [])
    assert plan.stream and plan.load_modules == ()
    (note,) = plan.notes
    assert note.startswith("assuming NGINX's stream module is built in")
    assert plan_modules(None, [STREAM]).notes == ()  # given by hand: nothing assumed


def test_the_local_nginx_for_real() -> None:
    found = inspect_binary(nginx_binary())
    assert found.version.startswith("nginx/") and not found.plus
    if DEBIAN_STREAM_MODULE.exists():
        assert found.stream is Stream.DYNAMIC
        assert plan_modules(found, []).load_modules == (PurePosixPath(DEBIAN_STREAM_MODULE),)


def test_a_plus_test_double(tmp_path: Path) -> None:
    found = inspect_binary(str(fake_nginx(tmp_path, version=PLUS_VERSION)))
    assert found.plus and found.describe() == PLUS_VERSION


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("exit 3", "failed with status 3"),
        ("echo 'no such option' >&2; exit 1", "failed with status 1: no such option"),
        ("sleep 30", "did not finish within 0.5s"),
        ("echo something else >&2", "no 'nginx version:' line"),
    ],
)
def test_a_binary_that_does_not_answer_like_nginx(
    tmp_path: Path, script: str, message: str
) -> None:
    binary = tmp_path / "nginx"
    binary.write_text(f"#!/bin/sh\n{script}\n")
    binary.chmod(0o755)
    with pytest.raises(NginxBinaryError, match=message):
        inspect_binary(str(binary), timeout=0.5)


def test_a_binary_that_cannot_run(tmp_path: Path) -> None:
    (tmp_path / "nginx").write_text("not executable")
    with pytest.raises(NginxBinaryError, match=r"cannot run .*Permission denied"):
        inspect_binary(str(tmp_path / "nginx"))
