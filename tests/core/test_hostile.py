"""Every hostile value for every key: a problem, the key's default, and no injected directive.

The key's default means: the same bytes as rendering the base ConfigMap without
that key. The output is also parsed with crossplane to show it has exactly the
directives of the baseline render, and the baseline passes the real `nginx -t`.
"""

from __future__ import annotations

import re
from functools import cache
from itertools import product

import pytest

from nginx_ingress.configmap.problems import show

from hostile import BASES, FREE_TEXT_KEYS, HEADER_KEYS, HOSTILE, KEYS
from nginx_check import (
    Rendered,
    assert_tree_loads,
    parse,
    render,
    sandbox,
    shape,
    walk,
    write,
)


@cache
def _baseline(base: str, without: str | None = None) -> Rendered:
    settings, data = BASES[base]
    return render({k: v for k, v in data.items() if k != without}, settings)


@pytest.mark.parametrize("base,key,category", list(product(BASES, KEYS, HOSTILE)))
def test_hostile_value_gives_a_problem_and_the_default(base: str, key: str, category: str) -> None:
    settings, data = BASES[base]
    value = HOSTILE[category]
    rendered = render({**data, key: value}, settings)
    if key in FREE_TEXT_KEYS and key not in rendered.problem_keys():
        return  # accepted as quoted text: test_free_text_round_trips checks those
    if key in HEADER_KEYS and key not in rendered.problem_keys():
        word = value.strip(" \t")  # comma-separated entries are trimmed
        assert re.fullmatch(r"[A-Za-z0-9-]+", word, re.ASCII), f"{key}={value!r} was accepted"
        assert rendered.files == _baseline(base, without=key).files
        return
    assert key in rendered.problem_keys(), f"{key}={value!r} was accepted"
    assert rendered.files == _baseline(base, without=key).files
    for problem in rendered.result.problems:
        # The message shows the value escaped and cut, never raw.
        assert problem.value is None or len(problem.value) <= 65
        assert problem.line.isprintable()


@pytest.mark.parametrize("base", list(BASES))
@pytest.mark.parametrize("category", list(HOSTILE))
def test_free_text_round_trips(base: str, category: str) -> None:
    """An accepted free-text value is one quoted argument: crossplane reads it back verbatim
    and the directives are exactly the baseline's."""
    settings, data = BASES[base]
    value = HOSTILE[category]
    for key, directive in (("log-format", "log_format"), ("server-tokens", "server_tokens")):
        with sandbox(settings) as (root, sandboxed):
            rendered = render({**data, key: value}, sandboxed)
            payload = parse(write(root, rendered.files))
            baseline = parse(write(root / "baseline", render(data, sandboxed).files))
            assert shape(payload) == shape(baseline)
            if key in rendered.problem_keys():
                continue
            (args,) = [args for name, args, _ in walk(payload) if name == directive]
            expected = value[:-1] if key == "log-format" and value.endswith("\n") else value
            # Lines of a log format are joined by one space (NIC's rule); crossplane keeps
            # `\\` escaped where NGINX reads one backslash.
            expected = expected.replace("\n", " ").replace("\\", "\\\\")
            assert "".join(args[1:] if key == "log-format" else args) == expected


@pytest.mark.parametrize("base", list(BASES))
def test_baselines_pass_nginx(base: str) -> None:
    settings, data = BASES[base]
    with sandbox(settings) as (root, sandboxed):
        assert_tree_loads(root, sandboxed, render(data, sandboxed).files)


@pytest.mark.parametrize("category", ["newline", "line-separator", "close-and-open-block", "nul"])
def test_hostile_output_parses_to_the_baseline_directives(category: str) -> None:
    """The crossplane view of the hostile render: not one directive, block or include added."""
    for base, (settings, data) in BASES.items():
        with sandbox(settings) as (root, sandboxed):
            for key in KEYS:
                if key in FREE_TEXT_KEYS:
                    continue
                hostile = render({**data, key: HOSTILE[category]}, sandboxed)
                default = render({k: v for k, v in data.items() if k != key}, sandboxed)
                got = shape(parse(write(root / "hostile", hostile.files)))
                want = shape(parse(write(root / "default", default.files)))
                assert got == want, (base, key)
                # Exactly our own modules and includes: config-version.conf, conf.d,
                # stream-conf.d, and the catch-all server's default-server.d.
                assert got[("load_module",)] == len(sandboxed.load_modules)
                assert sum(n for (*_, name), n in got.items() if name == "include") == 4


def test_show_is_safe_for_every_hostile_value() -> None:
    for value in HOSTILE.values():
        shown = show(value)
        assert len(shown) <= 65 and shown.isprintable()
