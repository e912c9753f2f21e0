"""The folder of manifests kept equal to the API: creates, replaces and deletes from file
edits, a broken file changing nothing, and objects the folder never defined left alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from nginx_ingress_dev.devcluster import DevCluster
from nginx_ingress_dev.localrun.folder import FolderSync, manifest_files


def _configmap(name: str, value: str, namespace: str = "team") -> str:
    return (
        f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: {namespace}}}\n"
        f"data: {{k: {value}}}\n"
    )


@pytest.fixture
def cluster() -> DevCluster:
    return DevCluster()  # never started: the store is what the folder writes to


def _data(cluster: DevCluster, name: str) -> str | None:
    found = cluster.get_object("ConfigMap", "team", name)
    return None if found is None else str(found["data"]["k"])


def test_files_become_creates_replaces_and_deletes(tmp_path: Path, cluster: DevCluster) -> None:
    (tmp_path / "a.yaml").write_text(_configmap("one", "1") + "---\n" + _configmap("two", "2"))
    folder = FolderSync(tmp_path, cluster.store)
    (report,) = folder.update(manifest_files(tmp_path))
    assert report.actions == (
        "created Namespace team for it",
        "created ConfigMap team/one",
        "created ConfigMap team/two",
    )
    (tmp_path / "a.yaml").write_text(_configmap("one", "changed"))
    (report,) = folder.update([tmp_path / "a.yaml"])
    assert report.actions == ("deleted ConfigMap team/two", "replaced ConfigMap team/one")
    assert (_data(cluster, "one"), _data(cluster, "two")) == ("changed", None)

    (tmp_path / "a.yaml").unlink()
    (report,) = folder.update([tmp_path / "a.yaml"])
    assert report.actions == ("deleted ConfigMap team/one",)
    assert _data(cluster, "one") is None


def test_an_unchanged_object_is_not_written_again(tmp_path: Path, cluster: DevCluster) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(_configmap("one", "1") + "---\n" + _configmap("two", "2"))
    folder = FolderSync(tmp_path, cluster.store)
    folder.update([path])
    before = cluster.store.resource_version
    path.write_text("# a comment\n" + path.read_text())
    assert folder.update([path]) == []
    assert cluster.store.resource_version == before


def test_a_file_that_does_not_parse_changes_nothing(tmp_path: Path, cluster: DevCluster) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(_configmap("one", "1"))
    folder = FolderSync(tmp_path, cluster.store)
    folder.update([path])
    path.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one\n")
    (report,) = folder.update([path])
    assert report.actions == ()
    (problem,) = report.problems
    assert problem.startswith(f"{path}: not valid YAML: line 4, column 1: ")
    assert problem.endswith("; its objects stay as they were")
    assert _data(cluster, "one") == "1"
    # A new file that does not parse applies nothing, and says so.
    (tmp_path / "b.yaml").write_text("{")
    (report,) = folder.update([tmp_path / "b.yaml"])
    assert report.problems[0].endswith("; nothing applied from it")


def test_objects_it_cannot_serve_are_skipped_with_their_source(
    tmp_path: Path, cluster: DevCluster
) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(
        "apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: c}\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: x-, namespace: team}\n---\n"
        + _configmap("one", "1")
    )
    (report,) = FolderSync(tmp_path, cluster.store).update([path])
    assert report.actions[-1] == "created ConfigMap team/one"
    assert report.problems[0].startswith(
        f"{path}: document 1: cert-manager.io/v1 Certificate is not served"
    )
    assert report.problems[1].startswith(f"{path}: document 2: ConfigMap has generateName")


def test_the_later_file_defines_a_duplicate_and_the_earlier_takes_over_when_it_goes(
    tmp_path: Path, cluster: DevCluster
) -> None:
    (tmp_path / "a.yaml").write_text(_configmap("one", "from-a"))
    (tmp_path / "b.yaml").write_text(_configmap("one", "from-b"))
    folder = FolderSync(tmp_path, cluster.store)
    folder.update(manifest_files(tmp_path))
    assert _data(cluster, "one") == "from-b"
    (tmp_path / "b.yaml").unlink()
    (report,) = folder.update([tmp_path / "b.yaml"])
    assert report.actions == ("replaced ConfigMap team/one",)
    assert _data(cluster, "one") == "from-a"


def test_objects_the_folder_did_not_define_are_left_alone(
    tmp_path: Path, cluster: DevCluster
) -> None:
    cluster.seed(
        [
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "mine", "namespace": "team"},
            }
        ]
    )
    path = tmp_path / "a.yaml"
    path.write_text(_configmap("one", "1"))
    folder = FolderSync(tmp_path, cluster.store)
    folder.update([path])
    path.unlink()
    folder.update([path])
    assert cluster.get_object("ConfigMap", "team", "mine") is not None


def test_hidden_files_and_other_suffixes_are_not_manifests(tmp_path: Path) -> None:
    for name in ("a.yaml", "b.json", "c.yml", ".a.yaml.swp", "a.yaml~", "notes.md"):
        (tmp_path / name).write_text("{}")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.yaml").write_text("{}")
    assert [p.name for p in manifest_files(tmp_path)] == ["a.yaml", "b.json", "c.yml"]
    assert manifest_files(tmp_path / "a.yaml") == [tmp_path / "a.yaml"]
