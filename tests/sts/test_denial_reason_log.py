"""A trust-policy refusal of AssumeRoleWithSAML is logged with what refused it: the statement and the condition
key, never the sign-in's values (the caller still gets AWS's one AccessDenied)."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path

import pytest
from saml_factory import ACCOUNT, DEV_ROLE, NOW, PROVIDER_ARN, response_b64
from service_world import developer_world

from samlfed.config import Settings
from samlfed.context import ServiceContext
from samlfed.errors import ServiceError
from samlfed.sts.assume import AssumeRoleWithSamlRequest, assume_role_with_saml

AUD = "https://signin.aws.amazon.com/saml"


@pytest.fixture
def ctx(tmp_path: Path) -> ServiceContext:
    ctx = developer_world(Settings(data_dir=tmp_path))
    ctx.clock = lambda: NOW + timedelta(seconds=5)
    return ctx


def statement(actions: list[str], **extra: object) -> dict:
    return {"Effect": "Allow", "Principal": {"Federated": PROVIDER_ARN}, "Action": actions, **extra}


CASES = [
    ("condition", [statement(["sts:AssumeRoleWithSAML", "sts:TagSession"], Sid="Federation",
                             Condition={"StringEquals": {"SAML:aud": "https://eu-west-1.signin.aws.amazon.com/saml"}})],
     "sts:AssumeRoleWithSAML", "statement 1 (Federation): StringEquals SAML:aud fails"),
    ("action", [statement(["sts:AssumeRoleWithSAML"])], "sts:TagSession", "no Allow statement for the action"),
    ("principal", [{**statement(["sts:*"]), "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:saml-provider/Other"}}],
     "sts:AssumeRoleWithSAML", "no Allow statement for the principal"),
    ("deny", [statement(["sts:*"]), {"Sid": "Nobody", "Effect": "Deny", "Principal": "*", "Action": "sts:*"}],
     "sts:AssumeRoleWithSAML", "denied by statement 2 (Nobody)"),
]


@pytest.mark.parametrize(("name", "statements", "action", "reason"), CASES, ids=[c[0] for c in CASES])
def test_the_denied_line_says_what_refused(ctx: ServiceContext, caplog: pytest.LogCaptureFixture, name: str, statements: list, action: str, reason: str) -> None:
    ctx.store.update_role(ACCOUNT, "Developer", trust_policy=json.dumps({"Version": "2012-10-17", "Statement": statements}))
    request = AssumeRoleWithSamlRequest(role_arn=DEV_ROLE, principal_arn=PROVIDER_ARN, saml_assertion=response_b64(issue_instant=NOW))
    with caplog.at_level(logging.INFO, logger="samlfed.sts"), pytest.raises(ServiceError) as info:
        assume_role_with_saml(ctx, request)
    assert info.value.message == "Not authorized to perform sts:AssumeRoleWithSAML"
    (denied,) = [r for r in caplog.records if getattr(r, "outcome", None) == "denied"]
    assert (denied.policy_action, denied.reason) == (action, reason)
    assert f"reason={reason!r}" in denied.getMessage()
    assert AUD not in denied.reason and "alice" not in denied.reason
