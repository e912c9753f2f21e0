"""Who owns a name several Ingresses ask for: a host, or a file name.

The oldest claimant wins (`creationTimestamp`, then `namespace/name`), as in NIC,
so the outcome does not depend on the order in which the controller saw them.
Updates are incremental: claiming or releasing is proportional to the claims of
one Ingress, and returns the names whose winner changed so the caller can
rebuild exactly the Ingresses involved.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable


class Claims:
    """name → claimants, each `(created, key)`; the smallest wins."""

    def __init__(self) -> None:
        self._claimants: defaultdict[str, set[tuple[str, str]]] = defaultdict(set)
        self._by_key: dict[str, tuple[tuple[str, str], frozenset[str]]] = {}
        self._winner: dict[str, tuple[str, str]] = {}

    def winner(self, name: str) -> str | None:
        won = self._winner.get(name)
        return won[1] if won else None

    def claimed_by(self, key: str) -> frozenset[str]:
        entry = self._by_key.get(key)
        return entry[1] if entry else frozenset()

    def claim(self, key: str, created: str, names: Iterable[str]) -> set[str]:
        """Make `names` the claims of `key`; returns the keys whose wins or losses changed."""
        wanted = frozenset(names)
        previous = self._by_key.get(key)
        claimant = (created, key)
        if previous is not None and previous == (claimant, wanted):
            return set()
        touched: set[str] = set()
        if previous is not None:
            old_claimant, old_names = previous
            for name in old_names:
                self._claimants[name].discard(old_claimant)
                touched.add(name)
        if wanted:
            self._by_key[key] = (claimant, wanted)
        else:
            self._by_key.pop(key, None)
        for name in wanted:
            self._claimants[name].add(claimant)
            touched.add(name)
        affected: set[str] = set()
        for name in touched:
            before = self._winner.get(name)
            claimants = self._claimants[name]
            after: tuple[str, str] | None
            if before is not None and before in claimants:
                # The winner stayed: only the newcomer can beat it (no scan of all claimants,
                # so N Ingresses sharing a host, or rules without a host, cost O(N), not O(N²)).
                after = min(before, claimant) if name in wanted else before
            else:
                after = min(claimants) if claimants else None
            if after is None:
                del self._claimants[name]
                self._winner.pop(name, None)
            else:
                self._winner[name] = after
            if before != after:
                affected.update(c[1] for c in (before, after) if c is not None)
            # Every loser learns of a new winner's name (its warning names the winner).
            if before != after:
                affected.update(c[1] for c in claimants)
        affected.discard(key)
        return affected

    def release(self, key: str) -> set[str]:
        return self.claim(key, "", ())
