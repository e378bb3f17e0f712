"""`samlfed login` end to end against the demo on 127.0.0.1, run as its own process with a home of its own."""

from __future__ import annotations

import base64
import json
import stat
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pyotp
from login_setup import samlfed, user_env, write_profile

from samlfed.iam.arns import role_arn

DEV, PROD = "111111111111", "222222222222"
AWS = str(Path(sys.executable).with_name("aws"))


def _identity(home: Path, url: str, profile: str, monkeypatch) -> str:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / ".aws" / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(home / ".aws" / "config"))
    sts = boto3.Session(profile_name=profile).client("sts", endpoint_url=url, region_name="us-east-1")
    return sts.get_caller_identity()["Arn"]


def _password(demo: dict, user: str) -> str:
    return demo["passwords"][user] + "\n"


def test_ecp_login_writes_a_profile_boto3_uses(demo: dict, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    write_profile(tmp_path, demo["url"], username="alice")
    done = samlfed(tmp_path, "login", "--profile", "demo", "--password-stdin", "--role", role_arn(DEV, "Developer"), stdin=_password(demo, "alice"))
    assert done.returncode == 0, done.stderr
    path = tmp_path / ".aws" / "credentials"
    assert f"wrote profile demo to {path}" in done.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "x_security_token_expires = " in path.read_text()
    assert _identity(tmp_path, demo["url"], "demo", monkeypatch) == f"arn:aws:sts::{DEV}:assumed-role/Developer/alice@acme.example"


def test_all_roles_across_two_accounts(demo: dict, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    write_profile(tmp_path, demo["url"], username="alice")
    done = samlfed(tmp_path, "login", "--profile", "demo", "--password-stdin", "--all-roles", stdin=_password(demo, "alice"))
    assert done.returncode == 0, done.stderr
    assert _identity(tmp_path, demo["url"], "acme-dev-Developer", monkeypatch) == f"arn:aws:sts::{DEV}:assumed-role/Developer/alice@acme.example"
    assert _identity(tmp_path, demo["url"], "acme-prod-ReadOnly", monkeypatch) == f"arn:aws:sts::{PROD}:assumed-role/ReadOnly/alice@acme.example"
    named = samlfed(tmp_path, "login", "--profile", "demo", "--password-stdin", "--all-roles", "--profile-name", "{account}.{role}", stdin=_password(demo, "alice"))
    assert named.returncode == 0 and f"wrote profile {PROD}.ReadOnly" in named.stderr


def test_totp_user_needs_a_code(demo: dict, tmp_path: Path) -> None:
    write_profile(tmp_path, demo["url"], username="admin")
    without = samlfed(tmp_path, "login", "--profile", "demo", "--password-stdin", "--role", "Admin", stdin=_password(demo, "admin"))
    assert without.returncode == 1 and "asks for a one-time code" in without.stderr
    code = pyotp.TOTP(demo["totp"]["admin"]).now()
    done = samlfed(tmp_path, "login", "--profile", "demo", "--password-stdin", "--otp", code, "--role", role_arn(PROD, "Admin"), stdin=_password(demo, "admin"))
    assert done.returncode == 0, done.stderr


def test_wrong_password_is_a_clear_failure(demo: dict, tmp_path: Path) -> None:
    write_profile(tmp_path, demo["url"], username="alice")
    done = samlfed(tmp_path, "login", "--profile", "demo", "--password-stdin", stdin="not-her-password\n")
    assert done.returncode == 1
    assert "the identity provider refused the sign-in: The user name, password or one-time code is not right" in done.stderr
    assert not (tmp_path / ".aws" / "credentials").exists()


def test_an_expired_assertion_is_a_clear_failure(demo: dict, tmp_path: Path) -> None:
    idp = demo["idp"]
    user = idp.config.directory.get("alice")
    sp = idp.config.service_providers["aws"]
    old = idp.issue(user, sp, f"{demo['url']}/saml", now=datetime.now(UTC) - timedelta(minutes=30))
    (tmp_path / "old.b64").write_text(old)
    write_profile(tmp_path, demo["url"])
    done = samlfed(tmp_path, "login", "--profile", "demo", "--assertion-file", str(tmp_path / "old.b64"), "--role", role_arn(DEV, "Developer"))
    assert done.returncode == 1
    assert "the SAML response was refused: Response has expired (ExpiredTokenException); samlfed's log says which check" in done.stderr


def test_assertion_file_as_a_form_body_and_print_styles(demo: dict, tmp_path: Path) -> None:
    from urllib.parse import urlencode

    idp = demo["idp"]
    fresh = idp.issue(idp.config.directory.get("bob"), idp.config.service_providers["aws"], f"{demo['url']}/saml")
    write_profile(tmp_path, demo["url"])
    form = urlencode({"SAMLResponse": fresh, "RelayState": ""})
    as_json = samlfed(tmp_path, "login", "--profile", "demo", "--assertion-file", "-", "--print", "json", stdin=form)
    assert as_json.returncode == 0, as_json.stderr
    document = json.loads(as_json.stdout)
    assert document["Version"] == 1 and document["AccessKeyId"].startswith("ASIA") and document["Expiration"].endswith("Z")
    env = samlfed(tmp_path, "login", "--profile", "demo", "--assertion-file", "-", "--print", "env", stdin=fresh)
    assert env.stdout.startswith("export AWS_ACCESS_KEY_ID=ASIA")
    powershell = samlfed(tmp_path, "login", "--profile", "demo", "--assertion-file", "-", "--print", "powershell", stdin=fresh)
    assert powershell.stdout.startswith("$Env:AWS_ACCESS_KEY_ID='ASIA")
    raw_xml = base64.b64decode(fresh).decode()  # read as the doctor reads input: raw XML too
    as_xml = samlfed(tmp_path, "login", "--profile", "demo", "--assertion-file", "-", "--print", "env", stdin=raw_xml)
    assert as_xml.returncode == 0 and as_xml.stdout.startswith("export AWS_ACCESS_KEY_ID=ASIA"), as_xml.stderr
    assert "+" in fresh
    pasted = samlfed(tmp_path, "login", "--profile", "demo", "--assertion-file", "-", "--print", "env", stdin=f"SAMLResponse={fresh}")
    assert pasted.returncode == 0, pasted.stderr  # a pasted field, not URL-encoded: its '+' stay '+'
    assert not (tmp_path / ".aws" / "credentials").exists()


def test_duration_above_the_role_maximum_falls_back_once(demo: dict, tmp_path: Path) -> None:
    write_profile(tmp_path, demo["url"], username="alice")
    done = samlfed(tmp_path, "login", "--profile", "demo", "--password-stdin", "--role", role_arn(DEV, "Developer"), "--duration", "43200", "--print", "json", stdin=_password(demo, "alice"))
    assert done.returncode == 0, done.stderr
    assert "note: Developer allows less than 43200 seconds; its credentials last 3600 seconds instead" in done.stderr
    expires = datetime.fromisoformat(json.loads(done.stdout)["Expiration"].replace("Z", "+00:00"))
    assert expires - datetime.now(UTC) <= timedelta(hours=1)


def test_other_profiles_are_preserved_byte_for_byte(demo: dict, tmp_path: Path) -> None:
    path = tmp_path / ".aws" / "credentials"
    path.parent.mkdir(parents=True)
    before = "# my keys\r\n[default]\r\naws_access_key_id = AKIAOLD\r\naws_secret_access_key = old  ; keep me\r\n\r\n[demo]\r\naws_access_key_id = STALE\r\n\r\n; trailing comment\r\n[other]\r\nregion=eu-west-1\r\n"
    path.write_bytes(before.encode())
    write_profile(tmp_path, demo["url"], username="alice")
    done = samlfed(tmp_path, "login", "--profile", "demo", "--password-stdin", "--role", role_arn(DEV, "Developer"), stdin=_password(demo, "alice"))
    assert done.returncode == 0, done.stderr
    after = path.read_bytes().decode()
    head, tail = before.split("[demo]\r\naws_access_key_id = STALE\r\n")
    assert after.startswith(head) and after.endswith(tail)
    section = after[len(head): len(after) - len(tail)]
    assert section.startswith("[demo]\r\naws_access_key_id = ASIA") and "STALE" not in section
    assert all(line.endswith("\r") for line in section.split("\n")[:-1])  # the file's own line endings


def test_credential_process_with_the_aws_cli_uses_and_refreshes_the_cache(demo: dict, tmp_path: Path) -> None:
    write_profile(tmp_path, demo["url"], username="alice", role=role_arn(DEV, "Developer"), remember_password=True)
    config = tmp_path / ".aws" / "config"
    config.parent.mkdir(parents=True)
    config.write_text(f"[profile dev]\ncredential_process = {Path(sys.executable).with_name('samlfed')} credential-process --profile demo\n")
    # Without a login there is nothing to serve, and no password to refresh with.
    refused = samlfed(tmp_path, "credential-process", "--profile", "demo")
    assert refused.returncode == 1 and "run: samlfed login --profile demo" in refused.stderr
    login = samlfed(tmp_path, "login", "--profile", "demo", "--password-stdin", stdin=_password(demo, "alice"))
    assert login.returncode == 0, login.stderr
    cache_file = tmp_path / ".cache" / "samlfed" / "credentials" / "demo.json"
    first_key = json.loads(cache_file.read_text())["AccessKeyId"]
    assert stat.S_IMODE(cache_file.stat().st_mode) == 0o600

    def aws_whoami() -> str:
        answer = samlfed_aws(tmp_path, "sts", "get-caller-identity", "--profile", "dev", "--endpoint-url", demo["url"], "--region", "us-east-1")
        assert answer.returncode == 0, answer.stderr
        return json.loads(answer.stdout)["Arn"]

    assert aws_whoami() == f"arn:aws:sts::{DEV}:assumed-role/Developer/alice@acme.example"
    assert aws_whoami() == f"arn:aws:sts::{DEV}:assumed-role/Developer/alice@acme.example"
    assert json.loads(cache_file.read_text())["AccessKeyId"] == first_key  # served from the cache both times

    # With remember_password, the piped password was kept once the IdP took it: a stale cache refreshes alone.
    assert json.loads((tmp_path / "keyring.json").read_text()) == {"samlfed\x00demo:alice": demo["passwords"]["alice"]}
    document = json.loads(cache_file.read_text())
    expiration = datetime.now(UTC) + timedelta(minutes=14)  # botocore's window, 46 minutes into an hour's credentials
    document["Expiration"] = expiration.strftime("%Y-%m-%dT%H:%M:%SZ")
    document["Issued"] = (expiration - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    cache_file.write_text(json.dumps(document))
    assert aws_whoami() == f"arn:aws:sts::{DEV}:assumed-role/Developer/alice@acme.example"
    assert json.loads(cache_file.read_text())["AccessKeyId"] != first_key


def samlfed_aws(home: Path, *args: str):  # type: ignore[no-untyped-def]
    import subprocess

    return subprocess.run([AWS, *args], env=user_env(home), capture_output=True, text=True, timeout=120)


def test_login_with_aws_profile_set_commented_headers_and_a_tilde_path(demo: dict, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from botocore.configloader import raw_config_parse

    path = tmp_path / ".aws" / "creds2"
    path.parent.mkdir(parents=True)
    before = "[prod] ; production keys\naws_access_key_id = AKIAPROD\naws_secret_access_key = p\n\n[default] # mine\naws_access_key_id = AKIAOLD\n"
    path.write_text(before)
    write_profile(tmp_path, demo["url"], username="alice")
    for name in ("work", "default"):  # AWS_PROFILE names a profile that this very login creates
        done = samlfed(tmp_path, "login", "--profile", "demo", "--password-stdin", "--role", role_arn(DEV, "Developer"), "--profile-name", name,
                       stdin=_password(demo, "alice"), cwd=tmp_path, AWS_PROFILE="work", AWS_SHARED_CREDENTIALS_FILE="~/.aws/creds2")
        assert done.returncode == 0, done.stderr
    assert not (tmp_path / "~").exists()  # taken literally, "~" would be a directory here
    text = path.read_text()
    assert text.startswith("[prod] ; production keys\naws_access_key_id = AKIAPROD\naws_secret_access_key = p\n\n[default] # mine\naws_access_key_id = ASIA")
    profiles = raw_config_parse(str(path))
    assert profiles["prod"] == {"aws_access_key_id": "AKIAPROD", "aws_secret_access_key": "p"} and text.count("[default]") == 1
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(path))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / ".aws" / "config"))
    for name in ("work", "default"):
        sts = boto3.Session(profile_name=name).client("sts", endpoint_url=demo["url"], region_name="us-east-1")
        assert sts.get_caller_identity()["Arn"] == f"arn:aws:sts::{DEV}:assumed-role/Developer/alice@acme.example"
