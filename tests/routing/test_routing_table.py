"""The routing table: incremental updates, claims between Ingresses, and the files it owns.

Incrementality is asserted through `Update.reports`: an Ingress is reported exactly
when it was generated again, and `Update.changed` lists exactly the files whose text
changed.
"""

from __future__ import annotations

from typing import Any

from nginx_ingress.generate.table import Changes, Outcome, RoutingTable, Update
from nginx_ingress.settings import Settings

from certificates import certificate
from ingress_objects import (
    CLASS,
    NOW,
    Cluster,
    Raw,
    config_for,
    endpoint,
    endpoint_slice,
    ingress,
    ingress_class,
    path,
    rule,
    service,
    tls_entry,
    tls_secret,
)

OSS = Settings()
OLD, NEW = "2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z"


class Sim:
    """A cluster and a routing table that has seen it."""

    def __init__(self, cluster: Cluster, configmap: dict[str, str] | None = None) -> None:
        self.cluster = cluster
        self.table = RoutingTable(OSS, CLASS)
        self.config = config_for(OSS, configmap)
        self.first = self.update(everything=True)

    def update(
        self,
        ingresses: set[str] | frozenset[str] = frozenset(),
        services: set[str] | frozenset[str] = frozenset(),
        secrets: set[str] | frozenset[str] = frozenset(),
        *,
        everything: bool = False,
        configmap: dict[str, str] | None = None,
    ) -> Update:
        if configmap is not None:
            self.config = config_for(OSS, configmap)
        changes = Changes(frozenset(ingresses), frozenset(services), frozenset(secrets), everything)
        return self.table.update(changes, self.cluster.source(), self.config, NOW)

    def replace_ingress(self, raw: Raw) -> None:
        key = (raw["metadata"]["namespace"], raw["metadata"]["name"])
        self.cluster.ingresses = [
            o
            for o in self.cluster.ingresses
            if (o["metadata"]["namespace"], o["metadata"]["name"]) != key
        ] + [raw]

    def delete_ingress(self, key: str) -> None:
        self.cluster.ingresses = [
            o
            for o in self.cluster.ingresses
            if f"{o['metadata']['namespace']}/{o['metadata']['name']}" != key
        ]


def outcomes(update: Update) -> dict[str, str]:
    return {r.key: r.outcome for r in update.reports}


def problems(update: Update, key: str) -> list[str]:
    (report,) = [r for r in update.reports if r.key == key]
    return [p.line for p in report.problems]


def three_ingresses() -> Cluster:
    return Cluster(
        ingresses=[
            ingress("a", rule("a.example.com", path("/", "tea"))),
            ingress("b", rule("b.example.com", path("/", "coffee"))),
            ingress("c", rule("c.example.com", path("/t", "tea"), path("/c", "coffee"))),
        ],
        services=[service("tea"), service("coffee")],
        slices=[
            endpoint_slice("tea-1", "tea", endpoint("10.0.0.1")),
            endpoint_slice("coffee-1", "coffee", endpoint("10.0.1.1")),
        ],
    )


def test_first_update_generates_every_ingress() -> None:
    sim = Sim(three_ingresses())
    assert outcomes(sim.first) == {
        "default/a": Outcome.SERVED,
        "default/b": Outcome.SERVED,
        "default/c": Outcome.SERVED,
    }
    assert set(sim.first.changed) == {
        "conf.d/default-a.conf",
        "conf.d/default-b.conf",
        "conf.d/default-c.conf",
    }
    assert sim.table.served == 3
    assert sim.table.owner_of("conf.d/default-b.conf") == "default/b"
    report = next(r for r in sim.first.reports if r.key == "default/a")
    assert report.files == ("conf.d/default-a.conf",)


def test_an_endpoint_change_regenerates_only_the_ingresses_of_that_service() -> None:
    sim = Sim(three_ingresses())
    sim.cluster.slices[0] = endpoint_slice(
        "tea-1", "tea", endpoint("10.0.0.1"), endpoint("10.0.0.2")
    )
    update = sim.update(services={"default/tea"})
    assert set(outcomes(update)) == {"default/a", "default/c"}
    assert set(update.changed) == {"conf.d/default-a.conf", "conf.d/default-c.conf"}
    assert "10.0.0.2:8080" in str(update.changed["conf.d/default-a.conf"])


def test_a_change_that_changes_no_input_costs_nothing() -> None:
    sim = Sim(three_ingresses())
    update = sim.update(services={"default/tea"}, secrets={"default/nothing"})
    assert update.reports == () and update.changed == {}
    # Nor does an Ingress that is "changed" into an equal object.
    update = sim.update(ingresses={"default/a"})
    assert update.reports == () and update.changed == {}


def test_an_unrelated_service_touches_nobody() -> None:
    sim = Sim(three_ingresses())
    sim.cluster.services.append(service("milk"))
    update = sim.update(services={"default/milk"})
    assert update.reports == () and update.changed == {}


def test_a_new_service_reaches_the_ingress_waiting_for_it() -> None:
    cluster = three_ingresses()
    cluster.services = [service("coffee")]
    sim = Sim(cluster)
    assert "no ready endpoint" not in " ".join(problems(sim.first, "default/a"))
    assert "Service default/tea not found" in " ".join(problems(sim.first, "default/a"))
    sim.cluster.services.append(service("tea"))
    update = sim.update(services={"default/tea"})
    assert outcomes(update) == {"default/a": Outcome.SERVED, "default/c": Outcome.SERVED}


def test_a_configmap_change_regenerates_everything() -> None:
    sim = Sim(three_ingresses())
    update = sim.update(everything=True, configmap={"max-fails": "3"})
    assert set(outcomes(update)) == {"default/a", "default/b", "default/c"}
    # Every file changed (an empty `changed` would make the next line pass on its own).
    assert set(update.changed) == {f"conf.d/default-{name}.conf" for name in "abc"}
    assert all("max_fails=3" in str(text) for text in update.changed.values())


def test_an_ingress_change_regenerates_only_itself() -> None:
    sim = Sim(three_ingresses())
    sim.replace_ingress(
        ingress(
            "b",
            rule("b.example.com", path("/", "coffee")),
            annotations={"nginx.org/keepalive": "4"},
        )
    )
    update = sim.update(ingresses={"default/b"})
    assert outcomes(update) == {"default/b": Outcome.SERVED}
    assert set(update.changed) == {"conf.d/default-b.conf"}


def test_a_rejected_ingress_drops_its_files_and_comes_back() -> None:
    sim = Sim(three_ingresses())
    sim.replace_ingress(ingress("b", rule("B.example.com", path("/", "coffee"))))
    update = sim.update(ingresses={"default/b"})
    assert outcomes(update) == {"default/b": Outcome.REJECTED}
    assert problems(update, "default/b")[0].startswith("spec.rules[0].host: invalid value")
    assert update.changed == {"conf.d/default-b.conf": None}
    assert sim.table.served == 2
    sim.replace_ingress(ingress("b", rule("b.example.com", path("/", "coffee"))))
    update = sim.update(ingresses={"default/b"})
    assert outcomes(update) == {"default/b": Outcome.SERVED}
    assert update.changed["conf.d/default-b.conf"] == sim.first.changed["conf.d/default-b.conf"]


def test_a_deleted_ingress_is_gone_with_its_files() -> None:
    sim = Sim(three_ingresses())
    sim.delete_ingress("default/a")
    update = sim.update(ingresses={"default/a"})
    assert outcomes(update) == {"default/a": Outcome.GONE}
    assert update.changed == {"conf.d/default-a.conf": None}
    assert sim.table.owner_of("conf.d/default-a.conf") is None
    # Deleting what the table never had is nothing.
    assert sim.update(ingresses={"default/zzz"}).reports == ()


# --- host claims ----------------------------------------------------------------------------------


def collision() -> Cluster:
    return Cluster(
        ingresses=[
            ingress("new", rule("cafe.example.com", path("/new")), created=NEW),
            ingress("old", rule("cafe.example.com", path("/old")), created=OLD),
        ],
        services=[service("coffee")],
        slices=[endpoint_slice("coffee-1", "coffee", endpoint("10.0.0.1"))],
    )


def test_the_oldest_ingress_wins_a_host() -> None:
    sim = Sim(collision())
    assert outcomes(sim.first) == {"default/new": Outcome.REJECTED, "default/old": Outcome.SERVED}
    (warning,) = problems(sim.first, "default/new")
    assert "host cafe.example.com is served by the older Ingress default/old" in warning
    assert set(sim.table.files) == {"conf.d/default-old.conf"}


def test_ties_go_to_the_first_namespace_and_name() -> None:
    cluster = collision()
    for raw in cluster.ingresses:
        raw["metadata"]["creationTimestamp"] = OLD
    sim = Sim(cluster)
    assert outcomes(sim.first) == {"default/new": Outcome.SERVED, "default/old": Outcome.REJECTED}


def test_the_loser_is_served_when_the_winner_goes() -> None:
    sim = Sim(collision())
    sim.delete_ingress("default/old")
    update = sim.update(ingresses={"default/old"})
    assert outcomes(update) == {"default/old": Outcome.GONE, "default/new": Outcome.SERVED}
    assert set(update.changed) == {"conf.d/default-old.conf", "conf.d/default-new.conf"}
    assert update.changed["conf.d/default-old.conf"] is None


def test_the_loser_is_served_when_the_winner_lets_the_host_go() -> None:
    sim = Sim(collision())
    sim.replace_ingress(ingress("old", rule("other.example.com", path("/old")), created=OLD))
    update = sim.update(ingresses={"default/old"})
    assert outcomes(update) == {"default/old": Outcome.SERVED, "default/new": Outcome.SERVED}


def test_the_loser_is_served_when_the_winner_is_rejected() -> None:
    sim = Sim(collision())
    sim.replace_ingress(ingress("old", rule("cafe.example.com", path("/o o")), created=OLD))
    update = sim.update(ingresses={"default/old"})
    assert outcomes(update) == {"default/old": Outcome.REJECTED, "default/new": Outcome.SERVED}


def test_served_follows_every_way_an_ingress_gains_or_loses_its_file() -> None:
    """`served` is kept as Ingresses change (not counted over all of them per sync)."""

    def served() -> int:
        owners = {sim.table.owner_of(p) for p in sim.table.files}
        assert sim.table.served == len(owners - {None})
        return sim.table.served

    sim = Sim(collision())
    assert served() == 1  # the loser is rejected by generation: no file
    sim.delete_ingress("default/old")
    sim.update(ingresses={"default/old"})
    assert served() == 1  # the old one gone, the loser served
    sim.replace_ingress(ingress("new", rule("cafe.example.com", path("/o o")), created=NEW))
    sim.update(ingresses={"default/new"})
    assert served() == 0  # rejected by validation
    sim.replace_ingress(ingress("new", rule("cafe.example.com", path("/new")), created=NEW))
    sim.update(ingresses={"default/new"})
    assert served() == 1
    sim.delete_ingress("default/new")
    sim.update(ingresses={"default/new"})
    assert served() == 0


def test_an_older_newcomer_takes_the_host() -> None:
    cluster = collision()
    oldest = ingress("oldest", rule("cafe.example.com", path("/x")), created="2023-01-01T00:00:00Z")
    sim = Sim(cluster)
    sim.cluster.ingresses.append(oldest)
    update = sim.update(ingresses={"default/oldest"})
    assert outcomes(update) == {
        "default/oldest": Outcome.SERVED,
        "default/old": Outcome.REJECTED,
        # The loser's warning now names another winner.
        "default/new": Outcome.REJECTED,
    }
    assert "default/oldest" in problems(update, "default/new")[0]


def test_a_partial_loser_serves_its_other_hosts() -> None:
    cluster = collision()
    cluster.ingresses[0] = ingress(
        "new",
        rule("cafe.example.com", path("/new")),
        rule("tea.example.com", path("/tea")),
        created=NEW,
    )
    sim = Sim(cluster)
    assert outcomes(sim.first)["default/new"] == Outcome.SERVED_WITH_PROBLEMS
    text = sim.table.files["conf.d/default-new.conf"]
    assert "server_name tea.example.com;" in text and "cafe.example.com" not in text


def test_rules_without_host_belong_to_the_oldest() -> None:
    cluster = Cluster(
        ingresses=[
            ingress("new", rule(None, path("/new")), created=NEW),
            ingress("old", rule(None, path("/old")), created=OLD),
        ],
        services=[service("coffee")],
    )
    sim = Sim(cluster)
    # The upstreams are in the Ingress's own file, the locations in the catch-all server.
    assert set(sim.table.files) == {"conf.d/default-old.conf", "default-server.d/default-old.conf"}
    assert "server {" not in sim.table.files["conf.d/default-old.conf"]
    assert not sim.table.catch_all_root
    assert "requests without a matching host" in problems(sim.first, "default/new")[0]
    sim.delete_ingress("default/old")
    sim.cluster.ingresses.append(ingress("old", rule(None, path("/")), created=OLD))
    sim.update(ingresses={"default/old"})
    assert sim.table.catch_all_root


def test_default_backend_only_owns_the_catch_all_root() -> None:
    cluster = Cluster(
        ingresses=[
            ingress(
                "fallback", default_backend={"service": {"name": "coffee", "port": {"number": 80}}}
            )
        ],
        services=[service("coffee")],
    )
    sim = Sim(cluster)
    assert set(sim.table.files) == {
        "conf.d/default-fallback.conf",
        "default-server.d/default-fallback.conf",
    }
    assert sim.table.catch_all_root


def test_longest_host_follows_the_claims() -> None:
    long_host = "x" * 60 + ".example.com"
    sim = Sim(three_ingresses())
    assert sim.table.longest_host == len("a.example.com")
    sim.cluster.ingresses.append(ingress("long", rule(long_host, path("/", "tea"))))
    sim.update(ingresses={"default/long"})
    assert sim.table.longest_host == len(long_host)
    sim.delete_ingress("default/long")
    sim.update(ingresses={"default/long"})
    assert sim.table.longest_host == len("a.example.com")


# --- file names -----------------------------------------------------------------------------------


def test_nic_file_name_clash_gets_distinct_files() -> None:
    cluster = Cluster(
        ingresses=[
            ingress("c", rule("one.example.com"), namespace="a-b", created=NEW),
            ingress("b-c", rule("two.example.com"), namespace="a", created=OLD),
        ],
    )
    sim = Sim(cluster)
    files = sorted(sim.table.files)
    assert len(files) == 2 and "conf.d/a-b-c.conf" in files
    assert "one.example.com" not in sim.table.files["conf.d/a-b-c.conf"]  # the older one
    (other,) = [f for f in files if f != "conf.d/a-b-c.conf"]
    assert other.startswith("conf.d/a-b-c-") and "one.example.com" in sim.table.files[other]
    # The winner goes: the other Ingress moves to the plain name.
    sim.delete_ingress("a/b-c")
    update = sim.update(ingresses={"a/b-c"})
    assert outcomes(update) == {"a/b-c": Outcome.GONE, "a-b/c": Outcome.SERVED_WITH_PROBLEMS}
    assert set(sim.table.files) == {"conf.d/a-b-c.conf"}
    assert "one.example.com" in sim.table.files["conf.d/a-b-c.conf"]
    assert update.changed[other] is None


def test_upstream_names_never_clash_between_ingresses() -> None:
    """`default/cafe` with host x.com and Service a-b-c reads `default-cafe-x.com-a-b-c-80`,
    and so does `default/cafe-x.com` with host a and Service b-c: NGINX would refuse the
    duplicate upstream and with it every Ingress."""
    cluster = Cluster(
        ingresses=[
            ingress("cafe", rule("x.com", path("/", "a-b-c")), created=OLD),
            ingress("cafe-x.com", rule("a", path("/", "b-c")), created=NEW),
        ],
        services=[service("a-b-c"), service("b-c")],
    )
    sim = Sim(cluster)
    names = [
        line.split()[1]
        for text in sim.table.files.values()
        for line in text.splitlines()
        if line.startswith("upstream ")
    ]
    assert len(names) == 2 and len(set(names)) == 2, names
    assert "default-cafe-x.com-a-b-c-80" in names  # the older Ingress keeps NIC's name
    sim.delete_ingress("default/cafe")
    sim.update(ingresses={"default/cafe"})
    assert (
        "upstream default-cafe-x.com-a-b-c-80 {"
        in sim.table.files["conf.d/default-cafe-x.com.conf"]
    )


# --- classes --------------------------------------------------------------------------------------


def test_class_selection() -> None:
    cluster = Cluster(
        ingresses=[
            ingress("ours", rule("a.com")),
            ingress("theirs", rule("b.com"), class_name="other"),
            ingress("none", rule("c.com"), class_name=None),
            ingress(
                "legacy",
                rule("d.com"),
                class_name="other",
                annotations={"kubernetes.io/ingress.class": CLASS},
            ),
            ingress(
                "legacy-other",
                rule("e.com"),
                annotations={"kubernetes.io/ingress.class": "other"},
            ),
        ],
    )
    sim = Sim(cluster)
    assert set(outcomes(sim.first)) == {"default/ours", "default/legacy"}


def test_our_class_becoming_the_default_adopts_ingresses_without_a_class() -> None:
    cluster = Cluster(ingresses=[ingress("none", rule("c.com"), class_name=None)])
    sim = Sim(cluster)
    assert sim.first.reports == ()
    sim.cluster.classes = [ingress_class(default=True)]
    update = sim.update(everything=True)
    assert set(outcomes(update)) == {"default/none"}
    sim.cluster.classes = [ingress_class()]
    update = sim.update(everything=True)
    assert outcomes(update) == {"default/none": Outcome.GONE}
    assert update.changed == {"conf.d/default-none.conf": None}


def test_an_ingress_moving_to_another_class_is_gone() -> None:
    sim = Sim(three_ingresses())
    sim.replace_ingress(ingress("a", rule("a.example.com", path("/", "tea")), class_name="other"))
    update = sim.update(ingresses={"default/a"})
    assert outcomes(update) == {"default/a": Outcome.GONE}
    assert update.changed == {"conf.d/default-a.conf": None}


def test_a_class_change_releases_the_hosts() -> None:
    sim = Sim(collision())
    sim.replace_ingress(
        ingress("old", rule("cafe.example.com", path("/old")), created=OLD, class_name="x")
    )
    update = sim.update(ingresses={"default/old"})
    assert outcomes(update) == {"default/old": Outcome.GONE, "default/new": Outcome.SERVED}


# --- TLS Secrets ----------------------------------------------------------------------------------


def shared_secret() -> Cluster:
    return Cluster(
        ingresses=[
            ingress("one", rule("one.example.com"), tls=[tls_entry("shared", "one.example.com")]),
            ingress("two", rule("two.example.com"), tls=[tls_entry("shared", "two.example.com")]),
        ],
        services=[service("coffee")],
        slices=[endpoint_slice("coffee-1", "coffee", endpoint("10.0.0.1"))],
        secrets=[tls_secret("shared")],
    )


def test_a_shared_secret_file_is_kept_while_any_user_remains() -> None:
    sim = Sim(shared_secret())
    assert "secrets/default-shared" in sim.table.files
    assert sim.table.owner_of("secrets/default-shared") is None  # several may own it
    sim.delete_ingress("default/one")
    update = sim.update(ingresses={"default/one"})
    assert update.changed == {"conf.d/default-one.conf": None}
    assert "secrets/default-shared" in sim.table.files
    sim.replace_ingress(ingress("two", rule("two.example.com")))  # drops its TLS
    update = sim.update(ingresses={"default/two"})
    assert update.changed["secrets/default-shared"] is None
    assert "secrets/default-shared" not in sim.table.files


def test_a_rejected_user_keeps_the_shared_secret_for_the_other() -> None:
    sim = Sim(shared_secret())
    sim.replace_ingress(
        ingress("one", rule("ONE.example.com"), tls=[tls_entry("shared", "one.example.com")])
    )
    update = sim.update(ingresses={"default/one"})
    assert outcomes(update) == {"default/one": Outcome.REJECTED}
    assert set(update.changed) == {"conf.d/default-one.conf"}
    assert "secrets/default-shared" in sim.table.files


def test_a_secret_change_regenerates_its_users() -> None:
    sim = Sim(shared_secret())
    pem = certificate("rotated.example.com")
    sim.cluster.secrets = [tls_secret("shared", pem)]
    update = sim.update(secrets={"default/shared"})
    assert set(outcomes(update)) == {"default/one", "default/two"}
    assert update.changed == {"secrets/default-shared": (pem.certificate + pem.key).decode()}


def test_a_secret_that_goes_bad_rejects_handshakes() -> None:
    sim = Sim(shared_secret())
    sim.cluster.secrets = [tls_secret("shared", kind="Opaque")]
    update = sim.update(secrets={"default/shared"})
    assert set(outcomes(update).values()) == {Outcome.SERVED_WITH_PROBLEMS}
    assert update.changed["secrets/default-shared"] is None
    assert "ssl_reject_handshake on;" in str(update.changed["conf.d/default-one.conf"])
    assert "is of type 'Opaque'" in problems(update, "default/one")[0]


def test_reports_carry_the_ingress_and_its_files() -> None:
    sim = Sim(shared_secret())
    report = next(r for r in sim.first.reports if r.key == "default/one")
    assert report.ingress is not None and report.ingress.name == "one"
    assert set(report.files) == {"conf.d/default-one.conf", "secrets/default-shared"}


def test_table_is_deterministic() -> None:
    one, two = Sim(three_ingresses()), Sim(three_ingresses())
    assert one.table.files == two.table.files
    reversed_cluster = three_ingresses()
    reversed_cluster.ingresses.reverse()
    assert Sim(reversed_cluster).table.files == one.table.files


def _unused(*_args: Any) -> None:
    """Keep RoutingTable imported for the type of Sim.table."""
    RoutingTable(OSS, CLASS)


def test_an_expiring_certificate_is_warned_about_when_it_expires() -> None:
    """No input changes when a certificate expires: the table says when that is, and the
    Ingress built again then carries the warning (and still serves the certificate)."""
    sim = Sim(shared_secret())
    expires = sim.table.next_expiry()
    secret = sim.cluster.source().secret("default/shared")
    assert secret is not None and secret.tls is not None
    assert expires == secret.tls.not_after
    assert sim.table.expired(expires - 1) == frozenset()
    due = sim.table.expired(expires + 1)
    assert due == {"default/one", "default/two"}
    update = sim.table.update(Changes(expired=due), sim.cluster.source(), sim.config, expires + 1)
    assert set(outcomes(update)) == due
    assert "has expired" in problems(update, "default/one")[0]
    assert "secrets/default-shared" in sim.table.files
    assert sim.table.next_expiry() is None  # nothing left to wait for


def test_an_endpoint_change_is_servers_only() -> None:
    """What NGINX Plus can apply through its API without a reload is told apart from
    everything else."""
    sim = Sim(three_ingresses())
    sim.cluster.slices = [
        s
        if s["metadata"]["name"] != "tea-1"
        else endpoint_slice("tea-1", "tea", endpoint("10.0.9.9"))
        for s in sim.cluster.slices
    ]
    update = sim.update(services={"default/tea"})
    assert update.servers_only, update
    assert {name: [str(s.address) for s in u.servers] for name, u in update.upstreams.items()} == {
        name: ["10.0.9.9:8080"] for name in update.upstreams
    }
    assert update.upstreams
    # An edit of an Ingress is more than servers.
    sim.replace_ingress(ingress("a", rule("a.example.com", path("/other"))))
    assert not sim.update(ingresses={"default/a"}).servers_only


def test_a_certificate_change_is_not_servers_only() -> None:
    sim = Sim(shared_secret())
    sim.cluster.secrets = [tls_secret("shared", certificate("rotated.example.com"))]
    assert not sim.update(secrets={"default/shared"}).servers_only
