"""A credentials file with a `[DEFAULT]` section (whose settings botocore gives every profile) takes a new profile."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from botocore.configloader import raw_config_parse

from samlfed.login.credentials_file import AwsCredentials, write_profiles

CREDS = AwsCredentials("ASIANEW", "secret", "token", datetime(2026, 12, 1, 13, 0, tzinfo=UTC))


def test_a_new_profile_is_written_beside_a_default_section(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    before = "[DEFAULT]\nregion = eu-west-1\n\n[prod]\naws_access_key_id = PROD\n"
    path.write_text(before)
    write_profiles(path, {"work": CREDS})
    text = path.read_text()
    assert text.startswith(before)
    read = raw_config_parse(str(path))
    assert read["work"]["aws_access_key_id"] == "ASIANEW" and read["work"]["region"] == "eu-west-1"
    assert read["prod"] == {"aws_access_key_id": "PROD", "region": "eu-west-1"}
