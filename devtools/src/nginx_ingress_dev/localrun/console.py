"""What the local run tells its user: one line at a time, from any thread.

Several threads report (the folder watcher, the stand-ins, the live report of the
controller's work); a lock keeps their lines whole, and every line is flushed at
once so a user (or a test reading the pipe) sees it when it happens.
"""

from __future__ import annotations

import sys
import threading
from typing import TextIO

PROGRAM = "dev"


class Console:
    def __init__(self, out: TextIO | None = None, err: TextIO | None = None) -> None:
        self._out = out if out is not None else sys.stdout
        self._err = err if err is not None else sys.stderr
        self._lock = threading.Lock()

    def line(self, text: str = "") -> None:
        with self._lock:
            print(text, file=self._out, flush=True)

    def lines(self, texts: list[str]) -> None:
        """Several lines that belong together, never interleaved with another thread's."""
        with self._lock:
            for text in texts:
                print(text, file=self._out)
            self._out.flush()

    def warning(self, text: str) -> None:
        """A problem the run survives (a file that does not parse, a port in use): on
        standard output, in the flow of the live lines it explains."""
        self.line(f"warning: {text}")

    def error(self, text: str) -> None:
        """Why the run ends: one line on standard error."""
        with self._lock:
            print(f"{PROGRAM}: error: {text}", file=self._err, flush=True)
