"""A condition value the engine cannot read (a policy's "10.0.0.0/33", "abc" for a number, a date it cannot place; a
request's value of the wrong type) matched nothing, so a negated operator held: an Allow on NotIpAddress
"10.0.0.0/33" allowed everyone, and a Deny on IpAddress "10.0.0.0/33" denied no one. The unknown now fails an Allow's
condition and holds a Deny's, on every path that evaluates a policy; readable values decide as before."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from servers import app_in_thread

from samlfed.api.app import build_app
from samlfed.config import Settings
from samlfed.iam.accounts import create_account
from samlfed.policy import NamedPolicy, PolicySet, Request, authorize, evaluate, parse_policy
from samlfed.policy.explain import explain, refusal
from samlfed.server import build_context

CLIENT = "203.0.113.5"
NOW = "2026-12-01T00:00:00Z"
PROVIDER = "arn:aws:iam::111111111111:saml-provider/Corp"

# (condition, request context): each value is one the engine cannot read, "01T" one IAM stores (valid-30)
UNREADABLE_NEGATED = [
    ({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/33"}}, {"aws:sourceip": [CLIENT]}),
    ({"NotIpAddressIfExists": {"aws:SourceIp": "not-a-network"}}, {"aws:sourceip": [CLIENT]}),
    ({"NumericNotEquals": {"s3:max-keys": "abc"}}, {"s3:max-keys": ["5"]}),
    ({"DateNotEquals": {"aws:CurrentTime": "01T"}}, {"aws:currenttime": [NOW]}),
    ({"ForAnyValue:NotIpAddress": {"aws:SourceIp": "10.0.0.0/33"}}, {"aws:sourceip": [CLIENT]}),
    ({"ForAllValues:NumericNotEquals": {"s3:max-keys": "abc"}}, {"s3:max-keys": ["5", "6"]}),
    ({"NumericNotEquals": {"aws:PrincipalTag/level": "5"}}, {"aws:principaltag/level": ["five"]}),  # the request's value
]
UNREADABLE_POSITIVE = [
    ({"IpAddress": {"aws:SourceIp": "10.0.0.0/33"}}, {"aws:sourceip": [CLIENT]}),
    ({"IpAddressIfExists": {"aws:SourceIp": "10.0.0.0/33"}}, {"aws:sourceip": [CLIENT]}),
    ({"NumericEquals": {"s3:max-keys": "abc"}}, {"s3:max-keys": ["5"]}),
    ({"DateGreaterThan": {"aws:CurrentTime": "01T"}}, {"aws:currenttime": [NOW]}),
    ({"BinaryEquals": {"aws:PrincipalTag/blob": "not base64!"}}, {"aws:principaltag/blob": ["QUJD"]}),
    ({"ForAnyValue:IpAddress": {"aws:SourceIp": "10.0.0.0/33"}}, {"aws:sourceip": [CLIENT]}),
    ({"ForAllValues:IpAddress": {"aws:SourceIp": "10.0.0.0/33"}}, {"aws:sourceip": [CLIENT, "198.51.100.1"]}),
    ({"NumericLessThan": {"aws:PrincipalTag/level": "3"}}, {"aws:principaltag/level": ["three"]}),  # the request's value
]


def document(*statements: dict[str, Any], principal: bool = False) -> str:
    for statement in statements:
        statement.setdefault("Action", "*")
        if principal:
            statement.setdefault("Principal", {"Federated": PROVIDER})
        else:
            statement.setdefault("Resource", "*")
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def decision(text: str, context: dict[str, list[str]]) -> str:
    return evaluate(parse_policy(text, principal_required=False), Request("s3:GetObject", context, resource="*")).decision


ALLOW_ALL = {"Effect": "Allow"}


@pytest.mark.parametrize(("condition", "context"), UNREADABLE_NEGATED + UNREADABLE_POSITIVE)
def test_an_allow_whose_condition_turns_on_an_unreadable_value_allows_nothing(condition: dict, context: dict) -> None:
    assert decision(document({"Effect": "Allow", "Condition": condition}), context) == "implicitDeny"


@pytest.mark.parametrize(("condition", "context"), UNREADABLE_POSITIVE + UNREADABLE_NEGATED)
def test_a_deny_whose_condition_turns_on_an_unreadable_value_denies(condition: dict, context: dict) -> None:
    assert decision(document(ALLOW_ALL.copy(), {"Effect": "Deny", "Condition": condition}), context) == "explicitDeny"


@pytest.mark.parametrize(("effect", "condition", "context", "expected"), [
    # readable values: the decisions they always had
    ("Allow", {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:sourceip": [CLIENT]}, "allowed"),
    ("Allow", {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:sourceip": ["10.1.2.3"]}, "implicitDeny"),
    ("Deny", {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:sourceip": [CLIENT]}, "allowed"),
    ("Deny", {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, {"aws:sourceip": ["10.1.2.3"]}, "explicitDeny"),
    ("Allow", {"NumericNotEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": ["5"]}, "allowed"),
    ("Deny", {"DateGreaterThan": {"aws:CurrentTime": "2027-01-01T00:00:00Z"}}, {"aws:currenttime": [NOW]}, "allowed"),
    # a readable value that decides whatever the unreadable one would: it still does
    ("Allow", {"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/33", "203.0.113.0/24"]}}, {"aws:sourceip": [CLIENT]}, "implicitDeny"),
    ("Deny", {"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/33", "203.0.113.0/24"]}}, {"aws:sourceip": [CLIENT]}, "allowed"),
    # an absent key meets no value: IfExists holds, a negated operator holds (IAM User Guide, condition operators)
    ("Allow", {"NotIpAddressIfExists": {"aws:SourceIp": "10.0.0.0/33"}}, {}, "allowed"),
    ("Allow", {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/33"}}, {}, "allowed"),
    ("Deny", {"IpAddress": {"aws:SourceIp": "10.0.0.0/33"}}, {}, "allowed"),
])
def test_readable_values_and_absent_keys_decide_as_before(effect: str, condition: dict, context: dict, expected: str) -> None:
    statements = [{"Effect": effect, "Condition": condition}] + ([ALLOW_ALL.copy()] if effect == "Deny" else [])
    assert decision(document(*statements), context) == expected


def named(kind: str, text: str) -> NamedPolicy:
    return NamedPolicy(kind, kind, parse_policy(text, principal_required=False))


MALFORMED_ALLOW = document({"Effect": "Allow", "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/33"}}})
MALFORMED_DENY = document(ALLOW_ALL.copy(), {"Effect": "Deny", "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/33"}}})
EVERYTHING = document(ALLOW_ALL.copy())


@pytest.mark.parametrize(("policies", "expected", "refused_by"), [
    (PolicySet(identity=(named("role", MALFORMED_ALLOW),)), "implicitDeny", "identity"),
    (PolicySet(identity=(named("role", EVERYTHING),), boundary=named("permissions-boundary", MALFORMED_ALLOW)), "implicitDeny", "boundary"),
    (PolicySet(identity=(named("role", EVERYTHING),), session=(named("session", MALFORMED_ALLOW),)), "implicitDeny", "session"),
    (PolicySet(identity=(named("role", EVERYTHING),), boundary=named("permissions-boundary", MALFORMED_DENY)), "explicitDeny", "boundary"),
    (PolicySet(identity=(named("role", EVERYTHING),), session=(named("session", MALFORMED_DENY),)), "explicitDeny", "session"),
])
def test_every_layer_of_a_session_decides_so(policies: PolicySet, expected: str, refused_by: str) -> None:
    result = authorize(policies, Request("s3:GetObject", {"aws:sourceip": [CLIENT]}, resource="*"))
    assert (result.decision, result.refused_by) == (expected, refused_by)


def test_a_trust_policy_and_its_explanation_decide_so() -> None:
    """STS evaluates a trust policy with `evaluate`, the doctor explains it with `explain`: both refuse."""
    request = Request("sts:AssumeRoleWithSAML", {"aws:sourceip": [CLIENT]}, principal_type="Federated", principal=PROVIDER)
    allow = parse_policy(document({"Effect": "Allow", "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/33"}}}, principal=True), principal_required=True)
    assert evaluate(allow, request).decision == explain(allow, request).decision == "implicitDeny"
    why = refusal(explain(allow, request))
    assert why is not None and why.describe() == "statement 1: NotIpAddress aws:SourceIp fails"
    deny = parse_policy(document({"Effect": "Allow"}, {"Effect": "Deny", "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/33"}}}, principal=True),
                        principal_required=True)
    assert evaluate(deny, request).decision == explain(deny, request).decision == "explicitDeny"


@pytest.fixture(scope="module")
def iam(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    ctx = build_context(Settings(data_dir=tmp_path_factory.mktemp("data")))
    admin = create_account(ctx, "111111111111")
    with app_in_thread(build_app(ctx)) as url:
        yield boto3.client("iam", endpoint_url=url, region_name="us-east-1", aws_access_key_id=admin.access_key_id,
                           aws_secret_access_key=admin.secret_access_key)


@pytest.mark.parametrize(("policy", "expected"), [
    (MALFORMED_ALLOW, "implicitDeny"),
    (MALFORMED_DENY, "explicitDeny"),
    (document({"Effect": "Allow", "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}), "allowed"),
])
def test_the_simulator_over_http_decides_so(iam: Any, policy: str, expected: str) -> None:
    answer = iam.simulate_custom_policy(
        PolicyInputList=[policy], ActionNames=["s3:GetObject"],
        ContextEntries=[{"ContextKeyName": "aws:SourceIp", "ContextKeyValues": [CLIENT], "ContextKeyType": "ip"}],
    )
    assert answer["EvaluationResults"][0]["EvalDecision"] == expected
