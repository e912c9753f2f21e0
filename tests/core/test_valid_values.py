"""Every documented valid value, bounds included, is accepted and passes the real `nginx -t`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nginx_ingress.configmap.keys import CORE_KEYS_BY_NAME

from hostile import BASES, KEYS
from nginx_check import assert_tree_loads, render, sandbox
from valid_samples import VALID


def _base_for(key: str) -> str:
    spec = CORE_KEYS_BY_NAME.get(key)
    return "plus" if spec is None or spec.plus_only else "oss"


def _cases() -> Iterator[tuple[str, str]]:
    for key in KEYS:
        for value in VALID[key]:
            yield key, value


def test_every_key_has_valid_samples() -> None:
    assert sorted(VALID) == KEYS


@pytest.mark.parametrize(("key", "value"), list(_cases()))
def test_valid_value_is_accepted_and_nginx_loads_it(key: str, value: str) -> None:
    settings, data = BASES[_base_for(key)]
    with sandbox(settings) as (root, sandboxed):
        rendered = render({**data, key: value}, sandboxed)
        assert rendered.result.problems == ()
        assert_tree_loads(root, sandboxed, rendered.files)
