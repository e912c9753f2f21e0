"""The documentation a user reads before the code stays in step with it."""

from __future__ import annotations

import re
from pathlib import Path

from nginx_ingress.configmap import ALL_KEYS
from nginx_ingress.configmap.keys import CORE_KEYS, describe_default
from nginx_ingress.generate import shared
from nginx_ingress.generate.annotations import ANNOTATIONS
from nginx_ingress.settings import Settings

DOCS = Path(__file__).parent.parent.parent / "docs"
ROW = re.compile(r"^\| `([a-z0-9-]+)` \| ([^|]*) \|", re.MULTILINE)


def test_configmap_reference_lists_every_key_with_its_default() -> None:
    rows = dict(ROW.findall((DOCS / "configmap.md").read_text()))
    assert set(rows) == set(ALL_KEYS)
    for spec in CORE_KEYS:
        assert rows[spec.key].strip() == describe_default(spec, Settings()), spec.key


def test_zone_sync_page_lists_every_zone_sync_key() -> None:
    rows = dict(ROW.findall((DOCS / "zone-sync.md").read_text()))
    assert set(rows) == {key for key in ALL_KEYS if key.startswith("zone-sync")}


def _section(text: str, heading: str) -> str:
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def test_ingress_page_lists_every_annotation_with_its_configmap_key() -> None:
    text = (DOCS / "ingress.md").read_text()
    rows = dict(
        re.findall(
            r"^\| `([a-z0-9./-]+)` \|\s*`?([a-z0-9-]*)`?\s*\|",
            _section(text, "Annotations"),
            re.MULTILINE,
        )
    )
    assert set(rows) == {spec.name for spec in ANNOTATIONS}
    for spec in ANNOTATIONS:
        assert rows[spec.name] == (spec.twin or ""), spec.name
    shared_rows = re.findall(
        r"^\| `([a-z0-9./-]+)` \|", _section(text, "Rate limits and sticky sessions"), re.MULTILINE
    )
    assert set(shared_rows) == set(shared.KNOWN)
