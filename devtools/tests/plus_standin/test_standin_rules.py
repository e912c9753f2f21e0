"""The NGINX Plus stand-in's pure parts: what is Plus-only, the line-faithful writer, what the
configuration declares for the API, and the shadow tree on disk."""

from __future__ import annotations

import subprocess
from pathlib import Path, PurePosixPath

import crossplane
import pytest

from nginx_ingress_dev.plus_standin import shadow
from nginx_ingress_dev.plus_standin.config import ConfigError, parse, walk
from nginx_ingress_dev.plus_standin.declared import declared, server_parameters
from nginx_ingress_dev.plus_standin.emit import emit
from nginx_ingress_dev.plus_standin.invocation import UsageError, parse_invocation
from nginx_ingress_dev.plus_standin.plusonly import (
    ZONE_SYNC_ANSWER,
    ApiRoute,
    ApiSocket,
    Directive,
    strip,
)
from nginx_ingress_dev.plusapi_stub import ConfiguredUpstream

from nginx_check import nginx_binary

ROUTE = ApiRoute("http://127.0.0.1:1001", "http://127.0.0.1:1002")

MAIN = """\
# An NGINX Plus configuration with most of what OSS refuses.
events {}
http {
    server_tokens "ACME";
    server_tokens off;
    limit_req_zone $binary_remote_addr zone=ns/a_sync:10m rate=10r/s sync;
    keyval_zone zone=tokens:1m sync;
    keyval $arg_token $token zone=tokens;
    resolver 127.0.0.1 valid=5s status_zone=dns;
    upstream app {
        zone app 64k;
        sticky learn create=$upstream_cookie_s lookup=$cookie_s zone=sessions:1m sync;
        least_time header;
        ntlm;
        state /var/lib/nginx/state/app.conf;
        server 10.0.0.1:80 weight=2 max_fails=3 fail_timeout=5s slow_start=30s route=a;
        server backend.example resolve;
        server 127.0.0.1:8181 down;
    }
    upstream fixed {
        random two least_time=header;
        server 10.0.0.2:80 max_conns=10 drain;
    }
    match ok { status 200; }
    server { listen unix:/run/nginx-plus-api.sock; location /api { api write=on; } }
    server {
        listen 8080;
        allow 127.0.0.1;
        deny all;
        status_zone status;
        location /api { api write=off; }
        location = /stub_status { stub_status; }
    }
    include conf.d/*.conf;
}
stream {
    limit_conn_zone $binary_remote_addr zone=conns:1m;
    upstream dns { zone dns 64k; server 10.0.0.53:53; }
    server {
        listen 12345;
        resolver kube-dns.kube-system.svc.cluster.local valid=5s;
        zone_sync;
        zone_sync_server nginx-ingress-headless.ns.svc.cluster.local:12345 resolve;
        zone_sync_interval 1s;
    }
    include stream-conf.d/*.conf;
}
"""

INGRESS = """\
upstream ns-cafe-coffee-80 {
    zone ns-cafe-coffee-80 256k;
    server 10.1.0.1:8080 max_fails=1 fail_timeout=10s max_conns=0;
}
server {
    listen 80;
    server_name cafe.example.com;
    location /coffee {
        limit_req zone=ns/a_sync;
        health_check uri=/healthz match=ok;
        proxy_set_header X-Token $token;
        proxy_pass http://ns-cafe-coffee-80;
    }
}
"""


def tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root / "nginx.conf"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return tree(
        tmp_path / "conf",
        {"nginx.conf": MAIN, "conf.d/ns-cafe.conf": INGRESS, "stream-conf.d/.keep": ""},
    )


def names(directives: list[Directive]) -> list[str]:
    found = []
    for directive in directives:
        found.append(directive["directive"])
        found += names(directive.get("block", []))
    return found


def without_includes(directives: list[Directive]) -> list[Directive]:
    """The directives without crossplane's note of which files an `include` read."""
    return [
        {
            **{key: value for key, value in d.items() if key != "includes"},
            **({"block": without_includes(d["block"])} if "block" in d else {}),
        }
        for d in directives
    ]


def find(directives: list[Directive], name: str) -> list[Directive]:
    found = []
    for directive in directives:
        if directive["directive"] == name:
            found.append(directive)
        found += find(directive.get("block", []), name)
    return found


def test_plus_parts_go_and_the_rest_stays(config: Path) -> None:
    parsed = parse(config)
    (main, ingress) = (directives for _file, directives in parsed.files())
    stripped = strip(main, ROUTE)
    left = names(stripped.directives)
    for plus_only in (
        "keyval_zone",
        "keyval",  # a map to "" instead: its variable stays defined
        "sticky",
        "least_time",
        "ntlm",
        "state",
        "match",
        "status_zone",
        "api",
        "zone_sync",
        "zone_sync_server",
        "zone_sync_interval",
    ):
        assert plus_only not in left, plus_only
    # The parameters go, the directives stay.
    (limit,) = find(stripped.directives, "limit_req_zone")
    assert limit["args"] == ["$binary_remote_addr", "zone=ns/a_sync:10m", "rate=10r/s"]
    servers = [d["args"] for d in find(stripped.directives, "server") if "block" not in d]
    assert servers == [
        ["10.0.0.1:80", "weight=2", "max_fails=3", "fail_timeout=5s"],
        ["backend.example"],
        ["127.0.0.1:8181", "down"],
        ["10.0.0.2:80", "max_conns=10"],
        ["10.0.0.53:53"],
    ]
    assert find(stripped.directives, "random")[0]["args"] == ["two"]
    (token,) = find(stripped.directives, "map")
    assert token["args"] == ["$arg_token", "$token"]
    assert token["block"] == [{"directive": "default", "line": 8, "args": [""]}]
    assert find(stripped.directives, "resolver")[0]["args"] == ["127.0.0.1", "valid=5s"]
    assert [d["args"] for d in find(stripped.directives, "server_tokens")] == [["off"]]
    # What OSS has stays as it was: the stream block keeps its zone, upstream and include.
    assert left.count("upstream") == 3 and "limit_conn_zone" in left
    assert [d["args"] for d in find(stripped.directives, "include")] == [
        ["conf.d/*.conf"],
        ["stream-conf.d/*.conf"],
    ]
    # The API: the socket that serves only the API is the stand-in's; the status port's API
    # location stays, proxied to the read-only listener, beside the port's other locations.
    assert stripped.api_sockets == (ApiSocket("/run/nginx-plus-api.sock", write=True),)
    listens = [d["args"] for d in find(stripped.directives, "listen")]
    assert ["unix:/run/nginx-plus-api.sock"] not in listens and ["8080"] in listens
    locations = {d["args"][0]: d["block"] for d in find(stripped.directives, "location")}
    assert locations["/api"] == [
        {"directive": "proxy_pass", "line": 31, "args": ["http://127.0.0.1:1002"]}
    ]
    assert "=" in locations  # `location = /stub_status`, untouched
    # An Ingress file: health_check goes, the rest stays.
    assert names(strip(ingress, ROUTE).directives) == [
        "upstream", "zone", "server", "server", "listen", "server_name",
        "location", "limit_req", "proxy_set_header", "proxy_pass",
    ]  # fmt: skip


def test_an_api_server_with_other_locations_is_kept_and_proxied() -> None:
    server: list[Directive] = [
        {
            "directive": "server",
            "line": 1,
            "args": [],
            "block": [
                {"directive": "listen", "line": 1, "args": ["unix:/run/a.sock"]},
                {"directive": "location", "line": 2, "args": ["/api"], "block": [
                    {"directive": "api", "line": 2, "args": []},
                ]},
                {"directive": "location", "line": 3, "args": ["/"], "block": [
                    {"directive": "return", "line": 3, "args": ["404"]},
                ]},
            ],
        }
    ]  # fmt: skip
    stripped = strip(server, ROUTE)
    assert stripped.api_sockets == ()
    assert find(stripped.directives, "proxy_pass")[0]["args"] == ["http://127.0.0.1:1002"]


TLS_ZONE_SYNC = """\
stream {
    server {
        listen 12345 ssl;
        listen [::]:12345 ssl;
        resolver kube-dns.kube-system.svc.cluster.local valid=5s;
        zone_sync;
        zone_sync_server nginx-ingress-headless.ns.svc.cluster.local:12345 resolve;
        ssl_certificate secrets/_zone-sync-1;
        ssl_certificate_key secrets/_zone-sync-1;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_verify_client on;
        ssl_client_certificate secrets/_zone-sync-ca-1;
        ssl_verify_depth 2;
        zone_sync_ssl on;
        zone_sync_ssl_certificate secrets/_zone-sync-1;
        zone_sync_ssl_verify on;
        zone_sync_ssl_name nginx-ingress-headless.ns.svc.cluster.local;
    }
}
"""


def test_a_zone_sync_server_over_tls_stays_as_a_tls_listener(tmp_path: Path) -> None:
    """Its listens and ssl_* directives as they are, `zone_sync` a fixed answer on its line;
    the resolver (the peers' name does not resolve here) and zone_sync_* go."""
    main = tree(tmp_path, {"nginx.conf": TLS_ZONE_SYNC})
    parsed = crossplane.parse(str(main), single=True, check_ctx=False, check_args=False)
    (server,) = strip(parsed["config"][0]["parsed"], ROUTE).directives[0]["block"]
    kept = [(d["directive"], d["args"], d["line"]) for d in server["block"]]
    assert kept == [
        ("listen", ["12345", "ssl"], 3),
        ("listen", ["[::]:12345", "ssl"], 4),
        ("ssl_certificate", ["secrets/_zone-sync-1"], 8),
        ("ssl_certificate_key", ["secrets/_zone-sync-1"], 9),
        ("ssl_protocols", ["TLSv1.2", "TLSv1.3"], 10),
        ("ssl_verify_client", ["on"], 11),
        ("ssl_client_certificate", ["secrets/_zone-sync-ca-1"], 12),
        ("ssl_verify_depth", ["2"], 13),
        ("return", [ZONE_SYNC_ANSWER], 6),
    ]
    # Without `ssl` the server goes whole, as before.
    clear = TLS_ZONE_SYNC.replace(" ssl;", ";")
    main.write_text(clear)
    parsed = crossplane.parse(str(main), single=True, check_ctx=False, check_args=False)
    assert strip(parsed["config"][0]["parsed"], ROUTE).directives[0]["block"] == []


def test_every_directive_is_written_on_its_original_line(config: Path) -> None:
    parsed = parse(config)
    for file, directives in parsed.files():
        written = Path(file).with_suffix(".emitted")
        written.write_text(emit(directives))
        again = crossplane.parse(str(written), single=True, check_ctx=False, check_args=False)
        assert without_includes(again["config"][0]["parsed"]) == without_includes(directives)


def test_quoting_and_escapes_survive_the_writer(tmp_path: Path) -> None:
    text = (
        "http {\n"
        "  log_format main '$remote_addr \"$request\"'\n"
        "                  ' $status';\n"
        '  server { location / { return 200 "a;b {c} \\"d\\"\\n"; } }\n'
        '  map $uri $m { ~^/a(?<x>[0-9]+)$ $x; default ""; }\n'
        "}\n"
    )
    main = tree(tmp_path, {"nginx.conf": text})
    parsed = crossplane.parse(str(main), single=True, check_ctx=False, check_args=False)
    directives = parsed["config"][0]["parsed"]
    (tmp_path / "again.conf").write_text(emit(directives))
    again = crossplane.parse(
        str(tmp_path / "again.conf"), single=True, check_ctx=False, check_args=False
    )
    # The same directives and arguments; the log_format written on its first line.
    assert again["config"][0]["parsed"] == directives


def test_the_api_sees_upstreams_with_their_servers_and_the_synced_zones(config: Path) -> None:
    found = declared(parse(config))
    assert found.upstreams == (
        ConfiguredUpstream(
            "app",
            (
                {
                    "server": "10.0.0.1:80",
                    "weight": 2,
                    "max_fails": 3,
                    "fail_timeout": "5s",
                    "slow_start": "30s",
                    "route": "a",
                },
                {"server": "backend.example", "resolve": True},
                {"server": "127.0.0.1:8181", "down": True},
            ),
        ),
        ConfiguredUpstream(
            "fixed", ({"server": "10.0.0.2:80", "max_conns": 10, "drain": True},), True
        ),
        ConfiguredUpstream(
            "ns-cafe-coffee-80",
            ({"server": "10.1.0.1:8080", "max_fails": 1, "fail_timeout": "10s", "max_conns": 0},),
        ),
    )  # the stream upstream `dns` is not an HTTP upstream
    assert found.synced_zones == ("ns/a_sync", "tokens", "sessions")
    assert found.zone_sync_document() == {
        "status": {"nodes_online": 0, "msgs_in": 0, "msgs_out": 0, "bytes_in": 0, "bytes_out": 0},
        "zones": {
            name: {"records_pending": 0, "records_total": 0}
            for name in ("ns/a_sync", "tokens", "sessions")
        },
    }


def test_without_zone_sync_there_is_no_zone_sync_document(tmp_path: Path) -> None:
    main = tree(tmp_path, {"nginx.conf": "events {}\nstream { server { listen 1; } }\n"})
    assert declared(parse(main)).zone_sync_document() is None


def test_server_parameters_as_the_api_writes_them() -> None:
    assert server_parameters(["10.0.0.1", "weight=x", "max_conns=5", "weird"]) == {
        "server": "10.0.0.1",
        "weight": "x",  # the stub refuses it, and the stand-in reports why
        "max_conns": 5,
        "weird": "weird",
    }


def test_crossplane_refusals_name_the_file_and_line(config: Path) -> None:
    ingress = config.parent / "conf.d/ns-cafe.conf"
    ingress.write_text(INGRESS.replace("server_name", "sticky cookie srv;\n    server_name"))
    with pytest.raises(ConfigError) as caught:
        parse(config)
    assert caught.value.message == f'"sticky" directive is not allowed here in {ingress}:7'


def test_walk_follows_includes_into_their_context(config: Path) -> None:
    seen = {(d["directive"], parents) for d, parents in walk(parse(config))}
    assert ("upstream", ("http",)) in seen  # from conf.d/ns-cafe.conf
    assert ("upstream", ("stream",)) in seen
    assert ("proxy_pass", ("http", "server", "location")) in seen


def test_the_shadow_mirrors_the_tree_and_real_nginx_accepts_it(config: Path) -> None:
    root = config.parent
    (root / "secrets").mkdir()
    (root / "secrets/ns-cafe").write_text("not a certificate")
    (root / "conf.d/README").write_text("not included")
    (root / "nginx.conf").write_text(
        MAIN.replace("include conf.d/*.conf;", f"include {root}/conf.d/*.conf;")
    )
    stream_module = PurePosixPath("/usr/lib/nginx/modules/ngx_stream_module.so")
    planned = shadow.plan(parse(config), root.parent / "shadow", ROUTE, stream_module)
    shadow.write(planned)
    directory = planned.directory
    assert sorted(planned.files) == ["conf.d/ns-cafe.conf", "nginx.conf"]
    assert (directory / "secrets").is_symlink()
    assert (directory / "secrets").resolve() == (root / "secrets").resolve()
    assert (directory / "conf.d/README").is_symlink()
    assert (directory / "stream-conf.d").is_symlink()  # holds no parsed file
    main = (directory / "nginx.conf").read_text()
    assert main.splitlines()[0] == f"load_module {stream_module};"  # first, on line 1
    assert f"include {directory}/conf.d/*.conf;" in main
    assert planned.api_sockets == (ApiSocket("/run/nginx-plus-api.sock", write=True),)
    assert planned.original(f"x in {directory}/conf.d/a.conf:3") == f"x in {root}/conf.d/a.conf:3"
    # Written again, it replaces the old one whole.
    shadow.write(planned)
    assert sorted(p.name for p in directory.parent.iterdir()) == ["conf", "shadow"]
    # The real NGINX takes it (the backend host name is the one thing it cannot resolve).
    text = main.replace("server backend.example;", "")
    (directory / "nginx.conf").write_text(text)
    run = root.parent / "run"
    run.mkdir()
    completed = subprocess.run(
        [nginx_binary(), "-t", "-q", "-p", f"{run}/", "-c", str(directory / "nginx.conf")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr


def test_no_load_module_when_the_configuration_loads_it_or_has_no_stream(tmp_path: Path) -> None:
    module = PurePosixPath("/usr/lib/nginx/modules/ngx_stream_module.so")
    for text in (f"load_module {module};\nevents {{}}\nstream {{}}\n", "events {}\nhttp {}\n"):
        main = tree(tmp_path / "conf", {"nginx.conf": text})
        planned = shadow.plan(parse(main), tmp_path / "shadow", ROUTE, module)
        assert planned.files["nginx.conf"].count("load_module") == text.count("load_module")


def test_the_command_line_is_nginx_s_and_what_is_not_modelled_is_refused() -> None:
    invocation = parse_invocation(["-e", "stderr", "-p", "/run/", "-c", "nginx.conf", "-t", "-q"])
    assert invocation.required() == (Path("/run/"), Path("/run/nginx.conf"))
    assert invocation.test and invocation.quiet and invocation.passed_on() == ["-e", "stderr"]
    for refused in (["-s", "reload"], ["-T"], ["-x"], ["-c"]):
        with pytest.raises(UsageError):
            parse_invocation(refused)
    with pytest.raises(UsageError, match="-p PREFIX and -c FILE"):
        parse_invocation(["-t"]).required()
