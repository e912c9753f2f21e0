"""Following the folder by polling: additions, changes and removals, each handed on once."""

from __future__ import annotations

import queue
import time
from pathlib import Path

from nginx_ingress_dev.localrun.filewatch import FolderWatcher


def test_changes_are_handed_on_once_the_files_are_still(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("a: 1\n")
    seen: queue.Queue[set[Path]] = queue.Queue()
    watcher = FolderWatcher(tmp_path, seen.put, interval=0.02)
    watcher.start()
    try:
        (tmp_path / "a.yaml").write_text("a: 2\n")
        (tmp_path / "b.yaml").write_text("b: 1\n")
        (tmp_path / ".b.yaml.swp").write_text("editor")
        changed = seen.get(timeout=5)
        while changed != {tmp_path / "a.yaml", tmp_path / "b.yaml"}:  # maybe in two passes
            changed |= seen.get(timeout=5)
        (tmp_path / "a.yaml").unlink()
        assert seen.get(timeout=5) == {tmp_path / "a.yaml"}
        time.sleep(0.2)
        assert seen.empty()  # nothing changed since: nothing handed on
    finally:
        watcher.stop()


def test_a_failing_callback_does_not_end_the_watch(tmp_path: Path) -> None:
    calls: queue.Queue[set[Path]] = queue.Queue()

    def fail(paths: set[Path]) -> None:
        calls.put(paths)
        raise RuntimeError("a bug")

    watcher = FolderWatcher(tmp_path, fail, interval=0.02)
    watcher.start()
    try:
        (tmp_path / "a.yaml").write_text("1")
        calls.get(timeout=5)
        (tmp_path / "b.yaml").write_text("1")
        assert calls.get(timeout=5) == {tmp_path / "b.yaml"}
    finally:
        watcher.stop()
