"""A samlfed server on 127.0.0.1 for the end-to-end tests, with one account and its administrator key."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
from saml_factory import ENTITY_ID, PROVIDER_ARN, signer
from servers import app_in_thread

from samlfed.api.app import build_app
from samlfed.config import Settings
from samlfed.iam.service import create_account
from samlfed.saml.metadata import build_idp_metadata
from samlfed.server import build_context

ACCOUNT = "111111111111"
TRUST_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": PROVIDER_ARN},
                "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"],
                "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}},
            }
        ],
    }
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    ctx = build_context(Settings(data_dir=tmp_path_factory.mktemp("data")))
    admin = create_account(ctx, ACCOUNT, "acme-dev")
    with app_in_thread(build_app(ctx)) as url:
        yield {"url": url, "admin": admin}


def client(server: dict, service: str, **credentials: object):
    if not credentials:
        credentials = {"aws_access_key_id": server["admin"].access_key_id, "aws_secret_access_key": server["admin"].secret_access_key}
    return boto3.client(service, endpoint_url=server["url"], region_name="us-east-1", **credentials)


def unsigned_sts(server: dict):
    return boto3.client("sts", endpoint_url=server["url"], region_name="us-east-1", config=Config(signature_version=UNSIGNED))


def error_of(call) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as info:
        call()
    error = info.value.response["Error"]
    return error["Code"], error["Message"], info.value.response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture(scope="module")
def registered(server: dict) -> dict:
    iam = client(server, "iam")
    metadata = build_idp_metadata(ENTITY_ID, [signer().certificate]).decode()
    arn = iam.create_saml_provider(SAMLMetadataDocument=metadata, Name="ExampleIdP")["SAMLProviderArn"]
    assert arn == PROVIDER_ARN
    role = iam.create_role(RoleName="Developer", AssumeRolePolicyDocument=TRUST_POLICY, MaxSessionDuration=7200)["Role"]
    return {"role": role}


