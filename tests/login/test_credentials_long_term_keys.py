"""Long-term access keys in the credentials file are never replaced by temporary credentials: AWS never shows their
secret again, so a login into their profile (`[default]` without --profile) would lose them for good."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from login_setup import samlfed

from samlfed.login.credentials_file import AwsCredentials, CredentialsFileError, replace_profile, write_profiles

CREDS = AwsCredentials("ASIANEW", "secret", "token", datetime(2030, 1, 1, tzinfo=UTC))
KEYS = "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"


def test_long_term_keys_are_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.write_text(KEYS)
    with pytest.raises(CredentialsFileError, match="long-term access keys"):
        write_profiles(path, {"default": CREDS})
    assert path.read_text() == KEYS
    write_profiles(path, {"saml": CREDS})  # another profile beside them is written as usual
    assert path.read_text().startswith(KEYS + "\n[saml]\naws_access_key_id = ASIANEW\n")


def test_temporary_credentials_are_replaced() -> None:
    before = KEYS + "aws_session_token = OLD\n"
    assert "ASIANEW" in replace_profile(before, "default", CREDS)


def test_login_refuses_before_signing_in(tmp_path: Path) -> None:
    credentials = tmp_path / ".aws" / "credentials"
    credentials.parent.mkdir()
    credentials.write_text(KEYS)
    done = samlfed(tmp_path, "login", "--endpoint", "http://127.0.0.1:9", "--assertion-file", str(tmp_path / "none.b64"))
    assert done.returncode == 2 and "profile default" in done.stderr and "long-term access keys" in done.stderr, done.stderr
    assert "cannot read" not in done.stderr  # refused before the assertion file is read, let alone a password asked for
    assert credentials.read_text() == KEYS
