"""Every Ingress's files, kept up to date one change at a time.

The routing table is the incremental heart of the controller: it is told which
objects changed (keys by kind) and rebuilds only the Ingresses that read them.
A changed EndpointSlice costs the Ingresses that route to its Service; a new
Ingress costs itself and the Ingresses whose host claims it changes; only the
ConfigMap and the IngressClass touch everything, because every file depends on
them. Each Ingress keeps its inputs next to its result, so a change that leaves
its inputs equal costs a comparison, not a render.

Owned by one thread (the controller's sync); it does no I/O and reads the
cluster only through a `ClusterSource`.
"""

from __future__ import annotations

import dataclasses
import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from nginx_ingress import gcpause
from nginx_ingress.configmap import GlobalConfig
from nginx_ingress.configmap.problems import Problem
from nginx_ingress.generate.claims import Claims
from nginx_ingress.generate.classes import is_ours
from nginx_ingress.generate.ingress import (
    CATCH_ALL,
    IngressInputs,
    IngressResult,
    generate_checked,
    hosts_of,
    reads_replicas,
    reads_zone_sync,
    upstream_names,
)
from nginx_ingress.generate.names import disambiguated_stem, ingress_stem
from nginx_ingress.generate.source import ClusterSource
from nginx_ingress.generate.validate import check_ingress
from nginx_ingress.layout import catch_all_file, ingress_file, is_secret
from nginx_ingress.model import IngressConfig, Upstream
from nginx_ingress.render.files import render_catch_all, render_ingress
from nginx_ingress.resources import Ingress
from nginx_ingress.settings import Settings


@dataclass(frozen=True, slots=True)
class Changes:
    """Keys of what changed since the last update, by what routing reads them for."""

    ingresses: frozenset[str] = frozenset()
    services: frozenset[str] = frozenset()
    """Services whose object or EndpointSlices changed."""
    secrets: frozenset[str] = frozenset()
    everything: bool = False
    """Look at every Ingress again (the ConfigMap, an IngressClass, zone sync or the replica
    count changed); only those whose inputs changed are built again."""
    expired: frozenset[str] = frozenset()
    """Ingresses a certificate of which expired since they were built (`RoutingTable.
    expired`): built again although their inputs did not change."""
    zone_sync: bool = False
    """Zone sync is on and its Service in place (when it toggles, pass `everything`: only
    the Ingresses with synced zones are built again)."""
    replicas: int = 1
    """Ready controller replicas, for `limit-req-scale` (when it changes, pass `everything`)."""


class Outcome:
    SERVED = "served"
    """Served as written."""
    SERVED_WITH_PROBLEMS = "served-with-problems"
    REJECTED = "rejected"
    """Ours, but nothing of it is served."""
    GONE = "gone"
    """Deleted, or no longer of our class: nothing to report on it."""


@dataclass(frozen=True, slots=True)
class IngressReport:
    key: str
    ingress: Ingress | None
    outcome: str
    problems: tuple[Problem, ...] = ()
    files: tuple[str, ...] = ()
    """The files of this Ingress (to match NGINX's refusals to it)."""


@dataclass(slots=True)
class _Entry:
    ingress: Ingress
    stem: str = ""
    rejected: tuple[Problem, ...] = ()
    inputs: IngressInputs | None = None
    config: GlobalConfig | None = None
    result: IngressResult | None = None
    files: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Pass:
    """What one update reads besides the Ingress itself."""

    source: ClusterSource
    config: GlobalConfig
    now: float
    forced: frozenset[str]
    zone_sync: bool
    replicas: int


@dataclass(frozen=True, slots=True)
class Update:
    changed: Mapping[str, str | None]
    """Path → new text, or None for a file to delete."""
    reports: tuple[IngressReport, ...]
    servers_only: bool = False
    """Every change is in the servers of existing upstreams (`upstreams`): with NGINX Plus
    they can be changed through its API, without a reload."""
    upstreams: Mapping[str, Upstream] = field(default_factory=dict)
    """Upstream name → the upstream as now, for those whose servers changed."""


def _without_servers(config: IngressConfig) -> IngressConfig:
    return dataclasses.replace(
        config, upstreams=tuple(dataclasses.replace(u, servers=()) for u in config.upstreams)
    )


def ingress_inputs(
    source: ClusterSource,
    ingress: Ingress,
    stem: str,
    *,
    lost_hosts: Mapping[str, str],
    taken_upstreams: frozenset[str],
    zone_sync: bool,
    replicas: int,
) -> IngressInputs:
    """One Ingress's inputs: what it reads from `source` (its Services, their
    EndpointSlices, its Secrets), and what the table decides for it."""
    namespace = ingress.namespace
    return IngressInputs(
        ingress=ingress,
        stem=stem,
        services={name: source.service(f"{namespace}/{name}") for name in ingress.services},
        slices={name: source.endpoint_slices(f"{namespace}/{name}") for name in ingress.services},
        secrets={name: source.secret(f"{namespace}/{name}") for name in ingress.secrets},
        lost_hosts=lost_hosts,
        taken_upstreams=taken_upstreams,
        zone_sync=zone_sync,
        replicas=replicas,
    )


def ingress_files(stem: str, result: IngressResult) -> dict[str, str]:
    """One Ingress's files, path → text: its server blocks, its catch-all locations, its
    TLS Secrets; none when it was rejected."""
    files: dict[str, str] = {}
    if result.config is not None:
        files[ingress_file(stem)] = render_ingress(result.config)
        if result.config.catch_all:
            files[catch_all_file(stem)] = render_catch_all(result.config)
        files.update(result.secret_files)
    return files


_BATCH = 1000
"""Above this many Ingresses in one update, the cyclic garbage collector waits until it ends."""


class RoutingTable:
    def __init__(self, settings: Settings, ingress_class: str) -> None:
        self._settings = settings
        self._class = ingress_class
        self._entries: dict[str, _Entry] = {}
        self._hosts = Claims()
        self._stems = Claims()
        self._upstreams = Claims()
        self._host_lengths: dict[int, int] = {}
        self._scaling: set[str] = set()
        """Ingresses with `limit-req-scale` (the controller counts replicas only for them)."""
        self._served: set[str] = set()
        """Ingresses with a file (`served` is asked after every sync: no scan of all)."""
        self._files: dict[str, str] = {}
        self._owners: dict[str, str] = {}
        self._secret_users: dict[str, set[str]] = {}
        self._expiries: list[tuple[float, str]] = []
        """A heap of (when a certificate an Ingress serves expires, its key); stale entries
        (the Ingress was built again since) are dropped as they come up."""
        self._before: dict[str, str | None] = {}
        self._servers_only = True
        self._upstream_changes: dict[str, Upstream] = {}
        """Paths changed during the current update → their text before it."""

    # --- what the main configuration needs to know ---------------------------------------

    @property
    def files(self) -> Mapping[str, str]:
        """Every routing file: Ingress files, catch-all locations, TLS Secrets."""
        return self._files

    @property
    def served(self) -> int:
        """Ingresses with a file (for `ingress_resources_total`)."""
        return len(self._served)

    @property
    def longest_host(self) -> int:
        return max(self._host_lengths, default=0)

    @property
    def catch_all_root(self) -> bool:
        """The Ingress owning rules without a host serves `/` itself."""
        winner = self._hosts.winner(CATCH_ALL)
        entry = self._entries.get(winner) if winner else None
        config = entry.result.config if entry and entry.result else None
        return config is not None and any(
            loc.path == "/" and not loc.modifier for loc in config.catch_all
        )

    def next_expiry(self) -> float | None:
        """When the next served certificate expires (epoch seconds), or None."""
        self._drop_stale_expiries()
        return self._expiries[0][0] if self._expiries else None

    def expired(self, now: float) -> frozenset[str]:
        """Ingresses whose certificate expired by `now`: pass them as `Changes.expired`."""
        keys = set()
        self._drop_stale_expiries()
        while self._expiries and self._expiries[0][0] <= now:
            keys.add(heapq.heappop(self._expiries)[1])
            self._drop_stale_expiries()
        return frozenset(keys)

    def _drop_stale_expiries(self) -> None:
        while self._expiries:
            when, key = self._expiries[0]
            entry = self._entries.get(key)
            if entry is not None and entry.result is not None and entry.result.expires == when:
                return
            heapq.heappop(self._expiries)

    @property
    def reads_replicas(self) -> bool:
        """Some Ingress of ours scales its rate limit by the replica count."""
        return bool(self._scaling)

    def owner_of(self, path: str) -> str | None:
        """The Ingress a file belongs to, for NGINX's refusals (Secrets may have several)."""
        return self._owners.get(path)

    # --- updating ------------------------------------------------------------------------

    def update(
        self, changes: Changes, source: ClusterSource, config: GlobalConfig, now: float
    ) -> Update:
        self._before = {}
        self._servers_only, self._upstream_changes = True, {}
        touched: set[str] = set(changes.ingresses) | changes.expired
        if changes.everything:
            touched.update(source.ingress_keys())
            touched.update(self._entries)
        for service in changes.services:
            touched.update(source.ingresses_using_service(service))
        for secret in changes.secrets:
            touched.update(source.ingresses_using_secret(secret))
        rebuild: set[str] = set()
        reports: dict[str, IngressReport] = {}
        with gcpause.paused(len(touched) > _BATCH):
            # First every touched Ingress's own facts (class, validity, claims), so that
            # the claims are complete before anything is generated from them.
            for key in sorted(touched):
                rebuild.add(key)
                rebuild.update(self._refresh(key, source, reports))
            context = _Pass(
                source, config, now, changes.expired, changes.zone_sync, changes.replicas
            )
            for key in sorted(rebuild):
                entry = self._entries.get(key)
                if entry is None or entry.rejected:
                    continue
                self._generate(key, entry, context, reports)
        changed = {
            path: self._files.get(path)
            for path, text in self._before.items()
            if self._files.get(path) != text
        }
        self._before = {}
        upstreams, self._upstream_changes = self._upstream_changes, {}
        return Update(
            changed,
            tuple(reports[k] for k in sorted(reports)),
            # A certificate changes no model but must be loaded: only upstream servers may go
            # through the API.
            servers_only=self._servers_only
            and bool(upstreams)
            and not any(is_secret(path) for path in changed),
            upstreams=upstreams,
        )

    def _refresh(
        self, key: str, source: ClusterSource, reports: dict[str, IngressReport]
    ) -> set[str]:
        """Read one Ingress again; returns the other Ingresses whose claims it moved."""
        ingress = source.ingress(key)
        our_class = source.ingress_class(self._class)
        entry = self._entries.get(key)
        if ingress is None or not is_ours(ingress, self._class, our_class):
            if entry is None:
                return set()
            del self._entries[key]
            self._served.discard(key)
            self._drop_files(key, entry)
            reports[key] = IngressReport(key, ingress, Outcome.GONE)
            self._servers_only = False
            return self._claim(key, entry.ingress, ())
        if entry is not None and entry.ingress == ingress and not entry.rejected:
            return set()  # same object: only its inputs may have changed
        rejected = check_ingress(ingress)
        entry = entry or _Entry(ingress)
        entry.ingress, entry.rejected, entry.inputs = ingress, rejected, None
        self._servers_only = False  # a new or edited Ingress: more than servers change
        self._entries[key] = entry
        if rejected:
            self._drop_files(key, entry)
            entry.result = None
            self._served.discard(key)
            reports[key] = IngressReport(key, ingress, Outcome.REJECTED, rejected)
            return self._claim(key, ingress, ())
        return self._claim(key, ingress, hosts_of(ingress))

    def _claim(self, key: str, ingress: Ingress, hosts: Iterable[str]) -> set[str]:
        hosts = tuple(hosts)
        if hosts and reads_replicas(ingress):
            self._scaling.add(key)
        else:
            self._scaling.discard(key)
        lengths = self._host_lengths
        for host in self._hosts.claimed_by(key):
            lengths[len(host)] -= 1
            if not lengths[len(host)]:
                del lengths[len(host)]
        for host in hosts:
            lengths[len(host)] = lengths.get(len(host), 0) + 1
        affected = self._hosts.claim(key, ingress.created, hosts)
        stem = ingress_stem(ingress.namespace, ingress.name)
        affected |= self._stems.claim(key, ingress.created, (stem,) if hosts else ())
        upstreams = upstream_names(ingress) if hosts else ()
        affected |= self._upstreams.claim(key, ingress.created, upstreams)
        return affected

    def _generate(
        self, key: str, entry: _Entry, context: _Pass, reports: dict[str, IngressReport]
    ) -> None:
        source = context.source
        ingress = entry.ingress
        namespace = ingress.namespace
        stem = ingress_stem(namespace, ingress.name)
        if self._stems.winner(stem) != key:
            stem = disambiguated_stem(namespace, ingress.name)
        lost = {
            host: winner
            for host in hosts_of(ingress)
            if (winner := self._hosts.winner(host)) is not None and winner != key
        }
        inputs = ingress_inputs(
            source,
            ingress,
            stem,
            lost_hosts=lost,
            taken_upstreams=frozenset(
                name
                for name in self._upstreams.claimed_by(key)
                if self._upstreams.winner(name) != key
            ),
            zone_sync=context.zone_sync and reads_zone_sync(ingress),
            replicas=context.replicas if reads_replicas(ingress) else 1,
        )
        # The ConfigMap's config is an input too: a new object only when its data changed.
        if inputs == entry.inputs and context.config is entry.config and key not in context.forced:
            return
        entry.inputs, entry.config = inputs, context.config
        result = generate_checked(inputs, context.config, self._settings, context.now)
        self._note_server_changes(entry.result, result)
        entry.result = result
        if result.config is None:
            self._served.discard(key)
        else:
            self._served.add(key)
        files = ingress_files(stem, result)
        self._replace_files(key, entry, files)
        if result.config is None:
            outcome = Outcome.REJECTED
        elif result.warnings:
            outcome = Outcome.SERVED_WITH_PROBLEMS
        else:
            outcome = Outcome.SERVED
        reports[key] = IngressReport(key, ingress, outcome, result.problems, tuple(files))
        if result.expires is not None:
            heapq.heappush(self._expiries, (result.expires, key))

    def _note_server_changes(self, old: IngressResult | None, new: IngressResult) -> None:
        """Keep `servers_only` true only while every rebuilt Ingress changed nothing but the
        servers of its upstreams, and note those upstreams."""
        if not self._servers_only:
            return
        before, after = (old.config if old else None), new.config
        if before is None or after is None or _without_servers(before) != _without_servers(after):
            self._servers_only = False
            return
        previous = {u.name: u.servers for u in before.upstreams}
        for upstream in after.upstreams:
            if previous.get(upstream.name) != upstream.servers:
                self._upstream_changes[upstream.name] = upstream

    # --- files ---------------------------------------------------------------------------

    def _replace_files(self, key: str, entry: _Entry, files: dict[str, str]) -> None:
        self._drop_files(key, entry)
        entry.files = files
        for path, text in files.items():
            self._set(path, text)
            if is_secret(path):
                self._secret_users.setdefault(path, set()).add(key)
            else:
                self._owners[path] = key

    def _drop_files(self, key: str, entry: _Entry) -> None:
        for path in entry.files:
            users = self._secret_users.get(path)
            if users is not None:
                users.discard(key)
                if users:
                    continue
                del self._secret_users[path]
            self._owners.pop(path, None)
            self._set(path, None)
        entry.files = {}

    def _set(self, path: str, text: str | None) -> None:
        self._before.setdefault(path, self._files.get(path))
        if text is None:
            self._files.pop(path, None)
        else:
            self._files[path] = text
