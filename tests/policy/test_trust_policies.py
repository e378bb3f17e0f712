"""Trust-policy parsing and evaluation, table-driven from the IAM User Guide's documented semantics."""

from __future__ import annotations

import json

import pytest

from samlfed.policy import MalformedPolicy, Request, evaluate, parse_policy

PROVIDER = "arn:aws:iam::111111111111:saml-provider/Corp"
AUD = "https://signin.aws.amazon.com/saml"


def trust(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(condition: dict | None = None, action: object = "sts:AssumeRoleWithSAML", principal: object = None) -> dict:
    statement = {"Effect": "Allow", "Principal": principal or {"Federated": PROVIDER}, "Action": action}
    if condition is not None:
        statement["Condition"] = condition
    return statement


def decide(policy: str, context: dict | None = None, *, action: str = "sts:AssumeRoleWithSAML", principal: str = PROVIDER) -> str:
    document = parse_policy(policy, principal_required=True)
    lowered = {k.lower(): v for k, v in (context or {}).items()}
    return evaluate(document, Request(action, lowered, principal_type="Federated", principal=principal)).decision


CASES = [
    # (id, policy, context, action, expected)
    ("plain allow", trust(allow()), {}, "sts:AssumeRoleWithSAML", "allowed"),
    ("other action", trust(allow()), {}, "sts:TagSession", "implicitDeny"),
    ("action list", trust(allow(action=["sts:AssumeRoleWithSAML", "sts:TagSession"])), {}, "sts:TagSession", "allowed"),
    ("action wildcard", trust(allow(action="sts:*")), {}, "sts:SetSourceIdentity", "allowed"),
    ("action case-insensitive", trust(allow(action="STS:assumerolewithsaml")), {}, "sts:AssumeRoleWithSAML", "allowed"),
    ("action ? wildcard", trust(allow(action="sts:TagSessio?")), {}, "sts:TagSession", "allowed"),
    ("SAML:aud equals", trust(allow({"StringEquals": {"SAML:aud": AUD}})), {"saml:aud": [AUD]}, "sts:AssumeRoleWithSAML", "allowed"),
    ("key name case-insensitive", trust(allow({"StringEquals": {"saml:AUD": AUD}})), {"SAML:aud": [AUD]}, "sts:AssumeRoleWithSAML", "allowed"),
    ("value case-sensitive", trust(allow({"StringEquals": {"SAML:aud": AUD.upper()}})), {"saml:aud": [AUD]}, "sts:AssumeRoleWithSAML", "implicitDeny"),
    ("IgnoreCase", trust(allow({"StringEqualsIgnoreCase": {"saml:aud": AUD.upper()}})), {"saml:aud": [AUD]}, "sts:AssumeRoleWithSAML", "allowed"),
    ("regional aud not in list", trust(allow({"StringEquals": {"SAML:aud": AUD}})), {"saml:aud": ["https://eu-west-1.signin.aws.amazon.com/saml"]}, "sts:AssumeRoleWithSAML", "implicitDeny"),
    ("aud list", trust(allow({"StringEquals": {"SAML:aud": [AUD, "https://eu-west-1.signin.aws.amazon.com/saml"]}})), {"saml:aud": ["https://eu-west-1.signin.aws.amazon.com/saml"]}, "sts:AssumeRoleWithSAML", "allowed"),
    ("missing key, positive operator", trust(allow({"StringEquals": {"saml:sub": "x"}})), {}, "sts:AssumeRoleWithSAML", "implicitDeny"),
    ("missing key, negated operator", trust(allow({"StringNotEquals": {"saml:sub": "x"}})), {}, "sts:AssumeRoleWithSAML", "allowed"),
    ("missing key, IfExists", trust(allow({"StringEqualsIfExists": {"saml:sub": "x"}})), {}, "sts:AssumeRoleWithSAML", "allowed"),
    ("present key, IfExists mismatch", trust(allow({"StringEqualsIfExists": {"saml:sub": "x"}})), {"saml:sub": ["y"]}, "sts:AssumeRoleWithSAML", "implicitDeny"),
    ("StringLike", trust(allow({"StringLike": {"saml:sub": "*@example.com"}})), {"saml:sub": ["a@example.com"]}, "sts:AssumeRoleWithSAML", "allowed"),
    ("StringLike is not a regex", trust(allow({"StringLike": {"saml:sub": "a.c"}})), {"saml:sub": ["abc"]}, "sts:AssumeRoleWithSAML", "implicitDeny"),
    ("StringNotLike", trust(allow({"StringNotLike": {"saml:sub": "admin*"}})), {"saml:sub": ["admin1"]}, "sts:AssumeRoleWithSAML", "implicitDeny"),
    ("ForAnyValue on groups", trust(allow({"ForAnyValue:StringEquals": {"saml:groups": "aws-admins"}})), {"saml:groups": ["users", "aws-admins"]}, "sts:AssumeRoleWithSAML", "allowed"),
    ("ForAnyValue on a missing key", trust(allow({"ForAnyValue:StringEquals": {"saml:groups": "aws-admins"}})), {}, "sts:AssumeRoleWithSAML", "implicitDeny"),
    ("ForAllValues subset", trust(allow({"ForAllValues:StringEquals": {"saml:groups": ["a", "b"]}})), {"saml:groups": ["a"]}, "sts:AssumeRoleWithSAML", "allowed"),
    ("ForAllValues not subset", trust(allow({"ForAllValues:StringEquals": {"saml:groups": ["a", "b"]}})), {"saml:groups": ["a", "c"]}, "sts:AssumeRoleWithSAML", "implicitDeny"),
    ("ForAllValues on an empty set", trust(allow({"ForAllValues:StringEquals": {"saml:groups": ["a"]}})), {}, "sts:AssumeRoleWithSAML", "allowed"),
    ("single-valued operator, multivalued key", trust(allow({"StringEquals": {"saml:groups": "b"}})), {"saml:groups": ["a", "b"]}, "sts:AssumeRoleWithSAML", "allowed"),
    ("Null true on a missing key", trust(allow({"Null": {"saml:sourceidentity": "true"}})), {}, "sts:AssumeRoleWithSAML", "allowed"),
    ("Null false on a missing key", trust(allow({"Null": {"saml:sourceidentity": "false"}})), {}, "sts:AssumeRoleWithSAML", "implicitDeny"),
    ("two keys are ANDed", trust(allow({"StringEquals": {"saml:aud": AUD, "saml:sub": "alice"}})), {"saml:aud": [AUD], "saml:sub": ["bob"]}, "sts:AssumeRoleWithSAML", "implicitDeny"),
    ("two operators are ANDed", trust(allow({"StringEquals": {"saml:aud": AUD}, "StringLike": {"saml:sub": "a*"}})), {"saml:aud": [AUD], "saml:sub": ["alice"]}, "sts:AssumeRoleWithSAML", "allowed"),
    ("explicit deny wins", trust(allow(), {"Effect": "Deny", "Principal": "*", "Action": "sts:*", "Condition": {"StringEquals": {"saml:sub": "mallory"}}}), {"saml:sub": ["mallory"]}, "sts:AssumeRoleWithSAML", "explicitDeny"),
    ("deny that does not apply", trust(allow(), {"Effect": "Deny", "Principal": "*", "Action": "sts:*", "Condition": {"StringEquals": {"saml:sub": "mallory"}}}), {"saml:sub": ["alice"]}, "sts:AssumeRoleWithSAML", "allowed"),
    ("NotAction allow", trust({"Effect": "Allow", "Principal": {"Federated": PROVIDER}, "NotAction": "sts:TagSession"}), {}, "sts:AssumeRoleWithSAML", "allowed"),
    ("NotAction excludes", trust({"Effect": "Allow", "Principal": {"Federated": PROVIDER}, "NotAction": "sts:TagSession"}), {}, "sts:TagSession", "implicitDeny"),
    ("Bool", trust(allow({"Bool": {"aws:SecureTransport": True}})), {"aws:securetransport": ["true"]}, "sts:AssumeRoleWithSAML", "allowed"),
    ("Numeric", trust(allow({"NumericLessThanEquals": {"saml:x": 10}})), {"saml:x": ["9"]}, "sts:AssumeRoleWithSAML", "allowed"),
    ("Numeric with a non-number", trust(allow({"NumericLessThanEquals": {"saml:x": 10}})), {"saml:x": ["nine"]}, "sts:AssumeRoleWithSAML", "implicitDeny"),
    ("Date", trust(allow({"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}})), {"aws:currenttime": ["2026-11-24T12:00:00Z"]}, "sts:AssumeRoleWithSAML", "allowed"),
    ("IpAddress", trust(allow({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})), {"aws:sourceip": ["10.1.2.3"]}, "sts:AssumeRoleWithSAML", "allowed"),
    ("NotIpAddress", trust(allow({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}})), {"aws:sourceip": ["10.1.2.3"]}, "sts:AssumeRoleWithSAML", "implicitDeny"),
    ("ArnLike", trust(allow({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/Dev*"}})), {"aws:principalarn": ["arn:aws:iam::111111111111:role/DevOps"]}, "sts:AssumeRoleWithSAML", "allowed"),
]


@pytest.mark.parametrize(("name", "policy", "context", "action", "expected"), CASES, ids=[c[0] for c in CASES])
def test_trust_policy_decision(name: str, policy: str, context: dict, action: str, expected: str) -> None:
    assert decide(policy, context, action=action) == expected


def test_principal_must_match() -> None:
    policy = trust(allow())
    assert decide(policy, principal="arn:aws:iam::111111111111:saml-provider/Other") == "implicitDeny"
    assert decide(trust(allow(principal={"Federated": [PROVIDER, "arn:aws:iam::111111111111:saml-provider/Other"]})), principal="arn:aws:iam::111111111111:saml-provider/Other") == "allowed"
    assert decide(trust(allow(principal="*"))) == "allowed"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("not json", "Syntax errors in policy."),
        ("[]", "Syntax errors in policy."),
        (json.dumps({"Version": "2012-10-17"}), "Syntax errors in policy."),
        (json.dumps({"Version": "2012-10-17", "Statement": "Allow"}), "Syntax errors in policy."),
        (trust(), "Syntax errors in policy."),
        (trust("Allow"), "Syntax errors in policy."),
        (json.dumps({"Version": "2012-10-17", "Statement": [allow()], "Extra": 1}), "Syntax errors in policy. Unknown field 'Extra'."),
        # An unknown Version is a syntax error (LocalStack's recorded test_create_policy_invalid_document[invalid-3]).
        (json.dumps({"Version": "2020-01-01", "Statement": [allow()]}), "Syntax errors in policy. Unknown Version '2020-01-01': it is 2012-10-17 or 2008-10-17."),
        (trust({"Effect": "Allow", "Action": "sts:AssumeRoleWithSAML"}), "Missing required field Principal"),
        (trust({"Effect": "Maybe", "Principal": {"Federated": PROVIDER}, "Action": "sts:X"}), "Syntax errors in policy. Effect must be Allow or Deny."),
        (trust({"Effect": "Allow", "Principal": {"Federated": PROVIDER}}), "Policy statement must contain actions."),
        (trust(allow(action=[])), "Policy statement must contain actions."),  # an empty list names none (recorded: invalid-33)
        (trust(allow(action=5)), "Syntax errors in policy. Action must be a string or a list of strings."),
        # unlike an empty Action list (recorded), an empty Principal list is refused, in IAM's quoted words
        (trust(allow(principal={"Federated": []})), "The passed in policy has a statement with no principals!"),
        (trust(allow(principal={"AWS": [], "Federated": []})), "The passed in policy has a statement with no principals!"),
        (trust({"Effect": "Deny", "NotPrincipal": {"AWS": []}, "Action": "sts:AssumeRoleWithSAML"}), "The passed in policy has a statement with no principals!"),
        (trust(allow(principal={"AWS": [], "Federated": PROVIDER})), "Syntax errors in policy. Principal must be a string or a list of strings."),
        (trust(allow(principal={"Federated": "not a provider"})), "Federated principals must be valid domain names or SAML metadata ARNs"),
        (trust(allow(principal={"Federated": "arn:aws:iam::111111111111:role/X"})), "Federated principals must be valid domain names or SAML metadata ARNs"),
        (trust(allow(principal={"Robot": "x"})), 'Invalid principal in policy: "Robot"'),
        (trust({**allow(), "Principal": {}}), "Invalid principal in policy"),
        (trust({**allow(), "Principal": [PROVIDER]}), "Invalid principal in policy"),
        (trust({**allow(), "NotPrincipal": {"Federated": PROVIDER}}), "Syntax errors in policy. Principal and NotPrincipal cannot be used together."),
        (trust({**allow(), "Sid": 1}), "Syntax errors in policy. Sid must be a string."),
        # An unknown condition operator is a syntax error (recorded: invalid-52, invalid-53); the detail names it.
        (trust(allow({"StringEqualz": {"saml:aud": AUD}})), "Syntax errors in policy. Invalid Condition type : StringEqualz"),
        (trust(allow({"ForSomeValues:StringEquals": {"saml:aud": AUD}})), "Syntax errors in policy. Invalid Condition type : ForSomeValues:StringEquals"),
        (trust(allow({"NullIfExists": {"saml:sub": "true"}})), "Syntax errors in policy. Invalid Condition type : NullIfExists"),
        (trust(allow({"ForAnyValue:Null": {"saml:sub": "true"}})), "Syntax errors in policy. Invalid Condition type : Null"),
        (trust({**allow(), "Condition": "x"}), "Syntax errors in policy. Condition must be an object."),
        (trust(allow({"StringEquals": "x"})), "Syntax errors in policy. The value of condition operator StringEquals must be an object of condition keys."),
        (trust(allow({"StringEquals": {"saml:aud": {"nested": 1}}})), "Syntax errors in policy. Condition values must be strings, numbers or booleans."),
        (trust({"Effect": "Allow", "Principal": {"Federated": PROVIDER}, "Action": "sts:X", "Bogus": 1}), "Syntax errors in policy. Unknown statement field 'Bogus'."),
    ],
)
def test_malformed_trust_policies(document: str, message: str) -> None:
    with pytest.raises(MalformedPolicy) as info:
        parse_policy(document, principal_required=True)
    # `explained`: AWS's message, then samlfed's detail for a human; the message alone is what IAM answers.
    assert message in (str(info.value), info.value.explained)
    assert message.startswith(str(info.value))


def test_an_operator_without_keys_is_accepted() -> None:
    """`{"StringEquals": {}}` constrains nothing: IAM accepts it (LocalStack's recorded valid-17)."""
    assert parse_policy(trust(allow({"StringEquals": {}})), principal_required=True, as_written=True).statements[0].conditions == ()


def test_a_federated_domain_principal_parses() -> None:
    assert parse_policy(trust(allow(principal={"Federated": "cognito-identity.amazonaws.com"})), principal_required=True).statements


ACCEPTED_FEDERATED = [
    PROVIDER,
    "arn:aws-us-gov:iam::111111111111:saml-provider/Corp.IdP-2",
    "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com",
    "arn:aws:iam::111111111111:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE",
    "arn:aws-cn:iam::111111111111:oidc-provider/login.example.cn/tenant/v2.0",
    "cognito-identity.amazonaws.com", "www.amazon.com", "graph.facebook.com", "accounts.google.com", "*",
]
REFUSED_FEDERATED = [
    "junk:saml-provider/Corp",  # held ":saml-provider/", the whole check before ARNs were parsed
    "xarn:aws:iam::111111111111:saml-provider/Corp",
    "arn:aws:iam::111111111111:saml-provider/Corp extra",
    "arn:aws:iam::111111111111:saml-provider/",
    "arn:aws:iam::111111111111:saml-provider/Corp/Other",
    "arn:aws:iam::1111:saml-provider/Corp",
    "arn:aws:iam::*:saml-provider/*",  # no wildcard in a principal's ARN (IAM User Guide, Principal element)
    "arn:aws:s3::111111111111:saml-provider/Corp",
    "arn:nope:iam::111111111111:saml-provider/Corp",
    "arn:aws:iam::111111111111:oidc-provider/",
    "arn:aws:iam::111111111111:oidc-provider/https://idp.example.com",
    "arn:aws:iam::111111111111:oidc-provider/idp.example.com/path?query=1",
    "arn:aws:iam::111111111111:oidc-provider/idp..example.com",
    "arn:aws:iam::111111111111:role/X",
]


@pytest.mark.parametrize("principal", ACCEPTED_FEDERATED)
def test_provider_arns_web_identity_domains_and_anyone_are_federated_principals(principal: str) -> None:
    document = parse_policy(trust(allow(principal={"Federated": principal})), principal_required=True, as_written=True)
    assert document.statements[0].principal is not None
    assert document.statements[0].principal.by_type["Federated"] == (principal,)


@pytest.mark.parametrize("principal", REFUSED_FEDERATED)
def test_a_federated_principal_is_a_whole_provider_arn_when_written(principal: str) -> None:
    with pytest.raises(MalformedPolicy) as info:
        parse_policy(trust(allow(principal={"Federated": [PROVIDER, principal]})), principal_required=True, as_written=True)
    assert str(info.value) == "Federated principals must be valid domain names or SAML metadata ARNs"


def test_a_stored_policy_naming_a_loose_saml_provider_value_is_read_as_before_and_matches_nothing_new() -> None:
    """Releases before the ARN was parsed stored any value holding ":saml-provider/": such a role still works as it did."""
    loose = "arn:aws:iam::*:saml-provider/*"
    policy = trust(allow(principal={"Federated": [PROVIDER, loose]}))
    assert decide(policy) == "allowed"
    assert decide(policy, principal="arn:aws:iam::111111111111:saml-provider/Other") == "implicitDeny"


def test_an_oidc_provider_principal_never_admits_a_saml_provider_of_the_same_name() -> None:
    policy = trust(allow(principal={"Federated": "arn:aws:iam::111111111111:oidc-provider/Corp"}))
    parse_policy(policy, principal_required=True, as_written=True)
    assert decide(policy) == "implicitDeny"


def test_identity_policies_refuse_a_principal() -> None:
    with pytest.raises(MalformedPolicy, match="should not specify a principal"):
        parse_policy(trust(allow()), principal_required=False)
    refused = {
        trust({"Effect": "Allow", "Action": "s3:GetObject"}): "Policy statement must contain resources.",
        trust({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "NotResource": "*"}):
            "Syntax errors in policy. Resource and NotResource cannot be used together.",
    }
    for text, message in refused.items():
        with pytest.raises(MalformedPolicy) as info:
            parse_policy(text, principal_required=False)
        assert info.value.explained == message
    document = parse_policy(json.dumps({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/engineering/*"}}), principal_required=False)
    assert evaluate(document, Request("s3:GetObject", resource="arn:aws:s3:::b/engineering/x")).decision == "allowed"
    assert evaluate(document, Request("s3:GetObject", resource="arn:aws:s3:::b/finance/x")).decision == "implicitDeny"
