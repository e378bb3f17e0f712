"""`explain` reaches `evaluate`'s decision on every case of the evaluation tables and on generated policies, and
says which statement and which condition decided."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from test_evaluation_table import SINGLE
from test_policy_properties import policies, requests
from test_trust_policies import CASES, PROVIDER, allow, trust

from samlfed.policy import Request, evaluate, parse_policy
from samlfed.policy.explain import explain


def _document(statements: list[dict]):  # type: ignore[no-untyped-def]
    return parse_policy(json.dumps({"Version": "2012-10-17", "Statement": statements}), principal_required=False)


@pytest.mark.parametrize(("name", "statements", "action", "resource", "context", "expected"), SINGLE, ids=[c[0] for c in SINGLE])
def test_explain_decides_as_the_evaluation_table(name: str, statements: list[dict], action: str, resource: str, context: dict, expected: str) -> None:
    assert explain(_document(statements), Request(action, context, resource=resource)).decision == expected


@pytest.mark.parametrize(("name", "policy", "context", "action", "expected"), CASES, ids=[c[0] for c in CASES])
def test_explain_decides_as_the_trust_policy_table(name: str, policy: str, context: dict, action: str, expected: str) -> None:
    document = parse_policy(policy, principal_required=True)
    request = Request(action, {k.lower(): v for k, v in context.items()}, principal_type="Federated", principal=PROVIDER)
    assert explain(document, request).decision == expected


@settings(max_examples=400, deadline=None)
@given(policies, requests)
def test_explain_always_agrees_with_evaluate(statements: list[dict], request: Request) -> None:
    document = _document(statements)
    explanation = explain(document, request)
    assert explanation.decision == evaluate(document, request).decision
    assert {id(s.statement) for s in explanation.deciding} == {id(s) for s in evaluate(document, request).matched}


def test_a_failed_condition_is_named_with_both_sides() -> None:
    policy = parse_policy(trust(allow({"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}})), principal_required=True)
    context = {"saml:aud": ["https://samlfed.example.com/saml"]}
    explanation = explain(policy, Request("sts:AssumeRoleWithSAML", context, principal_type="Federated", principal=PROVIDER))
    assert explanation.decision == "implicitDeny"
    (statement,) = explanation.statements
    assert statement.action_matches and statement.principal_matches and not statement.applies
    (check,) = statement.conditions
    assert (check.condition.name, check.condition.operator, check.holds) == ("SAML:aud", "StringEquals", False)
    assert check.condition.values == ("https://signin.aws.amazon.com/saml",)
    assert check.context_values == ("https://samlfed.example.com/saml",)


def test_an_absent_key_is_told_apart_from_an_empty_one() -> None:
    policy = parse_policy(trust(allow({"StringEquals": {"saml:edupersonaffiliation": "staff"}})), principal_required=True)
    request = Request("sts:AssumeRoleWithSAML", {}, principal_type="Federated", principal=PROVIDER)
    (check,) = explain(policy, request).statements[0].conditions
    assert check.context_values is None and not check.holds


def test_statements_for_other_actions_or_principals_list_no_conditions() -> None:
    other_provider = allow({"StringEquals": {"SAML:aud": "x"}}, principal={"Federated": "arn:aws:iam::111111111111:saml-provider/Other"})
    tag_only = allow({"StringEquals": {"SAML:aud": "x"}}, action="sts:TagSession")
    explanation = explain(parse_policy(trust(other_provider, tag_only), principal_required=True),
                          Request("sts:AssumeRoleWithSAML", {}, principal_type="Federated", principal=PROVIDER))
    first, second = explanation.statements
    assert (first.number, first.action_matches, first.principal_matches, first.conditions) == (1, True, False, ())
    assert (second.number, second.action_matches, second.principal_matches, second.conditions) == (2, False, False, ())
    assert explanation.decision == "implicitDeny" and explanation.deciding == ()


def test_an_explicit_deny_is_the_deciding_statement() -> None:
    deny = {"Sid": "NoContractors", "Effect": "Deny", "Principal": {"Federated": PROVIDER}, "Action": "sts:AssumeRoleWithSAML",
            "Condition": {"StringEquals": {"saml:edupersonaffiliation": "contractor"}}}
    policy = parse_policy(trust(allow(), deny), principal_required=True)
    request = Request("sts:AssumeRoleWithSAML", {"saml:edupersonaffiliation": ["contractor"]}, principal_type="Federated", principal=PROVIDER)
    explanation = explain(policy, request)
    assert explanation.decision == "explicitDeny"
    assert [s.statement.sid for s in explanation.deciding] == ["NoContractors"]
