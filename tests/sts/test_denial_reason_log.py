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
    assert denied.denied_by == "trust"


OPERATOR = f"arn:aws:iam::{ACCOUNT}:role/Operator"
OUTCOMES = ("rejected", "denied", "refused", "replay_refused", "throttled")


def _refusal_records(ctx: ServiceContext, caplog: pytest.LogCaptureFixture, **request: object) -> tuple[ServiceError, list[logging.LogRecord]]:
    fields = {"role_arn": DEV_ROLE, "principal_arn": PROVIDER_ARN, "saml_assertion": response_b64(issue_instant=NOW), **request}
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="samlfed.sts"), pytest.raises(ServiceError) as info:
        assume_role_with_saml(ctx, AssumeRoleWithSamlRequest(**fields))  # type: ignore[arg-type]
    return info.value, [r for r in caplog.records if getattr(r, "outcome", None) in OUTCOMES]


@pytest.mark.parametrize(("role_arn", "denied_by", "reason"), [
    (OPERATOR, "no_such_role", "no role of this ARN in the provider's account"),  # named in the response, never created
    (DEV_ROLE.replace("Developer", "developer"), "no_such_role", "no role of this ARN in the provider's account"),
    (DEV_ROLE, "malformed_trust", "the stored trust policy is not a valid policy"),
])
def test_a_refusal_before_the_trust_policy_is_logged_too(ctx: ServiceContext, caplog: pytest.LogCaptureFixture, role_arn: str, denied_by: str, reason: str) -> None:
    """The most common misconfiguration, a role that does not exist, left no trace (the differential probe)."""
    if denied_by == "malformed_trust":
        ctx.store.update_role(ACCOUNT, "Developer", trust_policy="{not json")  # the store: IAM would refuse it
    assertion = response_b64(issue_instant=NOW, roles=[f"{role_arn},{PROVIDER_ARN}"])
    error, records = _refusal_records(ctx, caplog, role_arn=role_arn, saml_assertion=assertion)
    assert (error.code, error.status) == ("AccessDenied", 403)
    [denied] = records
    assert (denied.outcome, denied.denied_by, denied.reason, denied.role, denied.subject) == ("denied", denied_by, reason, role_arn, "alice@example.com")


@pytest.mark.parametrize(("request_fields", "code", "message"), [
    ({"principal_arn": f"arn:aws:iam::{ACCOUNT}:saml-provider/Nobody"}, "InvalidIdentityToken", "Specified provider doesn't exist"),
    ({"role_arn": "arn:aws:iam::222222222222:role/Developer"}, "ValidationError", "Principal exists outside the account of the Role being assumed."),
    ({"duration_seconds": 7200}, "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."),
    ({"policy_arns": (f"arn:aws:iam::{ACCOUNT}:policy/Missing",)}, "MalformedPolicyDocument", None),
])
def test_every_other_refusal_is_one_refused_record(ctx: ServiceContext, caplog: pytest.LogCaptureFixture, request_fields: dict, code: str, message: str | None) -> None:
    error, records = _refusal_records(ctx, caplog, **request_fields)
    assert error.code == code and (message is None or error.message == message)
    [refused] = records
    assert (refused.outcome, refused.error_code, refused.reason, refused.provider) == ("refused", code, error.message, request_fields.get("principal_arn", PROVIDER_ARN))
