"""A profile that holds the session token under its older name, aws_security_token (as saml2aws writes it beside
aws_session_token, and tools of the boto 2 era instead of it): botocore reads that name first, so login writes the new
token there too, or AWS tools would sign with the new keys and the old session's token."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import botocore.session
import pytest

from samlfed.login.credentials_file import AwsCredentials, write_profiles

CREDS = AwsCredentials("ASIANEW", "newsecret", "NEWTOKEN", datetime(2030, 1, 1, tzinfo=UTC))
SAML2AWS = (
    "[saml]\naws_access_key_id        = ASIAOLD\naws_secret_access_key    = oldsecret\naws_session_token        = OLDTOKEN\n"
    "aws_security_token       = OLDTOKEN\nx_principal_arn          = arn:aws:sts::111111111111:assumed-role/Developer/alice\n"
    "x_security_token_expires = 2026-12-01T12:00:00Z\n"
)


def _read_by_botocore(path: Path, profile: str, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str, str | None]:
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(path))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(path.parent / "no-config"))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    frozen = botocore.session.Session(profile=profile).get_credentials().get_frozen_credentials()
    return frozen.access_key, frozen.secret_key, frozen.token


@pytest.mark.parametrize("before", [SAML2AWS, SAML2AWS.replace("aws_session_token        = OLDTOKEN\n", "")])
def test_botocore_reads_the_new_token_from_a_profile_with_the_older_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, before: str) -> None:
    """The second file has only aws_security_token: a temporary profile too, not long-term keys to keep."""
    path = tmp_path / "credentials"
    path.write_text(before)
    write_profiles(path, {"saml": CREDS})
    assert _read_by_botocore(path, "saml", monkeypatch) == ("ASIANEW", "newsecret", "NEWTOKEN")
    assert "OLDTOKEN" not in path.read_text() and "x_principal_arn" in path.read_text()  # what samlfed does not write stays


def test_a_token_under_the_older_name_in_the_default_section_is_overridden(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "credentials"
    path.write_text("[DEFAULT]\naws_security_token = OLDTOKEN\n")
    write_profiles(path, {"work": CREDS})
    assert _read_by_botocore(path, "work", monkeypatch) == ("ASIANEW", "newsecret", "NEWTOKEN")


def test_a_profile_without_the_older_name_does_not_get_it(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    write_profiles(path, {"work": CREDS})
    assert "aws_security_token" not in path.read_text()
