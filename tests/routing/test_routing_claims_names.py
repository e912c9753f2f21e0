"""Oldest-wins claims on hosts and file names, and the deterministic names of files and
upstreams."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nginx_ingress.generate.claims import Claims
from nginx_ingress.generate.names import (
    MAX_NAME,
    disambiguated_stem,
    host_part,
    ingress_stem,
    short_hash,
    upstream_name,
)

OLD, MID, NEW = "2024-01-01T00:00:00Z", "2024-06-01T00:00:00Z", "2025-01-01T00:00:00Z"


def test_oldest_claimant_wins_whatever_the_order() -> None:
    claimants = [("ns/new", NEW), ("ns/old", OLD), ("ns/mid", MID)]
    for order in itertools.permutations(claimants):
        claims = Claims()
        for key, created in order:
            claims.claim(key, created, {"a.com"})
        assert claims.winner("a.com") == "ns/old"


def test_ties_are_broken_by_namespace_and_name() -> None:
    claims = Claims()
    claims.claim("b/x", OLD, {"a.com"})
    claims.claim("a/z", OLD, {"a.com"})
    assert claims.winner("a.com") == "a/z"


def test_claim_returns_the_other_ingresses_whose_outcome_changed() -> None:
    claims = Claims()
    assert claims.claim("ns/new", NEW, {"a.com", "b.com"}) == set()
    # An older claimant takes a.com: the old winner must be rebuilt (it lost a host).
    assert claims.claim("ns/old", OLD, {"a.com"}) == {"ns/new"}
    assert claims.winner("a.com") == "ns/old"
    assert claims.winner("b.com") == "ns/new"
    # A newer claimant loses; the winner's outcome is unchanged, nobody else is touched.
    assert claims.claim("ns/newest", "2026-01-01T00:00:00Z", {"a.com"}) == set()
    assert claims.winner("a.com") == "ns/old"


def test_release_hands_over_to_the_next_oldest() -> None:
    claims = Claims()
    claims.claim("ns/old", OLD, {"a.com"})
    claims.claim("ns/mid", MID, {"a.com"})
    claims.claim("ns/new", NEW, {"a.com"})
    # Every claimant learns of the new winner (its warning names the winner).
    assert claims.release("ns/old") == {"ns/mid", "ns/new"}
    assert claims.winner("a.com") == "ns/mid"
    assert claims.release("ns/new") == set()  # a loser leaving changes nobody's outcome
    assert claims.release("ns/mid") == set()
    assert claims.winner("a.com") is None
    assert claims.claimed_by("ns/mid") == frozenset()


def test_changing_claims_releases_the_names_no_longer_asked_for() -> None:
    claims = Claims()
    claims.claim("ns/old", OLD, {"a.com", "b.com"})
    claims.claim("ns/new", NEW, {"a.com"})
    assert claims.claim("ns/old", OLD, {"b.com"}) == {"ns/new"}
    assert claims.winner("a.com") == "ns/new"
    assert claims.claimed_by("ns/old") == {"b.com"}


def test_claiming_the_same_again_touches_nothing() -> None:
    claims = Claims()
    claims.claim("ns/old", OLD, {"a.com"})
    claims.claim("ns/new", NEW, {"a.com"})
    assert claims.claim("ns/old", OLD, {"a.com"}) == set()
    assert claims.claim("ns/new", NEW, {"a.com"}) == set()


def test_release_of_an_unknown_key() -> None:
    assert Claims().release("ns/nobody") == set()


def test_claims_are_proportional_to_one_ingress() -> None:
    """Claiming is incremental: 10,000 claimants of one host, then one leaves."""
    claims = Claims()
    for i in range(10_000):
        claims.claim(f"ns/i{i:05}", f"2024-01-01T00:00:{i % 60:02}Z", {"shared.com", f"{i}.com"})
    winner = claims.winner("shared.com")
    assert winner == "ns/i00000"
    affected = claims.release(winner)
    assert claims.winner("shared.com") == "ns/i00060"
    assert len(affected) == 9_999  # every loser's warning now names another winner


KEYS = [f"ns/i{i}" for i in range(5)]
STEPS = st.lists(
    st.tuples(
        st.sampled_from(KEYS),
        st.sampled_from([OLD, MID, NEW]),
        st.frozensets(st.sampled_from(["a.com", "b.com", "c.com"]), max_size=3),
    ),
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(steps=STEPS)
def test_claims_agree_with_a_full_recount(
    steps: list[tuple[str, str, frozenset[str]]],
) -> None:
    """After any sequence of claims and releases, each winner is the oldest claimant, and
    every Ingress whose outcome changed was returned as affected."""
    claims = Claims()
    current: dict[str, tuple[str, frozenset[str]]] = {}

    def winners() -> dict[str, str]:
        names = {n for _, ns in current.values() for n in ns}
        return {n: min((c, k) for k, (c, ns) in current.items() if n in ns)[1] for n in names}

    def standing(table: dict[str, str]) -> dict[str, frozenset[tuple[str, str]]]:
        return {k: frozenset((n, table[n]) for n in ns) for k, (_, ns) in current.items()}

    for key, created, names in steps:
        before = standing(winners())
        affected = claims.claim(key, created, names)
        if names:
            current[key] = (created, names)
        else:
            current.pop(key, None)
        table = winners()
        assert {n: claims.winner(n) for n in table} == table
        after = standing(table)
        changed = {k for k in after if k != key and before.get(k) != after[k]}
        assert changed <= affected


# --- names ---------------------------------------------------------------------------------------


def test_nic_shapes() -> None:
    assert ingress_stem("default", "cafe") == "default-cafe"
    assert (
        upstream_name("default-cafe", "cafe.example.com", "tea", "80")
        == "default-cafe-cafe.example.com-tea-80"
    )
    assert upstream_name("default-cafe", "", "tea", "http") == "default-cafe-_-tea-http"
    assert host_part("*.example.com") == "_.example.com"


def test_long_names_are_cut_and_hashed_deterministically() -> None:
    namespace, name = "n" * 63, "i" * 253
    stem = ingress_stem(namespace, name)
    assert len(stem) == MAX_NAME
    assert stem == ingress_stem(namespace, name)
    assert stem.endswith("-" + short_hash(f"{namespace}/{name}"))
    # Names that share the first 200 characters still differ.
    assert ingress_stem(namespace, name[:-1] + "j") != stem
    host = ".".join(["a" * 63] * 3 + ["b" * 61])
    upstream = upstream_name(stem, host, "s" * 63, "http-alt")
    assert len(upstream) == MAX_NAME
    assert upstream != upstream_name(stem, host, "s" * 63, "http")


def test_a_short_name_is_unchanged() -> None:
    plain = "n-" + "x" * (MAX_NAME - 2)
    assert ingress_stem("n", "x" * (MAX_NAME - 2)) == plain


def test_nic_clash_gets_distinct_stems() -> None:
    """`a-b/c` and `a/b-c` are both `a-b-c` in NIC; the loser's stem gets its own hash."""
    assert ingress_stem("a-b", "c") == ingress_stem("a", "b-c") == "a-b-c"
    one, two = disambiguated_stem("a-b", "c"), disambiguated_stem("a", "b-c")
    assert one != two and one.startswith("a-b-c-") and two.startswith("a-b-c-")
    long = disambiguated_stem("n" * 63, "i" * 253)
    assert len(long) == MAX_NAME


@pytest.mark.parametrize("text", ["", "a", "x" * 1000, "é"])
def test_short_hash(text: str) -> None:
    assert len(short_hash(text)) == 8
    assert short_hash(text) == short_hash(text)
