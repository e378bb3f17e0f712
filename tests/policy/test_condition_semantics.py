"""Condition rules an audit found wrong, each as the IAM User Guide states it: a policy variable without a value
makes its statement apply to nothing (negated operators too); variables are substituted only in String, ARN and
Bool conditions; ArnEquals and ArnNotEquals take wildcards per ARN part, as ArnLike does."""

from __future__ import annotations

import json

import pytest

from samlfed.policy import Request, evaluate, parse_policy

SOURCE_ARN = "arn:aws:sns:us-east-1:111111111111:topicA"


def decision(operator: str, key: str, value: str | list[str], context: dict[str, list[str]]) -> str:
    statement = {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {operator: {key: value}}}
    policy = parse_policy(json.dumps({"Version": "2012-10-17", "Statement": [statement]}), principal_required=False)
    return evaluate(policy, Request("s3:ListBucket", {k.lower(): v for k, v in context.items()}, resource="*")).decision


@pytest.mark.parametrize(("operator", "expected"), [
    ("StringEquals", "implicitDeny"), ("StringLike", "implicitDeny"), ("ArnLike", "implicitDeny"),
    ("StringNotEquals", "allowed"), ("StringNotLike", "allowed"), ("ArnNotLike", "allowed"),
])
def test_a_variable_without_a_value_is_null_which_only_the_inverted_operators_match(operator: str, expected: str) -> None:
    """IAM User Guide, policy variables with no value: StringEquals and StringLike "do not match"; inverted operators
    "do match against a null value"."""
    arn = operator.startswith("Arn")
    value, prefix = ("arn:aws:s3:::home/${aws:username}/*", "arn:aws:s3:::home/bob/x") if arn else ("home/${aws:username}/", "home/bob/")
    assert decision(operator, "s3:prefix", value, {"s3:prefix": [prefix]}) == expected
    with_a_value = "implicitDeny" if operator.startswith(("StringNot", "ArnNot")) else "allowed"
    assert decision(operator, "s3:prefix", value, {"s3:prefix": [prefix], "aws:username": ["bob"]}) == with_a_value


def test_a_null_value_leaves_the_other_values_of_its_condition_to_match() -> None:
    values = ["${aws:username}", "home/shared/"]
    assert decision("StringEquals", "s3:prefix", values, {"s3:prefix": ["home/shared/"]}) == "allowed"
    assert decision("StringNotEquals", "s3:prefix", values, {"s3:prefix": ["home/shared/"]}) == "implicitDeny"
    assert decision("StringNotEquals", "s3:prefix", values, {"s3:prefix": ["home/bob/"]}) == "allowed"


def test_a_variable_with_a_value_is_substituted() -> None:
    context = {"s3:prefix": ["home/bob/"], "aws:username": ["bob"]}
    assert decision("StringEquals", "s3:prefix", "home/${aws:username}/", context) == "allowed"
    assert decision("StringNotEquals", "s3:prefix", "home/${aws:username}/", context) == "implicitDeny"


@pytest.mark.parametrize(("operator", "key", "tag", "value"), [
    ("IpAddress", "aws:SourceIp", "0.0.0.0/0", "203.0.113.7"),
    ("NumericLessThanEquals", "s3:max-keys", "1000", "10"),
    ("DateLessThan", "aws:CurrentTime", "2100-01-01T00:00:00Z", "2026-12-01T00:00:00Z"),
])
def test_variables_are_literal_text_outside_string_arn_and_bool_conditions(operator: str, key: str, tag: str, value: str) -> None:
    context = {key: [value], "aws:PrincipalTag/limit": [tag]}
    assert decision(operator, key, "${aws:PrincipalTag/limit}", context) == "implicitDeny"
    assert decision(operator, key, tag, context) == "allowed"  # the same value written out does match


@pytest.mark.parametrize(("operator", "pattern", "expected"), [
    ("ArnEquals", "arn:aws:sns:*:111111111111:topic*", "allowed"),
    ("ArnNotEquals", "arn:aws:sns:*:111111111111:topic*", "implicitDeny"),
    ("ArnEquals", "arn:aws:sns:us-east-1:111111111111:topic?", "allowed"),
    ("ArnEquals", "arn:aws:sns:us-east-1:222222222222:*", "implicitDeny"),
])
def test_arn_equals_takes_wildcards_as_arn_like_does(operator: str, pattern: str, expected: str) -> None:
    assert decision(operator, "aws:SourceArn", pattern, {"aws:SourceArn": [SOURCE_ARN]}) == expected


@pytest.mark.parametrize(("written", "expected"), [("2026-01", "allowed"), ("2027-01", "implicitDeny"), ("2026-06-15T00:00:01Z", "implicitDeny")])
def test_a_date_may_name_only_its_year_and_month(written: str, expected: str) -> None:
    assert decision("DateGreaterThan", "aws:CurrentTime", written, {"aws:CurrentTime": ["2026-06-15T00:00:00Z"]}) == expected


@pytest.mark.parametrize("written", [
    "2020-01-01T00:00:00z", "2020-1-5", "2020-01-01T2:00:00Z", "2016-12-13t2:00:00.593194+23", "+2020-01-01", "2020-01-01T",
    "+1577836800",
])
def test_a_deny_on_a_date_iam_accepts_applies(written: str) -> None:
    """IAM stores these dates (one-digit fields, a lower-case "z", an offset in hours: valid-36); a Deny written with
    one must deny, not match no time at all."""
    statement = {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"DateGreaterThan": {"aws:CurrentTime": written}}}
    document = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    policy = parse_policy(document, principal_required=False, as_written=True)
    now = {"aws:currenttime": ["2026-12-01T00:00:00Z"]}
    assert evaluate(policy, Request("s3:GetObject", now, resource="*")).decision == "explicitDeny"
    before = {"aws:currenttime": ["2000-01-01T00:00:00Z"]}
    assert evaluate(policy, Request("s3:GetObject", before, resource="*")).decision == "implicitDeny"


@pytest.mark.parametrize(("operator", "key", "values", "context"), [
    ("IpAddress", "aws:SourceIp", ["not-an-ip", "203.0.113.0/24"], ["203.0.113.5"]),
    ("DateGreaterThan", "aws:CurrentTime", ["01T", "2020-01-01T00:00:00Z"], ["2026-12-01T00:00:00Z"]),  # "01T": valid-30
    ("NumericGreaterThan", "s3:max-keys", ["x", "10"], ["50"]),
])
def test_an_unreadable_policy_value_leaves_the_others_of_its_condition_to_match(
    operator: str, key: str, values: list[str], context: list[str],
) -> None:
    """The values of a condition are ORed whatever their order: one that reads as no address, date or number
    matches nothing, and must not stop a Deny's later values from matching."""
    for ordered in (values, values[::-1]):
        statement = {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {operator: {key: ordered}}}
        policy = parse_policy(json.dumps({"Version": "2012-10-17", "Statement": [statement]}), principal_required=False)
        assert evaluate(policy, Request("s3:GetObject", {key.lower(): context}, resource="*")).decision == "explicitDeny"
