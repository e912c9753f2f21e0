"""The product, and only the product, goes into the image: the production entry point never
imports the development tools (nginx_ingress_dev) or test libraries, and the wheel the image
installs ships none of them and needs none of them."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from helm_client import ROOT

FORBIDDEN = ("nginx_ingress_dev", "pytest", "_pytest", "hypothesis")

PROBE = """
import json, sys
from nginx_ingress.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


def modules_loaded_by(*arguments: str) -> set[str]:
    """Top-level packages a fresh interpreter has loaded after running the CLI with these
    arguments (a `--help` parses every flag of the sub-command, as a real start does)."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *arguments],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return {name.split(".")[0] for name in json.loads(done.stdout.splitlines()[-1])}


@pytest.mark.parametrize(
    "arguments",
    [("run", "--help"), ("run",), ("render", "--help"), ("validate", "--help"), ("version",)],
    ids=" ".join,
)
def test_the_production_entry_point_never_imports_development_code(
    arguments: tuple[str, ...],
) -> None:
    loaded = modules_loaded_by(*arguments)
    assert "nginx_ingress" in loaded
    assert not loaded & set(FORBIDDEN)


@pytest.mark.parametrize("command", ["dev-api", "dev"])
def test_the_probe_sees_a_development_import(command: str) -> None:
    """The check above can fail: `dev-api` and `dev` do load the development tools."""
    assert "nginx_ingress_dev" in modules_loaded_by(command, "--help")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The product wheel built from exactly the image's build context (.dockerignore's allow
    list: pyproject.toml, README.md, src/), offline, with setuptools from the test extra."""
    context = tmp_path_factory.mktemp("context")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, context / name)
    shutil.copytree(
        ROOT / "src", context / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    directory = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(directory), str(context)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (built,) = directory.glob("nginx_ingress_py-*.whl")
    return built


def test_the_wheel_holds_the_product_package_only(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    top = {name.split("/")[0] for name in names}
    (dist_info,) = [t for t in top if t.endswith(".dist-info")]
    assert top == {"nginx_ingress", dist_info}
    assert "nginx_ingress/cli.py" in names
    assert "nginx_ingress/render/templates/nginx.conf.j2" in names
    assert not [n for n in names if "conftest" in n or "pytest_plugin" in n or "/tests/" in n]


def test_no_module_in_the_wheel_imports_development_or_test_code(wheel: Path) -> None:
    offenders = []
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if not name.endswith(".py"):
                continue
            for node in ast.walk(ast.parse(archive.read(name), name)):
                imported = []
                if isinstance(node, ast.Import):
                    imported = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    imported = [node.module]
                offenders += [f"{name}: {m}" for m in imported if m.split(".")[0] in FORBIDDEN]
    assert offenders == []


def test_the_wheel_needs_no_test_library_and_registers_no_plugin(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        dist_info = next(n.split("/")[0] for n in archive.namelist() if ".dist-info/" in n)
        metadata = Parser().parsestr(archive.read(f"{dist_info}/METADATA").decode())
        entry_points = archive.read(f"{dist_info}/entry_points.txt").decode()
    runtime = [r for r in metadata.get_all("Requires-Dist") or [] if "extra ==" not in r]
    assert runtime, "the product has runtime dependencies"
    assert not [r for r in runtime if r.split("=")[0].split("[")[0].strip() in FORBIDDEN]
    assert entry_points.split() == [
        "[console_scripts]",
        "nginx-ingress",
        "=",
        "nginx_ingress.cli:main",
    ]
