"""~/.aws/credentials as botocore reads it: headers with comments, spacing, indentation; links, modes, `~`."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from botocore.configloader import raw_config_parse

from samlfed.login.credentials_file import AwsCredentials, CredentialsFileError, credentials_path, replace_profile, write_profiles

CREDS = AwsCredentials("ASIANEW", "secret", "token", datetime(2026, 12, 1, 13, 0, tzinfo=UTC))
MINE = {"aws_access_key_id": "ASIANEW", "aws_secret_access_key": "secret", "aws_session_token": "token",
        "x_security_token_expires": "2026-12-01T13:00:00Z"}


@pytest.mark.parametrize(
    ("before", "name"),
    [
        ("[prod] ; production keys\naws_access_key_id = PROD\n\n[default]\naws_access_key_id = OLD\n", "work"),
        ("[prod] ; production keys\naws_access_key_id = PROD\n\n[default]\naws_access_key_id = OLD\n", "default"),
        ("[work]\naws_access_key_id = OLD\n[prod] ; production keys\naws_access_key_id = PROD\n", "work"),
        ("[default] # mine\naws_access_key_id = OLD\n[prod]\naws_access_key_id = PROD\n", "default"),
        ("[default]# mine\r\naws_access_key_id = OLD\r\n[prod]\r\naws_access_key_id = PROD", "default"),
        ("[ prod ]\naws_access_key_id = SPACED\n[prod ]\nx = 1\n", "prod"),
        ("  [prod]\naws_access_key_id = INDENTED\n[a]b]\nz = 3\n", "prod"),
        ("[a]b]\nz = 3\n", "a"),
        ("[work]\nkey = value\n  [prod]\n  continued = yes\n[next]\nx = 1\n", "work"),  # "  [prod]" continues a value
        ("# only comments\n; here\n", "work"),
        ("[DEFAULT]\nregion = eu-west-1\n[prod]\nx = 1\n", "prod"),
    ],
)
def test_botocore_reads_every_other_profile_unchanged(tmp_path: Path, before: str, name: str) -> None:
    path = tmp_path / "credentials"
    path.write_bytes(before.encode())
    old = raw_config_parse(str(path))
    write_profiles(path, {name: CREDS})
    new = raw_config_parse(str(path))
    assert {k: v for k, v in new.items() if k != name} == {k: v for k, v in old.items() if k != name}
    assert {k: new[name][k] for k in MINE} == MINE


def test_a_header_comment_is_kept_and_no_second_section_is_added() -> None:
    before = "[default] # mine\naws_access_key_id = OLD\n\n[prod] ; production keys\naws_access_key_id = PROD\n"
    after = replace_profile(before, "default", CREDS)
    assert after.startswith("[default] # mine\naws_access_key_id = ASIANEW\n") and after.count("[default]") == 1
    assert after.endswith("\n\n[prod] ; production keys\naws_access_key_id = PROD\n")
    assert replace_profile(before, "work", CREDS).startswith(before)


@pytest.mark.parametrize(
    "before",
    [b"[a]\nx = 1\n[a]\ny = 2\n", b"[a]\nkey = caf\xe9\n", b"x = 1\n[a]\n", b"[a]\nno delimiter here\n"],
)
def test_a_file_botocore_cannot_read_is_left_alone(tmp_path: Path, before: bytes) -> None:
    path = tmp_path / "credentials"
    path.write_bytes(before)
    with pytest.raises(CredentialsFileError, match="credentials"):
        write_profiles(path, {"work": CREDS})
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    ("before", "credentials"),
    [
        ("[a]\n[p]\n  [b]\nk = v\n", CREDS),  # "  [b]" is a header after [p], a value line after our keys
        ("[a]\nx = 1\n", AwsCredentials("ASIA", "s", "token\n[a]\nx = 2", CREDS.expiration)),  # a server's line break
    ],
)
def test_an_edit_that_would_change_another_profile_is_refused(before: str, credentials: AwsCredentials) -> None:
    with pytest.raises(CredentialsFileError, match="left as it is"):
        replace_profile(before, "p", credentials)


@pytest.mark.parametrize("name", ["", " p", "p\n[a]", "DEFAULT"])
def test_names_botocore_would_not_read_back_are_refused(name: str) -> None:
    with pytest.raises(CredentialsFileError):
        replace_profile("", name, CREDS)


def test_a_symlinked_file_is_written_through_the_link(tmp_path: Path) -> None:
    target = tmp_path / "dotfiles" / "aws-credentials"
    target.parent.mkdir()
    target.write_text("[other]\nx = 1\n")
    target.chmod(0o400)
    link = tmp_path / ".aws" / "credentials"
    link.parent.mkdir()
    link.symlink_to(target)
    write_profiles(link, {"work": CREDS})
    assert link.is_symlink() and "[other]\nx = 1\n" in target.read_text() and "ASIANEW" in target.read_text()
    assert stat.S_IMODE(target.stat().st_mode) == 0o400  # stricter than 0600: kept
    assert sorted(p.name for p in target.parent.iterdir()) == ["aws-credentials"]


def test_the_variable_is_expanded_as_botocore_expands_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/creds2")
    assert credentials_path() == tmp_path / ".aws" / "creds2"
    monkeypatch.setenv("WHERE", "elsewhere")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "~/$WHERE/creds")
    assert credentials_path() == tmp_path / "elsewhere" / "creds"


def test_a_file_where_a_directory_should_be_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "g").write_text("a file")
    with pytest.raises(CredentialsFileError, match="is not a directory"):
        write_profiles(tmp_path / "g" / "creds", {"work": CREDS})
