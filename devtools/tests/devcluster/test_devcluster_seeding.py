"""Seeding from files and dicts: missing Namespaces are created, duplicates reported,
and every problem is a one-line `SeedError` naming its source."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from nginx_ingress_dev.devcluster import DevCluster
from nginx_ingress_dev.devcluster.seeding import SeedError

REPOSITORY = Path(__file__).resolve().parents[3]


def _configmap(namespace: str, name: str, data: dict[str, str]) -> str:
    return (
        f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: {namespace}}}\n"
        f"data: {orjson.dumps(data).decode()}\n"
    )


def test_the_documented_examples_folder_seeds(dev_cluster: DevCluster) -> None:
    """docs/devcluster.md's `--seed examples/`: its ConfigMaps live in a namespace that no
    manifest creates, and two files define the same ConfigMap."""
    report = dev_cluster.seed_files([REPOSITORY / "examples"])
    assert report.created_namespaces == ("nginx-ingress",)
    (duplicate,) = report.duplicates
    assert duplicate.reference == "ConfigMap nginx-ingress/nginx-config"
    assert [Path(s.split(":")[0]).relative_to(REPOSITORY) for s in duplicate.sources] == [
        Path("examples/configmap.yaml"),
        Path("examples/zone-sync/configmap.yaml"),
    ]
    assert "the last one wins" in report.warnings()[0]
    # The ConfigMap; the cafe example: its Namespace, IngressClass, two Services and the
    # Ingress; zone-sync's and rate-limit's Namespace, Service and Ingress each.
    assert len(report.objects) == 12
    stored = dev_cluster.get_object("ConfigMap", "nginx-ingress", "nginx-config")
    assert stored is not None
    assert stored["data"]["zone-sync"] == "true"  # the last definition
    assert report.summary("examples") == (
        "seeded 12 objects from examples, creating namespace nginx-ingress for them"
    )


def test_a_namespace_in_the_seed_is_not_reported_as_created(
    tmp_path: Path, dev_cluster: DevCluster
) -> None:
    (tmp_path / "a.yaml").write_text(_configmap("team", "app", {"k": "v"}))
    (tmp_path / "b.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: team}\n")
    report = dev_cluster.seed_files([tmp_path])
    assert report.created_namespaces == ()
    assert [o.obj["kind"] for o in report.objects] == ["Namespace", "ConfigMap"]


def test_seed_dicts_create_missing_namespaces_too(dev_cluster: DevCluster) -> None:
    (stored,) = dev_cluster.seed(
        [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "new"}}]
    )
    assert stored["metadata"]["namespace"] == "new"
    assert dev_cluster.get_object("Namespace", "", "new") is not None


def test_a_json_list_is_read_fast_and_flattened(tmp_path: Path, dev_cluster: DevCluster) -> None:
    items = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}
        for name in ("one", "two")
    ]
    (tmp_path / "objects.json").write_bytes(orjson.dumps({"kind": "List", "items": items}))
    report = dev_cluster.seed_files([tmp_path / "objects.json"])
    assert [o.name for o in report.objects] == ["one", "two"]


@pytest.mark.parametrize(
    "name,content,message",
    [
        (
            "broken.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a\n",
            "broken.yaml: not valid YAML: line 4, column 1",
        ),
        (
            "broken.json",
            '{"apiVersion": "v1",\n "kind": "ConfigMap",\n "metadata": {"name": "a"}\n',
            "broken.json: not valid YAML: line 4",
        ),
        (
            "crd.yaml",
            "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n",
            "crd.yaml: document 1: example.com/v1 Widget is not served",
        ),
        (
            "anonymous.yaml",
            "---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {labels: {a: b}}\n",
            "anonymous.yaml: document 2: ConfigMap has no metadata.name",
        ),
        ("nokind.yaml", "metadata: {name: x}\n", "nokind.yaml: document 1: not a Kubernetes"),
        (
            "badname.yaml",
            _configmap("default", "Not_Valid", {}),
            "badname.yaml: document 1: ConfigMap default/Not_Valid: ConfigMap.core "
            '"Not_Valid" is invalid',
        ),
        (
            "badnamespace.yaml",
            _configmap("Bad_NS", "ok", {}),
            "badnamespace.yaml: document 1: ConfigMap Bad_NS/ok: "
            'Namespace.core "Bad_NS" is invalid',
        ),
    ],
)
def test_problems_are_one_line_naming_the_source(
    tmp_path: Path, dev_cluster: DevCluster, name: str, content: str, message: str
) -> None:
    (tmp_path / name).write_text(content)
    with pytest.raises(SeedError) as raised:
        dev_cluster.seed_files([tmp_path / name])
    text = str(raised.value)
    assert "\n" not in text
    assert text.startswith(str(tmp_path / name))
    assert message in text


def test_a_missing_path_is_a_seed_error(tmp_path: Path, dev_cluster: DevCluster) -> None:
    with pytest.raises(SeedError, match=r"missing\.yaml: cannot read: No such file"):
        dev_cluster.seed_yaml(tmp_path / "missing.yaml")


def test_seed_dicts_name_the_object_at_fault(dev_cluster: DevCluster) -> None:
    with pytest.raises(SeedError, match=r"^object 2: v1 Widget is not served"):
        dev_cluster.seed(
            [
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "fine"}},
                {"apiVersion": "v1", "kind": "Widget", "metadata": {"name": "w"}},
            ]
        )
