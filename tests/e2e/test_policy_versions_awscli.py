"""The AWS CLI (from PyPI) edits a customer managed policy through its versions, as `aws iam create-policy-version`
users do, with nothing but endpoint settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

AWS = str(Path(sys.executable).with_name("aws"))


def test_aws_cli_edits_a_policy_through_its_versions(server: dict, tmp_path: Path) -> None:
    admin = server["admin"]
    env = {
        "PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"), "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_IAM": server["url"], "AWS_ACCESS_KEY_ID": admin.access_key_id, "AWS_SECRET_ACCESS_KEY": admin.secret_access_key,
    }

    def aws(*args: str) -> dict:
        done = subprocess.run([AWS, "iam", *args, "--output", "json"], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if done.stdout.strip() else {}

    for version, action in (("v1", "s3:GetObject"), ("v2", "s3:PutObject")):
        (tmp_path / f"{version}.json").write_text(json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]}))
    arn = aws("create-policy", "--policy-name", "CliVersioned", "--policy-document", f"file://{tmp_path / 'v1.json'}")["Policy"]["Arn"]
    created = aws("create-policy-version", "--policy-arn", arn, "--policy-document", f"file://{tmp_path / 'v2.json'}", "--set-as-default")
    assert (created["PolicyVersion"]["VersionId"], created["PolicyVersion"]["IsDefaultVersion"]) == ("v2", True)
    assert [v["VersionId"] for v in aws("list-policy-versions", "--policy-arn", arn)["Versions"]] == ["v2", "v1"]
    assert aws("get-policy-version", "--policy-arn", arn, "--version-id", "v2")["PolicyVersion"]["Document"]["Statement"][0]["Action"] == "s3:PutObject"
    aws("set-default-policy-version", "--policy-arn", arn, "--version-id", "v1")
    assert aws("get-policy", "--policy-arn", arn)["Policy"]["DefaultVersionId"] == "v1"
    aws("delete-policy-version", "--policy-arn", arn, "--version-id", "v2")
    aws("delete-policy", "--policy-arn", arn)
