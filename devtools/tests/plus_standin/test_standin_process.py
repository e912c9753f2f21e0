"""`nginx-plus-standin` as a process, called as the controller calls NGINX: `-V`, `-t`, a
foreground master with SIGHUP, SIGQUIT, SIGTERM and SIGKILL; with the real NGINX underneath
and the Plus API stub beside it, reached through the Plus API client and the control socket.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from nginx_ingress.nginx.binary import Stream, inspect_binary, mode_mismatch
from nginx_ingress.nginx.check import nginx_test
from nginx_ingress.nginx.confirm import config_version
from nginx_ingress.nginx.manager import ApplyError
from nginx_ingress.nginx.plusapi import (
    PlusApiClient,
    PlusApiResponseError,
    PlusApiUnavailable,
    UpstreamServer,
)
from nginx_ingress.nginx.process import NginxCommand
from nginx_ingress_dev.plus_standin import StandinControl, control_socket, state_directory
from nginx_ingress_dev.plusapi_stub import ServerError

from backends import Backend, backends
from nginx_sandbox import app_server, free_port, sandbox

STANDIN = str(Path(sys.executable).parent / "nginx-plus-standin")
WAIT = 15.0

MAIN = """\
# An NGINX Plus configuration, as the controller renders one (shortened).
daemon off;
worker_processes 1;
pid {run}/nginx.pid;
error_log stderr notice;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {run}/body;
    proxy_temp_path {run}/proxy;
    fastcgi_temp_path {run}/fastcgi;
    uwsgi_temp_path {run}/uwsgi;
    scgi_temp_path {run}/scgi;
    server_tokens "ACME";
    limit_req_zone $binary_remote_addr zone=apps/app_sync:1m rate=1000r/s sync;
    keyval_zone zone=tokens:1m sync;
    server {{
        listen unix:{run}/nginx-plus-api.sock;
        location /api {{
            api write=on;
        }}
    }}
    server {{
        listen 127.0.0.1:{status};
        allow 127.0.0.1;
        deny all;
        location /api {{
            api write=off;
        }}
    }}
    include config-version.conf;
    include conf.d/*.conf;
}}
stream {{
    server {{
        listen 127.0.0.1:{zone_sync};
        resolver 127.0.0.1 valid=5s;
        zone_sync;
        zone_sync_server nginx-ingress-headless.nginx-ingress.svc.cluster.local:{zone_sync} resolve;
    }}
}}
"""

VERSION = """\
server {{
    listen unix:{run}/config-version.sock;
    location = /configVersion {{
        return 200 {version};
    }}
}}
"""

APP = """\
upstream apps-app-80 {{
    zone apps-app-80 64k;
    sticky learn create=$upstream_cookie_s lookup=$cookie_s zone=apps/app_sessions:1m sync;
    server 127.0.0.1:{backend} weight=2 slow_start=10s;
    server 127.0.0.1:8181 down;
}}
server {{
    listen 127.0.0.1:{http};
    status_zone app;
    location / {{
        limit_req zone=apps/app_sync;
        proxy_pass http://apps-app-80;
    }}
}}
"""


@dataclass
class Running:
    """A stand-in started as the controller starts NGINX: its own session, stderr read."""

    process: subprocess.Popen[bytes]
    lines: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for raw in self.process.stderr:
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))

    def said(self, predicate: Callable[[str], bool], timeout: float = WAIT) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if predicate(line):
                    return line
            time.sleep(0.02)
        raise AssertionError("no such line on stderr:\n" + "\n".join(self.lines))

    def signal(self, number: int) -> None:
        os.kill(self.process.pid, number)

    def wait(self, timeout: float = WAIT) -> int:
        code = self.process.wait(timeout)
        self._reader.join(timeout)
        return code

    def group_empty(self) -> bool:
        """No live process is left in the stand-in's process group. A member that has exited
        but is not reaped does not count: orphans go to init, or to pytest when the main
        suite has made it a subreaper; those are reaped here."""
        live = False
        for pid, state in _group(self.process.pid).items():
            if state != "Z":
                live = True
            elif pid != self.process.pid:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, os.WNOHANG)
        return not live


@dataclass
class World:
    root: Path
    backend: Backend
    ports: dict[str, int]
    started: list[Running] = field(default_factory=list)

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def main(self) -> Path:
        return self.root / "conf" / "nginx.conf"

    @property
    def app(self) -> Path:
        return self.root / "conf" / "conf.d" / "apps-app.conf"

    @property
    def api_socket(self) -> Path:
        return self.run / "nginx-plus-api.sock"

    def write(self, version: int, app: str = APP, extra: str = "") -> None:
        """Configuration `version`, with `app` as the Ingress file (a template) and `extra`
        (plain text) after it."""
        values = {"run": self.run, "version": version, "backend": self.backend.port, **self.ports}
        self.app.parent.mkdir(parents=True, exist_ok=True)
        self.main.write_text(MAIN.format(**values))
        (self.main.parent / "config-version.conf").write_text(VERSION.format(**values))
        self.app.write_text(app.format(**values) + extra)

    def version(self) -> int | None:
        return config_version(self.run / "config-version.sock")

    def start(self) -> Running:
        arguments = [STANDIN, "-e", "stderr", "-p", f"{self.run}/", "-c", str(self.main)]
        running = Running(
            subprocess.Popen(
                arguments, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
            )
        )
        self.started.append(running)
        return running

    def start_serving(self) -> tuple[Running, StandinControl]:
        running = self.start()
        assert eventually(lambda: self.version() == 1), "\n".join(running.lines)
        return running, StandinControl(control_socket(self.run)).wait()

    def client(self) -> PlusApiClient:
        return PlusApiClient("http://localhost/api", unix_socket=str(self.api_socket), timeout=2)

    def read_only_client(self) -> PlusApiClient:
        return PlusApiClient(f"http://127.0.0.1:{self.ports['status']}/api", timeout=2)

    def get(self, path: str = "/") -> tuple[int, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.ports["http"], timeout=5)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, response.read().decode()
        finally:
            connection.close()


def eventually(condition: Callable[[], bool], timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@pytest.fixture
def world() -> Iterator[World]:
    # A short root: unix socket paths have at most 107 bytes.
    root = Path(tempfile.mkdtemp(prefix="psi-", dir="/tmp"))
    (root / "run").mkdir()
    ports = {name: free_port() for name in ("http", "status", "zone_sync")}
    try:
        with backends("app") as started:
            created = World(root, started["app"], ports)
            created.write(1)
            yield created
            leftovers = [r for r in created.started if not r.group_empty()]
            for running in leftovers:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(running.process.pid, signal.SIGKILL)
                running.process.wait(WAIT)
            assert not leftovers, "a stand-in left processes running"
    finally:
        shutil.rmtree(root, ignore_errors=True)


def stop(running: Running) -> int:
    running.signal(signal.SIGQUIT)
    code = running.wait()
    assert eventually(running.group_empty, 5), "the real NGINX outlived the stand-in"
    return code


def test_version_reads_as_nginx_plus_with_the_stream_module_built_in() -> None:
    build = inspect_binary(STANDIN)
    assert build.plus and build.stream is Stream.BUILT_IN
    assert mode_mismatch(build, STANDIN, plus=True) is None
    assert mode_mismatch(build, STANDIN, plus=False) is not None  # as real NGINX Plus


def test_check_accepts_a_plus_configuration(world: World) -> None:
    result = nginx_test(NginxCommand(STANDIN, world.run, world.main), WAIT)
    assert result.ok, result.output
    assert not list(state_directory(world.run).glob("check-*"))  # its shadow is gone


@pytest.mark.parametrize(
    "broken,line,error",
    [
        # The real NGINX refuses it, in the shadow: the original is named.
        ("proxy_pass http://apps-app-80; bogus_directive 1;", 12, 'unknown directive "bogus_'),
        # crossplane refuses it (a Plus directive where it cannot be).
        ("proxy_pass http://apps-app-80; sticky cookie srv;", 12, '"sticky" directive is not'),
    ],
    ids=["nginx", "crossplane"],
)
def test_check_refusals_name_the_original_file_and_line(
    world: World, broken: str, line: int, error: str
) -> None:
    world.write(1, app=APP.replace("proxy_pass http://apps-app-80;", broken))
    result = nginx_test(NginxCommand(STANDIN, world.run, world.main), WAIT)
    assert not result.ok
    assert (result.file, result.line) == (world.app, line), result.output
    assert error in result.error


def test_it_runs_the_real_nginx_on_the_shadow_and_serves_the_plus_api(world: World) -> None:
    running, control = world.start_serving()
    # The real NGINX serves, through the upstream, without the Plus parts.
    status, body = world.get("/hello")
    assert status == 200 and body.startswith("app ")
    shadow = (state_directory(world.run) / "shadow" / "nginx.conf").read_text()
    assert "zone_sync" in world.main.read_text() and "zone_sync" not in shadow
    # The stand-in, its real master and the worker, all in the group the controller made.
    master = _children(running.process.pid)
    assert len(master) == 1 and _title(master[0]).startswith(b"nginx: master process")
    assert [_title(pid) for pid in _children(master[0])] == [b"nginx: worker process"]
    # The API socket, read-write: the upstream as configured, the placeholder included.
    client = world.client()
    servers = client.upstream_servers("apps-app-80")
    assert [(s.server, s.weight, s.down) for s in servers] == [
        (f"127.0.0.1:{world.backend.port}", 2, False),
        ("127.0.0.1:8181", 1, True),
    ]
    added = client.add_upstream_server("apps-app-80", UpstreamServer("127.0.0.1:9999"))
    assert control.upstream_servers("apps-app-80")[-1]["server"] == added.server
    zone_sync = client.zone_sync()
    assert zone_sync is not None and zone_sync.nodes_online == 0
    assert [z.name for z in zone_sync.zones] == ["apps/app_sessions", "apps/app_sync", "tokens"]
    # The status port's API, read-only, through the real NGINX.
    read_only = world.read_only_client()
    assert len(read_only.upstream_servers("apps-app-80")) == 3
    with pytest.raises(PlusApiResponseError) as caught:
        read_only.delete_upstream_server("apps-app-80", 0)
    assert (caught.value.status, caught.value.code) == (405, "MethodDisabled")
    # A graceful stop: nothing left, sockets gone.
    assert stop(running) == 0
    assert not world.api_socket.exists() and not control_socket(world.run).exists()


def test_a_reload_rereads_the_upstreams_and_forgets_api_changes(world: World) -> None:
    running, _control = world.start_serving()
    client = world.client()
    client.add_upstream_server("apps-app-80", UpstreamServer("127.0.0.1:9999"))
    world.write(2, app=APP.replace("weight=2", "weight=5"))
    running.signal(signal.SIGHUP)
    assert eventually(lambda: world.version() == 2)
    servers = client.upstream_servers("apps-app-80")
    assert [(s.server, s.weight) for s in servers] == [
        (f"127.0.0.1:{world.backend.port}", 5),
        ("127.0.0.1:8181", 1),
    ]
    assert client.nginx_info().generation == 2
    assert stop(running) == 0


def test_a_reload_crossplane_refuses_is_an_emerg_and_changes_nothing(world: World) -> None:
    running, control = world.start_serving()
    world.client().add_upstream_server("apps-app-80", UpstreamServer("127.0.0.1:9999"))
    world.write(2, app=APP.replace("status_zone app;", "status_zone app; sticky cookie a;"))
    running.signal(signal.SIGHUP)
    line = running.said(lambda text: "[emerg]" in text)
    assert line.endswith(f'"sticky" directive is not allowed here in {world.app}:9'), line
    time.sleep(0.3)
    assert world.version() == 1
    assert len(control.upstream_servers("apps-app-80")) == 3  # no reload: the API's change stays
    assert stop(running) == 0


def test_a_reload_the_real_master_refuses_undoes_the_api(world: World) -> None:
    running, control = world.start_serving()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        world.write(
            2,
            app=APP.replace("weight=2", "weight=7"),
            extra=f"server {{ listen 127.0.0.1:{busy}; }}\n"
            "upstream extra { zone extra 64k; server 127.0.0.1:1; }\n",
        )
        running.signal(signal.SIGHUP)
        line = running.said(lambda text: "[emerg]" in text and "bind()" in text)
    assert "(98: Address already in use)" in line
    time.sleep(0.3)
    assert world.version() == 1  # the old workers serve on
    state = control.state()
    assert sorted(state["upstreams"]) == ["apps-app-80"] and state["generation"] == 1
    assert state["upstreams"]["apps-app-80"][0]["weight"] == 2
    assert stop(running) == 0


def test_tests_drive_zone_sync_and_faults_through_the_control_socket(world: World) -> None:
    running, control = world.start_serving()
    client = world.client()
    peers = {
        "status": {"nodes_online": 2, "msgs_in": 5, "msgs_out": 5, "bytes_in": 9, "bytes_out": 9},
        "zones": {"apps/app_sync": {"records_pending": 1, "records_total": 4}},
    }
    control.set_zone_sync(peers)
    status = client.zone_sync()
    assert status is not None and status.nodes_online == 2
    assert [(z.name, z.records_pending) for z in status.zones] == [("apps/app_sync", 1)]
    world.write(2)
    running.signal(signal.SIGHUP)
    assert eventually(lambda: world.version() == 2)
    status = client.zone_sync()
    assert status is not None and status.nodes_online == 2  # a test's document outlives reloads
    control.set_zone_sync(None)
    assert client.zone_sync() is None  # as NGINX without zone_sync: 404
    control.clear_zone_sync()
    status = client.zone_sync()
    assert status is not None and status.nodes_online == 0  # the configuration's again
    control.set_fault(ServerError())
    with pytest.raises(PlusApiResponseError) as caught:
        client.upstream_servers("apps-app-80")
    assert caught.value.status == 500
    control.set_fault(None)
    control.refuse_connections()
    with pytest.raises(PlusApiUnavailable):
        client.upstream_servers("apps-app-80")
    control.accept_connections()
    assert len(client.upstream_servers("apps-app-80")) == 2
    assert [r["status"] for r in control.state()["requests"]][-2:] == [500, 200]
    assert stop(running) == 0


def test_a_start_that_fails_exits_with_the_masters_status(world: World) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", world.ports["http"]))
        taken.listen()
        running = world.start()
        code = running.wait(30)
    assert code == 1
    assert any("[emerg]" in line and "bind()" in line for line in running.lines)
    assert running.group_empty() and not control_socket(world.run).exists()


def test_a_plus_configuration_crossplane_refuses_does_not_start(world: World) -> None:
    world.write(1, app=APP.replace("status_zone app;", "sticky cookie a;"))
    running = world.start()
    assert running.wait() == 1
    assert running.lines[-1] == (
        f'nginx: [emerg] "sticky" directive is not allowed here in {world.app}:9'
    )
    assert running.group_empty()


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGKILL], ids=["TERM", "KILL"])
def test_a_fast_stop_or_a_killed_standin_leaves_nothing_running(
    world: World, number: signal.Signals
) -> None:
    """SIGTERM is passed on; after SIGKILL the kernel sends the real master SIGTERM (its
    death signal), and the master ends its workers."""
    running, _control = world.start_serving()
    running.signal(number)
    running.wait()
    assert eventually(running.group_empty, 10)


def test_the_nginx_manager_runs_nginx_plus_through_the_standin() -> None:
    """The product's NGINX manager with the stand-in as its binary: a Plus tree with zone
    sync is checked, started, reloaded and confirmed (the workers are the stand-in's
    grandchildren), and stopped with nothing left."""
    with sandbox(nginx_plus=True) as box:
        manager = box.manager(binary=STANDIN)
        port = box.settings.listeners.http
        try:
            first = manager.apply(box.tree({"zone-sync": "true"}))
            assert first.reloaded and manager.ready
            assert "zone_sync;" in (box.conf_dir / "nginx.conf").read_text()
            # A Plus directive where it cannot be: crossplane refuses, the file is held back.
            bad = app_server("bad.example", port, "x").replace(
                "listen", "sticky cookie a;\n listen"
            )
            result = manager.apply(
                box.tree(
                    {"zone-sync": "true"},
                    extra={
                        "conf.d/app.conf": app_server("app.example", port, "plus"),
                        "conf.d/bad.conf": bad,
                    },
                )
            )
            assert result.reloaded and box.get(host="app.example") == (200, "plus\n")
            assert list(result.held_back) == ["conf.d/bad.conf"]
            assert '"sticky" directive is not allowed here' in result.held_back["conf.d/bad.conf"]
            assert manager.process is not None and manager.process.worker_pids()
            api = PlusApiClient(f"http://127.0.0.1:{box.settings.listeners.nginx_status}/api")
            assert api.nginx_info().generation == 2
            # A port the real master cannot bind at the reload: its [emerg], the old files back.
            with socket.socket() as taken:
                taken.bind(("127.0.0.1", 0))
                taken.listen()
                busy = f"127.0.0.1:{taken.getsockname()[1]}"
                with pytest.raises(ApplyError, match="bind"):
                    manager.apply(
                        box.tree(
                            {"zone-sync": "true"},
                            extra={"conf.d/app.conf": app_server("app.example", busy, "no")},
                        )
                    )
            assert box.get(host="app.example") == (200, "plus\n")
            assert api.nginx_info().generation == 2  # the stub's reload was undone
        finally:
            manager.stop()
        assert manager.process is not None and not manager.process.running


def _group(group: int) -> dict[int, str]:
    """pid → state of every process in `group`, from /proc."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[-1].split()
                if fields[2] == str(group):
                    found[int(entry.name)] = fields[0]
    return found


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[-1].split()
                if fields[1] == str(pid):
                    found.append(int(entry.name))
    return sorted(found)


def _title(pid: int) -> bytes:
    return Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0 ")
