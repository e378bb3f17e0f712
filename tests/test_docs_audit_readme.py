"""The README's shell and JSON blocks, run as written: `samlfed accounts create` and `samlfed serve` in their own
processes, then the AWS CLI commands with the README's trust policy against that server."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from saml_factory import ENTITY_ID, response_b64, signer
from servers import samlfed_process

from samlfed.saml.metadata import build_idp_metadata

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
BIN = Path(sys.executable).parent


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, re.DOTALL)


def block_starting(language: str, start: str) -> str:
    found = [block for block in blocks(language) if block.lstrip().startswith(start)]
    assert len(found) == 1, f"the README has {len(found)} {language} blocks starting with {start!r}"
    return found[0]


def commands(block: str) -> list[list[str]]:
    """The block's commands as argument lists (continuation lines joined, comments dropped)."""
    return [shlex.split(line, comments=True) for line in block.replace("\\\n", " ").splitlines() if shlex.split(line, comments=True)]


def run(argv: list[str], *, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    program = argv[0].removeprefix(".venv/bin/")
    return subprocess.run([str(BIN / program), *argv[1:]], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def started_server_and_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Run the README's 'Run the service' block in `tmp_path`; yields the server's URL and the printed key."""
    create, serve = commands(block_starting("sh", ".venv/bin/samlfed accounts create"))
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}
    created = run(create, cwd=tmp_path, env=env)
    assert created.returncode == 0, created.stderr
    printed = dict(line.split(":", 1) for line in created.stdout.splitlines())
    key = (printed["access key id"].strip(), printed["secret access key"].strip())
    assert serve[:2] == [".venv/bin/samlfed", "serve"] and serve[-2:] == ["--port", "8080"]
    monkeypatch.chdir(tmp_path)  # the README's ./samlfed-data is relative to where the commands run
    return samlfed_process(serve[1:-2], probe="/healthz"), key


def aws_environment(url: str, key: tuple[str, str], tmp_path: Path) -> dict[str, str]:
    """The README's `export` lines, with this server's URL and the key `accounts create` printed."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "AWS_CONFIG_FILE": str(tmp_path / "config"),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials")}
    real = {"AKIA…": key[0], "…": key[1], "http://127.0.0.1:8080": url}
    for line in commands(block_starting("sh", "export AWS_ENDPOINT_URL_IAM")):
        for assignment in line[1:] if line[0] == "export" else []:
            name, _, value = assignment.partition("=")
            env[name] = real.get(value, value)
    return env


def test_the_readme_service_and_aws_cli_blocks_work_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    process, key = started_server_and_key(tmp_path, monkeypatch)
    aws_block = commands(block_starting("sh", "export AWS_ENDPOINT_URL_IAM"))
    create_provider, create_role, assume = (command for command in aws_block if command[0] == "aws")
    role_arn, provider_arn = assume[assume.index("--role-arn") + 1], assume[assume.index("--principal-arn") + 1]
    (tmp_path / "idp-metadata.xml").write_bytes(build_idp_metadata(ENTITY_ID, [signer().certificate]))
    (tmp_path / "trust.json").write_text(block_starting("json", '{"Version": "2012-10-17"'))
    (tmp_path / "response.b64").write_text(response_b64(issue_instant=datetime.now(UTC), roles=[f"{role_arn},{provider_arn}"]))
    with process as url:
        env = aws_environment(url, key, tmp_path)
        for command in (create_provider, create_role):
            done = run(command, cwd=tmp_path, env=env)
            assert done.returncode == 0, done.stderr
        assumed = run([*assume, "--output", "json"], cwd=tmp_path, env=env)
        assert assumed.returncode == 0, assumed.stderr
        credentials = json.loads(assumed.stdout)["Credentials"]
        session = {**env, "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
                   "AWS_SESSION_TOKEN": credentials["SessionToken"]}
        identity = run(["aws", "sts", "get-caller-identity", "--output", "json"], cwd=tmp_path, env=session)
        assert json.loads(identity.stdout)["Arn"] == role_arn.replace(":iam::", ":sts::").replace(":role/", ":assumed-role/") + "/alice@example.com"

        (tmp_path / "response.b64").write_text(response_b64(issue_instant=datetime.now(UTC), roles=[f"{role_arn}x,{provider_arn}"]))
        refused = run(assume, cwd=tmp_path, env=env)
        assert refused.returncode != 0
        assert "(AccessDenied)" in refused.stderr and "Not authorized to perform sts:AssumeRoleWithSAML" in refused.stderr
        mapping_set, mapping_get, mapping_clear = commands(block_starting("sh", "samlfed providers attribute-mapping set"))
        on_data = {**env, "SAMLFED_DATA_DIR": str(tmp_path / "samlfed-data")}
        assert mapping_set[-2] == provider_arn and run(mapping_set, cwd=tmp_path, env=on_data).returncode == 0
        assert json.loads(run(mapping_get, cwd=tmp_path, env=on_data).stdout) == json.loads(mapping_set[-1])
        assert run(mapping_clear, cwd=tmp_path, env=on_data).returncode == 0
        assert json.loads(run(mapping_get, cwd=tmp_path, env=on_data).stdout) == {}
