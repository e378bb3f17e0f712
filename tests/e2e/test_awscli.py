"""The AWS CLI (from PyPI) against samlfed with nothing but endpoint settings, as the README shows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from saml_factory import ENTITY_ID, response_b64, signer

from samlfed.saml.metadata import build_idp_metadata

AWS = str(Path(sys.executable).with_name("aws"))
PROVIDER = "arn:aws:iam::111111111111:saml-provider/CliIdP"
ROLE = "arn:aws:iam::111111111111:role/CliRole"


def aws(*args: str, env: dict[str, str]) -> dict:
    done = subprocess.run([AWS, *args, "--output", "json"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if done.stdout.strip() else {}


def test_aws_cli_end_to_end(server: dict, tmp_path: Path) -> None:
    admin = server["admin"]
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_IAM": server["url"],
        "AWS_ENDPOINT_URL_STS": server["url"],
        "AWS_ACCESS_KEY_ID": admin.access_key_id,
        "AWS_SECRET_ACCESS_KEY": admin.secret_access_key,
    }
    (tmp_path / "idp.xml").write_bytes(build_idp_metadata(ENTITY_ID, [signer().certificate]))
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": PROVIDER}, "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"]}]}
    (tmp_path / "trust.json").write_text(json.dumps(trust))
    (tmp_path / "response.b64").write_text(response_b64(issue_instant=datetime.now(UTC), roles=[f"{ROLE},{PROVIDER}"]))

    assert aws("iam", "create-saml-provider", "--name", "CliIdP", "--saml-metadata-document", f"file://{tmp_path / 'idp.xml'}", env=env)["SAMLProviderArn"] == PROVIDER
    assert aws("iam", "create-role", "--role-name", "CliRole", "--assume-role-policy-document", f"file://{tmp_path / 'trust.json'}", env=env)["Role"]["Arn"] == ROLE
    assumed = aws(
        "sts", "assume-role-with-saml", "--role-arn", ROLE, "--principal-arn", PROVIDER,
        "--saml-assertion", f"file://{tmp_path / 'response.b64'}", "--no-sign-request", env=env,
    )
    credentials = assumed["Credentials"]
    session_env = {**env, "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"], "AWS_SESSION_TOKEN": credentials["SessionToken"]}
    identity = aws("sts", "get-caller-identity", env=session_env)
    assert identity["Arn"] == "arn:aws:sts::111111111111:assumed-role/CliRole/alice@example.com"
    refused = subprocess.run([AWS, "sts", "get-session-token"], env=session_env, capture_output=True, text=True)
    assert refused.returncode != 0 and "(AccessDenied)" in refused.stderr and "Cannot call GetSessionToken with session credentials" in refused.stderr
    missing = subprocess.run([AWS, "iam", "get-saml-provider", "--saml-provider-arn", PROVIDER + "x"], env=env, capture_output=True, text=True)
    assert missing.returncode != 0 and "NoSuchEntity" in missing.stderr and f"Manifest not found for arn {PROVIDER}x" in missing.stderr
