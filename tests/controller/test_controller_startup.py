"""What `nginx-ingress run` settles at start-up: the NGINX binary against the flags, the
modules it needs, the conf dir it may take, and which start failures end it.

The rule under test: what only the flags or the binary can fix ends the controller at
once (exit 2, one line); a port another process holds is tried again.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from nginx_ingress_dev.devcluster import DevCluster

from controller_harness import (
    NS,
    SERVICE,
    STANDIN,
    Controller,
    Harness,
    events,
    eventually,
    handled,
    harness,
    seed_cluster,
    set_configmap,
)
from nginx_check import PLUS_CONFIGURE, PLUS_VERSION, fake_nginx
from nginx_sandbox import free_port


@pytest.fixture
def world(dev_cluster: DevCluster) -> Iterator[Harness]:
    seed_cluster(dev_cluster)
    with harness(dev_cluster) as created:
        yield created


def refused(controller: Controller) -> str:
    """The controller's one-line refusal; it must have exited 2 without a traceback."""
    assert controller.process.wait(30) == 2
    output = controller.output()
    assert "Traceback" not in output
    (line,) = [x for x in output.splitlines() if x.startswith("error: ")]
    return line


def test_oss_on_debian_nginx_loads_the_stream_module_by_itself(world: Harness) -> None:
    """The README's command has no -load-module: Debian's NGINX refused `stream {}` and the
    controller retried for ever at 503."""
    set_configmap(world.cluster, {})
    controller = world.start(plus=False)
    assert eventually(controller.ready)
    main = controller.main()
    assert main.count("load_module ") == 1
    assert "load_module /usr/lib/nginx/modules/ngx_stream_module.so;" in main
    assert "stream {" in main
    assert "the stream module is dynamic: loading" in controller.output()


def test_nginx_plus_flag_with_an_oss_binary_is_refused(world: Harness) -> None:
    controller = world.start("-nginx-plus", plus=False)
    line = refused(controller)
    assert "-nginx-plus is set but" in line and "is NGINX OSS (nginx/" in line
    assert "-nginx-binary=PATH" in line and "--render-only" in line
    assert not controller.conf_dir.exists()  # nothing written before the checks passed


def test_a_plus_binary_without_the_flag_is_refused(world: Harness) -> None:
    binary = fake_nginx(world.root, version=PLUS_VERSION, configure=PLUS_CONFIGURE)
    line = refused(world.start(f"-nginx-binary={binary}", plus=False))
    assert f"{binary} is NGINX Plus ({PLUS_VERSION})" in line
    assert "add -nginx-plus" in line


def test_a_binary_that_is_not_nginx_is_refused(world: Harness) -> None:
    line = refused(world.start("-nginx-binary=/bin/true", plus=False))
    assert "-nginx-binary: /bin/true: its `-V` output has no 'nginx version:' line" in line


def test_a_module_nginx_cannot_load_ends_the_start(world: Harness) -> None:
    """No retry can load a module that is not there: exit at once, with NGINX's words."""
    line = refused(world.start("-load-module=/nonexistent/ngx_foo_module.so", plus=False))
    assert "refuses the configuration these flags produce, before any ConfigMap is read" in line
    assert 'dlopen() "/nonexistent/ngx_foo_module.so" failed' in line


def test_a_module_given_by_hand_too_is_loaded_once(world: Harness) -> None:
    set_configmap(world.cluster, {})
    module = "/usr/lib/nginx/modules/ngx_stream_module.so"
    controller = world.start(f"-load-module={module}", f"--load-module={module}", plus=False)
    assert eventually(controller.ready)
    assert controller.main().count(f"load_module {module};") == 1


def test_without_a_stream_module_the_block_goes_and_zone_sync_is_refused(
    world: Harness,
) -> None:
    """An NGINX Plus without the stream module (a test double over the NGINX Plus stand-in,
    whose `-V` tells no stream module): it runs, and says why zone sync stays off."""
    cluster = world.cluster
    version = set_configmap(cluster, {"zone-sync": "true"})
    binary = fake_nginx(
        world.root, version=PLUS_VERSION, configure="--prefix=/etc/nginx", runs=str(STANDIN)
    )
    controller = world.start(
        "-nginx-plus", f"-nginx-binary={binary}", "-nginx-status=false", plus=False
    )
    assert eventually(controller.ready)
    assert eventually(lambda: handled(cluster, version))
    (refusal,) = [
        e
        for e in events(cluster, "InvalidValue")
        if e["involvedObject"]["resourceVersion"] == version
    ]
    assert refusal["type"] == "Warning"
    assert (
        'zone-sync: invalid value "true": requires NGINX\'s stream module' in (refusal["message"])
    )
    assert "stream {" not in controller.main() and "load_module" not in controller.main()
    assert cluster.get_object("Service", NS, SERVICE) is None


def test_a_conf_dir_with_files_of_others_is_refused_and_left_alone(world: Harness) -> None:
    """Run as root with the default -conf-dir on a workstation, the controller would have
    replaced /etc/nginx/nginx.conf and emptied conf.d/."""
    theirs = world.root / "etc-nginx"
    (theirs / "conf.d").mkdir(parents=True)
    (theirs / "nginx.conf").write_text("user www-data;\n")
    (theirs / "conf.d" / "site.conf").write_text("server {}\n")
    before = {p: p.read_bytes() for p in theirs.rglob("*") if p.is_file()}
    line = refused(world.start(f"--conf-dir={theirs}", plus=False))
    assert f"-conf-dir {theirs} holds files nginx-ingress did not write" in line
    assert "-take-over-conf-dir" in line
    assert {p: p.read_bytes() for p in theirs.rglob("*") if p.is_file()} == before


def test_take_over_conf_dir_takes_it_and_marks_it(world: Harness) -> None:
    set_configmap(world.cluster, {})
    theirs = world.root / "etc-nginx"
    (theirs / "conf.d").mkdir(parents=True)
    (theirs / "conf.d" / "site.conf").write_text("server {}\n")
    controller = world.start(f"--conf-dir={theirs}", "-take-over-conf-dir", plus=False)
    assert eventually(controller.ready)
    assert eventually(lambda: not (theirs / "conf.d" / "site.conf").exists())
    assert (theirs / ".nginx-ingress-managed").is_file()
    assert controller.stop() == 0
    again = world.start(f"--conf-dir={theirs}", plus=False)  # ours now: no flag needed
    assert eventually(again.ready)


def test_a_port_another_process_holds_is_tried_again(world: Harness) -> None:
    """Not a reason to give up: the holder (the old pod of a rolling update, orphaned
    workers) may go. Readiness stays 503 and the ConfigMap says why."""
    cluster = world.cluster
    version = set_configmap(cluster, {})
    port = free_port()
    with socket.socket() as holder:
        holder.bind(("0.0.0.0", port))
        holder.listen()
        controller = world.start(f"-default-http-listener-port={port}", plus=False)
        controller.ports["http"] = port

        def reported() -> bool:
            return any(
                "Address already in use" in e["message"]
                for e in events(cluster, "UpdatedWithError")
                if e["involvedObject"]["resourceVersion"] == version
            )

        assert eventually(reported, 30)
        assert controller.alive() and controller.http_status("ready", "/nginx-ready") == 503
    assert eventually(controller.ready, 60)
    assert controller.http_status("http", "/") == 404


def test_a_start_failure_no_retry_fixes_ends_the_controller(world: Harness) -> None:
    set_configmap(world.cluster, {})
    binary = fake_nginx(world.root, start_error='open() "/x" failed (13: Permission denied)')
    controller = world.start(f"-nginx-binary={binary}", plus=False)
    assert controller.process.wait(60) == 1
    assert 'open() "/x" failed (13: Permission denied)' in controller.output()
