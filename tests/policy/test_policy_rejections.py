"""Every reason the policy parser refuses a document, each provoked on its own, with the message IAM clients see
(MalformedPolicyDocument carries it). Found untested by a mutation run over samlfed.policy."""

from __future__ import annotations

import json

import pytest

from samlfed.policy import MalformedPolicy, parse_policy

PROVIDER = "arn:aws:iam::111111111111:saml-provider/Corp"


def document(*statements: object, **top: object) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements), **top})


def trust_statement(**fields: object) -> dict:
    return {"Effect": "Allow", "Principal": {"Federated": PROVIDER}, "Action": "sts:AssumeRoleWithSAML", **fields}


def identity_statement(**fields: object) -> dict:
    return {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", **fields}


# (id, policy text, trust policy?, the message)
REASONS = [
    ("statement not an object", document("Allow"), True, "Syntax errors in policy."),
    ("Statement an empty list", document(), True, "Syntax errors in policy."),
    ("Statement a string", json.dumps({"Version": "2012-10-17", "Statement": "Allow"}), True, "Syntax errors in policy."),
    ("unknown top-level field", document(trust_statement(), Extra=1), True, "Syntax errors in policy. Unknown field 'Extra'."),
    ("Action empty list", document(trust_statement(Action=[])), True, "Syntax errors in policy. Action must be a string or a list of strings."),
    ("Action a number", document(trust_statement(Action=5)), True, "Syntax errors in policy. Action must be a string or a list of strings."),
    ("Principal an empty object", document(trust_statement(Principal={})), True, "Invalid principal in policy"),
    ("Principal a list", document(trust_statement(Principal=[PROVIDER])), True, "Invalid principal in policy"),
    ("Federated principal that is neither", document(trust_statement(Principal={"Federated": "arn:aws:iam::111111111111:role/X"})), True,
     "Federated principals must be valid domain names or SAML metadata ARNs"),
    ("Resource and NotResource", document(identity_statement(NotResource="*")), False,
     "Syntax errors in policy. Resource and NotResource cannot be used together."),
    ("Principal and NotPrincipal", document(trust_statement(NotPrincipal={"Federated": PROVIDER})), True,
     "Syntax errors in policy. Principal and NotPrincipal cannot be used together."),
    ("identity statement without a resource", document({"Effect": "Allow", "Action": "s3:GetObject"}), False,
     "Policy statement must contain resources."),
    ("Sid a number", document(trust_statement(Sid=1)), True, "Syntax errors in policy. Sid must be a string."),
    ("Condition a string", document(trust_statement(Condition="x")), True, "Syntax errors in policy. Condition must be an object."),
    ("operator without keys", document(trust_statement(Condition={"StringEquals": {}})), True,
     "Syntax errors in policy. A condition operator needs keys and values."),
    ("operator block a string", document(trust_statement(Condition={"StringEquals": "x"})), True,
     "Syntax errors in policy. A condition operator needs keys and values."),
    ("NullIfExists", document(trust_statement(Condition={"NullIfExists": {"saml:sub": "true"}})), True, "Invalid Condition type : NullIfExists"),
    ("ForAnyValue:Null", document(trust_statement(Condition={"ForAnyValue:Null": {"saml:sub": "true"}})), True, "Invalid Condition type : Null"),
]


@pytest.mark.parametrize(("text", "trust", "message"), [r[1:] for r in REASONS], ids=[r[0] for r in REASONS])
def test_policy_refused_with_its_reason(text: str, trust: bool, message: str) -> None:
    with pytest.raises(MalformedPolicy) as info:
        parse_policy(text, principal_required=trust)
    assert str(info.value) == message


def test_the_controls_parse() -> None:
    assert parse_policy(document(trust_statement()), principal_required=True).statements
    assert parse_policy(document(identity_statement()), principal_required=False).statements
    federated_domain = trust_statement(Principal={"Federated": "cognito-identity.amazonaws.com"})
    assert parse_policy(document(federated_domain), principal_required=True).statements
