"""Secret files: written owner-only from the start, complete or not at all; created once even when processes race."""

from __future__ import annotations

import errno
import stat
from pathlib import Path

import pytest

from samlfed.files import directories_on_the_way, read_or_create_private, write_private


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_write_private_replaces_whole_and_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "dir" / "secret"
    write_private(path, b"one")
    write_private(path, b"two")
    assert path.read_bytes() == b"two" and mode(path) == 0o600 and mode(path.parent) == 0o700
    assert [p.name for p in path.parent.iterdir()] == ["secret"]  # no temporary left behind


def test_read_or_create_private_creates_once(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "master.key"
    made: list[int] = []

    def make() -> bytes:
        made.append(1)
        return b"first"

    assert read_or_create_private(path, make) == b"first"
    assert read_or_create_private(path, lambda: b"second") == b"first"
    assert made == [1] and mode(path) == 0o600 and mode(path.parent) == 0o700


def test_read_or_create_private_keeps_the_winner_of_a_race(tmp_path: Path) -> None:
    path = tmp_path / "session.secret"

    def make_while_another_process_wins() -> bytes:
        path.write_bytes(b"theirs")  # another worker creates the file while this one is writing
        return b"ours"

    assert read_or_create_private(path, make_while_another_process_wins) == b"theirs"
    assert [p.name for p in tmp_path.iterdir()] == ["session.secret"]


def test_write_private_writes_through_a_symlink(tmp_path: Path) -> None:
    target = tmp_path / "real" / "secret"
    target.parent.mkdir()
    target.write_bytes(b"old")
    target.chmod(0o644)
    link = tmp_path / "link"
    link.symlink_to(Path("real") / "secret")  # relative, as dotfile managers make them
    write_private(link, b"new")
    assert link.is_symlink() and target.read_bytes() == b"new"
    assert mode(target) == 0o600  # 0644 is not stricter: owner-only
    assert [p.name for p in target.parent.iterdir()] == ["secret"]


def test_write_private_keeps_a_stricter_mode(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_bytes(b"old")
    path.chmod(0o400)
    write_private(path, b"new")
    assert path.read_bytes() == b"new" and mode(path) == 0o400
    path.chmod(0o000)  # not even the owner could read it: 0600 rather than keep that
    write_private(path, b"newer")
    assert mode(path) == 0o600


def test_write_private_creates_the_target_of_a_dangling_link(tmp_path: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "later" / "secret")
    write_private(link, b"data")
    assert link.is_symlink() and (tmp_path / "later" / "secret").read_bytes() == b"data"


def test_the_way_to_a_path_is_walked_as_the_kernel_walks_it(tmp_path: Path) -> None:
    """Links are followed where they stand, '..' after them; directories holding a link on the way count too."""
    tmp_path = tmp_path.resolve()
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "c" / "d").mkdir(parents=True)
    (tmp_path / "a" / "to-d").symlink_to("../c/d")  # relative to the directory holding it
    (tmp_path / "c" / "to-a").symlink_to(tmp_path / "a")
    way = directories_on_the_way(tmp_path / "a" / "to-d" / ".." / "to-a" / "b" / "new" / "copy")
    assert way == [*reversed(tmp_path.parents), tmp_path, tmp_path / "a", tmp_path / "c", tmp_path / "c" / "d", tmp_path / "a" / "b"]
    assert directories_on_the_way(tmp_path / "a" / "b") == way[: way.index(tmp_path / "a") + 1]  # not the path itself
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    with pytest.raises(OSError) as looped:
        directories_on_the_way(tmp_path / "loop" / "copy")
    assert looped.value.errno == errno.ELOOP


def test_the_new_content_is_on_disk_before_it_takes_the_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """write_private and read_or_create_private renamed (linked) the temporary file into place without fsync: after a
    crash soon after, the name could stand on an empty file (delayed allocation), neither the old content nor the new."""
    import os

    from samlfed import files

    events: list[tuple[str, str]] = []
    real_fsync, real_replace, real_link = os.fsync, os.replace, os.link

    def fsync(fd: int) -> None:
        events.append(("fsync", Path(os.readlink(f"/proc/self/fd/{fd}")).name))
        real_fsync(fd)

    def replace(source: str, target: Path) -> None:
        events.append(("rename", Path(source).name))
        real_replace(source, target)

    def link(source: str, target: Path) -> None:
        events.append(("rename", Path(source).name))
        real_link(source, target)

    monkeypatch.setattr(files.os, "fsync", fsync)
    monkeypatch.setattr(files.os, "replace", replace)
    monkeypatch.setattr(files.os, "link", link)
    write_private(tmp_path / "secret", b"one")
    read_or_create_private(tmp_path / "master.key", lambda: b"key")
    assert [kind for kind, _ in events] == ["fsync", "rename", "fsync", "rename"]
    assert events[0][1] == events[1][1] and events[2][1] == events[3][1]  # the temporary file itself, before its rename
