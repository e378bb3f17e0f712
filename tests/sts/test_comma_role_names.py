"""AssumeRoleWithSAML into a role whose name holds commas, which IAM's role names may ([\\w+=,.@-]). The Role
attribute's pair then holds more than one comma; it was refused as 'not one pair' (samlfed split the value at every
comma), so such a role could be created but never signed in to."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from saml_factory import ACCOUNT, NOW, PROVIDER_ARN, response_b64
from service_world import TRUST, developer_world

from samlfed.config import Settings
from samlfed.context import ServiceContext
from samlfed.iam.roles import create_role
from samlfed.sts.assume import AssumeRoleWithSamlRequest, assume_role_with_saml

COMMA_ROLE = f"arn:aws:iam::{ACCOUNT}:role/Dev,Ops"


@pytest.fixture
def ctx(tmp_path: Path) -> ServiceContext:
    ctx = developer_world(Settings(data_dir=tmp_path))
    create_role(ctx, ACCOUNT, "Dev,Ops", TRUST)
    ctx.clock = lambda: NOW + timedelta(seconds=5)
    return ctx


@pytest.mark.parametrize("value", [f"{COMMA_ROLE},{PROVIDER_ARN}", f"{PROVIDER_ARN},{COMMA_ROLE}"], ids=["role-first", "provider-first"])
def test_a_role_named_with_a_comma_is_assumed(ctx: ServiceContext, value: str) -> None:
    request = AssumeRoleWithSamlRequest(
        role_arn=COMMA_ROLE, principal_arn=PROVIDER_ARN, saml_assertion=response_b64(issue_instant=NOW, roles=[value]),
    )
    assumed = assume_role_with_saml(ctx, request)
    assert assumed.role.arn == COMMA_ROLE
    assert assumed.credentials.claims.assumed_role_arn.startswith(f"arn:aws:sts::{ACCOUNT}:assumed-role/Dev,Ops/")
