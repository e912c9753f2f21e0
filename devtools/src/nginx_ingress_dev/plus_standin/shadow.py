"""The shadow tree: the configuration as the real OSS `nginx` can load it.

Every parsed file under the main file's directory is written at the same relative
path under the shadow directory, without its Plus parts (`plusonly`) and with each
directive on its original line (`emit`); everything else in those directories
(certificates under `secrets/`, the stage, files no include matched) is a symbolic
link to the original, so relative paths resolve as they would in the original.
An `include` by absolute path into the main file's directory is pointed at the
shadow; files outside it are read by NGINX as they are, unstripped.

When the real NGINX has the stream module as a dynamic module and the
configuration has a `stream` block but no `load_module` for it (the stand-in
tells the controller its stream module is built in, as NGINX Plus's is), the
shadow's main file loads it first, on its line 1.

An error the real NGINX reports in the shadow names the shadow's path and the
original's line; `Shadow.original` puts the original directory back.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from nginx_ingress_dev.plus_standin.config import Config
from nginx_ingress_dev.plus_standin.emit import emit
from nginx_ingress_dev.plus_standin.plusonly import ApiRoute, ApiSocket, Directive, strip

STREAM_MODULE_FILE = "ngx_stream_module.so"


@dataclass(frozen=True, slots=True)
class Shadow:
    """The files of a shadow tree, before they are written."""

    root: Path
    """The original main file's directory."""
    directory: Path
    """Where the shadow goes."""
    main: Path
    """The shadow's main file."""
    files: Mapping[str, str]
    """Relative path → text, for every parsed file under `root`."""
    api_sockets: tuple[ApiSocket, ...]

    def original(self, text: str) -> str:
        """NGINX's words about the shadow, about the original instead."""
        return text.replace(f"{self.directory}/", f"{self.root}/")


def plan(
    config: Config, directory: Path, route: ApiRoute, stream_module: PurePosixPath | None
) -> Shadow:
    """The shadow of `config` in `directory` (nothing is written)."""
    root = config.root
    files: dict[str, str] = {}
    sockets: list[ApiSocket] = []
    main_relative = config.main.name
    stripped_files: dict[str, list[Directive]] = {}
    for file, directives in config.files():
        path = Path(file)
        if not path.is_relative_to(root):
            continue  # read as it is: see the module's doc
        stripped = strip(directives, route)
        sockets.extend(s for s in stripped.api_sockets if s not in sockets)
        relative = path.relative_to(root).as_posix()
        _point_includes(stripped.directives, root, directory)
        stripped_files[relative] = stripped.directives
    if stream_module is not None and _needs_stream_module(stripped_files.values()):
        load = {"directive": "load_module", "line": 1, "args": [str(stream_module)]}
        stripped_files.get(main_relative, []).insert(0, load)
    for relative, directives in stripped_files.items():
        files[relative] = emit(directives)
    return Shadow(root, directory, directory / main_relative, files, tuple(sockets))


def write(shadow: Shadow) -> None:
    """Write `shadow` into a fresh directory beside its place, then swap it in whole: a
    master reading the old one at that moment never sees half of each."""
    shadow.directory.parent.mkdir(parents=True, exist_ok=True)
    fresh = Path(tempfile.mkdtemp(prefix=f".{shadow.directory.name}-", dir=shadow.directory.parent))
    try:
        _mirror(shadow, fresh)
        if shadow.directory.exists():
            old = Path(tempfile.mkdtemp(prefix=".old-", dir=shadow.directory.parent))
            os.rename(shadow.directory, old / "tree")
            os.rename(fresh, shadow.directory)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(fresh, shadow.directory)
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        raise


def _mirror(shadow: Shadow, target: Path) -> None:
    written = {PurePosixPath(relative) for relative in shadow.files}
    directories = {parent for path in written for parent in path.parents}
    for name, text in shadow.files.items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for directory in sorted(directories, key=lambda p: len(p.parts)):
        source = shadow.root / directory
        try:
            entries = sorted(os.listdir(source))
        except OSError:
            continue
        for name in entries:
            relative = directory / name
            if relative in written or relative in directories:
                continue
            link = target / relative
            link.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(source / name, link)


def _point_includes(directives: list[Directive], root: Path, directory: Path) -> None:
    prefix = f"{root}/"
    for directive in directives:
        args = directive["args"]
        if directive["directive"] == "include" and args and args[0].startswith(prefix):
            directive["args"] = [f"{directory}/{args[0].removeprefix(prefix)}", *args[1:]]
        if "block" in directive:
            _point_includes(directive["block"], root, directory)


def _needs_stream_module(files: Iterable[list[Directive]]) -> bool:
    found_stream = loaded = False

    def visit(directives: list[Directive]) -> None:
        nonlocal found_stream, loaded
        for directive in directives:
            if directive["directive"] == "stream":
                found_stream = True
            if directive["directive"] == "load_module" and directive["args"]:
                loaded = loaded or directive["args"][0].endswith(STREAM_MODULE_FILE)
            if "block" in directive:
                visit(directive["block"])

    for directives in files:
        visit(directives)
    return found_stream and not loaded
