"""Kubernetes objects from YAML files, for the offline tools and the local run.

Multi-document files and `kind: List` are expanded. Anything that is not a
readable sequence of YAML mappings raises `ManifestError` with the file and,
where YAML knows it, the line: users run these tools in CI pipelines and need
a message, not a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# libyaml's loader when PyYAML was built with it: several times faster, same safety.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
_YAML_KINDS: dict[type, str] = {list: "sequence", str: "string", int: "number", float: "number"}


class ManifestError(Exception):
    """A file that cannot be read as Kubernetes manifests."""


@dataclass(frozen=True, slots=True)
class Manifest:
    """One object, with where it came from."""

    source: str
    document: int
    """1-based position of the YAML document in its file."""
    object: Mapping[str, Any]

    @property
    def kind(self) -> str:
        return str(self.object.get("kind", ""))

    @property
    def name(self) -> str:
        metadata = self.object.get("metadata")
        return str(metadata.get("name", "")) if isinstance(metadata, Mapping) else ""

    @property
    def namespace(self) -> str:
        metadata = self.object.get("metadata")
        namespace = metadata.get("namespace") if isinstance(metadata, Mapping) else None
        return str(namespace) if namespace else "default"

    @property
    def reference(self) -> str:
        """`Kind/namespace/name`, as `validate` prints it."""
        return f"{self.kind or '?'}/{self.namespace}/{self.name or '?'}"


def load_file(path: Path) -> list[Manifest]:
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as error:
        raise ManifestError(f"{path}: cannot read: {error.strerror or error}") from None
    except UnicodeDecodeError as error:
        raise ManifestError(f"{path}: not UTF-8 text (byte {error.start})") from None
    try:
        documents = list(yaml.load_all(text, Loader=_Loader))
    except yaml.YAMLError as error:
        raise ManifestError(f"{path}: not valid YAML: {_describe_yaml_error(error)}") from None
    manifests: list[Manifest] = []
    for number, document in enumerate(documents, start=1):
        if document is None:
            continue
        if not isinstance(document, Mapping):
            raise ManifestError(
                f"{path}: document {number} is not a Kubernetes object "
                f"(a YAML {_YAML_KINDS.get(type(document), 'scalar')})"
            )
        manifests.extend(_expand(str(path), number, document))
    return manifests


def _expand(source: str, number: int, document: Mapping[str, Any]) -> Iterator[Manifest]:
    kind = document.get("kind")
    items = document.get("items")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(items, list):
        for item in items:
            if not isinstance(item, Mapping):
                raise ManifestError(f"{source}: document {number}: a List item is not an object")
            yield Manifest(source, number, item)
    else:
        yield Manifest(source, number, document)


def _describe_yaml_error(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    if mark is not None:
        return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"
    return str(problem)


def load_paths(paths: Iterable[Path]) -> list[Manifest]:
    """Objects from files and from the manifest files under directories (sorted, recursive)."""
    manifests: list[Manifest] = []
    for path in paths:
        if path.is_dir():
            files = sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix in MANIFEST_SUFFIXES
            )
            for file in files:
                manifests.extend(load_file(file))
        else:
            manifests.extend(load_file(path))
    return manifests
