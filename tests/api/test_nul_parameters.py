"""A NUL character in a query parameter, or in the name a Marker carries, is a 400 ValidationError on PostgreSQL too.
PostgreSQL text cannot hold U+0000: the audit and authorization lookups that read a RoleName, SAMLProviderArn or
PolicyArn before the handler checks it, and the paged lists' Marker keys, answered 500 InternalFailure there."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from postgres_scratch import POSTGRES_URL, scratch_database
from servers import app_in_thread
from sqlalchemy import make_url

from samlfed.config import Settings
from samlfed.iam.service import create_account
from samlfed.server import build_context, build_server_app

POLICY = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}'
PROVIDER = "arn:aws:iam::111111111111:saml-provider/a\x00b"
MANAGED = "arn:aws:iam::111111111111:policy/a\x00b"


@pytest.fixture(scope="module")
def iam(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with scratch_database("samlfed_nul_parameters") as name:
        database_url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
        settings = Settings(data_dir=Path(tmp_path_factory.mktemp("data")), database_url=database_url)
        ctx = build_context(settings)
        admin = create_account(ctx, "111111111111")
        try:
            with app_in_thread(build_server_app(settings, ctx)) as base:
                yield boto3.client(
                    "iam", endpoint_url=base, region_name="us-east-1", aws_access_key_id=admin.access_key_id,
                    aws_secret_access_key=admin.secret_access_key, config=Config(retries={"max_attempts": 1}),
                )
        finally:
            ctx.store.engine.dispose()


def _marker(action: str) -> str:
    return base64.urlsafe_b64encode(f"samlfed:{action}:\x00".encode()).decode()


@pytest.mark.parametrize(
    ("operation", "parameters", "message"),
    [
        ("delete_role", {"RoleName": "a\x00b"}, "Parameter RoleName holds a NUL character"),
        ("update_role", {"RoleName": "a\x00b", "Description": "x"}, "Parameter RoleName holds a NUL character"),
        ("put_role_policy", {"RoleName": "a\x00b", "PolicyName": "p", "PolicyDocument": POLICY}, "Parameter RoleName holds a NUL character"),
        ("tag_saml_provider", {"SAMLProviderArn": PROVIDER, "Tags": [{"Key": "a", "Value": "b"}]}, "Parameter SAMLProviderArn holds a NUL"),
        ("delete_policy", {"PolicyArn": MANAGED}, "Parameter PolicyArn holds a NUL character"),
        ("create_policy", {"PolicyName": "P", "PolicyDocument": POLICY, "Description": "a\x00b"}, "Parameter Description holds a NUL"),
        ("list_roles", {"Marker": _marker("ListRoles")}, "Invalid Marker"),
        ("list_policies", {"Marker": _marker("ListPolicies")}, "Invalid Marker"),
    ],
)
def test_a_nul_is_a_validation_error(iam: Any, operation: str, parameters: dict[str, Any], message: str) -> None:
    with pytest.raises(ClientError) as refused:
        getattr(iam, operation)(**parameters)
    error = refused.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"]["Code"] == "ValidationError" and message in error["Error"]["Message"]
    assert iam.list_policies(Scope="Local")["Policies"] == []  # the description's NUL created nothing either
