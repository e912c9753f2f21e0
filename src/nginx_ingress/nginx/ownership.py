"""Whose directory is it: the controller takes over only a directory it wrote before.

The controller rewrites `nginx.conf` and deletes the files it does not know in
`conf.d/`, `stream-conf.d/` and `secrets/`. `-conf-dir` defaults to `/etc/nginx`
(NIC's path, right in the container), which on a workstation holds the system's
own NGINX configuration: started there as root, the controller would replace it.
So a directory is used only when it is missing, empty, or carries our marker
file (written when we first take a directory); anything else needs an explicit
`-take-over-conf-dir` (`--take-over-output` for `render`).
"""

from __future__ import annotations

from pathlib import Path

MARKER = ".nginx-ingress-managed"
_MARKER_TEXT = (
    "This directory is managed by nginx-ingress: it rewrites nginx.conf and deletes files it\n"
    "did not write in conf.d/, stream-conf.d/ and secrets/. Remove this file to stop it from\n"
    "taking the directory over again without -take-over-conf-dir.\n"
)
_SHOWN = 5


class ConfDirError(RuntimeError):
    """A directory the controller must not write into, or cannot."""


def claim(directory: Path, *, take_over: bool, flag: str, take_over_flag: str) -> None:
    """Make `directory` ours, or refuse with a message that says how to proceed.

    `flag` and `take_over_flag` name the options in the message (`-conf-dir` and
    `-take-over-conf-dir` for `run`, `--output` and `--take-over-output` for `render`).
    """
    try:
        if directory.exists() and not directory.is_dir():
            raise ConfDirError(f"{flag} {directory} is not a directory")
        directory.mkdir(parents=True, exist_ok=True)
        if (directory / MARKER).is_file():
            return
        foreign = sorted(entry.name for entry in directory.iterdir())
        if foreign and not take_over:
            shown = ", ".join(foreign[:_SHOWN]) + (" …" if len(foreign) > _SHOWN else "")
            raise ConfDirError(
                f"{flag} {directory} holds files nginx-ingress did not write ({shown}); it would "
                "replace nginx.conf and delete files in conf.d/, stream-conf.d/ and secrets/. "
                f"Use an empty directory, or pass {take_over_flag} to let it take this one over"
            )
        (directory / MARKER).write_text(_MARKER_TEXT)
    except OSError as error:
        raise ConfDirError(f"cannot write {flag} {directory}: {error.strerror or error}") from None
