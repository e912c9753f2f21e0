"""The NGINX manager with the real `nginx` on loopback: apply, hold back, roll back, stop."""

from __future__ import annotations

import dataclasses
import os
import shlex
import signal
import socket
import stat
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from nginx_ingress.debounce import Debouncer
from nginx_ingress.nginx.confirm import config_version
from nginx_ingress.nginx.manager import ApplyError, NginxManager
from nginx_ingress.nginx.tree import TreeError

from nginx_check import fake_nginx, nginx_binary
from nginx_sandbox import Sandbox, app_server, free_port, sandbox


class Reloads:
    """A ReloadObserver that remembers what it was told."""

    def __init__(self) -> None:
        self.succeeded: list[str] = []
        self.failed = 0

    def reload_succeeded(self, reason: str, seconds: float) -> None:
        assert seconds >= 0
        self.succeeded.append(reason)

    def reload_failed(self) -> None:
        self.failed += 1


@pytest.fixture
def box() -> Iterator[Sandbox]:
    with sandbox() as created:
        yield created


@pytest.fixture
def running(box: Sandbox) -> Iterator[tuple[Sandbox, NginxManager, Reloads]]:
    reloads = Reloads()
    manager = box.manager(reloads)
    try:
        yield box, manager, reloads
    finally:
        manager.stop()


def test_first_apply_starts_nginx_and_serves_the_tree(
    running: tuple[Sandbox, NginxManager, Reloads],
) -> None:
    box, manager, reloads = running
    port = box.settings.listeners.http
    assert not manager.ready
    result = manager.apply(
        box.tree(extra={"conf.d/default-app.conf": app_server("app.example", port, "v1")})
    )
    assert (result.version, result.changed, result.reloaded) == (1, True, True)
    assert manager.ready and reloads.succeeded == ["other"]
    assert box.get(host="app.example") == (200, "v1\n")
    assert box.get(host="unknown.example")[0] == 404  # the catch-all server
    assert config_version(box.manager_settings.version_socket) == 1
    assert {"nginx.conf", "config-version.conf", "conf.d/_default-server.conf"} <= {
        p.relative_to(box.conf_dir).as_posix() for p in box.conf_dir.rglob("*") if p.is_file()
    }
    # The stage stays between applies as hard links to the live files (staging costs
    # only what changes next time).
    stage = box.conf_dir / ".staging"
    live = {
        p.relative_to(box.conf_dir).as_posix()
        for p in box.conf_dir.rglob("*")
        if p.is_file() and ".staging" not in p.parts
    }
    assert {p.relative_to(stage).as_posix() for p in stage.rglob("*") if p.is_file()} == live
    assert all((box.conf_dir / path).samefile(stage / path) for path in live)


def test_a_change_reloads_and_new_workers_serve_it(
    running: tuple[Sandbox, NginxManager, Reloads],
) -> None:
    box, manager, reloads = running
    port = box.settings.listeners.http
    manager.apply(
        box.tree(extra={"conf.d/default-app.conf": app_server("app.example", port, "v1")})
    )
    result = manager.apply(
        box.tree(extra={"conf.d/default-app.conf": app_server("app.example", port, "v2")})
    )
    assert result.reloaded and result.version == 2
    assert set(result.phases) == {"stage", "test", "swap", "reload", "confirm"}
    assert box.get(host="app.example") == (200, "v2\n")
    assert reloads.succeeded == ["other", "other"]


def test_an_unchanged_tree_does_nothing(running: tuple[Sandbox, NginxManager, Reloads]) -> None:
    box, manager, reloads = running
    tree = box.tree()
    manager.apply(tree)
    pid = manager.process.pid if manager.process else None
    before = (box.conf_dir / "nginx.conf").stat().st_mtime_ns
    result = manager.apply(dict(tree))
    assert (result.changed, result.reloaded, result.version) == (False, False, 1)
    assert reloads.succeeded == ["other"]
    assert (box.conf_dir / "nginx.conf").stat().st_mtime_ns == before
    assert manager.process is not None and manager.process.pid == pid


def test_a_broken_resource_is_held_back_and_the_rest_applies(
    running: tuple[Sandbox, NginxManager, Reloads],
) -> None:
    box, manager, _ = running
    port = box.settings.listeners.http
    good = {
        "conf.d/default-a.conf": app_server("a.example", port, "a1"),
        "conf.d/default-b.conf": app_server("b.example", port, "b1"),
    }
    manager.apply(box.tree(extra=good))
    broken_a = app_server("a.example", port, "a2").replace(
        "return 200", "bogus_directive;\n return 200"
    )
    new_file = "server { listen 1.2.3.4.5:80; }\n"
    result = manager.apply(
        box.tree(
            extra={
                "conf.d/default-a.conf": broken_a,
                "conf.d/default-b.conf": app_server("b.example", port, "b2"),
                "conf.d/default-c.conf": new_file,
            }
        )
    )
    assert result.reloaded
    assert set(result.held_back) == {"conf.d/default-a.conf", "conf.d/default-c.conf"}
    assert 'unknown directive "bogus_directive"' in result.held_back["conf.d/default-a.conf"]
    # a stays at its last good version, c never had one and is out, b moved on.
    assert box.get(host="a.example") == (200, "a1\n")
    assert box.get(host="b.example") == (200, "b2\n")
    assert (box.conf_dir / "conf.d/default-a.conf").read_text() == good["conf.d/default-a.conf"]
    assert not (box.conf_dir / "conf.d/default-c.conf").exists()


def test_a_broken_main_file_applies_nothing(running: tuple[Sandbox, NginxManager, Reloads]) -> None:
    box, manager, reloads = running
    port = box.settings.listeners.http
    manager.apply(
        box.tree(extra={"conf.d/default-app.conf": app_server("app.example", port, "v1")})
    )
    live = {p: p.read_bytes() for p in box.conf_dir.rglob("*") if p.is_file()}
    tree = box.tree(extra={"conf.d/default-app.conf": app_server("app.example", port, "v2")})
    tree["nginx.conf"] = tree["nginx.conf"].replace("daemon off;", "daemon off;\nnot_a_directive;")
    with pytest.raises(ApplyError, match='unknown directive "not_a_directive"'):
        manager.apply(tree)
    assert {p: p.read_bytes() for p in box.conf_dir.rglob("*") if p.is_file()} == live
    assert box.get(host="app.example") == (200, "v1\n")
    assert manager.version == 1 and reloads.failed == 1


def test_a_failed_reload_restores_the_previous_tree(
    running: tuple[Sandbox, NginxManager, Reloads],
) -> None:
    """`nginx -t` does not bind ports, so a taken port passes it and fails only the reload."""
    box, manager, reloads = running
    port = box.settings.listeners.http
    manager.apply(
        box.tree(extra={"conf.d/default-app.conf": app_server("app.example", port, "v1")})
    )
    before = (box.conf_dir / "conf.d/default-app.conf").read_text()
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 0)
        taken.bind(("127.0.0.1", free_port()))
        taken.listen()
        busy = taken.getsockname()[1]
        tree = box.tree(
            extra={
                "conf.d/default-app.conf": app_server("app.example", port, "v2"),
                "conf.d/default-busy.conf": app_server("busy.example", f"127.0.0.1:{busy}", "x"),
            }
        )
        with pytest.raises(ApplyError, match=r"did not load the new configuration.*bind"):
            manager.apply(tree)
    assert (box.conf_dir / "conf.d/default-app.conf").read_text() == before
    assert not (box.conf_dir / "conf.d/default-busy.conf").exists()
    assert box.get(host="app.example") == (200, "v1\n")
    assert config_version(box.manager_settings.version_socket) == 1
    assert manager.version == 1 and reloads.failed == 1


def test_a_burst_of_fifty_changes_gives_one_reload(
    running: tuple[Sandbox, NginxManager, Reloads],
) -> None:
    box, manager, reloads = running
    port = box.settings.listeners.http
    manager.apply(box.tree())
    latest: dict[str, str] = {}

    def apply_latest() -> None:
        manager.apply(dict(latest))

    debouncer = Debouncer(apply_latest, quiet=0.2, max_delay=2.0)
    try:
        for n in range(50):
            latest = box.tree(
                extra={"conf.d/default-app.conf": app_server("app.example", port, f"v{n}")}
            )
            debouncer.trigger()
        assert debouncer.wait_idle(10)
    finally:
        debouncer.stop()
    assert reloads.succeeded == ["other", "other"]
    assert box.get(host="app.example") == (200, "v49\n")


def test_stale_files_from_an_earlier_run_go_and_secrets_are_private(box: Sandbox) -> None:
    (box.conf_dir / "conf.d").mkdir()
    (box.conf_dir / "conf.d/old-ingress.conf").write_text("this would not even parse {")
    (box.conf_dir / "mime.types").write_text("types {}\n")
    manager = box.manager()
    try:
        manager.apply(box.tree(extra={"secrets/default-tls": "-----BEGIN nothing-----\n"}))
        assert not (box.conf_dir / "conf.d/old-ingress.conf").exists()
        assert (box.conf_dir / "mime.types").exists()  # not ours: left alone
        assert stat.S_IMODE((box.conf_dir / "secrets/default-tls").stat().st_mode) == 0o600
        assert stat.S_IMODE((box.conf_dir / "nginx.conf").stat().st_mode) == 0o644
    finally:
        manager.stop()


@pytest.mark.parametrize(
    "path", ["/etc/passwd", "../x.conf", "conf.d/../../x", ".staging/nginx.conf", ""]
)
def test_paths_outside_the_conf_dir_are_refused(box: Sandbox, path: str) -> None:
    with pytest.raises(TreeError):
        box.manager().apply({**box.tree(), path: "x"})


def test_stop_lets_a_request_in_flight_finish(
    running: tuple[Sandbox, NginxManager, Reloads],
) -> None:
    box, manager, _ = running
    started = threading.Event()

    class Slow(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            started.set()
            time.sleep(1.0)
            self.send_response(200)
            self.send_header("Content-Length", "5")
            self.end_headers()
            self.wfile.write(b"slow\n")

        def log_message(self, format: str, *args: object) -> None:  # noqa: ARG002 - silence
            return

    backend = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=backend.serve_forever, daemon=True).start()
    port = box.settings.listeners.http
    proxy = (
        f"server {{ listen {port}; server_name slow.example;\n"
        f"  location / {{ proxy_pass http://127.0.0.1:{backend.server_address[1]}; }} }}\n"
    )
    manager.apply(box.tree(extra={"conf.d/default-slow.conf": proxy}))
    answer: list[tuple[int, str]] = []
    client = threading.Thread(target=lambda: answer.append(box.get(host="slow.example")))
    client.start()
    assert started.wait(5)
    assert manager.stop() == 0
    client.join(5)
    backend.shutdown()
    backend.server_close()
    assert answer == [(200, "slow\n")]
    assert manager.process is not None and not manager.process.running


def test_nginx_killed_from_outside_is_noticed(box: Sandbox) -> None:
    exits: list[int] = []
    noticed = threading.Event()

    def on_exit(code: int) -> None:
        exits.append(code)
        noticed.set()

    manager = NginxManager(box.manager_settings, box.version_file, on_nginx_exit=on_exit)
    manager.apply(box.tree())
    assert manager.process is not None and manager.process.pid is not None
    workers = manager.process.worker_pids()
    assert workers
    os.kill(manager.process.pid, signal.SIGKILL)
    assert noticed.wait(5)
    assert exits == [-signal.SIGKILL]
    with pytest.raises(ApplyError, match="not running"):
        manager.apply(box.tree(extra={"conf.d/x.conf": "# changed\n"}))
    manager.stop()
    # The workers went with their master, so nothing holds the ports or the config-version
    # socket: the next NGINX starts (it used to fail with "Address already in use").
    assert not any(_alive(pid) for pid in workers)
    assert box.manager_settings.version_socket.is_socket()  # left by the killed master
    again = box.manager()
    try:
        assert again.apply(box.tree()).reloaded
        assert box.get()[0] == 404
    finally:
        again.stop()


def _alive(pid: int) -> bool:
    """True while `pid` runs (a zombie counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_port_held_at_the_first_start_is_tried_again(box: Sandbox) -> None:
    """Another process holding a port is not a reason to give up: it may release it (the
    previous pod of a rolling update). NGINX's exit then is no death to report, and the next
    apply starts a new NGINX."""
    exits: list[int] = []
    manager = NginxManager(box.manager_settings, box.version_file, on_nginx_exit=exits.append)
    try:
        with socket.socket() as holder:
            holder.bind(("0.0.0.0", box.settings.listeners.http))
            holder.listen()
            with pytest.raises(ApplyError, match=r"could not start, will try again: bind\(\) to "):
                manager.apply(box.tree())
            assert manager.process is None and not manager.ready and exits == []
        assert manager.apply(box.tree()).reloaded
        assert manager.ready and box.get()[0] == 404
    finally:
        manager.stop()


def test_a_start_failure_no_retry_fixes_is_reported_as_nginx_exit(box: Sandbox) -> None:
    exits: list[int] = []
    binary = fake_nginx(
        box.root, start_error='open() "/x/nginx.pid" failed (13: Permission denied)'
    )
    manager = NginxManager(
        dataclasses.replace(box.manager_settings, binary=str(binary)),
        box.version_file,
        on_nginx_exit=exits.append,
    )
    try:
        with pytest.raises(
            ApplyError, match=r"NGINX could not start: open\(\) .*Permission denied"
        ):
            manager.apply(box.tree())
        assert exits == [1]
    finally:
        manager.stop()


def test_a_stale_config_version_socket_does_not_stop_the_start(box: Sandbox) -> None:
    """A killed master leaves its unix socket file behind, and NGINX will not bind over it."""
    stale = box.manager_settings.version_socket
    with socket.socket(socket.AF_UNIX) as dead:
        dead.bind(str(stale))
    assert stale.is_socket()
    manager = box.manager()
    try:
        assert manager.apply(box.tree()).reloaded
    finally:
        manager.stop()


def test_a_stale_socket_of_another_listener_does_not_stop_the_start(box: Sandbox) -> None:
    """The same for the other unix sockets NGINX listens on (the NGINX Plus API's)."""
    stale = box.root / "run" / "api.sock"
    with socket.socket(socket.AF_UNIX) as dead:
        dead.bind(str(stale))
    extra = {"conf.d/api.conf": app_server("api", f"unix:{stale}", "api")}
    refused = box.manager()
    try:
        with pytest.raises(ApplyError, match="Address already in use"):
            refused.apply(box.tree(extra=extra))
    finally:
        refused.stop()
    manager = box.manager(other_sockets=(stale,))
    try:
        assert manager.apply(box.tree(extra=extra)).reloaded
    finally:
        manager.stop()


def test_nginx_outlives_the_thread_that_started_it(box: Sandbox) -> None:
    """The death signal that ends NGINX with the controller follows the thread that started
    it: started from a sync thread that then ends, NGINX must keep running."""
    manager = box.manager()
    try:
        starter = threading.Thread(target=lambda: manager.apply(box.tree()))
        starter.start()
        starter.join(30)
        assert manager.ready
        time.sleep(0.5)
        assert manager.process is not None and manager.process.running
        assert box.get()[0] == 404
    finally:
        manager.stop()


def test_render_only_writes_checked_files_and_never_starts_nginx(box: Sandbox) -> None:
    """crossplane stands in for `nginx -t`: it knows NGINX Plus directives the local NGINX lacks."""
    manager = box.manager(render_only=True)
    result = manager.apply(
        box.tree(extra={"stream-conf.d/sync.conf": "server { listen 1; zone_sync; }\n"})
    )
    assert (result.changed, result.reloaded) == (True, False)
    assert manager.process is None
    assert (box.conf_dir / "stream-conf.d/sync.conf").exists()
    result = manager.apply(
        box.tree(extra={"stream-conf.d/sync.conf": "server { zone_sync on; }\n"})
    )
    assert "invalid number of arguments" in result.held_back["stream-conf.d/sync.conf"]
    assert (
        box.conf_dir / "stream-conf.d/sync.conf"
    ).read_text() == "server { listen 1; zone_sync; }\n"


def test_stop_does_not_wait_for_an_apply_stuck_in_confirmation(box: Sandbox) -> None:
    """A tree whose version server never answers the new version keeps the apply waiting for
    its reload timeout; stop() must end that wait and stop NGINX at once."""
    manager = NginxManager(
        dataclasses.replace(box.manager_settings, reload_timeout=60),
        lambda _version: box.version_file(1),  # always answers 1
    )
    manager.apply(box.tree())
    failures: list[BaseException] = []

    def stuck_apply() -> None:
        try:
            manager.apply(box.tree(extra={"conf.d/x.conf": "# changed\n"}))
        except ApplyError as error:
            failures.append(error)

    worker = threading.Thread(target=stuck_apply)
    worker.start()
    time.sleep(0.5)
    start = time.monotonic()
    assert manager.stop() == 0
    worker.join(10)
    assert time.monotonic() - start < 10
    assert not worker.is_alive() and "stopping" in str(failures[0])
    with pytest.raises(ApplyError, match="stopping"):
        manager.apply(box.tree(extra={"conf.d/y.conf": "# changed\n"}))
    assert manager.process is not None and not manager.process.running


def test_a_stale_file_is_removed_even_when_its_new_version_is_left_out(box: Sandbox) -> None:
    (box.conf_dir / "conf.d").mkdir()
    (box.conf_dir / "conf.d/default-bad.conf").write_text("# from an earlier run\n")
    manager = box.manager()
    try:
        result = manager.apply(box.tree(extra={"conf.d/default-bad.conf": "nonsense;\n"}))
        assert set(result.held_back) == {"conf.d/default-bad.conf"}
        assert not (box.conf_dir / "conf.d/default-bad.conf").exists()
    finally:
        manager.stop()


def test_a_refused_file_is_not_checked_again_until_it_changes(
    running: tuple[Sandbox, NginxManager, Reloads],
) -> None:
    """A refusal is remembered with the file's text: asking again for the same text costs no
    `nginx -t` (a permanently bad Ingress must not make every sync test it again); a new
    text is checked, and so is the old one once a file is deleted (another file may have
    held what it needs)."""
    box, manager, _ = running
    port = box.settings.listeners.http
    bad = {"conf.d/default-x.conf": "nonsense;\n"}
    first = manager.apply(box.tree(extra=bad))
    assert set(first.held_back) == {"conf.d/default-x.conf"}
    again = manager.apply(box.tree(extra=bad))
    assert not again.changed and set(again.held_back) == {"conf.d/default-x.conf"}
    other = manager.apply(box.tree(extra={**bad, "conf.d/b.conf": "# fine\n"}))
    assert other.reloaded and "test" in other.phases and set(other.held_back) == set(bad)
    assert not (box.conf_dir / "conf.d/default-x.conf").exists()
    deleted = manager.apply(box.tree(extra=bad))  # b.conf goes: x is checked again
    assert deleted.reloaded and set(deleted.held_back) == set(bad)
    fixed = manager.apply(box.tree(extra={"conf.d/default-x.conf": app_server("x", port, "x")}))
    assert fixed.reloaded and not fixed.held_back
    assert box.get(host="x") == (200, "x\n")


def _settled_workers(manager: NginxManager, timeout: float = 10.0) -> set[int]:
    """The worker PIDs once two reads 0.3 s apart agree."""
    assert manager.process is not None
    deadline = time.monotonic() + timeout
    seen = manager.process.worker_pids()
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = manager.process.worker_pids()
        if now and now == seen:
            return now
        seen = now
    raise AssertionError(f"the workers never settled: {seen}")


def test_a_refused_reload_starts_no_new_worker_generation(
    running: tuple[Sandbox, NginxManager, Reloads],
) -> None:
    """The master that logs [emerg] keeps its workers and configuration: undoing the files is
    enough; another reload would only start and retire one more generation."""
    box, manager, _ = running
    manager.apply(box.tree())
    assert manager.process is not None
    # The start is confirmed by the first worker that answers; its siblings may still be
    # forking. Compare against the whole generation once it stands still.
    workers = _settled_workers(manager)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        with pytest.raises(ApplyError, match="bind"):
            manager.apply(
                box.tree(extra={"conf.d/busy.conf": app_server("b", f"127.0.0.1:{busy}", "x")})
            )
    time.sleep(0.3)
    assert manager.process.worker_pids() == workers
    failed_attempt = 2
    result = manager.apply(box.tree(extra={"conf.d/ok.conf": "# fine\n"}))
    assert result.version > failed_attempt  # a failed attempt's number is never reused


# Runs the real NGINX as its child and passes the manager's signals on, as the NGINX Plus
# stand-in does: NGINX's workers are the started process's grandchildren.
WRAPPER = """#!/bin/sh
case " $* " in *" -t "*|*" -V "*) exec {nginx} "$@" ;; esac
{nginx} "$@" &
child=$!
for name in HUP QUIT TERM INT; do trap "kill -$name $child" "$name"; done
while :; do
    wait "$child"; status=$?
    kill -0 "$child" 2>/dev/null || exit "$status"
done
"""


def _parent_and_title(pid: int) -> tuple[int, bytes]:
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()
    return int(stat[1]), Path(f"/proc/{pid}/cmdline").read_bytes()


def test_workers_under_a_wrapper_are_found_and_its_reload_is_confirmed(box: Sandbox) -> None:
    """Workers are found in NGINX's process group by their title, not as the started
    process's children: under a wrapper those are the real master, which never stops
    accepting, so no reload could be confirmed."""
    wrapper = box.root / "nginx-wrapper"
    wrapper.write_text(WRAPPER.format(nginx=shlex.quote(nginx_binary())))
    wrapper.chmod(0o755)
    port = box.settings.listeners.http
    manager = box.manager(binary=str(wrapper))
    try:
        manager.apply(box.tree(extra={"conf.d/app.conf": app_server("app", port, "v1")}))
        assert manager.process is not None and manager.process.pid is not None
        workers = manager.process.worker_pids()
        assert workers
        for pid in workers:
            parent, title = _parent_and_title(pid)
            assert parent != manager.process.pid and title.startswith(b"nginx: worker process")
        result = manager.apply(box.tree(extra={"conf.d/app.conf": app_server("app", port, "v2")}))
        assert result.reloaded and box.get(host="app") == (200, "v2\n")
        new_workers = manager.process.worker_pids()
        assert new_workers and not new_workers & workers  # the old generation stopped accepting
    finally:
        manager.stop()
    assert manager.process is not None and not manager.process.running


def test_a_disk_error_while_swapping_puts_the_previous_files_back(
    running: tuple[Sandbox, NginxManager, Reloads],
) -> None:
    """A file where the tree needs a directory makes the swap fail half-way: the files already
    swapped go back to their last good version and NGINX keeps serving it."""
    box, manager, reloads = running
    port = box.settings.listeners.http
    manager.apply(box.tree(extra={"conf.d/a.conf": app_server("a.example", port, "a1")}))

    def files() -> dict[Path, bytes]:
        return {
            p: p.read_bytes()
            for p in box.conf_dir.rglob("*")
            if p.is_file() and ".staging" not in p.parts
        }

    live = files()
    (box.conf_dir / "conf.d/blocker").write_text("not a directory")
    tree = box.tree(
        extra={
            "conf.d/a.conf": app_server("a.example", port, "a2"),  # swapped first, then undone
            "conf.d/blocker/b.conf": "# cannot be written\n",
        }
    )
    with pytest.raises(ApplyError, match="cannot write the configuration"):
        manager.apply(tree)
    (box.conf_dir / "conf.d/blocker").unlink()
    assert files() == live
    assert box.get(host="a.example") == (200, "a1\n")
    assert manager.version == 1 and reloads.failed == 1
