"""Findings of a walkthrough of the login client: no OS keyring, a role given by name for credential-process, a
mistyped --profile, a one-time code used up before failing, and the console commands' endpoint option."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import keyring
import pexpect
import pyotp
import pytest
from keyring.backends import fail
from login_setup import samlfed, user_env, write_profile
from saml_factory import response_b64
from servers import SAMLFED

from samlfed.cli_login import KeptPasswords
from samlfed.iam.arns import role_arn
from samlfed.login import cache
from samlfed.login.config import LoginProfile
from samlfed.login.credentials_file import AwsCredentials
from samlfed.login.roles import RolesError

DEV, PROD = "111111111111", "222222222222"
NOWHERE = "http://127.0.0.1:9"  # the discard port: nothing answers
NO_KEYRING = {"PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
NO_KEYRING_SAID = "remember_password: no OS keyring is available, so no password is kept for profile demo"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "ASIAEXAMPLEEXAMPLE12", "AWS_SECRET_ACCESS_KEY": "s" * 40, "AWS_SESSION_TOKEN": "token-of-the-test"}
LATER = AwsCredentials("ASIACACHED", "secret", "token", datetime.now(UTC) + timedelta(hours=1))


@pytest.fixture
def no_keyring() -> Iterator[None]:
    before = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        yield
    finally:
        keyring.set_keyring(before)


def _cache_in(home: Path, monkeypatch: pytest.MonkeyPatch, profile: str, role: str, offered: list[str]) -> None:
    """Cache credentials where the `samlfed` process of that home will look (XDG_CACHE_HOME of login_setup)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    cache.store(profile, role, LATER, offered)


# 1. No usable OS keyring

def test_login_at_a_terminal_without_a_keyring_asks_for_the_password(demo: dict, tmp_path: Path) -> None:
    write_profile(tmp_path, demo["url"], username="alice", remember_password=True)
    args = ["login", "--profile", "demo", "--role", role_arn(DEV, "Developer")]
    child = pexpect.spawn(SAMLFED, args, env=user_env(tmp_path, **NO_KEYRING), encoding="utf-8", timeout=60)
    try:
        child.expect("Password: ")
        said = child.before
        child.sendline(demo["passwords"]["alice"])
        child.expect(pexpect.EOF)
        output = said + child.before
    finally:
        child.close()
    assert child.exitstatus == 0, output
    assert output.count(NO_KEYRING_SAID) == 1 and "Traceback" not in output  # said before the prompt, not again when storing
    assert "wrote profile demo" in output


def test_login_without_a_terminal_or_a_keyring_is_a_message(tmp_path: Path) -> None:
    write_profile(tmp_path, NOWHERE, ecp_url=f"{NOWHERE}/ecp", username="alice", remember_password=True)
    done = samlfed(tmp_path, "login", "--profile", "demo", **NO_KEYRING)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert NO_KEYRING_SAID in done.stderr and "no password: run interactively" in done.stderr


def test_credential_process_without_a_keyring_says_run_login_and_why(tmp_path: Path) -> None:
    write_profile(tmp_path, NOWHERE, ecp_url=f"{NOWHERE}/ecp", username="alice", role=role_arn(DEV, "Developer"), remember_password=True)
    done = samlfed(tmp_path, "credential-process", "--profile", "demo", **NO_KEYRING)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert NO_KEYRING_SAID in done.stderr and "no valid credentials for profile demo; run: samlfed login --profile demo" in done.stderr


def test_kept_passwords_without_a_keyring_keep_nothing_and_say_so_once(no_keyring: None, capsys: pytest.CaptureFixture[str]) -> None:
    kept = KeptPasswords(LoginProfile(name="demo", remember_password=True))
    assert kept.get("alice") is None
    kept.set("alice", "s3cret-pass")
    kept.forget("alice")
    assert capsys.readouterr().err.count(NO_KEYRING_SAID) == 1


def test_configure_warns_when_no_keyring_can_keep_the_password(tmp_path: Path) -> None:
    answers = "http://127.0.0.1:9999\n\necp\nalice\n\n\ny\n"
    warned = samlfed(tmp_path, "configure", "--profile", "work", stdin=answers, **NO_KEYRING)
    assert warned.returncode == 0, warned.stderr
    assert "warning: no OS keyring is available: the password cannot be kept" in warned.stderr and "saved profile work" in warned.stderr
    assert "remember_password = true" in (tmp_path / ".config" / "samlfed" / "config.toml").read_text()
    with_keyring = samlfed(tmp_path, "configure", "--profile", "work", stdin=answers)
    assert with_keyring.returncode == 0 and "warning" not in with_keyring.stderr


# 2. A role given by name for credential-process

def test_credential_process_serves_a_role_named_as_login_takes_it(demo: dict, tmp_path: Path) -> None:
    write_profile(tmp_path, demo["url"], username="alice", role="Developer")
    login = samlfed(tmp_path, "login", "--profile", "demo", "--password-stdin", stdin=demo["passwords"]["alice"] + "\n")
    assert login.returncode == 0, login.stderr
    cached = json.loads((tmp_path / ".cache" / "samlfed" / "credentials" / "demo.json").read_text())
    assert cached["role"] == role_arn(DEV, "Developer")
    for extra in ([], ["--role", "Developer"], ["--role", role_arn(DEV, "Developer")]):
        served = samlfed(tmp_path, "credential-process", "--profile", "demo", *extra)
        assert served.returncode == 0, served.stderr
        assert json.loads(served.stdout)["AccessKeyId"] == cached["AccessKeyId"]
    other = samlfed(tmp_path, "credential-process", "--profile", "demo", "--role", "ReadOnly")  # offered, but not the one cached
    assert other.returncode == 1 and "run: samlfed login --profile demo" in other.stderr


def test_a_refresh_for_a_role_name_caches_the_roles_arn(demo: dict, tmp_path: Path) -> None:
    write_profile(tmp_path, demo["url"], username="alice", role="Developer", remember_password=True)
    (tmp_path / "keyring.json").write_text(json.dumps({"samlfed\x00demo:alice": demo["passwords"]["alice"]}))
    first = samlfed(tmp_path, "credential-process", "--profile", "demo")
    assert first.returncode == 0, first.stderr
    assert json.loads((tmp_path / ".cache" / "samlfed" / "credentials" / "demo.json").read_text())["role"] == role_arn(DEV, "Developer")
    again = samlfed(tmp_path, "credential-process", "--profile", "demo")
    assert json.loads(again.stdout)["AccessKeyId"] == json.loads(first.stdout)["AccessKeyId"]


def test_a_role_name_of_several_accounts_is_not_chosen_silently(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    admins = [role_arn(DEV, "Admin"), role_arn(PROD, "Admin")]
    _cache_in(tmp_path, monkeypatch, "demo", admins[0], admins)
    with pytest.raises(RolesError, match="not unique"):
        cache.valid("demo", "Admin")
    write_profile(tmp_path, NOWHERE, role="Admin")
    done = samlfed(tmp_path, "credential-process", "--profile", "demo")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"the role Admin is not unique among the roles of your last sign-in ({admins[0]}, {admins[1]}); give its ARN" in done.stderr
    served = samlfed(tmp_path, "credential-process", "--profile", "demo", "--role", admins[0])
    assert served.returncode == 0 and json.loads(served.stdout)["AccessKeyId"] == "ASIACACHED"


def test_docs_say_credential_process_needs_the_role() -> None:
    text = " ".join((Path(__file__).resolve().parents[2] / "docs" / "login.md").read_text().split())
    assert "It needs to know the role: the profile's `role`, or `--role`." in text


# 3. A profile name the config file does not have

def test_a_mistyped_profile_is_a_usage_error(tmp_path: Path) -> None:
    write_profile(tmp_path, NOWHERE, username="alice")
    for command in (["login", "--password-stdin"], ["credential-process"]):
        done = samlfed(tmp_path, *command, "--profile", "wrok", stdin="s3cret-pass\n")
        assert done.returncode == 2, done.stderr
        assert "no login profile 'wrok' in " in done.stderr and "(it has: demo)" in done.stderr
        assert "create it with: samlfed configure --profile wrok" in done.stderr


def test_a_profile_of_flags_only_still_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    captured = tmp_path / "captured.b64"
    captured.write_text(response_b64())
    login = samlfed(tmp_path, "login", "--profile", "adhoc", "--endpoint", NOWHERE, "--assertion-file", str(captured), "--role", "Developer")
    assert login.returncode == 1 and "no login profile" not in login.stderr  # it went on: STS does not answer at the discard port
    _cache_in(tmp_path, monkeypatch, "adhoc", role_arn(DEV, "Developer"), [role_arn(DEV, "Developer")])
    served = samlfed(tmp_path, "credential-process", "--profile", "adhoc", "--role", "Developer")
    assert served.returncode == 0, served.stderr


def test_the_console_profile_is_an_aws_profile(tmp_path: Path) -> None:
    credentials = tmp_path / ".aws" / "credentials"
    credentials.parent.mkdir(parents=True)
    credentials.write_text("[keys]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = s\n")
    for command in ("console", "console-url"):
        known = samlfed(tmp_path, command, "--profile", "keys")
        assert known.returncode == 2 and "long-term access keys" in known.stderr
        unknown = samlfed(tmp_path, command, "--profile", "wrok")
        assert unknown.returncode == 2 and "cannot load the credentials" in unknown.stderr and "Traceback" not in unknown.stderr


# 4. A one-time code is not used up silently

def test_a_code_used_before_the_role_cannot_be_chosen_is_said(demo: dict, tmp_path: Path) -> None:
    write_profile(tmp_path, demo["url"], username="admin")
    done = samlfed(tmp_path, "login", "--profile", "demo", "--password-stdin", stdin=demo["passwords"]["admin"] + "\n",
                   SAMLFED_OTP=pyotp.TOTP(demo["totp"]["admin"]).now())
    assert done.returncode == 1
    assert "several roles are offered; choose one with --role" in done.stderr
    assert "the one-time code was used by this sign-in, so the next attempt needs a new one" in done.stderr


# 5. The console commands' endpoint option

@pytest.mark.parametrize(("command", "option"), [("console", "--endpoint-url"), ("console-url", "--endpoint"), ("console", None)])
def test_both_console_commands_take_either_endpoint_option_and_samlfed_url(tmp_path: Path, command: str, option: str | None) -> None:
    elsewhere = "http://samlfed.test"
    args, env = ([option, elsewhere], {}) if option else ([], {"SAMLFED_URL": elsewhere})
    done = samlfed(tmp_path, command, *args, **CREDENTIALS, **env)
    assert done.returncode == 2 and f"{elsewhere!r} is plain http:// to another machine" in done.stderr, done.stderr


@pytest.mark.parametrize("command", ["console", "console-url"])
def test_the_console_help_names_samlfed_url(tmp_path: Path, command: str) -> None:
    done = subprocess.run([SAMLFED, command, "--help"], env={**user_env(tmp_path), "COLUMNS": "400"}, capture_output=True, text=True, timeout=60)
    line = next(line for line in done.stdout.splitlines() if "--endpoint" in line)
    assert "--endpoint-url" in line and "SAMLFED_URL" in line
