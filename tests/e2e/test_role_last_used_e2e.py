"""GetRole's RoleLastUsed end to end with boto3 and the AWS CLI, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from e2e_setup import ACCOUNT, TRUST_POLICY, client, unsigned_sts
from postgres_scratch import scratch_schema
from saml_factory import ENTITY_ID, PROVIDER_ARN, response_b64, signer
from servers import app_in_thread
from sqlalchemy import text

from samlfed.api.app import build_app
from samlfed.config import Settings
from samlfed.iam.accounts import create_account
from samlfed.saml.metadata import build_idp_metadata
from samlfed.server import build_context

AWS = str(Path(sys.executable).with_name("aws"))


@contextmanager
def database(kind: str) -> Iterator[str | None]:
    """None for SQLite in the data directory; else the URL of a fresh PostgreSQL schema, dropped afterwards."""
    if kind == "sqlite":
        yield None
        return
    with scratch_schema("samlfed_last_used") as url:
        yield url


@contextmanager
def serving(kind: str, data_dir: Path) -> Iterator[dict]:
    """samlfed's API on 127.0.0.1 over a `kind` database, with an account and the factory IdP registered."""
    with database(kind) as url:
        ctx = build_context(Settings(data_dir=data_dir, database_url=url))
        admin = create_account(ctx, ACCOUNT, "acme-dev")
        try:
            with app_in_thread(build_app(ctx)) as base:
                server = {"url": base, "admin": admin, "ctx": ctx}
                metadata = build_idp_metadata(ENTITY_ID, [signer().certificate]).decode()
                client(server, "iam").create_saml_provider(SAMLMetadataDocument=metadata, Name="ExampleIdP")
                yield server
        finally:
            ctx.store.engine.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    with serving(request.param, tmp_path_factory.mktemp("data")) as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def served_alone(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict]:
    """A server of the test's own, for a test that breaks its database."""
    with serving(request.param, tmp_path / "data") as server:
        yield server


def role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def assume_with_saml(server: dict, name: str) -> dict:
    assertion = response_b64(issue_instant=datetime.now(UTC), roles=[f"{role_arn(name)},{PROVIDER_ARN}"])
    return unsigned_sts(server).assume_role_with_saml(RoleArn=role_arn(name), PrincipalArn=PROVIDER_ARN, SAMLAssertion=assertion)["Credentials"]


def whole_seconds_now() -> datetime:
    """Now, without the fraction of a second that LastUsedDate (as every IAM date) drops."""
    return datetime.now(UTC).replace(microsecond=0)


def aws_cli_get_role(server: dict, home: Path, name: str) -> dict:
    admin = server["admin"]
    env = {
        "PATH": os.environ.get("PATH", ""), "HOME": str(home), "AWS_CONFIG_FILE": str(home / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"), "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_IAM": server["url"], "AWS_ACCESS_KEY_ID": admin.access_key_id, "AWS_SECRET_ACCESS_KEY": admin.secret_access_key,
    }
    done = subprocess.run([AWS, "iam", "get-role", "--role-name", name, "--output", "json"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["Role"]


def test_a_role_never_used_has_an_empty_role_last_used(served: dict) -> None:
    iam = client(served, "iam")
    iam.create_role(RoleName="Fresh", AssumeRolePolicyDocument=TRUST_POLICY)
    assert iam.get_role(RoleName="Fresh")["Role"]["RoleLastUsed"] == {}


def test_assume_role_with_saml_is_the_last_use_in_the_default_region(served: dict, tmp_path: Path) -> None:
    iam = client(served, "iam")
    iam.create_role(RoleName="Used", AssumeRolePolicyDocument=TRUST_POLICY)
    before = whole_seconds_now()
    assume_with_saml(served, "Used")
    after = datetime.now(UTC)
    last_used = iam.get_role(RoleName="Used")["Role"]["RoleLastUsed"]
    assert set(last_used) == {"LastUsedDate", "Region"}
    assert before <= last_used["LastUsedDate"] <= after and last_used["Region"] == "us-east-1"
    printed = aws_cli_get_role(served, tmp_path, "Used")["RoleLastUsed"]
    assert printed == {"LastUsedDate": last_used["LastUsedDate"].strftime("%Y-%m-%dT%H:%M:%SZ"), "Region": "us-east-1"}


def test_list_roles_leaves_role_last_used_out(served: dict) -> None:
    iam = client(served, "iam")
    iam.create_role(RoleName="Listed", AssumeRolePolicyDocument=TRUST_POLICY)
    assume_with_saml(served, "Listed")
    roles = iam.list_roles()["Roles"]
    assert "Listed" in [r["RoleName"] for r in roles]
    assert [r["RoleName"] for r in roles if "RoleLastUsed" in r] == []


def test_role_chaining_is_a_use_in_the_region_the_request_was_signed_for(served: dict) -> None:
    iam = client(served, "iam")
    iam.create_role(RoleName="ChainFrom", AssumeRolePolicyDocument=TRUST_POLICY)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": role_arn("ChainFrom")}, "Action": "sts:AssumeRole"}]}
    iam.create_role(RoleName="ChainTo", AssumeRolePolicyDocument=json.dumps(trust))
    credentials = assume_with_saml(served, "ChainFrom")
    sts = boto3.client(
        "sts", endpoint_url=served["url"], region_name="eu-west-1", aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"], aws_session_token=credentials["SessionToken"],
    )
    before = whole_seconds_now()
    sts.assume_role(RoleArn=role_arn("ChainTo"), RoleSessionName="chained")
    after = datetime.now(UTC)
    last_used = iam.get_role(RoleName="ChainTo")["Role"]["RoleLastUsed"]
    assert before <= last_used["LastUsedDate"] <= after and last_used["Region"] == "eu-west-1"


def test_a_used_role_deletes_and_its_successor_of_that_name_is_unused(served: dict) -> None:
    iam = client(served, "iam")
    old_id = iam.create_role(RoleName="Doomed", AssumeRolePolicyDocument=TRUST_POLICY)["Role"]["RoleId"]
    assume_with_saml(served, "Doomed")
    assert iam.get_role(RoleName="Doomed")["Role"]["RoleLastUsed"]["Region"] == "us-east-1"
    iam.delete_role(RoleName="Doomed")
    with served["ctx"].store.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM role_last_used WHERE role_id = :id"), {"id": old_id}).scalar_one() == 0
    iam.create_role(RoleName="Doomed", AssumeRolePolicyDocument=TRUST_POLICY)
    assert iam.get_role(RoleName="Doomed")["Role"]["RoleLastUsed"] == {}


def test_assume_role_with_saml_succeeds_when_its_use_cannot_be_recorded(served_alone: dict, caplog: pytest.LogCaptureFixture) -> None:
    """Recording is informational: a database that refuses it must not fail the sign-in."""
    client(served_alone, "iam").create_role(RoleName="Unrecorded", AssumeRolePolicyDocument=TRUST_POLICY)
    with served_alone["ctx"].store.engine.begin() as connection:
        connection.execute(text("DROP TABLE role_last_used"))
    once = Config(signature_version=UNSIGNED, retries={"total_max_attempts": 1})  # a retry would hide a failed first answer
    sts = boto3.client("sts", endpoint_url=served_alone["url"], region_name="us-east-1", config=once)
    assertion = response_b64(issue_instant=datetime.now(UTC), roles=[f"{role_arn('Unrecorded')},{PROVIDER_ARN}"])
    with caplog.at_level(logging.WARNING, logger="samlfed.sts"):
        answer = sts.assume_role_with_saml(RoleArn=role_arn("Unrecorded"), PrincipalArn=PROVIDER_ARN, SAMLAssertion=assertion)
    assert answer["Credentials"]["AccessKeyId"].startswith("ASIA")
    assert [r.getMessage().split(" error=")[0] for r in caplog.records] == [f"role last use not recorded role={role_arn('Unrecorded')}"]
