"""`nginx-ingress validate` and `render`, run as real processes the way a CI pipeline runs them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from certificates import make_authority
from nginx_check import DEBIAN_STREAM_MODULE, fake_nginx, nginx_binary

COMMAND = Path(sys.executable).parent / "nginx-ingress"
REPOSITORY = Path(__file__).parent.parent.parent

CLEAN = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: nginx-config
  namespace: nginx-ingress
data:
  proxy-read-timeout: "120s"
"""

WITH_PROBLEMS = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: not-a-configmap
spec: {}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: nginx-config
  namespace: edge
data:
  proxy-read-timeout: "5 s"
  zone-sync: "true"
  worker-connections: 4096
  unknwon-key: "x"
---
kind: ConfigMap
metadata:
  name: second
data:
  http2: "yes"
"""


def run(*arguments: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(COMMAND), *map(str, arguments)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_validate_clean_file(tmp_path: Path) -> None:
    completed = run("validate", write(tmp_path, "cm.yaml", CLEAN))
    assert (completed.returncode, completed.stdout, completed.stderr) == (0, "", "")


def test_validate_prints_one_line_per_problem(tmp_path: Path) -> None:
    path = write(tmp_path, "cm.yaml", WITH_PROBLEMS)
    completed = run("validate", path)
    assert completed.returncode == 1
    assert completed.stdout.splitlines() == [
        f'{path}: ConfigMap/edge/nginx-config: proxy-read-timeout: invalid value "5 s": must be '
        "an NGINX time such as 5s, 1m30s or 2h: digits with the units w d h m s ms, largest "
        "first, no spaces; using 60s",
        f"{path}: ConfigMap/edge/nginx-config: unknwon-key: unknown key, ignored",
        f'{path}: ConfigMap/edge/nginx-config: worker-connections: invalid value "4096": must '
        "be a string; quote it in the YAML; using the default",
        f'{path}: ConfigMap/edge/nginx-config: zone-sync: invalid value "true": requires NGINX '
        "Plus (-nginx-plus); zone sync stays off",
        f'{path}: ConfigMap/default/second: http2: invalid value "yes": must be a boolean: true '
        "or false (also 1, t, T, TRUE, True, 0, f, F …); using false",
    ]


def test_validate_for_nginx_plus(tmp_path: Path) -> None:
    path = write(tmp_path, "cm.yaml", CLEAN.replace('"120s"', '"120s"\n  zone-sync: "true"'))
    assert run("validate", path).returncode == 1
    assert run("validate", "-nginx-plus", path).returncode == 0
    assert run("validate", "--nginx-plus=true", path).returncode == 0


def test_validate_directories_and_lists(tmp_path: Path) -> None:
    (tmp_path / "deploy").mkdir()
    write(tmp_path / "deploy", "a.yaml", CLEAN)
    write(
        tmp_path / "deploy",
        "list.yml",
        "kind: List\nitems:\n- kind: ConfigMap\n  metadata: {name: x}\n  data: {hsts: nope}\n",
    )
    write(tmp_path / "deploy", "notes.txt", "not yaml: [")
    completed = run("validate", tmp_path / "deploy")
    assert completed.returncode == 1
    assert completed.stdout.count("\n") == 1 and "ConfigMap/default/x: hsts:" in completed.stdout


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kind: ConfigMap\ndata: {a: b\n", "not valid YAML: line 3, column 1"),
        ("- just\n- a list\n", "document 1 is not a Kubernetes object (a YAML sequence)"),
        ("kind: ConfigMap\n---\n42\n", "document 2 is not a Kubernetes object (a YAML number)"),
        ("\ufeffkind: ConfigMap\n\tdata: x\n", "not valid YAML"),
    ],
)
def test_validate_unreadable_files(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, "bad.yaml", text)
    completed = run("validate", path)
    assert completed.returncode == 2
    assert message in completed.stderr
    assert "Traceback" not in completed.stderr


def test_validate_unreadable_and_bad_files_together(tmp_path: Path) -> None:
    good = write(tmp_path, "problems.yaml", WITH_PROBLEMS)
    (tmp_path / "binary.yaml").write_bytes(b"\xff\xfe\x00kind")
    completed = run("validate", tmp_path / "missing.yaml", tmp_path / "binary.yaml", good)
    assert completed.returncode == 2
    assert "missing.yaml: cannot read" in completed.stderr
    assert "binary.yaml: not UTF-8 text" in completed.stderr
    assert len(completed.stdout.splitlines()) == 5


def test_validate_data_that_is_not_a_map(tmp_path: Path) -> None:
    completed = run(
        "validate", write(tmp_path, "cm.yaml", "kind: ConfigMap\nmetadata: {name: x}\ndata: [1]\n")
    )
    assert completed.returncode == 1
    assert "ConfigMap/default/x: data: must be a map" in completed.stdout


def _render(tmp_path: Path, configmap: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "run").mkdir(exist_ok=True)
    return run(
        "render",
        "--configmap",
        configmap,
        "--output",
        tmp_path / "out",
        "--conf-dir",
        tmp_path / "out",
        "--run-dir",
        tmp_path / "run",
        *flags,
    )


def nginx_t(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [nginx_binary(), "-t", "-p", f"{tmp_path}/run/", "-c", f"{tmp_path}/out/nginx.conf"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_render_writes_files_nginx_loads(tmp_path: Path) -> None:
    completed = _render(tmp_path, write(tmp_path, "cm.yaml", CLEAN))
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.splitlines() == [
        str(tmp_path / "out" / "conf.d" / "_default-server.conf"),
        str(tmp_path / "out" / "config-version.conf"),
        str(tmp_path / "out" / "nginx.conf"),
    ]
    assert (tmp_path / "out" / "stream-conf.d").is_dir()
    assert "proxy_read_timeout 120s;" in (tmp_path / "out" / "nginx.conf").read_text()
    check = subprocess.run(
        [nginx_binary(), "-t", "-p", f"{tmp_path}/run/", "-c", f"{tmp_path}/out/nginx.conf"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr


def test_render_reports_problems_and_still_writes(tmp_path: Path) -> None:
    path = write(tmp_path, "cm.yaml", WITH_PROBLEMS)
    assert _render(tmp_path, path).returncode == 2  # two ConfigMaps: which one?
    completed = _render(tmp_path, path, "-nginx-configmaps=edge/nginx-config")
    assert completed.returncode == 0
    assert "ConfigMap/edge/nginx-config: proxy-read-timeout: invalid value" in completed.stderr
    assert "proxy_read_timeout 60s;" in (tmp_path / "out" / "nginx.conf").read_text()


@pytest.mark.parametrize(
    ("configmap", "flags", "message"),
    [
        ("missing.yaml", (), "missing.yaml: cannot read"),
        ("cm.yaml", ("-nginx-configmaps=edge/absent",), "no single ConfigMap edge/absent"),
        ("cm.yaml", (), "the file holds 2 ConfigMaps; name one with -nginx-configmaps"),
    ],
)
def test_render_refuses_a_configmap_it_cannot_choose(
    tmp_path: Path, configmap: str, flags: tuple[str, ...], message: str
) -> None:
    """Unreadable, or no single ConfigMap to render with: status 2, and nothing written."""
    write(tmp_path, "cm.yaml", WITH_PROBLEMS)
    completed = _render(tmp_path, tmp_path / configmap, *flags)
    assert completed.returncode == 2
    assert completed.stderr.startswith("error: ") and message in completed.stderr
    assert "Traceback" not in completed.stderr
    assert not (tmp_path / "out").exists()


def test_render_zone_sync_for_plus(tmp_path: Path) -> None:
    path = write(tmp_path, "cm.yaml", CLEAN.replace('"120s"', '"120s"\n  zone-sync: "true"'))
    completed = _render(tmp_path, path, "-nginx-plus", "--namespace", "edge")
    assert completed.returncode == 0, completed.stderr
    main = (tmp_path / "out" / "nginx.conf").read_text()
    assert "zone_sync_server nginx-ingress-headless.edge.svc.cluster.local:12345 resolve;" in main


def test_render_zone_sync_over_tls_from_the_secrets_in_the_manifests(tmp_path: Path) -> None:
    """The TLS Secret and the CA Secret among the manifests: the files the controller would
    write, certificates included (0600); without the Secret, zone sync stays off and says so."""
    authority = make_authority()
    peer = authority.issue("nginx-ingress-headless.edge.svc.cluster.local").without_ca()
    configmap = CLEAN.replace(
        '"120s"',
        '"120s"\n  zone-sync: "true"\n  zone-sync-tls-secret: zs\n  zone-sync-tls-ca-secret: ca',
    ).replace("namespace: nginx-ingress", "namespace: edge")
    secrets = yaml.safe_dump_all([peer.secret("edge", "zs"), authority.secret("edge", "ca")])
    manifests = write(tmp_path, "all.yaml", f"{configmap}---\n{secrets}")
    completed = _render(
        tmp_path, manifests, "--manifests", str(manifests), "-nginx-plus", "--namespace", "edge"
    )
    assert completed.returncode == 0, completed.stderr
    main = (tmp_path / "out" / "nginx.conf").read_text()
    assert "ssl_verify_client on;" in main and "zone_sync_ssl_verify on;" in main
    written = sorted((tmp_path / "out" / "secrets").glob("_zone-sync-*"))
    assert len(written) == 2 and all(f.stat().st_mode & 0o777 == 0o600 for f in written)
    without = write(tmp_path, "cm.yaml", configmap)
    completed = _render(tmp_path, without, "-nginx-plus", "--namespace", "edge")
    assert completed.returncode == 0, completed.stderr
    assert "ZoneSyncTLSInvalid: zone sync stays off: Secret edge/zs does not exist" in (
        completed.stderr
    )
    assert "zone_sync;" not in (tmp_path / "out" / "nginx.conf").read_text()
    assert not list((tmp_path / "out" / "secrets").glob("_zone-sync-*"))


def test_render_removes_stale_files_it_owns(tmp_path: Path) -> None:
    """conf.d/, stream-conf.d/ and secrets/ are the controller's, as in a cluster; the rest
    of an output directory it wrote before is the user's."""
    assert _render(tmp_path, write(tmp_path, "cm.yaml", CLEAN)).returncode == 0
    for owned in ("conf.d", "stream-conf.d", "secrets"):
        (tmp_path / "out" / owned / "default-old-ingress.conf").write_text("server {}")
    (tmp_path / "out" / "secrets" / "default-old-tls").write_text("key")
    (tmp_path / "out" / "mime.types").write_text("types {}")
    assert _render(tmp_path, write(tmp_path, "cm.yaml", CLEAN)).returncode == 0
    assert sorted(p.name for p in (tmp_path / "out" / "conf.d").iterdir()) == [
        "_default-server.conf"
    ]
    assert not any((tmp_path / "out" / "stream-conf.d").iterdir())
    assert not any((tmp_path / "out" / "secrets").iterdir())
    assert (tmp_path / "out" / "mime.types").read_text() == "types {}"


def test_render_reports_an_output_it_cannot_write(tmp_path: Path) -> None:
    (tmp_path / "out").write_text("a file where the directory should be")
    completed = _render(tmp_path, write(tmp_path, "cm.yaml", CLEAN))
    assert completed.returncode == 2
    assert f"error: --output {tmp_path / 'out'} is not a directory" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_render_refuses_a_directory_it_did_not_write(tmp_path: Path) -> None:
    """`render --output /etc/nginx` on a workstation must not replace the system's NGINX files."""
    system = {"nginx.conf": "user www-data;\n", "conf.d/site.conf": "server {}\n"}
    for relative, text in system.items():
        (tmp_path / "out" / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "out" / relative).write_text(text)
    configmap = write(tmp_path, "cm.yaml", CLEAN)
    completed = _render(tmp_path, configmap)
    assert completed.returncode == 2 and "Traceback" not in completed.stderr
    assert (
        f"error: --output {tmp_path / 'out'} holds files nginx-ingress did not write "
        "(conf.d, nginx.conf)" in completed.stderr
    )
    assert "--take-over-output" in completed.stderr
    assert {p: (tmp_path / "out" / p).read_text() for p in system} == system
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["conf.d", "nginx.conf"]

    taken = _render(tmp_path, configmap, "--take-over-output")
    assert taken.returncode == 0, taken.stderr
    assert not (tmp_path / "out" / "conf.d" / "site.conf").exists()
    assert (tmp_path / "out" / ".nginx-ingress-managed").is_file()
    assert _render(tmp_path, configmap).returncode == 0  # ours now: no flag needed


def test_render_finds_the_stream_module_the_local_nginx_needs(tmp_path: Path) -> None:
    """Debian's NGINX has a dynamic stream module: without a `load_module` for it, NGINX
    refuses the `stream {}` block. A module also given by hand is loaded once."""
    completed = _render(tmp_path, write(tmp_path, "cm.yaml", CLEAN))
    assert completed.returncode == 0, completed.stderr
    assert f"note: the stream module is dynamic: loading {DEBIAN_STREAM_MODULE}" in (
        completed.stderr
    )
    main = (tmp_path / "out" / "nginx.conf").read_text()
    assert main.count("load_module ") == 1 and f"load_module {DEBIAN_STREAM_MODULE};" in main
    assert nginx_t(tmp_path).returncode == 0

    both = _render(
        tmp_path, write(tmp_path, "cm.yaml", CLEAN), f"--load-module={DEBIAN_STREAM_MODULE}"
    )
    assert both.returncode == 0, both.stderr
    assert (tmp_path / "out" / "nginx.conf").read_text().count("load_module ") == 1
    assert nginx_t(tmp_path).returncode == 0


def test_render_without_nginx_says_what_it_assumed(tmp_path: Path) -> None:
    completed = _render(
        tmp_path, write(tmp_path, "cm.yaml", CLEAN), "-nginx-binary=/nonexistent/nginx"
    )
    assert completed.returncode == 0, completed.stderr
    assert "note: no NGINX binary '/nonexistent/nginx' here to ask" in completed.stderr
    assert "assuming NGINX's stream module is built in" in completed.stderr
    main = (tmp_path / "out" / "nginx.conf").read_text()
    assert "load_module" not in main and "stream {" in main


def test_render_for_plus_does_not_ask_a_local_oss_nginx(tmp_path: Path) -> None:
    """Plus files are for another machine: Debian's stream module path means nothing there."""
    completed = _render(tmp_path, write(tmp_path, "cm.yaml", CLEAN), "-nginx-plus")
    assert completed.returncode == 0, completed.stderr
    assert "not the NGINX Plus these files are for" in completed.stderr
    assert "load_module" not in (tmp_path / "out" / "nginx.conf").read_text()


def test_render_leaves_stream_out_for_an_nginx_without_it(tmp_path: Path) -> None:
    binary = fake_nginx(tmp_path, configure="--prefix=/usr/share/nginx --without-http_gzip_module")
    completed = _render(tmp_path, write(tmp_path, "cm.yaml", CLEAN), f"-nginx-binary={binary}")
    assert completed.returncode == 0, completed.stderr
    assert "built without the stream module: the stream block is left out" in completed.stderr
    main = (tmp_path / "out" / "nginx.conf").read_text()
    assert "stream {" not in main and "stream-conf.d" not in main
    assert "load_module" not in main
    assert nginx_t(tmp_path).returncode == 0  # Debian's NGINX, its stream module not loaded


def test_render_refuses_impossible_settings(tmp_path: Path) -> None:
    completed = _render(tmp_path, write(tmp_path, "cm.yaml", CLEAN), "-zone-sync-service-name=Bad")
    assert completed.returncode == 2
    assert completed.stderr.startswith("error: -zone-sync-service-name: 'Bad' is not a valid")
    assert not (tmp_path / "out").exists()


def test_version() -> None:
    completed = run("version")
    assert completed.returncode == 0 and completed.stdout.strip()


BAD_INGRESSES = """\
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop}
spec:
  ingressClassName: nginx
  rules:
  - host: web.example.com
    http:
      paths:
      - {path: "/a;b", pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web2
  namespace: shop
  annotations: {nginx.org/proxy-read-timeout: "5 s"}
spec:
  ingressClassName: nginx
  rules:
  - host: web2.example.com
    http:
      paths:
      - {path: "/", pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: other, namespace: shop}
spec:
  ingressClassName: someone-else
  rules:
  - host: "bad host"
"""


def test_validate_reports_ingress_problems_in_the_words_of_the_events(tmp_path: Path) -> None:
    """A rejected Ingress and a half-valid one; missing Services are the cluster's business,
    and an Ingress of another class is not ours to judge."""
    completed = run("validate", write(tmp_path, "bad.yaml", BAD_INGRESSES))
    assert completed.returncode == 1, completed.stderr
    lines = completed.stdout.splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith(
        f"{tmp_path}/bad.yaml: Ingress/shop/web: Rejected: spec.rules[0].http.paths[0].path: "
        'invalid value "/a;b": must start with'
    )
    assert lines[1].startswith(
        f"{tmp_path}/bad.yaml: Ingress/shop/web2: AddedOrUpdatedWithError: "
        'nginx.org/proxy-read-timeout: invalid value "5 s"'
    )
    other_class = run(
        "validate", "-ingress-class", "someone-else", write(tmp_path, "b.yaml", BAD_INGRESSES)
    )
    assert "Ingress/shop/other: Rejected: spec.rules[0].host" in other_class.stdout


def test_render_routes_the_manifests_and_nginx_loads_them(tmp_path: Path) -> None:
    """The cafe example without a ConfigMap (the defaults), plus the EndpointSlice a cluster
    would list for coffee (the example leaves them to the cluster, or to the local run), a
    TLS Secret given as stringData and a second Ingress whose Secret is missing."""
    from certificates import make_certificate  # noqa: PLC0415

    certificate = make_certificate("tls.example.com")
    extra = write(
        tmp_path,
        "tls.yaml",
        f"""\
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: coffee-abc12
  namespace: cafe
  labels: {{kubernetes.io/service-name: coffee}}
addressType: IPv4
ports: [{{name: http, port: 8080, protocol: TCP}}]
endpoints:
- {{addresses: [10.0.1.10], conditions: {{ready: true}}}}
---
apiVersion: v1
kind: Secret
type: kubernetes.io/tls
metadata: {{name: tls, namespace: cafe}}
stringData:
  tls.crt: |
{_indented(certificate.certificate.decode())}
  tls.key: |
{_indented(certificate.key.decode())}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: secure, namespace: cafe}}
spec:
  ingressClassName: nginx
  tls:
  - {{hosts: [tls.example.com, nocert.example.com], secretName: tls}}
  rules:
  - host: tls.example.com
    http:
      paths:
      - {{path: /, pathType: Prefix, backend: {{service: {{name: coffee, port: {{number: 80}}}}}}}}
""",
    )
    (tmp_path / "run").mkdir()
    completed = run(
        "render",
        "--manifests",
        REPOSITORY / "examples" / "cafe",
        "--manifests",
        extra,
        "--output",
        tmp_path / "out",
        "--conf-dir",
        tmp_path / "out",
        "--run-dir",
        tmp_path / "run",
    )
    assert completed.returncode == 0, completed.stderr
    out = tmp_path / "out"
    assert {str(out / "conf.d" / "cafe-cafe.conf"), str(out / "secrets" / "cafe-tls")} <= set(
        completed.stdout.splitlines()
    )
    cafe = (out / "conf.d" / "cafe-cafe.conf").read_text()
    assert "server 10.0.1.10:8080 max_fails=1 fail_timeout=10s max_conns=0;" in cafe
    assert "location = /coffee {" in cafe and "location /coffee/ {" in cafe
    # tea has no EndpointSlice in the files: 502 at once, not a broken configuration.
    assert "server 127.0.0.1:8181 down;" in cafe
    # The example's cafe-secret is not in the files either: its host refuses handshakes.
    assert "ssl_reject_handshake on;" in cafe
    assert (out / "secrets" / "cafe-tls").stat().st_mode & 0o777 == 0o600
    assert (out / "secrets" / "cafe-tls").read_text() == (
        certificate.certificate.decode().rstrip("\n") + "\n" + certificate.key.decode()
    )
    assert "ssl_certificate secrets/cafe-tls;" in (out / "conf.d" / "cafe-secure.conf").read_text()
    # nocert.example.com is listed under TLS but has no rule: reported, not an error.
    assert "nocert.example.com has no rule" in completed.stderr
    assert nginx_t(tmp_path).returncode == 0, nginx_t(tmp_path).stderr


def _indented(text: str) -> str:
    return "".join(f"    {line}\n" for line in text.splitlines())
