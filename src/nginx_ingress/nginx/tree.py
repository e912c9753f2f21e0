"""Rendered trees on disk: stage a complete copy, then swap the changed files into place.

A tree is `{relative path: text}` as `render` returns it. The live directory
holds the last tree that passed `nginx -t`. A new tree is first staged in a
hidden directory inside the live one (same filesystem, so every later rename is
atomic), with unchanged files hard-linked rather than rewritten; `nginx -t` runs
on the staged `nginx.conf`, whose relative includes resolve inside the stage.
Only then are the changed files renamed into place and the removed ones deleted.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path, PurePosixPath

from nginx_ingress.layout import OWNED_DIRECTORIES, is_secret

Tree = Mapping[str, str]

STAGING = ".staging"


class TreeError(ValueError):
    """A tree holds a path the manager will not write."""


def check_paths(paths: Iterable[str]) -> None:
    """Relative paths only, inside the conf dir, never into the staging directory."""
    for relative in paths:
        path = PurePosixPath(relative)
        if (
            path.is_absolute()
            or not path.parts
            or any(part in ("", ".", "..") or part.startswith(".") for part in path.parts)
        ):
            raise TreeError(f"refusing to write {relative!r}: not a plain relative path")


def changed_paths(old: Tree, new: Tree) -> list[str]:
    """Paths whose text differs or that are new, in a stable order."""
    return sorted(path for path, text in new.items() if old.get(path) != text)


def stage(live_dir: Path, live: Tree, desired: Tree) -> Path:
    """A complete copy of `desired` in `live_dir/.staging`; unchanged files are hard links."""
    staging = live_dir / STAGING
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)
    for relative, text in desired.items():
        target = staging / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        source = live_dir / relative
        if live.get(relative) == text and source.is_file():
            try:
                os.link(source, target)
                continue
            except OSError:
                pass  # a filesystem without hard links: write the copy instead
        write_file(target, text, secret=is_secret(relative))
    return staging


def swap(
    live_dir: Path, staging: Path, live: Tree, desired: Tree, stale: Iterable[str] = ()
) -> None:
    """Move the changed files from the stage into place, delete the removed ones, drop the stage."""
    for relative in changed_paths(live, desired):
        target = live_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / relative, target)
    for relative in {*live, *stale} - set(desired):
        remove_file(live_dir / relative)
    shutil.rmtree(staging, ignore_errors=True)


def discard(live_dir: Path) -> None:
    shutil.rmtree(live_dir / STAGING, ignore_errors=True)


def write_tree(live_dir: Path, tree: Tree, previous: Tree) -> None:
    """Write `tree` over `previous` directly (used to restore a tree that was live before)."""
    for relative in changed_paths(previous, tree):
        target = live_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.tmp")
        write_file(temporary, tree[relative], secret=is_secret(relative))
        os.replace(temporary, target)
    for relative in set(previous) - set(tree):
        remove_file(live_dir / relative)


def remove_file(path: Path) -> None:
    """Delete a file that may never have been written (its directory may not even be one)."""
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        path.unlink()


def write_whole(directory: Path, tree: Tree) -> None:
    """Write every file of `tree` into `directory`, which may hold an older tree, without
    staging or checking (the offline `render` command): each file atomically, the
    directories we own created, and their stale files removed."""
    check_paths(tree)
    for owned in OWNED_DIRECTORIES:
        (directory / owned).mkdir(parents=True, exist_ok=True)
    write_tree(directory, tree, {})
    for relative in stale_files(directory, tree):
        (directory / relative).unlink()


def stale_files(live_dir: Path, desired: Collection[str]) -> list[str]:
    """Files in the directories we own that the tree does not hold (left by an earlier run)."""
    stale = []
    for directory in OWNED_DIRECTORIES:
        root = live_dir / directory
        if root.is_dir():
            for path in root.rglob("*"):
                relative = path.relative_to(live_dir).as_posix()
                if path.is_file() and relative not in desired:
                    stale.append(relative)
    return sorted(stale)


def write_file(path: Path, text: str, *, secret: bool) -> None:
    """Create `path` with `text`; secrets are readable by their owner only, from the start."""
    mode = 0o600 if secret else 0o644
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(descriptor, mode)
        remaining = memoryview(text.encode("utf-8"))
        while remaining:
            remaining = remaining[os.write(descriptor, remaining) :]
    finally:
        os.close(descriptor)
