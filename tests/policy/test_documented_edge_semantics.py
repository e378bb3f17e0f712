"""Edge cases of the IAM User Guide that a review found evaluated otherwise (each was a wrong Allow or a missed Deny):
`${*}`/`${?}` and substituted values in ARN conditions, Resource and NotResource with a variable that has no value, IfExists on
the set operators and with a variable that has no value, and an empty string as an empty set."""

from __future__ import annotations

import json

import pytest

from samlfed.policy import Request, evaluate, parse_policy

TOPIC = "arn:aws:sns:us-east-1:111111111111:topicA"
ALLOW_ALL = {"Effect": "Allow", "Action": "*", "Resource": "*"}


def _decision(statements: list[dict], context: dict[str, list[str]] | None = None, resource: str = "*") -> str:
    policy = parse_policy(json.dumps({"Version": "2012-10-17", "Statement": statements}), principal_required=False)
    return evaluate(policy, Request("s3:GetObject", {k.lower(): v for k, v in (context or {}).items()}, resource=resource)).decision


def _allow_if(operator: str, key: str, value: object, context: dict[str, list[str]] | None = None) -> str:
    return _decision([{**ALLOW_ALL, "Condition": {operator: {key: value}}}], context)


def _deny_if(operator: str, key: str, value: object, context: dict[str, list[str]] | None = None) -> str:
    return _decision([ALLOW_ALL, {**ALLOW_ALL, "Effect": "Deny", "Condition": {operator: {key: value}}}], context)


# --- ARN conditions: "${*}" and "${?}" stand for the characters, and a substituted value is literal text --------


@pytest.mark.parametrize("operator", ["ArnLike", "ArnEquals"])
@pytest.mark.parametrize(("pattern", "value"), [(f"{TOPIC[:-6]}t${{*}}", TOPIC), (f"{TOPIC[:-6]}t${{?}}", f"{TOPIC[:-6]}tX")])
def test_escaped_wildcards_in_arn_conditions_are_characters(operator: str, pattern: str, value: str) -> None:
    assert _allow_if(operator, "aws:SourceArn", pattern, {"aws:SourceArn": [value]}) == "implicitDeny"
    literal = pattern.replace("${*}", "*").replace("${?}", "?")
    assert _allow_if(operator, "aws:SourceArn", pattern, {"aws:SourceArn": [literal]}) == "allowed"


def test_an_escaped_wildcard_in_arn_not_like_does_not_exempt_everything() -> None:
    assert _deny_if("ArnNotLike", "aws:SourceArn", f"{TOPIC[:-6]}t${{*}}", {"aws:SourceArn": [TOPIC]}) == "explicitDeny"


def test_a_substituted_value_in_an_arn_condition_is_no_wildcard() -> None:
    context = {"aws:SourceArn": ["arn:aws:s3:::b/anything"], "saml:sub": ["*"]}
    assert _allow_if("ArnLike", "aws:SourceArn", "arn:aws:s3:::b/${saml:sub}", context) == "implicitDeny"
    context["saml:sub"] = ["anything"]
    assert _allow_if("ArnLike", "aws:SourceArn", "arn:aws:s3:::b/${saml:sub}", context) == "allowed"


def test_arn_wildcards_still_match_within_one_part_only() -> None:
    role = "arn:aws:iam::111111111111:role/a:b"
    assert _allow_if("ArnLike", "aws:PrincipalArn", "arn:aws:iam::*:role/*", {"aws:PrincipalArn": [role]}) == "allowed"  # the resource part keeps its colon
    assert _allow_if("ArnLike", "aws:PrincipalArn", "arn:aws:*:role/a:b", {"aws:PrincipalArn": [role]}) == "implicitDeny"
    assert _allow_if("ArnLike", "aws:PrincipalArn", "arn:aws:iam::${aws:PrincipalAccount}:role/*", {"aws:PrincipalArn": [role], "aws:PrincipalAccount": ["111111111111"]}) == "allowed"


# --- A variable that has no value: a Resource or NotResource entry "will not match any resource" (IAM User Guide) --


def test_not_resource_with_a_missing_variable_excludes_nothing() -> None:
    statement = {"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::b/${aws:username}/*"}
    assert _decision([statement], resource="arn:aws:s3:::b/bob/x") == "allowed"
    assert _decision([statement], {"aws:username": ["bob"]}, resource="arn:aws:s3:::other") == "allowed"
    assert _decision([statement], {"aws:username": ["bob"]}, resource="arn:aws:s3:::b/bob/x") == "implicitDeny"


def test_a_deny_on_not_resource_with_a_missing_variable_denies_everything() -> None:
    """A perimeter ("deny all outside your team's prefix") must hold for a principal without the tag."""
    deny = {"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::b/${aws:PrincipalTag/team}/*"}
    assert _decision([ALLOW_ALL, deny], resource="arn:aws:s3:::b/blue/x") == "explicitDeny"
    assert _decision([ALLOW_ALL, deny], {"aws:PrincipalTag/team": ["blue"]}, resource="arn:aws:s3:::b/blue/x") == "allowed"
    assert _decision([ALLOW_ALL, deny], {"aws:PrincipalTag/team": ["red"]}, resource="arn:aws:s3:::b/blue/x") == "explicitDeny"


def test_resource_with_a_missing_variable_matches_nothing() -> None:
    statement = {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/${aws:username}/*"}
    assert _decision([statement], resource="arn:aws:s3:::b//x") == "implicitDeny"
    assert _decision([statement], {"aws:username": ["bob"]}, resource="arn:aws:s3:::b/bob/x") == "allowed"


def test_the_user_guides_example_denies_a_principal_without_the_tag() -> None:
    """IAM User Guide, policy variables with no value: "Access is explicitly denied when aws:principaltag/Team is not
    set" (a Deny on StringNotEquals s3:ExistingObjectTag/Team "${aws:PrincipalTag/Team}")."""
    deny = {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::amzn-s3-demo-bucket/*",
            "Condition": {"StringNotEquals": {"s3:ExistingObjectTag/Team": "${aws:PrincipalTag/Team}"}}}
    allow = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::amzn-s3-demo-bucket/*"}
    resource = "arn:aws:s3:::amzn-s3-demo-bucket/report.txt"
    red = {"s3:ExistingObjectTag/Team": ["red"]}
    assert _decision([allow, deny], red, resource=resource) == "explicitDeny"
    assert _decision([allow, deny], {**red, "aws:PrincipalTag/Team": ["blue"]}, resource=resource) == "explicitDeny"
    assert _decision([allow, deny], {**red, "aws:PrincipalTag/Team": ["red"]}, resource=resource) == "allowed"


# --- IfExists on the set operators: a missing key makes the condition true ---------------------------------------


def test_for_any_value_if_exists_holds_when_the_key_is_missing() -> None:
    assert _allow_if("ForAnyValue:StringEqualsIfExists", "aws:TagKeys", ["a"]) == "allowed"
    assert _allow_if("ForAnyValue:StringEqualsIfExists", "aws:TagKeys", ["a"], {"aws:TagKeys": ["b"]}) == "implicitDeny"
    assert _allow_if("ForAnyValue:StringEquals", "aws:TagKeys", ["a"]) == "implicitDeny"  # without IfExists: false
    assert _deny_if("ForAnyValue:StringNotLikeIfExists", "aws:TagKeys", "team-*") == "explicitDeny"


# --- IfExists with a missing key holds before any variable in its values is looked at ---------------------------


def test_if_exists_with_a_missing_key_holds_even_when_its_variable_has_no_value() -> None:
    """Found by review: a variable without a value made the condition false first. The IAM User Guide: "If the key is
    not present, evaluate the condition element as true", and ...IfExists is its advice against variables that
    would invalidate a statement; "the request is still denied even if the tag is missing"."""
    team = "${aws:PrincipalTag/team}"
    assert _deny_if("StringNotEqualsIfExists", "aws:ResourceTag/team", team) == "explicitDeny"
    assert _allow_if("StringEqualsIfExists", "aws:RequestTag/team", team) == "allowed"
    # The key present, the variable still without a value: a null value, as without IfExists.
    assert _allow_if("StringEqualsIfExists", "aws:RequestTag/team", team, {"aws:RequestTag/team": ["red"]}) == "implicitDeny"
    assert _deny_if("StringNotEqualsIfExists", "aws:ResourceTag/team", team, {"aws:ResourceTag/team": ["red"]}) == "explicitDeny"


# --- an empty string is an empty set -----------------------------------------------------------------------------


def test_an_empty_string_is_an_empty_set_for_the_set_operators() -> None:
    empty = {"aws:TagKeys": [""]}
    assert _allow_if("ForAllValues:StringEquals", "aws:TagKeys", ["a"], empty) == "allowed"
    assert _allow_if("ForAnyValue:StringNotEquals", "aws:TagKeys", ["a"], empty) == "implicitDeny"
    assert _allow_if("ForAnyValue:StringNotEquals", "aws:TagKeys", ["a"], {"aws:TagKeys": ["b"]}) == "allowed"
    assert _allow_if("StringEquals", "aws:TagKeys", "", empty) == "allowed"  # single-valued operators see the value


@pytest.mark.parametrize("empty", [[""], [], ["", ""]])
def test_null_false_guards_for_all_values_against_a_key_with_empty_values(empty: list[str]) -> None:
    """IAM User Guide (multivalued context key examples): a Null condition of false, "the context key in the request
    exists and its value is not null", keeps "missing context keys or context keys with empty values" from satisfying
    ForAllValues. Null looked only at whether the key was there, so an empty value passed the guard: allowed."""
    guarded = {"ForAllValues:StringEquals": {"aws:TagKeys": ["a"]}, "Null": {"aws:TagKeys": "false"}}
    assert _decision([{**ALLOW_ALL, "Condition": guarded}], {"aws:TagKeys": empty}) == "implicitDeny"
    assert _decision([{**ALLOW_ALL, "Condition": guarded}], {"aws:TagKeys": ["a"]}) == "allowed"
    assert _allow_if("Null", "aws:TagKeys", "false", {"aws:TagKeys": ["a", ""]}) == "allowed"  # not all empty
    assert _allow_if("Null", "aws:TagKeys", "true", {"aws:TagKeys": empty}) == "allowed"
    assert _deny_if("Null", "aws:PrincipalTag/team", "true", {"aws:PrincipalTag/team": empty}) == "explicitDeny"
