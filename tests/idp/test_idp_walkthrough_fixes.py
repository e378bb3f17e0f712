"""Walkthrough fixes of the built-in IdP: a later key rotation supersedes the ones scheduled before it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding

from samlfed.idp.directory import read_yaml
from samlfed.idp.keys import KeyStore


def _certificate(keys: KeyStore, now: datetime) -> bytes:
    return keys.signer(now).certificate.public_bytes(Encoding.DER)


def _published(keys: KeyStore, now: datetime) -> set[bytes]:
    return {certificate.public_bytes(Encoding.DER) for certificate in keys.published(now)}


def test_signing_never_moves_back_to_a_key_an_earlier_rotation_scheduled(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path / "keys")
    start = datetime.now(UTC)
    keys.rotate(start, timedelta(hours=24))
    keys.rotate(start, timedelta(hours=1))
    newest = keys.rotate(start, timedelta(0))
    for hours in (0, 2, 25, 24 * 30):
        assert keys.signing_entry(start + timedelta(hours=hours, seconds=1)).kid == newest.kid, hours


def test_the_latest_rotation_decides_and_the_metadata_holds_every_key_that_may_sign(tmp_path: Path) -> None:
    keys = KeyStore(tmp_path / "keys")
    start = datetime.now(UTC)
    first = keys.signing_entry(start)
    keys.rotate(start, timedelta(hours=24))
    hourly = keys.rotate(start, timedelta(hours=1))
    moments = [start + timedelta(minutes=minutes) for minutes in (1, 30, 61, 120, 24 * 60 + 1, 25 * 60)]
    assert [keys.signing_entry(m).kid for m in moments] == [first.kid] * 2 + [hourly.kid] * 4
    # A provider that registers the metadata at any of these moments trusts every key that signs afterwards.
    for index, registered in enumerate(moments):
        trusted = _published(keys, registered)
        assert all(_certificate(keys, later) in trusted for later in moments[index:]), registered
    # The next rotation forgets the superseded 24-hour key, and signing still moves forward only.
    after = keys.rotate(moments[-1], timedelta(hours=1))
    assert keys.signing_entry(moments[-1]).kid == hourly.kid
    assert keys.signing_entry(moments[-1] + timedelta(hours=2)).kid == after.kid
    assert [e.kid for e in keys.entries()][:2] == [hourly.kid, after.kid]


def _users(*args: str, idp_dir: Path, stdin: str | None = None):  # type: ignore[no-untyped-def]
    from typer.testing import CliRunner

    from samlfed.cli import app

    return CliRunner().invoke(app, ["idp", "users", *args, "--idp-dir", str(idp_dir)], input=stdin)


def test_users_commands_say_they_rewrite_idp_yaml_and_note_the_comments_they_drop(tmp_path: Path) -> None:
    idp_dir = tmp_path / "idp"
    added = _users("add", "dana", "--password", "dana's password", "--display-name", "Dana #1", idp_dir=idp_dir)
    assert added.exit_code == 0 and "rewritten without the comments" not in added.output  # a `#` inside a value is no comment
    for command in ("add", "passwd", "delete"):
        help_text = " ".join(_users(command, "--help", idp_dir=idp_dir).output.split())
        assert "Rewrites idp.yaml: its comments and formatting are not kept." in help_text
    config = idp_dir / "idp.yaml"
    config.write_text("# who may sign in\n" + config.read_text())
    changed = _users("passwd", "dana", "--password-stdin", idp_dir=idp_dir, stdin="a new password\n")
    assert changed.exit_code == 0 and changed.stderr == f"note: {config} was rewritten without the comments it held\n"
    assert "#" not in config.read_text().replace("Dana #1", "")
    deleted = _users("delete", "dana", idp_dir=idp_dir)
    assert deleted.exit_code == 0 and "note:" not in deleted.output


def test_the_demo_keeps_the_totp_secret_of_its_directory_across_restarts(tmp_path: Path) -> None:
    from samlfed.config import Settings
    from samlfed.idp.demo import seed
    from samlfed.idp.mount import identity_provider
    from samlfed.server import build_context

    def start() -> dict[str, str | None]:
        settings = Settings(data_dir=tmp_path, with_idp=True)
        seeded = seed(build_context(settings), identity_provider(settings), settings.base_url, tmp_path)
        return {user.username: user.totp_secret or user.password for user in seeded.users}

    first, second = start(), start()
    assert first["admin"] == second["admin"] and first["alice"] != second["alice"]  # passwords stay fresh
    assert read_yaml(tmp_path / "idp" / "idp.yaml")["users"]["admin"]["totp_secret"] == second["admin"]


def test_passwd_names_a_missing_user_before_asking_for_a_password(tmp_path: Path) -> None:
    idp_dir = tmp_path / "idp"
    assert _users("add", "dana", "--password", "dana's password", idp_dir=idp_dir).exit_code == 0
    from typer.testing import CliRunner

    from samlfed.cli import app

    piped = CliRunner().invoke(app, ["idp", "users", "passwd", "nobody", "--idp-dir", str(idp_dir)], input="one line only\n")
    assert piped.exit_code == 2 and "no user 'nobody'" in piped.output and "differ" not in piped.output
