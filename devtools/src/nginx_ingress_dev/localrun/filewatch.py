"""Following edits to the folder of manifests, by polling.

Polling (every quarter second, comparing each file's size, modification time and
inode) needs no library and no inotify limits, sees files replaced by an editor's
rename as well as files written in place, and costs nothing for a folder of
manifests. A change is handed on only once two scans agree, so a file caught
half-written by an editor is read when it is whole.
"""

from __future__ import annotations

import logging
import stat
import threading
from collections.abc import Callable
from pathlib import Path

from nginx_ingress_dev.localrun.folder import manifest_paths

log = logging.getLogger(__name__)

Fingerprint = tuple[int, int, int]
"""(size, modification time in ns, inode)."""


def scan(root: Path) -> dict[Path, Fingerprint]:
    """The manifest files with their fingerprints: one `stat` each, which also tells a
    file from a directory."""
    found: dict[Path, Fingerprint] = {}
    try:
        paths = manifest_paths(root)
    except OSError:
        return found  # the folder itself is gone or unreadable: every file counts as removed
    for path in paths:
        try:
            status = path.stat()
        except OSError:
            continue  # removed between the listing and the stat
        if stat.S_ISREG(status.st_mode):
            found[path] = (status.st_size, status.st_mtime_ns, status.st_ino)
    return found


class FolderWatcher:
    """Calls `on_change(paths)` from its own thread with the files added, changed or
    removed since the last call."""

    def __init__(
        self,
        root: Path,
        on_change: Callable[[set[Path]], None],
        *,
        interval: float = 0.25,
    ) -> None:
        self._root = root
        self._on_change = on_change
        self._interval = interval
        self._seen = scan(root)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dev-folder-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        pending: dict[Path, Fingerprint] | None = None
        while not self._stop.wait(self._interval):
            current = scan(self._root)
            if current == self._seen:
                pending = None
                continue
            if pending != current:
                pending = current  # changed: wait for one more scan that agrees
                continue
            changed = {
                path
                for path in self._seen.keys() | current.keys()
                if self._seen.get(path) != current.get(path)
            }
            self._seen, pending = current, None
            try:
                self._on_change(changed)
            except Exception:  # a bug must not end the following of edits
                log.exception("applying the changed files failed")
