"""The state directory: what one local run keeps on disk, and the lock that keeps two
runs from sharing it.

Everything the run writes lives here, so a run never touches the checkout and a
second run (or `make clean`) finds it all in one place. The generated certificates
stay between runs (a user who trusted the local CA once keeps it); the controller's
conf and run directories are reused, which it allows because it wrote them.
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO


class StateError(Exception):
    """The state directory cannot be used; the message says why and what to do."""


def default_state_dir() -> Path:
    """`$XDG_STATE_HOME/nginx-ingress-dev`, by default `~/.local/state/nginx-ingress-dev`."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "nginx-ingress-dev"


@dataclass(frozen=True)
class StateDir:
    root: Path

    @property
    def conf_dir(self) -> Path:
        return self.root / "conf"

    @property
    def run_dir(self) -> Path:
        return self.root / "run"

    @property
    def certificates(self) -> Path:
        return self.root / "certificates"

    @property
    def controller_log(self) -> Path:
        return self.root / "controller.log"

    @property
    def kubeconfig(self) -> Path:
        return self.root / "kubeconfig"

    @property
    def config_version_socket(self) -> Path:
        """Where NGINX answers which configuration version it serves (the controller's
        `-run-dir` layout)."""
        return self.run_dir / "nginx-config-version.sock"

    def lock(self) -> IO[bytes]:
        """Create the directory and take its lock; the returned file holds the lock until
        it is closed (or the process ends)."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            handle = (self.root / "lock").open("ab")
        except OSError as error:
            raise StateError(
                f"--state-dir {self.root}: cannot use it: {error.strerror or error}"
            ) from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise StateError(
                f"another `nginx-ingress dev` uses the state directory {self.root}: stop it, "
                "or give this one its own --state-dir"
            ) from None
        return handle
