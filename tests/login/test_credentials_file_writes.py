"""Writing ~/.aws/credentials when other writers and the file system get in the way: logins at once, a directory
that takes no new file, and a duration of 0."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from login_setup import samlfed, write_profile

from samlfed.login import credentials_file
from samlfed.login.aws_ini import parse
from samlfed.login.credentials_file import CredentialsFileError, read_text

WRITES = 60
WRITER = """
import sys
from datetime import UTC, datetime
from pathlib import Path
from samlfed.login.credentials_file import AwsCredentials, write_profiles

path, tag, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
for n in range(count):
    write_profiles(path, {f"{tag}{n}": AwsCredentials(f"ASIA{tag}{n}", "secret", "token", datetime(2030, 1, 1, tzinfo=UTC))})
"""


def test_logins_at_once_keep_every_profile(tmp_path: Path) -> None:
    """Without the lock, each writer renamed over the file as it read it before the other's write: profiles were lost
    (a probe counted 55 and 106 of 150 each)."""
    path = tmp_path / ".aws" / "credentials"
    env = {"HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / ".cache"), "PATH": ""}
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), tag, str(WRITES)], env=env) for tag in ("a", "b")]
    assert [writer.wait(timeout=300) for writer in writers] == [0, 0]
    profiles = parse(path.read_text(), str(path)).profiles
    assert sorted(profiles) == sorted(f"{tag}{n}" for tag in "ab" for n in range(WRITES))
    assert profiles["b7"]["aws_access_key_id"] == "ASIAb7"
    lock = tmp_path / ".cache" / "samlfed" / "aws-credentials.lock"
    assert lock.stat().st_mode & 0o777 == 0o600


def test_a_directory_that_takes_no_new_file_is_found_out_before_the_sign_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """read_text runs before the password prompt. The tests run as root, whom permissions do not stop, so the
    directory's refusal (a read-only or immutable directory) is what the file system would raise."""
    def refused(**_: object) -> None:
        raise PermissionError(13, "Operation not permitted")

    path = tmp_path / "credentials"
    path.write_text("[other]\naws_access_key_id = K\n")
    monkeypatch.setattr(credentials_file.tempfile, "TemporaryFile", refused)
    with pytest.raises(CredentialsFileError, match=f"^cannot write {path}: Operation not permitted$"):
        read_text(path)


def test_a_directory_that_takes_a_new_file_leaves_nothing_behind(tmp_path: Path) -> None:
    path = tmp_path / "credentials"
    path.write_text("[other]\naws_access_key_id = K\n")
    assert read_text(path).startswith("[other]")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["credentials"]


def test_a_duration_of_zero_is_refused(tmp_path: Path) -> None:
    write_profile(tmp_path, "http://127.0.0.1:9", duration=3600)
    done = samlfed(tmp_path, "login", "--profile", "demo", "--duration", "0", "--print", "json", "--assertion-file", "-", stdin="x")
    assert done.returncode == 2 and "--duration must be from 900 to 43200 seconds" in done.stderr, done.stderr



def test_botocore_still_reads_the_profiles_own_settings_after_a_login(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore merges the credentials file's sections into its profiles: a login that dropped region or endpoint_url
    sent the next call to AWS itself (found by a probe)."""
    import boto3

    path = tmp_path / "credentials"
    path.write_text("[work]\n# keep these\nregion = eu-west-1\nendpoint_url = http://127.0.0.1:9\ns3 =\n  addressing_style = path\n"
                    "aws_access_key_id = OLD\naws_secret_access_key = OLD\naws_session_token = OLD\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(path))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    credentials = credentials_file.AwsCredentials("ASIANEW", "secret", "token", datetime(2030, 1, 1, tzinfo=UTC))
    credentials_file.write_profiles(path, {"work": credentials})
    session = boto3.Session(profile_name="work")
    assert session.region_name == "eu-west-1"
    assert session.get_credentials().access_key == "ASIANEW"
    profile = session._session.get_scoped_config()
    assert profile["endpoint_url"] == "http://127.0.0.1:9" and profile["s3"] == {"addressing_style": "path"}
    assert "# keep these" in path.read_text()
