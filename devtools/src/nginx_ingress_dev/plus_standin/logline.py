"""Standard error as NGINX writes it, for the stand-in's own messages and the real NGINX's.

The NGINX manager reads NGINX's standard error: the level in brackets decides how
it is logged, an `[emerg]` after a reload means the master refused it, and the
`in /path/file:line` at the end of a `nginx -t` error names the file to hold back.
The stand-in's own messages take the same two shapes NGINX uses: `nginx: [level] …`
before the error log is open (`-t`, a start that fails), and
`2026/01/31 12:00:00 [level] 123#123: …` from a running master.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import BinaryIO


def early(level: str, message: str) -> str:
    """A line as NGINX writes it before its error log is open (`nginx -t`, a failed start)."""
    return f"nginx: [{level}] {message}"


def running(level: str, message: str) -> str:
    """A line as a running NGINX master writes it to its error log."""
    pid = os.getpid()
    return f"{time.strftime('%Y/%m/%d %H:%M:%S')} [{level}] {pid}#{pid}: {message}"


class ErrorOutput:
    """Standard error shared by threads: whole lines, each flushed at once (the controller
    reacts to a line as soon as it reads it)."""

    def __init__(self, stream: BinaryIO | None = None) -> None:
        self._stream = stream if stream is not None else sys.stderr.buffer
        self._lock = threading.Lock()

    def line(self, text: str) -> None:
        data = text.rstrip("\n").encode("utf-8", "replace") + b"\n"
        with self._lock:
            try:
                self._stream.write(data)
                self._stream.flush()
            except (BrokenPipeError, ValueError):
                pass  # nobody reads any more (the controller is gone): nothing to tell
