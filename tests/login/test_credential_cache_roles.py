"""One login profile used with several roles (`credential-process --role`): each role keeps its cached credentials, so
AWS profiles that differ only in the role do not sign in again on every call of one after the other."""

from __future__ import annotations

import json
import os
import shutil
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from login_setup import samlfed, write_profile

from samlfed.iam.arns import role_arn
from samlfed.login import cache
from samlfed.login.credentials_file import AwsCredentials

DEV, PROD = "111111111111", "222222222222"
DEVELOPER, READ_ONLY = role_arn(DEV, "Developer"), role_arn(PROD, "ReadOnly")


def _credentials(key: str, minutes: float) -> AwsCredentials:
    return AwsCredentials(key, "secret", "token", (datetime.now(UTC) + timedelta(minutes=minutes)).replace(microsecond=0))


def test_each_role_keeps_its_cached_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    offered = [DEVELOPER, READ_ONLY]
    cache.store("work", DEVELOPER, _credentials("ASIADEV", 60), offered)
    cache.store("work", READ_ONLY, _credentials("ASIAREAD", 60), offered)
    cache.store("work", READ_ONLY, _credentials("ASIAREAD2", 60), offered)  # the same role again: replaced
    for role, key in ((DEVELOPER, "ASIADEV"), ("Developer", "ASIADEV"), (READ_ONLY, "ASIAREAD2"), ("ReadOnly", "ASIAREAD2")):
        found = cache.valid("work", role)
        assert found is not None and found.credentials.access_key_id == key, role
    document = json.loads((tmp_path / "samlfed" / "credentials" / "work.json").read_text())
    assert list(document["others"]) == [DEVELOPER] and set(document["others"][DEVELOPER]) == {
        "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration", "Issued"}


def test_expired_credentials_of_other_roles_are_dropped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cache.store("work", DEVELOPER, _credentials("ASIADEV", 0.5), [DEVELOPER, READ_ONLY])
    cache.store("work", READ_ONLY, _credentials("ASIAREAD", 60), [DEVELOPER, READ_ONLY])
    assert cache.valid("work", DEVELOPER) is None
    assert json.loads((tmp_path / "samlfed" / "credentials" / "work.json").read_text())["others"] == {}


def test_alternating_roles_sign_in_once_each(demo: dict, tmp_path: Path) -> None:
    write_profile(tmp_path, demo["url"], username="alice", remember_password=True)
    login = samlfed(tmp_path, "login", "--profile", "demo", "--password-stdin", "--role", "Developer", stdin=demo["passwords"]["alice"] + "\n")
    assert login.returncode == 0, login.stderr
    served: dict[str, set[str]] = {"Developer": set(), "ReadOnly": set()}
    for role in ("ReadOnly", "Developer", "ReadOnly", "Developer"):
        done = samlfed(tmp_path, "credential-process", "--profile", "demo", "--role", role)
        assert done.returncode == 0, done.stderr
        served[role].add(json.loads(done.stdout)["AccessKeyId"])
    # The login's Developer credentials throughout, and one sign-in for ReadOnly: not a new sign-in per call.
    assert len(served["Developer"]) == 1 and len(served["ReadOnly"]) == 1, served


def test_every_role_of_all_roles_is_cached_for_credential_process(demo: dict, tmp_path: Path) -> None:
    """credential-process said 'run: samlfed login' for the roles that login --all-roles had just assumed."""
    write_profile(tmp_path, demo["url"], username="alice")  # no kept password: credential-process cannot sign in itself
    login = samlfed(tmp_path, "login", "--profile", "demo", "--password-stdin", "--all-roles", "--profile-name", "{role}",
                    stdin=demo["passwords"]["alice"] + "\n")
    assert login.returncode == 0, login.stderr
    written = (tmp_path / ".aws" / "credentials").read_text()
    for role in ("Developer", "ReadOnly"):
        done = samlfed(tmp_path, "credential-process", "--profile", "demo", "--role", role)
        assert done.returncode == 0, done.stderr
        assert f"[{role}]\naws_access_key_id = {json.loads(done.stdout)['AccessKeyId']}\n" in written


def test_with_nothing_cached_for_a_role_the_login_it_suggests_names_that_role(tmp_path: Path) -> None:
    """It said 'run: samlfed login --profile demo', which fails where several roles are offered (or takes another)."""
    write_profile(tmp_path, "http://127.0.0.1:9", role="Developer")  # nothing cached, no kept password
    for role, suggested in (("ReadOnly", "--role ReadOnly"), ("arn:aws:iam::1:role/a b", "--role 'arn:aws:iam::1:role/a b'")):
        done = samlfed(tmp_path, "credential-process", "--profile", "demo", "--role", role)
        assert (done.returncode, done.stderr) == (1, f"samlfed: no valid credentials for profile demo; run: samlfed login --profile demo {suggested}\n")
    profiles_own = samlfed(tmp_path, "credential-process", "--profile", "demo")  # login takes the profile's role by itself
    assert profiles_own.stderr == "samlfed: no valid credentials for profile demo; run: samlfed login --profile demo\n"


def test_the_cache_directories_are_made_owner_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """$XDG_CACHE_HOME/samlfed (the lock of the credentials file, the credentials directory) was made with the umask's
    mode, 0755: only the credentials directory in it was 0700."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    previous = os.umask(0o022)
    try:
        cache.store("work", DEVELOPER, _credentials("ASIADEV", 60))
        stored = {path.name: stat.S_IMODE(path.stat().st_mode) for path in (tmp_path / "samlfed", tmp_path / "samlfed" / "credentials")}
        shutil.rmtree(tmp_path / "samlfed")
        with cache.refreshing("work"):
            locked = {path.name: stat.S_IMODE(path.stat().st_mode) for path in (tmp_path / "samlfed", tmp_path / "samlfed" / "credentials")}
    finally:
        os.umask(previous)
    assert stored == locked == {"samlfed": 0o700, "credentials": 0o700}
