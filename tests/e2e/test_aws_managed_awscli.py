"""The catalogue an operator imports is what the AWS CLI prints: `aws iam get-account-authorization-details --filter
AWSManagedPolicy` of one samlfed (as of an AWS account) imports into another unchanged, and the AWS CLI attaches and
reads the policies there with nothing but endpoint settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from servers import app_in_thread
from typer.testing import CliRunner

from samlfed.api.app import build_app
from samlfed.cli import app
from samlfed.config import Settings
from samlfed.iam.accounts import create_account
from samlfed.server import build_context

AWS = str(Path(sys.executable).with_name("aws"))
ACCOUNT = "123456789012"
ARN = "arn:aws:iam::aws:policy/job-function/ViewS3"
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
CATALOGUE = {"Policies": [{
    "PolicyName": "ViewS3", "PolicyId": "ANPAJVIEWS3EXAMPLE001", "Arn": ARN, "Path": "/job-function/", "DefaultVersionId": "v3",
    "CreateDate": "2016-11-10T17:20:00+00:00", "UpdateDate": "2023-05-02T09:00:00+00:00",
    "PolicyVersionList": [
        {"Document": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}]},
         "VersionId": "v3", "IsDefaultVersion": True, "CreateDate": "2023-05-02T09:00:00+00:00"},
        {"Document": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:List*", "Resource": "*"}]},
         "VersionId": "v1", "IsDefaultVersion": False, "CreateDate": "2016-11-10T17:20:00+00:00"},
    ],
}]}


def test_an_export_by_the_aws_cli_imports_into_another_samlfed(tmp_path: Path) -> None:
    runner = CliRunner()
    data = {name: tmp_path / name for name in ("exporter", "importer")}
    keys = {}
    for name, directory in data.items():
        keys[name] = create_account(build_context(Settings(data_dir=directory)), ACCOUNT)
    (tmp_path / "catalogue.json").write_text(json.dumps(CATALOGUE))
    imported = runner.invoke(app, ["aws-policies", "import", str(tmp_path / "catalogue.json"), "--data-dir", str(data["exporter"])])
    assert imported.exit_code == 0 and imported.stdout.startswith("1 created"), imported.output

    def aws(name: str, url: str, *args: str) -> dict:
        env = {
            "PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "AWS_CONFIG_FILE": str(tmp_path / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"), "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL_IAM": url,
            "AWS_ACCESS_KEY_ID": keys[name].access_key_id, "AWS_SECRET_ACCESS_KEY": keys[name].secret_access_key,
        }
        done = subprocess.run([AWS, "iam", *args, "--output", "json"], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if done.stdout.strip() else {}

    with app_in_thread(build_app(build_context(Settings(data_dir=data["exporter"])))) as url:
        aws("exporter", url, "create-role", "--role-name", "Viewer", "--assume-role-policy-document", json.dumps(TRUST))
        aws("exporter", url, "attach-role-policy", "--role-name", "Viewer", "--policy-arn", ARN)
        exported = aws("exporter", url, "get-account-authorization-details", "--filter", "AWSManagedPolicy")
        before = aws("exporter", url, "get-policy", "--policy-arn", ARN)["Policy"]
    assert [p["Arn"] for p in exported["Policies"]] == [ARN] and exported["Policies"][0]["AttachmentCount"] == 1
    (tmp_path / "exported.json").write_text(json.dumps(exported))

    imported = runner.invoke(app, ["aws-policies", "import", str(tmp_path / "exported.json"), "--json", "--data-dir", str(data["importer"])])
    assert imported.exit_code == 0 and json.loads(imported.stdout)["Created"] == [ARN], imported.output
    with app_in_thread(build_app(build_context(Settings(data_dir=data["importer"])))) as url:
        after = aws("importer", url, "get-policy", "--policy-arn", ARN)["Policy"]
        versions = {v: aws("importer", url, "get-policy-version", "--policy-arn", ARN, "--version-id", v)["PolicyVersion"] for v in ("v1", "v3")}
        listed = aws("importer", url, "list-policies", "--scope", "AWS", "--path-prefix", "/job-function/")["Policies"]
    assert {**before, "AttachmentCount": 0} == after  # the same policy; in this account, attached to nothing
    for version in CATALOGUE["Policies"][0]["PolicyVersionList"]:  # type: ignore[index]
        shown = versions[version["VersionId"]]
        assert (shown["Document"], shown["IsDefaultVersion"]) == (version["Document"], version["IsDefaultVersion"])
        assert datetime.fromisoformat(shown["CreateDate"]) == datetime.fromisoformat(version["CreateDate"])
    assert [p["Arn"] for p in listed] == [ARN]
