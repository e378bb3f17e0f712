"""What the IAM-over-HTTP tests share: a developer world served in a thread, boto3 IAM clients of one attempt, and
the status, code and message of a refused call."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from saml_factory import ACCOUNT, DEV_ROLE, PROVIDER_ARN, response_b64
from servers import app_in_thread
from service_world import developer_world

from samlfed.api.app import build_app
from samlfed.config import Settings
from samlfed.context import ServiceContext
from samlfed.iam.accounts import NewAccessKey, create_access_key
from samlfed.sts.assume import AssumeRoleWithSamlRequest, assume_role_with_saml


def iam_client(url: str, key_id: str, secret: str, token: str | None = None, *, validate: bool = True) -> Any:
    """`validate=False`: botocore sends what its model would refuse, so that samlfed's own refusal is seen."""
    return boto3.client(
        "iam", endpoint_url=url, region_name="us-east-1", aws_access_key_id=key_id, aws_secret_access_key=secret, aws_session_token=token,
        config=Config(parameter_validation=validate, retries={"total_max_attempts": 1}),
    )


@contextmanager
def serving(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[tuple[ServiceContext, str, NewAccessKey]]:
    """The developer world in a data directory of its own, served in a thread: its context, URL and an administrator
    key of its account."""
    ctx = developer_world(Settings(data_dir=tmp_path_factory.mktemp(name)))
    admin = create_access_key(ctx, ACCOUNT)
    with app_in_thread(build_app(ctx)) as url:
        yield ctx, url, admin


def error_of(call: Callable[[], object]) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as info:
        call()
    response = info.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], response["Error"]["Message"]


def session_client(ctx: ServiceContext, url: str) -> Any:
    """A Developer session's IAM client (its credentials from a fresh SAML assertion)."""
    fresh = response_b64(issue_instant=datetime.now(UTC) - timedelta(seconds=5))
    issued = assume_role_with_saml(ctx, AssumeRoleWithSamlRequest(DEV_ROLE, PROVIDER_ARN, fresh)).credentials
    return iam_client(url, issued.access_key_id, issued.secret_access_key, issued.session_token)
