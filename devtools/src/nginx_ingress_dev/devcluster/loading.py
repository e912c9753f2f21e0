"""Manifest files for seeding and RBAC: the product's loader (`nginx_ingress.manifests`,
whose errors name the file, the YAML document and the line), with a fast path for JSON.

Why the fast path: PyYAML needs about 12 s for a 15 MB JSON list of 10,000 Ingresses
(the benchmark's seed), orjson 0.5 s. When orjson cannot read a JSON file, the
manifest loader reads it again, so a syntax error is still reported with its line.
Raises `ManifestError`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import orjson

from nginx_ingress.manifests import MANIFEST_SUFFIXES, Manifest, load_file


def _manifest_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in MANIFEST_SUFFIXES)
    return [path]


def _json_manifests(path: Path) -> list[Manifest] | None:
    """The objects of a JSON file, or None to let the YAML loader explain the problem."""
    try:
        document = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    if not isinstance(document, dict):
        return None
    items = document.get("items")
    kind = document.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(items, list):
        if not all(isinstance(item, dict) for item in items):
            return None
        return [Manifest(str(path), 1, item) for item in items]
    return [Manifest(str(path), 1, document)]


def read_manifests(paths: Iterable[str | Path]) -> list[Manifest]:
    """Every object in the files, and in the manifest files under the directories."""
    manifests: list[Manifest] = []
    for path in paths:
        for file in _manifest_files(Path(path)):
            fast = _json_manifests(file) if file.suffix == ".json" else None
            manifests.extend(fast if fast is not None else load_file(file))
    return manifests
