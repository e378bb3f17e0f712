"""Indented comment lines below old credentials are comments to botocore, not parts of a value: they stay."""

from __future__ import annotations

from datetime import UTC, datetime

from samlfed.login.credentials_file import AwsCredentials, replace_profile

CREDS = AwsCredentials("ASIANEW", "secret", "token", datetime(2026, 12, 1, 13, 0, tzinfo=UTC))
NEW = ("aws_access_key_id = ASIANEW\naws_secret_access_key = secret\naws_session_token = token\n"
       "x_security_token_expires = 2026-12-01T13:00:00Z\n")


def test_indented_comments_after_old_credentials_stay() -> None:
    before = "[work]\naws_session_token = OLD\n    # rotated by samlfed\n\t; see the wiki\n  OLDMORE\nregion = eu-west-1\n"
    after = "[work]\n" + NEW + "    # rotated by samlfed\n\t; see the wiki\nregion = eu-west-1\n"
    assert replace_profile(before, "work", CREDS) == after
