"""What the end-to-end tests share: the account, the trust policy and boto3 clients for the test server."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
from saml_factory import PROVIDER_ARN

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
