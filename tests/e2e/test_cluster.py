"""Real `samlfed serve` processes: restart on the same data directory, and two nodes on one PostgreSQL."""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
from postgres_scratch import scratch_schema
from saml_factory import DEV_ROLE, ENTITY_ID, OPS_ROLE, PROVIDER_ARN, response_b64, signer
from servers import SAMLFED, samlfed_process
from service_world import TRUST

from samlfed.saml.metadata import build_idp_metadata


def serving(*args: str, env: dict[str, str] | None = None) -> AbstractContextManager[str]:
    return samlfed_process(["serve"], *args, probe="/healthz", env=env)


def cli(*args: str, env: dict[str, str] | None = None) -> dict:
    done = subprocess.run([SAMLFED, *args], env={**os.environ, **(env or {})}, capture_output=True, text=True, check=True)
    return json.loads(done.stdout) if done.stdout.startswith("{") else {"out": done.stdout}


def clients(url: str, admin: dict):
    keys = {"aws_access_key_id": admin["AccessKeyId"], "aws_secret_access_key": admin["SecretAccessKey"]}
    iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1", **keys)
    unsigned = boto3.client("sts", endpoint_url=url, region_name="us-east-1", config=Config(signature_version=UNSIGNED))
    return iam, unsigned


def session_sts(url: str, credentials: dict):
    return boto3.client(
        "sts", endpoint_url=url, region_name="us-east-1", aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"], aws_session_token=credentials["SessionToken"],
    )


def register(iam) -> None:  # type: ignore[no-untyped-def]
    iam.create_saml_provider(SAMLMetadataDocument=build_idp_metadata(ENTITY_ID, [signer().certificate]).decode(), Name="ExampleIdP")
    iam.create_role(RoleName="Developer", AssumeRolePolicyDocument=TRUST)
    iam.create_role(RoleName="Operator", AssumeRolePolicyDocument=TRUST)


def test_restart_keeps_state_and_live_sessions(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    admin = cli("accounts", "create", "--id", "111111111111", "--data-dir", data, "--json")
    assert oct(os.stat(data).st_mode & 0o777) == "0o700" and oct(os.stat(Path(data) / "master.key").st_mode & 0o777) == "0o600"
    with serving("--data-dir", data) as url:
        iam, sts = clients(url, admin)
        register(iam)
        iam.put_role_policy(RoleName="Developer", PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
        credentials = sts.assume_role_with_saml(RoleArn=DEV_ROLE, PrincipalArn=PROVIDER_ARN, SAMLAssertion=response_b64(issue_instant=datetime.now(UTC)))["Credentials"]
    cli("keys", "rotate", "--data-dir", data)
    with serving("--data-dir", data) as url:
        iam, _ = clients(url, admin)
        assert iam.get_saml_provider(SAMLProviderArn=PROVIDER_ARN)["SAMLMetadataDocument"].startswith("<?xml")
        assert iam.get_role(RoleName="Developer")["Role"]["Arn"] == DEV_ROLE
        assert iam.list_role_policies(RoleName="Developer")["PolicyNames"] == ["p"]
        assert session_sts(url, credentials).get_caller_identity()["Arn"].endswith("assumed-role/Developer/alice@example.com")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with scratch_schema("samlfed_cluster") as url:
        yield url


def test_two_nodes_share_postgresql(postgres_url: str) -> None:
    env = {"SAMLFED_MASTER_KEY": base64.b64encode(secrets.token_bytes(32)).decode()}
    admin = cli("accounts", "create", "--id", "111111111111", "--database-url", postgres_url, "--json", env=env)
    with serving("--database-url", postgres_url, "--strict-replay", env=env) as one, serving("--database-url", postgres_url, "--strict-replay", env=env) as two:
        iam, sts_one = clients(one, admin)
        register(iam)
        _, sts_two = clients(two, admin)
        assertion = response_b64(issue_instant=datetime.now(UTC))
        credentials = sts_one.assume_role_with_saml(RoleArn=DEV_ROLE, PrincipalArn=PROVIDER_ARN, SAMLAssertion=assertion)["Credentials"]
        assert session_sts(two, credentials).get_caller_identity()["Arn"].endswith("assumed-role/Developer/alice@example.com")
        # strict_replay: the same assertion for the same role is refused on the other node; another role is fine
        with pytest.raises(ClientError) as info:
            sts_two.assume_role_with_saml(RoleArn=DEV_ROLE, PrincipalArn=PROVIDER_ARN, SAMLAssertion=assertion)
        assert info.value.response["Error"] == {"Type": "Sender", "Code": "InvalidIdentityToken", "Message": "The SAML assertion has already been used"}
        assert sts_two.assume_role_with_saml(RoleArn=OPS_ROLE, PrincipalArn=PROVIDER_ARN, SAMLAssertion=assertion)["Credentials"]
        # rotating the ring while both run breaks no live session, and new sessions open on either node
        cli("keys", "rotate", "--database-url", postgres_url, env=env)
        fresh = sts_two.assume_role_with_saml(RoleArn=DEV_ROLE, PrincipalArn=PROVIDER_ARN, SAMLAssertion=response_b64(issue_instant=datetime.now(UTC)))["Credentials"]
        assert session_sts(one, fresh).get_caller_identity()["Account"] == "111111111111"
        assert session_sts(one, credentials).get_caller_identity()["Account"] == "111111111111"
