"""The Federated principals of a role's trust policy through boto3 over HTTP: provider ARNs parsed whole (SAML and
OIDC), web identity providers by domain name, and AssumeRoleWithSAML honouring SAML provider principals only."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from e2e_setup import ACCOUNT, client, error_of, unsigned_sts
from saml_factory import OPS_ROLE, PROVIDER_ARN, response_b64

FEDERATED_REFUSED = "Federated principals must be valid domain names or SAML metadata ARNs"
OIDC_PROVIDER = f"arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"


def trust_policy(federated: str | list[str], action: str = "sts:AssumeRoleWithSAML") -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": federated}, "Action": action}]})


@pytest.mark.parametrize(("name", "federated", "action"), [
    ("Oidc", OIDC_PROVIDER, "sts:AssumeRoleWithWebIdentity"),
    ("GitHub", f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com", "sts:AssumeRoleWithWebIdentity"),
    ("Cognito", "cognito-identity.amazonaws.com", "sts:AssumeRoleWithWebIdentity"),
    ("Amazon", "www.amazon.com", "sts:AssumeRoleWithWebIdentity"),
    ("Facebook", "graph.facebook.com", "sts:AssumeRoleWithWebIdentity"),
    ("Google", "accounts.google.com", "sts:AssumeRoleWithWebIdentity"),
    ("Saml", PROVIDER_ARN, "sts:AssumeRoleWithSAML"),
])
def test_a_role_may_trust_a_saml_or_oidc_provider_or_a_web_identity_provider(server: dict, name: str, federated: str, action: str) -> None:
    iam = client(server, "iam")
    policy = trust_policy(federated, action)
    iam.create_role(RoleName=f"Trusts{name}", AssumeRolePolicyDocument=policy)
    assert iam.get_role(RoleName=f"Trusts{name}")["Role"]["AssumeRolePolicyDocument"] == json.loads(policy)
    iam.update_assume_role_policy(RoleName=f"Trusts{name}", PolicyDocument=trust_policy([PROVIDER_ARN, federated], action))


@pytest.mark.parametrize("federated", [
    "junk:saml-provider/ExampleIdP",
    f"prefix-arn:aws:iam::{ACCOUNT}:saml-provider/ExampleIdP",
    f"{PROVIDER_ARN} ",
    f"{PROVIDER_ARN}/More",
    f"arn:aws:iam::{ACCOUNT}:saml-provider/",
    "arn:aws:iam::123:saml-provider/ExampleIdP",
    f"arn:aws:iam::{ACCOUNT}:oidc-provider/",
    f"arn:aws:iam::{ACCOUNT}:oidc-provider/https://idp.example.com",
])
def test_a_federated_value_that_is_no_whole_provider_arn_is_refused(server: dict, federated: str) -> None:
    iam = client(server, "iam")
    refused = ("MalformedPolicyDocument", FEDERATED_REFUSED, 400)
    assert error_of(lambda: iam.create_role(RoleName="Loose", AssumeRolePolicyDocument=trust_policy(federated))) == refused
    iam.create_role(RoleName="Strict", AssumeRolePolicyDocument=trust_policy(PROVIDER_ARN))
    try:
        assert error_of(lambda: iam.update_assume_role_policy(RoleName="Strict", PolicyDocument=trust_policy([PROVIDER_ARN, federated]))) == refused
        assert iam.get_role(RoleName="Strict")["Role"]["AssumeRolePolicyDocument"] == json.loads(trust_policy(PROVIDER_ARN))
    finally:
        iam.delete_role(RoleName="Strict")


def test_an_oidc_provider_of_the_same_name_does_not_admit_a_saml_sign_in(server: dict, registered: dict) -> None:
    iam = client(server, "iam")
    lookalike = f"arn:aws:iam::{ACCOUNT}:oidc-provider/ExampleIdP"  # the SAML provider's name, as an OIDC host
    iam.create_role(RoleName="Operator", AssumeRolePolicyDocument=trust_policy(lookalike))
    assertion = response_b64(issue_instant=datetime.now(UTC), principal_tags={})
    code, _, status = error_of(lambda: unsigned_sts(server).assume_role_with_saml(RoleArn=OPS_ROLE, PrincipalArn=PROVIDER_ARN, SAMLAssertion=assertion))
    assert (code, status) == ("AccessDenied", 403)
    iam.update_assume_role_policy(RoleName="Operator", PolicyDocument=trust_policy([lookalike, PROVIDER_ARN]))
    assertion = response_b64(issue_instant=datetime.now(UTC), principal_tags={})
    assert unsigned_sts(server).assume_role_with_saml(RoleArn=OPS_ROLE, PrincipalArn=PROVIDER_ARN, SAMLAssertion=assertion)["Credentials"]
