"""`log_format = json`: one JSON object per log line, each decision's fields as keys, for log shippers.

Real `samlfed serve`, `demo` and `idp serve` processes (stderr to a file), real boto3. Every stderr line of a JSON
server must parse as one object, uvicorn's own start-up and shutdown lines included, even when a value holds line
breaks or control characters; the text default must keep its line format.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import boto3
import httpx
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
from saml_factory import ACCOUNT, DEV_ROLE, ENTITY_ID, PROVIDER_ARN, response_b64, signer
from servers import SAMLFED, free_port, wait_until_up

from samlfed.config import Settings
from samlfed.saml.metadata import build_idp_metadata

TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
DENIED_ROLE = f"arn:aws:iam::{ACCOUNT}:role/Nobody"
SUBJECT = 'alice\n{"level": "CRITICAL", "message": "forged"}\r\t\u2028'
"""A NameID that would end the line and forge a second record if it reached the log raw."""
USER = "mallory\n\x1b[31mINFO forged"
"""A user name with a line break and a terminal escape (form fields, unlike XML, may hold any character)."""


@contextmanager
def logging_process(command: Sequence[str], *options: str, log: Path, probe: str) -> Iterator[str]:
    """`samlfed COMMAND --port N OPTIONS...` with stderr in `log`; yields its URL, then stops it with SIGTERM and
    waits, so that the log also holds the shutdown lines."""
    port = free_port()
    with log.open("wb") as stderr:
        process = subprocess.Popen([SAMLFED, *command, "--port", str(port), *options], stdout=subprocess.DEVNULL, stderr=stderr)
    url = f"http://127.0.0.1:{port}"
    try:
        assert wait_until_up(f"{url}{probe}", seconds=30, gave_up=lambda: process.poll() is not None), log.read_text()[-2000:]
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def records(log: Path) -> list[dict]:
    """Every line of `log` as a JSON object (fails on any line that is not one)."""
    lines = log.read_text().splitlines()
    assert lines
    parsed = [json.loads(line) for line in lines]
    assert all(isinstance(entry, dict) and TIME.fullmatch(entry["time"]) for entry in parsed)
    return parsed


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test IdP registered, Developer assumable by it, Nobody by no one."""
    data = tmp_path_factory.mktemp("logformat") / "data"
    created = subprocess.run([SAMLFED, "accounts", "create", "--id", ACCOUNT, "--data-dir", str(data), "--json"], capture_output=True, text=True, check=True)
    admin = json.loads(created.stdout)
    with logging_process(["serve"], "--data-dir", str(data), log=data.parent / "setup.log", probe="/healthz") as url:
        iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1",
                           aws_access_key_id=admin["AccessKeyId"], aws_secret_access_key=admin["SecretAccessKey"])
        iam.create_saml_provider(SAMLMetadataDocument=build_idp_metadata(ENTITY_ID, [signer().certificate]).decode(), Name="ExampleIdP")
        trust = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Federated": PROVIDER_ARN}, "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"]},
        ]}
        iam.create_role(RoleName="Developer", AssumeRolePolicyDocument=json.dumps(trust))
        trust["Statement"][0]["Effect"] = "Deny"
        iam.create_role(RoleName="Nobody", AssumeRolePolicyDocument=json.dumps(trust))
    return data


def assume(url: str, role: str, **overrides: object) -> dict | str:
    """The credentials, or the error code."""
    assertion = response_b64(issue_instant=datetime.now(UTC), roles=[f"{role},{PROVIDER_ARN}"], **overrides)
    sts = boto3.client("sts", endpoint_url=url, region_name="us-east-1", config=Config(signature_version=UNSIGNED))
    try:
        return sts.assume_role_with_saml(RoleArn=role, PrincipalArn=PROVIDER_ARN, SAMLAssertion=assertion)["Credentials"]
    except ClientError as error:
        return error.response["Error"]["Code"]


def test_json_lines_carry_each_decisions_fields(data_dir: Path) -> None:
    log = data_dir.parent / "json.log"
    with logging_process(["serve"], "--data-dir", str(data_dir), "--workers", "2", "--log-format", "json", log=log, probe="/healthz") as url:
        credentials = assume(url, DEV_ROLE, name_id=SUBJECT, role_session_name="alice")
        assert isinstance(credentials, dict)
        assert assume(url, DENIED_ROLE) == "AccessDenied"
        assert assume(url, DEV_ROLE, by=signer("stranger")) == "InvalidIdentityToken"
    entries = records(log)
    decisions = {entry.get("outcome"): entry for entry in entries if entry.get("action") == "AssumeRoleWithSAML"}
    allowed, denied, rejected = decisions["allowed"], decisions["denied"], decisions["rejected"]
    assert (allowed["level"], allowed["logger"]) == ("INFO", "samlfed.sts")
    assert allowed["message"].startswith("AssumeRoleWithSAML allowed issuer=")  # the text line's message, as it was
    assert allowed["subject"] == SUBJECT and allowed["issuer"] == ENTITY_ID and allowed["role"] == DEV_ROLE
    assert allowed["session_name"] == "alice" and allowed["source_ip"] == "127.0.0.1"
    assert re.fullmatch(r"[0-9a-f]{64}", allowed["key_thumbprint"]) and allowed["assertion_id"]
    # validation bar step 13: when it was issued and when the user authenticated tell a replay from a sign-in
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", allowed["issue_instant"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", allowed["authn_instant"])
    assert (denied["role"], denied["error_code"], denied["subject"], denied["source_ip"]) == (DENIED_ROLE, "AccessDenied", "alice@example.com", "127.0.0.1")
    assert (rejected["error_code"], rejected["provider"], rejected["source_ip"]) == ("InvalidIdentityToken", PROVIDER_ARN, "127.0.0.1")
    assert rejected["check"] and rejected["reason"]
    uvicorn_lines = [entry["message"] for entry in entries if entry["logger"].startswith("uvicorn")]
    assert any(line.startswith("Started server process") for line in uvicorn_lines)
    assert any(line.startswith("Shutting down") for line in uvicorn_lines)
    written = log.read_text()
    assert credentials["SessionToken"] not in written and credentials["SecretAccessKey"] not in written
    assert "\u2028" not in written  # ensure_ascii: some readers take it for a line break


def test_the_text_default_is_unchanged(data_dir: Path) -> None:
    log = data_dir.parent / "text.log"
    with logging_process(["serve"], "--data-dir", str(data_dir), log=log, probe="/healthz") as url:
        assert isinstance(assume(url, DEV_ROLE), dict)
    lines = log.read_text().splitlines()
    allowed = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO samlfed\.sts AssumeRoleWithSAML allowed issuer=\S+ assertion=\S+ key=[0-9a-f]{16} subject='alice@example\.com' role=\S+"
    assert [line for line in lines if re.fullmatch(allowed, line)]
    assert "INFO:     Started server process" in log.read_text() and not [line for line in lines if line.startswith("{")]


@pytest.mark.parametrize(("command", "probe"), [(["idp", "serve"], "/idp/metadata"), (["demo"], "/healthz")])
def test_the_idp_commands_apply_the_setting(tmp_path: Path, command: list[str], probe: str) -> None:
    log = tmp_path / "idp.log"
    with logging_process(command, "--data-dir", str(tmp_path / "data"), "--log-format", "json", log=log, probe=probe) as url, \
            httpx.Client(base_url=url) as browser:
        csrf = re.search(r'name="csrf" value="([^"]+)"', browser.get("/idp/login").text).group(1)  # type: ignore[union-attr]
        assert browser.post("/idp/login", data={"csrf": csrf, "username": USER, "password": "wrong"}).status_code == 401
    failed = [entry for entry in records(log) if entry.get("action") == "IdpLogin"]
    assert [(entry["outcome"], entry["user"], entry["source_ip"]) for entry in failed] == [("failed", USER, "127.0.0.1")]
    assert "\x1b" not in log.read_text()


@pytest.mark.parametrize("command", [["serve"], ["demo", "--no-serve"], ["idp", "serve"]])
def test_a_bad_value_is_a_settings_error(tmp_path: Path, command: list[str]) -> None:
    done = subprocess.run([SAMLFED, *command, "--data-dir", str(tmp_path / "data"), "--log-format", "JSON"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--log-format: log_format must be text or json, not 'JSON'" in done.stderr, done.stderr
    env = {**os.environ, "SAMLFED_LOG_FORMAT": "yaml"}
    done = subprocess.run([SAMLFED, *command, "--data-dir", str(tmp_path / "data")], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "SAMLFED_LOG_FORMAT: log_format must be text or json, not 'yaml'" in done.stderr
    assert not (tmp_path / "data").exists()


def test_the_setting_from_a_file_travels_to_worker_processes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SAMLFED_LOG_FORMAT", raising=False)
    assert Settings.from_env(data_dir=tmp_path).log_format == "text"
    config = tmp_path / "samlfed.toml"
    config.write_text('log_format = "json"\n')
    settings = Settings.from_env(config=config, data_dir=tmp_path)
    assert settings.log_format == "json"
    for name, value in settings.to_env().items():
        monkeypatch.setenv(name, value)
    assert Settings.from_env().log_format == "json"
    config.write_text("log_format = 1\n")
    with pytest.raises(ValueError, match=f"{re.escape(str(config))}: log_format must be text or json, not 1"):
        Settings.from_env(config=config)


def test_other_libraries_and_python_warnings_are_json_lines_too() -> None:
    """Records that reach no handler (logging's last resort) and warnings.warn would otherwise be raw text."""
    script = (
        "import logging, warnings\n"
        "from samlfed.server import configure_logging\n"
        "configure_logging('json')\n"
        "logging.getLogger('sqlalchemy.pool').warning('pool\\nexhausted')\n"
        "warnings.warn('deprecated\\nthing')\n"
    )
    done = subprocess.run([str(Path(SAMLFED).with_name("python")), "-c", script], capture_output=True, text=True, timeout=60, check=True)
    entries = [json.loads(line) for line in done.stderr.splitlines()]
    assert [(entry["level"], entry["logger"]) for entry in entries] == [("WARNING", "sqlalchemy.pool"), ("WARNING", "py.warnings")]
    assert entries[0]["message"] == "pool\nexhausted" and "deprecated\nthing" in entries[1]["message"]


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_record_is_written_without_looking_up_the_frame_that_logged(log_format: str) -> None:
    """No format names the file, line or function of a call, and finding them cost 1 % of a sign-in."""
    script = (
        "import logging\n"
        "from samlfed.server import configure_logging\n"
        "def looked_up(*args, **kwargs):\n"
        "    raise AssertionError('the frame that logged was looked up')\n"
        "logging.Logger.findCaller = looked_up\n"
        f"configure_logging({log_format!r})\n"
        "logging.getLogger('samlfed.sts').info('AssumeRoleWithSAML allowed role=%s', 'R', extra={'role': 'R'})\n"
    )
    done = subprocess.run([str(Path(SAMLFED).with_name("python")), "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    if log_format == "json":
        entry = json.loads(done.stderr)
        assert (entry["level"], entry["logger"], entry["message"], entry["role"]) == ("INFO", "samlfed.sts", "AssumeRoleWithSAML allowed role=R", "R")
    else:
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO samlfed.sts AssumeRoleWithSAML allowed role=R\n", done.stderr), done.stderr


def test_a_record_keeps_its_own_keys_and_its_exception_on_one_line() -> None:
    from samlfed.server import JsonFormatter

    try:
        raise ValueError("bad\nvalue")
    except ValueError:
        record = logging.makeLogRecord({"name": "samlfed.api", "levelno": logging.ERROR, "levelname": "ERROR", "msg": "internal error",
                                        "exc_info": sys.exc_info(), "created": 0.25, "msecs": 250.0, "level": "forged", "role": "R"})
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert "\n" not in line and entry["time"] == "1970-01-01T00:00:00.250Z"
    assert (entry["level"], entry["logger"], entry["message"], entry["role"]) == ("ERROR", "samlfed.api", "internal error", "R")
    assert entry["exception"].startswith("Traceback") and entry["exception"].endswith("ValueError: bad\nvalue")
