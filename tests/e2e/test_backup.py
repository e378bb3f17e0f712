"""`samlfed backup` of a data directory while `samlfed serve` writes to it: the copy is consistent, holds the writes
still in the WAL, and serves as the original did (its admin keys and live sessions work); refusals leave nothing."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from saml_factory import DEV_ROLE, PROVIDER_ARN, response_b64
from servers import SAMLFED
from test_cluster import cli, clients, register, serving, session_sts

from samlfed.store.migrate import head_revision


def backup(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SAMLFED, "backup", *args], env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=120)


def role_names(database: Path) -> set[str]:
    with sqlite3.connect(database) as db:
        return {name for (name,) in db.execute("SELECT name FROM roles")}


def test_a_backup_taken_while_serving_is_consistent_and_serves(tmp_path: Path) -> None:
    data, copies = tmp_path / "data", tmp_path / "copies"
    admin = cli("accounts", "create", "--id", "111111111111", "--data-dir", str(data), "--json")
    with serving("--data-dir", str(data)) as url:
        iam, sts = clients(url, admin)
        register(iam)
        credentials = sts.assume_role_with_saml(RoleArn=DEV_ROLE, PrincipalArn=PROVIDER_ARN, SAMLAssertion=response_b64(issue_instant=datetime.now(UTC)))["Credentials"]
        trust = iam.get_role(RoleName="Developer")["Role"]["AssumeRolePolicyDocument"]

        # Backups while roles are created one after the other: each copy holds a prefix of them, never a gap.
        def create_roles() -> None:
            for n in range(40):
                iam.create_role(RoleName=f"Batch{n:02d}", AssumeRolePolicyDocument=json.dumps(trust))

        writer = threading.Thread(target=create_roles)
        writer.start()
        during = [backup(str(copies / f"during{n}"), "--data-dir", str(data), "--json") for n in range(3)]
        writer.join(timeout=120)
        for done in during:
            assert done.returncode == 0, done.stderr
            made = json.loads(done.stdout)
            assert (made["SchemaVersion"], made["MasterKeyCopied"], made["Opened"]) == (head_revision(), True, True)
            batch = sorted(name for name in role_names(Path(made["Destination"]) / "samlfed.db") if name.startswith("Batch"))
            assert batch == [f"Batch{n:02d}" for n in range(len(batch))]

        # With the server still running, the latest writes are in samlfed.db-wal: a copy of samlfed.db alone lacks
        # them (what this command exists for), the backup has them.
        shutil.copyfile(data / "samlfed.db", tmp_path / "plain-copy.db")
        assert "Batch39" not in role_names(tmp_path / "plain-copy.db")
        final = backup(str(copies / "final"), "--data-dir", str(data))
        assert final.returncode == 0, final.stderr
        assert f"to {copies / 'final'}" in final.stdout
    restored = copies / "final"
    assert oct(restored.stat().st_mode & 0o777) == "0o700"
    assert {p.name: oct(p.stat().st_mode & 0o777) for p in restored.iterdir()} == {"samlfed.db": "0o600", "master.key": "0o600"}
    assert {f"Batch{n:02d}" for n in range(40)} <= role_names(restored / "samlfed.db")

    with serving("--data-dir", str(restored)) as url:
        iam, _ = clients(url, admin)  # the admin secret, sealed under the copied master key
        assert iam.get_role(RoleName="Batch39")["Role"]["RoleName"] == "Batch39"
        assert session_sts(url, credentials).get_caller_identity()["Arn"].endswith("assumed-role/Developer/alice@example.com")


def test_refusals_say_why_and_leave_nothing_behind(tmp_path: Path) -> None:
    data = tmp_path / "data"
    cli("accounts", "create", "--data-dir", str(data), "--json")
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "keep.txt").write_text("mine")

    refused = backup(str(occupied), "--data-dir", str(data))
    assert (refused.returncode, refused.stderr.strip()) == (2, f"samlfed: no backup made: {occupied} exists and is not an empty directory")
    assert [p.name for p in occupied.iterdir()] == ["keep.txt"]

    refused = backup(str(tmp_path / "copy"), "--data-dir", str(tmp_path / "nothing"))
    assert (refused.returncode, "it holds no samlfed.db" in refused.stderr) == (2, True)

    for inside in (data / "backups" / "today", data):  # lost with what it copies
        refused = backup(str(inside), "--data-dir", str(data))
        assert (refused.returncode, refused.stderr.strip()) == (2, f"samlfed: no backup made: {inside} is inside {data}: a backup there is lost with what it copies; make it elsewhere")
    assert not (data / "backups").exists()

    without_key = tmp_path / "without-key"
    shutil.copytree(data, without_key)
    (without_key / "master.key").unlink()
    refused = backup(str(tmp_path / "copy"), "--data-dir", str(without_key))
    assert (refused.returncode, "without the master key a backup restores nothing" in refused.stderr) == (2, True)

    wrong_key = {"SAMLFED_MASTER_KEY": "A" * 43 + "="}  # 32 bytes, not this data directory's key
    refused = backup(str(tmp_path / "copy"), "--data-dir", str(without_key), env=wrong_key)
    assert (refused.returncode, "the copy does not open" in refused.stderr) == (2, True)
    assert not (tmp_path / "copy").exists()  # the half-made copy is removed

    refused = backup(str(tmp_path / "copy"), env={"SAMLFED_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1/test"})
    assert (refused.returncode, "back up PostgreSQL with pg_dump" in refused.stderr) == (2, True)


def test_a_damaged_database_is_not_backed_up_as_if_it_were_sound(tmp_path: Path) -> None:
    data = tmp_path / "data"
    cli("accounts", "create", "--data-dir", str(data), "--json")
    with (data / "samlfed.db").open("r+b") as database:  # pages past the header overwritten
        database.seek(8192)
        database.write(b"\xa5" * 16384)
    refused = backup(str(tmp_path / "copy"), "--data-dir", str(data))
    assert refused.returncode == 2 and "no backup made" in refused.stderr, refused.stderr
    assert not (tmp_path / "copy").exists()


def test_the_help_says_what_the_copy_is() -> None:
    done = subprocess.run([SAMLFED, "backup", "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "while samlfed runs" in " ".join(done.stdout.split())


def test_the_built_in_idps_files_go_along_and_keep_their_modes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    cli("accounts", "create", "--data-dir", str(data), "--json")
    metadata = subprocess.run([SAMLFED, "idp", "metadata", "--data-dir", str(data)], capture_output=True, text=True, check=True, timeout=60).stdout
    done = backup(str(tmp_path / "copy"), "--data-dir", str(data), "--json")
    assert done.returncode == 0 and json.loads(done.stdout)["IdpCopied"] is True, done.stderr
    original = {p.relative_to(data / "idp"): p.stat().st_mode for p in (data / "idp").rglob("*")}
    copied = {p.relative_to(tmp_path / "copy" / "idp"): p.stat().st_mode for p in (tmp_path / "copy" / "idp").rglob("*")}
    assert copied == original and any(p.parts[0] == "keys" for p in copied)
    again = subprocess.run([SAMLFED, "idp", "metadata", "--data-dir", str(tmp_path / "copy")], capture_output=True, text=True, check=True, timeout=60).stdout
    assert again == metadata  # the same signing keys


def test_a_failed_backup_empties_the_directory_it_was_given_and_keeps_it(tmp_path: Path) -> None:
    """The operator's own empty directory (or one reached through a symbolic link) stays, empty; one made for the
    copy goes. Before, a symbolic link kept the copied database and master key, and an own directory was removed."""
    data = tmp_path / "data"
    cli("accounts", "create", "--data-dir", str(data), "--json")
    wrong_key = {"SAMLFED_MASTER_KEY": "A" * 43 + "="}  # not this data directory's key: the copy does not open
    (data / "master.key").unlink()
    given, target = tmp_path / "given", tmp_path / "target"
    given.mkdir()
    target.mkdir()
    (tmp_path / "link").symlink_to(target)
    for destination in (given, tmp_path / "link", tmp_path / "made" / "here"):
        refused = backup(str(destination), "--data-dir", str(data), env=wrong_key)
        assert (refused.returncode, "the copy does not open" in refused.stderr) == (2, True), refused.stderr
    assert (given.is_dir(), list(given.iterdir())) == (True, [])
    assert ((tmp_path / "link").is_symlink(), list(target.iterdir())) == (True, [])
    assert not (tmp_path / "made" / "here").exists()


def test_a_file_of_the_idp_that_cannot_be_copied_is_a_refusal_not_a_traceback(tmp_path: Path) -> None:
    data = tmp_path / "data"
    cli("accounts", "create", "--data-dir", str(data), "--json")
    (data / "idp").mkdir()
    with socket.socket(socket.AF_UNIX) as held:  # a socket file: reading it fails (ENXIO), even as root
        held.bind(str(data / "idp" / "control.sock"))
        refused = backup(str(tmp_path / "copy"), "--data-dir", str(data))
    assert refused.returncode == 2 and "no backup made: cannot write the copy into" in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr and not (tmp_path / "copy").exists()


def _backup_signalled(
    tmp_path: Path, data: Path, destination: Path, signum: int, after: str = "_check_opens",
) -> subprocess.CompletedProcess[str]:
    """`samlfed backup` in a process that receives `signum` right after the step `after` of backup.py: by default
    just before the copy would be complete (after it was opened, before the database takes its name), the moment
    a signal leaves the most behind."""
    script = tmp_path / "signalled_backup.py"
    script.write_text(
        "import os, sys\n"
        "from samlfed import backup\n"
        "from samlfed.cli import main\n"
        f"step = backup.{after}\n"
        "def step_then_signalled(*args, **kwargs):\n"
        "    step(*args, **kwargs)\n"
        f"    os.kill(os.getpid(), {int(signum)})\n"
        f"backup.{after} = step_then_signalled\n"
        f"sys.argv = ['samlfed', 'backup', {str(destination)!r}, '--data-dir', {str(data)!r}]\n"
        "main()\n"
    )
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)


def test_a_backup_stopped_by_sigterm_leaves_nothing(tmp_path: Path) -> None:
    """`timeout`, cron and systemd stop with SIGTERM: before, it left a database without its master key, or a master
    key beside an empty database, from which samlfed started as a new, empty install."""
    data = tmp_path / "data"
    cli("accounts", "create", "--data-dir", str(data), "--json")
    stopped = _backup_signalled(tmp_path, data, tmp_path / "copy", signal.SIGTERM)
    assert stopped.returncode == 128 + signal.SIGTERM, stopped.stderr
    assert "no backup made: stopped by SIGTERM" in stopped.stderr and "Traceback" not in stopped.stderr
    assert not (tmp_path / "copy").exists()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_signal_once_the_copy_is_whole_does_not_turn_it_into_a_failure(tmp_path: Path, signum: signal.Signals) -> None:
    """Found by probing: a signal after the database took its name (while the result was printed, say) ended the
    command with 128 + N, the failure operations.md promises leaves nothing, beside a complete backup."""
    data = tmp_path / "data"
    cli("accounts", "create", "--data-dir", str(data), "--json")
    done = _backup_signalled(tmp_path, data, tmp_path / "copy", signum, after="_sync_directory")
    assert done.returncode == 0 and f"backed up {data} to {tmp_path / 'copy'}" in done.stdout, done.stderr
    listed = subprocess.run([SAMLFED, "accounts", "list", "--data-dir", str(tmp_path / "copy")], capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0 and listed.stdout.strip(), listed.stderr


def test_a_backup_killed_before_it_is_complete_is_no_data_directory_that_starts(tmp_path: Path) -> None:
    """SIGKILL leaves no chance to clean up: what is left has the master key but no samlfed.db yet, which samlfed refuses
    to start from rather than start empty."""
    data = tmp_path / "data"
    cli("accounts", "create", "--data-dir", str(data), "--json")
    killed = _backup_signalled(tmp_path, data, tmp_path / "copy", signal.SIGKILL)
    assert killed.returncode == -signal.SIGKILL
    assert (tmp_path / "copy" / "master.key").exists() and not (tmp_path / "copy" / "samlfed.db").exists()
    refused = subprocess.run([SAMLFED, "accounts", "list", "--data-dir", str(tmp_path / "copy")], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "holds master.key but no samlfed.db: restore the database from your backup" in refused.stderr, refused.stderr


def test_another_users_empty_directory_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its owner could plant a link in it for the master key (written through it by a root backup) or swap the copy
    before it is restored: only a directory of the operator's own is used."""
    from samlfed.backup import BackupError, back_up

    data = tmp_path / "data"
    cli("accounts", "create", "--data-dir", str(data), "--json")
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o777)
    monkeypatch.setattr(os, "geteuid", lambda: theirs.stat().st_uid + 1)  # as if another user made it
    with pytest.raises(BackupError) as refused:
        back_up(data, theirs, now=datetime.now(UTC))
    assert str(refused.value) == f"{theirs} belongs to another user: back up into a directory of your own"
    assert list(theirs.iterdir()) == []


def test_the_master_key_is_never_written_through_a_link(tmp_path: Path) -> None:
    from samlfed.backup import _write_new_private

    victim = tmp_path / "victim"
    victim.write_text("keep")
    (tmp_path / "master.key").symlink_to(victim)
    with pytest.raises(FileExistsError):
        _write_new_private(tmp_path / "master.key", b"k" * 32)
    assert victim.read_text() == "keep"


def test_another_users_link_to_a_directory_of_ours_is_refused(tmp_path: Path) -> None:
    """Its owner could point it elsewhere between the check and the writes. Handing the link to another user takes
    root: the suite runs as root here and in CI."""
    from samlfed.backup import BackupError, back_up

    data = tmp_path / "data"
    cli("accounts", "create", "--data-dir", str(data), "--json")
    ours, link = tmp_path / "ours", tmp_path / "link"
    ours.mkdir()
    link.symlink_to(ours)
    os.lchown(link, 12345, 12345)
    with pytest.raises(BackupError) as refused:
        back_up(data, link, now=datetime.now(UTC))
    assert str(refused.value) == f"{link} belongs to another user: back up into a directory of your own"
    assert list(ours.iterdir()) == []


def test_a_destination_reached_through_a_directory_others_may_change_is_refused(tmp_path: Path) -> None:
    """Whoever may rename entries of a directory on the way (one that only holds a link on the way, too) could swap
    the new backup directory, or a link to it, for one of their own between the checks and the writes, and receive
    the master key. Giving directories to another user takes root: the suite runs as root here and in CI."""
    data = tmp_path / "data"
    cli("accounts", "create", "--data-dir", str(data), "--json")
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    os.chown(theirs, 12345, 12345)
    mine, safe = tmp_path / "mine", tmp_path / "safe"
    mine.mkdir()
    safe.mkdir()
    (mine / "to-shared").symlink_to(shared)  # as given, every directory is ours; where the link leads, not
    (shared / "to-safe").symlink_to(safe)
    (mine / "through-shared").symlink_to(shared / "to-safe")  # leads to a safe directory, through a link others may swap

    for destination, unsafe, why in (
        (shared / "backups" / "copy", shared, "can be changed by other users (mode 0777)"),
        (theirs / "copy", theirs, "belongs to another user"),
        (mine / "to-shared" / "copy", shared, "can be changed by other users (mode 0777)"),
        (mine / "through-shared" / "copy", shared, "can be changed by other users (mode 0777)"),
    ):
        refused = backup(str(destination), "--data-dir", str(data))
        assert refused.returncode == 2, refused.stderr
        assert refused.stderr.startswith(f"samlfed: no backup made: {unsafe} {why}, who could swap the backup directory for one of their own"), refused.stderr
    assert [p.name for p in shared.iterdir()] == ["to-safe"] and list(theirs.iterdir()) == [] and list(safe.iterdir()) == []  # nothing made

    shared.chmod(0o1777)  # with the sticky bit, as /tmp: others cannot rename what is not theirs
    made = backup(str(shared / "copy"), "--data-dir", str(data))
    assert made.returncode == 0, made.stderr
    assert (shared / "copy" / "master.key").is_file()


def test_directories_made_on_the_way_are_writable_by_no_one_else(tmp_path: Path) -> None:
    data = tmp_path / "data"
    cli("accounts", "create", "--data-dir", str(data), "--json")
    made = subprocess.run(
        ["sh", "-c", f'umask 000 && exec "{SAMLFED}" backup "$0" --data-dir "$1"', str(tmp_path / "new" / "deeper" / "copy"), str(data)],
        capture_output=True, text=True, timeout=120,
    )
    assert made.returncode == 0, made.stderr
    assert [oct(stat.S_IMODE((tmp_path / name).stat().st_mode)) for name in ("new", "new/deeper", "new/deeper/copy")] == ["0o755", "0o755", "0o700"]
