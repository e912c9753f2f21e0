"""Every shell command the documentation marks as runnable runs, and exits as documented.

A fenced block whose info string is `sh runnable` (GitHub highlights it as `sh` and
shows nothing of the tag) is run with `bash -e` from the root of a scratch copy of
the repository, so commands that write files leave the checkout alone; the copy's
`.venv` is this test's virtual environment, so `.venv/bin/nginx-ingress` works as it
does from the root of a checkout, and `nginx-ingress` alone is the installed command.
Paths under `/tmp/` in a block are moved into a scratch directory. `exit=N` in the
info string declares a command meant to fail (`validate` finding problems).

Every other shell block must match one of `NOT_RUN`, which says why it is not run:
a new command in the docs is either run here or deliberately left out.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL = frozenset({"sh", "bash", "shell", "console"})

NOT_RUN: dict[str, str] = {
    r"^make (run|test)\b": "installs system packages and a virtual environment on first use; "
    "`make test` is the whole suite, this test included",
    r"\bnginx-ingress run\b": "long-running: the controller serves until it is stopped, and "
    "needs a cluster (tests/controller runs it against the local API server)",
    r"\bnginx-ingress dev-api\b": "long-running: the local API server serves until stopped "
    "(devtools' own tests run its CLI)",
    r"\bnginx-ingress dev(\s|$)": "long-running: the local run serves until Ctrl-C "
    "(tests/devrun runs it on a copy of the cafe, with its curl commands and kubectl)",
    r"^(curl|kubectl --kubeconfig build/dev/)": "needs a running `make run`; tests/devrun runs "
    "the curl commands it prints and kubectl against it",
    r"^(docker build|helm install|kubectl apply)\b": "needs a container engine or a cluster; "
    "tests/deploy renders, installs and checks the chart and deploy/ with real Helm",
}
"""Pattern that a block's text matches → why that block is deliberately not run."""

# Tracked state, caches and outputs that a scratch copy does not need.
_NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv", "build", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis"
)


@dataclass(frozen=True)
class Block:
    document: Path
    line: int
    info: str
    text: str

    @property
    def name(self) -> str:
        return f"{self.document.relative_to(ROOT)}:{self.line}"

    @property
    def words(self) -> list[str]:
        return self.info.split()

    @property
    def runnable(self) -> bool:
        return "runnable" in self.words[1:]

    @property
    def expected_exit(self) -> int:
        for word in self.words[1:]:
            if word.startswith("exit="):
                return int(word.removeprefix("exit="))
        return 0


def shell_blocks(document: Path) -> list[Block]:
    """Fenced blocks whose language is a shell, in document order."""
    blocks, lines = [], document.read_text().splitlines()
    index = 0
    while index < len(lines):
        opening = lines[index].strip()
        if opening.startswith("```"):
            info, start, body = opening[3:].strip(), index + 1, []
            index += 1
            while index < len(lines) and not lines[index].strip().startswith("```"):
                body.append(lines[index])
                index += 1
            if info.split()[:1] and info.split()[0] in SHELL:
                blocks.append(Block(document, start, info, "\n".join(body) + "\n"))
        index += 1
    return blocks


BLOCKS = [block for document in DOCUMENTS for block in shell_blocks(document)]
RUNNABLE = [block for block in BLOCKS if block.runnable]


def test_the_documents_have_runnable_commands() -> None:
    """The tag is in use where the docs show commands a user runs first."""
    names = {block.document.name for block in RUNNABLE}
    assert {"README.md", "offline-tools.md"} <= names


@pytest.mark.parametrize("block", [b for b in BLOCKS if not b.runnable], ids=lambda b: b.name)
def test_every_other_shell_block_is_deliberately_not_run(block: Block) -> None:
    reasons = [
        reason for pattern, reason in NOT_RUN.items() if re.search(pattern, block.text, re.M)
    ]
    assert reasons, (
        f"{block.name}: mark it ```sh runnable (exit=N if it should fail), or say in NOT_RUN "
        f"why it is not run:\n{block.text}"
    )


@pytest.mark.parametrize("block", RUNNABLE, ids=lambda b: b.name)
def test_runnable_block(block: Block, tmp_path: Path) -> None:
    copy, scratch = tmp_path / "repository", tmp_path / "tmp"
    shutil.copytree(ROOT, copy, ignore=_NOT_COPIED, symlinks=True)
    (copy / ".venv").symlink_to(sys.prefix, target_is_directory=True)
    scratch.mkdir()
    script = block.text.replace("/tmp/", f"{scratch}/")
    environment = {
        **os.environ,
        "PATH": f"{Path(sys.prefix) / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "TMPDIR": str(scratch),
    }
    completed = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", script],
        cwd=copy,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = (
        f"{block.name}:\n{block.text}\nstdout:\n{completed.stdout}\nstderr:\n{completed.stderr}"
    )
    assert completed.returncode == block.expected_exit, report
    assert "Traceback" not in completed.stderr, report
