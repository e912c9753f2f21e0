"""The conf dir is taken only when it is missing, empty, or ours (our marker file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nginx_ingress.nginx.ownership import MARKER, ConfDirError, claim


def take(directory: Path, take_over: bool = False) -> None:
    claim(directory, take_over=take_over, flag="-conf-dir", take_over_flag="-take-over-conf-dir")


def test_a_missing_directory_is_created_and_marked(tmp_path: Path) -> None:
    take(tmp_path / "a" / "conf")
    assert (tmp_path / "a" / "conf" / MARKER).is_file()


def test_an_empty_directory_is_marked(tmp_path: Path) -> None:
    take(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [MARKER]


def test_a_directory_we_marked_is_ours_whatever_it_holds(tmp_path: Path) -> None:
    take(tmp_path)
    (tmp_path / "nginx.conf").write_text("# ours\n")
    (tmp_path / "conf.d").mkdir()
    take(tmp_path)


def test_files_of_others_are_refused_and_left_alone(tmp_path: Path) -> None:
    for name in ("nginx.conf", "mime.types", "koi-utf", "koi-win", "fastcgi.conf", "win-utf"):
        (tmp_path / name).write_text("theirs")
    with pytest.raises(ConfDirError) as refused:
        take(tmp_path)
    message = str(refused.value)
    assert message.startswith(f"-conf-dir {tmp_path} holds files nginx-ingress did not write")
    assert "(fastcgi.conf, koi-utf, koi-win, mime.types, nginx.conf …)" in message
    assert "pass -take-over-conf-dir" in message
    assert not (tmp_path / MARKER).exists()
    assert all(p.read_text() == "theirs" for p in tmp_path.iterdir())


def test_a_hidden_file_of_others_counts_too(tmp_path: Path) -> None:
    (tmp_path / ".staging").mkdir()
    with pytest.raises(ConfDirError, match=r"\(\.staging\)"):
        take(tmp_path)


def test_take_over_marks_a_directory_of_others(tmp_path: Path) -> None:
    (tmp_path / "nginx.conf").write_text("theirs")
    take(tmp_path, take_over=True)
    assert (tmp_path / MARKER).is_file()
    take(tmp_path)  # from now on without the flag


def test_a_file_where_the_directory_should_be(tmp_path: Path) -> None:
    (tmp_path / "conf").write_text("")
    with pytest.raises(ConfDirError, match=f"-conf-dir {tmp_path / 'conf'} is not a directory"):
        take(tmp_path / "conf")


def test_a_directory_it_cannot_write(tmp_path: Path) -> None:
    """Under a file, so that it fails as root too."""
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfDirError, match=r"cannot write -conf-dir .*: Not a directory"):
        take(tmp_path / "file" / "conf")
