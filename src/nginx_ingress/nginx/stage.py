"""A staged copy of the live tree that lives between applies and changes file by file.

`nginx -t` must see the whole tree, so a change is checked on a complete copy. The
copy is kept from one apply to the next, as hard links to the live files: an apply
writes only the files that change into it (each as a new inode, so the live file
is untouched), checks it, then links the accepted files into the live directory.
Staging costs what changed, not the size of the tree (10,000 Ingress files would
otherwise mean 10,000 links per change). The copy is rebuilt from the live tree
only at the first apply and after an I/O error.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from nginx_ingress.layout import is_secret
from nginx_ingress.nginx.tree import STAGING, Tree, remove_file, write_file


class Stage:
    def __init__(self, live_dir: Path) -> None:
        self.live_dir = live_dir
        self.dir = live_dir / STAGING
        self._valid = False

    def prepare(self, live: Tree) -> None:
        """Make the stage a copy of `live` unless it already is one."""
        if self._valid:
            return
        self.invalidate()
        self.dir.mkdir(parents=True)
        for relative, text in live.items():
            target = self.dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            source = self.live_dir / relative
            try:
                os.link(source, target)
            except OSError:  # missing, or a filesystem without hard links
                write_file(target, text, secret=is_secret(relative))
        self._valid = True

    def invalidate(self) -> None:
        """Forget the stage (after an I/O error): the next `prepare` rebuilds it."""
        self._valid = False
        shutil.rmtree(self.dir, ignore_errors=True)

    def put(self, relative: str, text: str | None) -> None:
        """Set one staged file (a new inode, never the live file's) or remove it."""
        target = self.dir / relative
        if text is None:
            remove_file(target)
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.tmp")
        write_file(temporary, text, secret=is_secret(relative))
        os.replace(temporary, target)

    def revert(self, relative: str, live: Tree) -> None:
        """Put one staged file back to its live version (or remove it when it has none)."""
        target = self.dir / relative
        if relative not in live:
            remove_file(target)
            return
        try:
            _link_over(self.live_dir / relative, target)
        except OSError:
            self.put(relative, live[relative])

    def publish(self, changes: Mapping[str, str | None]) -> None:
        """Make the live directory hold the staged versions of `changes` (atomic per file)."""
        for relative, text in sorted(changes.items()):
            target = self.live_dir / relative
            if text is None:
                remove_file(target)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            _link_over(self.dir / relative, target)


def _link_over(source: Path, target: Path) -> None:
    """Make `target` the file `source` is (a hard link), replacing it atomically."""
    temporary = target.with_name(f".{target.name}.tmp")
    remove_file(temporary)
    os.link(source, temporary)
    os.replace(temporary, target)
