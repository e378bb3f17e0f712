"""The policy engine over the wire with boto3: IAM calls with temporary credentials, permissions boundaries,
the policy simulator and role chaining."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from e2e_setup import ACCOUNT, TRUST_POLICY, client, error_of, unsigned_sts
from saml_factory import DEV_ROLE, PROVIDER_ARN, response_b64

CHAINED = f"arn:aws:iam::{ACCOUNT}:role/Chained"
DEV_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "ReadIam", "Effect": "Allow", "Action": ["iam:List*", "iam:Get*", "iam:Simulate*"], "Resource": "*"},
        {"Sid": "NoDeletes", "Effect": "Deny", "Action": "iam:Delete*", "Resource": "*"},
        {"Sid": "Chain", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": CHAINED},
        {"Sid": "OwnPrefix", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::data/${aws:PrincipalTag/department}/*"},
    ],
}


def _session(server: dict, **overrides: object):  # type: ignore[no-untyped-def]
    assertion = response_b64(issue_instant=datetime.now(UTC), **overrides)
    credentials = unsigned_sts(server).assume_role_with_saml(RoleArn=DEV_ROLE, PrincipalArn=PROVIDER_ARN, SAMLAssertion=assertion)["Credentials"]
    return {"aws_access_key_id": credentials["AccessKeyId"], "aws_secret_access_key": credentials["SecretAccessKey"], "aws_session_token": credentials["SessionToken"]}


@pytest.fixture(scope="module")
def developer(server: dict, registered: dict) -> dict:
    iam = client(server, "iam")
    saml_trust = json.loads(TRUST_POLICY)
    saml_trust["Statement"][0]["Action"].append("sts:SetSourceIdentity")
    iam.update_assume_role_policy(RoleName="Developer", PolicyDocument=json.dumps(saml_trust))
    iam.put_role_policy(RoleName="Developer", PolicyName="developer", PolicyDocument=json.dumps(DEV_POLICY))
    # The session carries a transitive tag and a SourceIdentity: chaining needs sts:TagSession and sts:SetSourceIdentity.
    actions = ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": DEV_ROLE}, "Action": actions}]}
    iam.create_role(RoleName="Chained", AssumeRolePolicyDocument=json.dumps(trust), MaxSessionDuration=43200)
    iam.put_role_policy(RoleName="Chained", PolicyName="chained", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*"}]}))
    return _session(server, transitive_tag_keys=["department"], source_identity="alice")


def test_temporary_credentials_call_iam_as_their_policies_allow(server: dict, developer: dict) -> None:
    iam = client(server, "iam", **developer)
    assert "Developer" in [r["RoleName"] for r in iam.list_roles()["Roles"]]
    assert iam.get_role(RoleName="Chained")["Role"]["Arn"] == CHAINED
    code, message, status = error_of(lambda: iam.delete_role(RoleName="Chained"))
    assert (code, status) == ("AccessDenied", 403)
    assert message == (f"User: arn:aws:sts::{ACCOUNT}:assumed-role/Developer/alice@example.com is not authorized to perform: "
                       "iam:DeleteRole on resource: role Chained with an explicit deny in an identity-based policy")  # AWS names it so
    code, message, _ = error_of(lambda: iam.create_role(RoleName="Sneaky", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})))
    assert code == "AccessDenied" and message.endswith("because no identity-based policy allows the iam:CreateRole action")
    assert message.startswith(f"User: arn:aws:sts::{ACCOUNT}:assumed-role/Developer/alice@example.com is not authorized to perform: iam:CreateRole on resource: arn:aws:iam::{ACCOUNT}:role/Sneaky")


def test_a_permissions_boundary_limits_the_role(server: dict, developer: dict) -> None:
    admin = client(server, "iam")
    boundary = admin.create_policy(PolicyName="OnlyList", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:ListRoles", "Resource": "*"}]}))["Policy"]["Arn"]
    admin.put_role_permissions_boundary(RoleName="Developer", PermissionsBoundary=boundary)
    try:
        assert admin.get_role(RoleName="Developer")["Role"]["PermissionsBoundary"] == {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": boundary}
        iam = client(server, "iam", **developer)
        assert iam.list_roles()["Roles"]
        code, message, _ = error_of(lambda: iam.get_role(RoleName="Chained"))  # identity allows, the boundary does not
        assert code == "AccessDenied" and message.endswith("because no permissions boundary allows the iam:GetRole action")
        admin.create_policy_version(PolicyArn=boundary, SetAsDefault=True, PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "iam:*", "Resource": "*"}, {"Effect": "Deny", "Action": "iam:GetRole", "Resource": "*"}]}))
        code, message, _ = error_of(lambda: iam.get_role(RoleName="Chained"))
        assert code == "AccessDenied" and message.endswith("with an explicit deny in a permissions boundary")
    finally:
        admin.delete_role_permissions_boundary(RoleName="Developer")
    assert "PermissionsBoundary" not in admin.get_role(RoleName="Developer")["Role"]
    assert client(server, "iam", **developer).get_role(RoleName="Chained")["Role"]
    code, _, status = error_of(lambda: admin.put_role_permissions_boundary(RoleName="Developer", PermissionsBoundary=f"arn:aws:iam::{ACCOUNT}:policy/Nope"))
    assert (code, status) == ("NoSuchEntity", 404)


def test_access_denied_names_the_session_policy_that_refused(server: dict, developer: dict) -> None:
    """AWS's enhanced AccessDenied text names the kind of policy that refused: here the session policy of a chained
    session whose role's own policy allows iam:ListRoles."""
    sts = client(server, "sts", **developer)

    def chained_iam(session_policy: dict):  # type: ignore[no-untyped-def]
        credentials = sts.assume_role(RoleArn=CHAINED, RoleSessionName="narrow", Policy=json.dumps(session_policy))["Credentials"]
        return client(server, "iam", aws_access_key_id=credentials["AccessKeyId"], aws_secret_access_key=credentials["SecretAccessKey"],
                      aws_session_token=credentials["SessionToken"])

    only_get = chained_iam({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:GetRole", "Resource": "*"}]})
    code, message, _ = error_of(lambda: only_get.list_roles())
    assert code == "AccessDenied" and message.endswith("because no session policy allows the iam:ListRoles action")
    denying = chained_iam({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"}, {"Effect": "Deny", "Action": "iam:ListRoles", "Resource": "*"}]})
    code, message, _ = error_of(lambda: denying.list_roles())
    assert code == "AccessDenied" and message.endswith("with an explicit deny in a session policy")
    code, message, _ = error_of(lambda: denying.get_role(RoleName="Chained"))  # the session allows it; the role's policy does not
    assert code == "AccessDenied" and message.endswith("because no identity-based policy allows the iam:GetRole action")


def test_simulate_principal_policy(server: dict, developer: dict) -> None:
    iam = client(server, "iam")
    results = iam.simulate_principal_policy(
        PolicySourceArn=DEV_ROLE, ActionNames=["iam:ListRoles", "iam:DeleteRole", "ec2:RunInstances", "s3:GetObject"],
        ResourceArns=["arn:aws:s3:::data/Engineering/report.csv"],
        ContextEntries=[{"ContextKeyName": "aws:PrincipalTag/department", "ContextKeyValues": ["Engineering"], "ContextKeyType": "string"}],
    )["EvaluationResults"]
    decisions = {r["EvalActionName"]: r["EvalDecision"] for r in results}
    assert decisions == {"iam:ListRoles": "allowed", "iam:DeleteRole": "explicitDeny", "ec2:RunInstances": "implicitDeny", "s3:GetObject": "allowed"}
    delete = next(r for r in results if r["EvalActionName"] == "iam:DeleteRole")
    [matched] = delete["MatchedStatements"]
    # As AWS names an inline role policy in its answers ("role_<role>_<policy>", quoted by users)
    assert (matched["SourcePolicyId"], matched["SourcePolicyType"]) == (f"role_{DEV_ROLE.rsplit('/', 1)[1]}_developer", "IAM Policy")
    assert matched["StartPosition"]["Line"] == matched["EndPosition"]["Line"] == 1  # the Deny, in the one-line document


def test_simulate_custom_policy_with_the_department_tag(server: dict, registered: dict) -> None:
    iam = client(server, "iam")
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme/engineering/*",
        "Condition": {"StringEquals": {"aws:PrincipalTag/department": "Engineering"}},
    }]})

    def decide(*entries: dict) -> dict:
        return iam.simulate_custom_policy(PolicyInputList=[policy], ActionNames=["s3:GetObject"], ResourceArns=["arn:aws:s3:::acme/engineering/plan.txt"],
                                          ContextEntries=list(entries))["EvaluationResults"][0]

    engineering = {"ContextKeyName": "aws:PrincipalTag/department", "ContextKeyValues": ["Engineering"], "ContextKeyType": "string"}
    finance = {**engineering, "ContextKeyValues": ["Finance"]}
    assert decide(engineering)["EvalDecision"] == "allowed"
    assert decide(finance)["EvalDecision"] == "implicitDeny"
    missing = decide()
    assert missing["EvalDecision"] == "implicitDeny" and missing["MissingContextValues"] == ["aws:PrincipalTag/department"]
    code, _, _ = error_of(lambda: iam.simulate_custom_policy(PolicyInputList=["{not json"], ActionNames=["s3:GetObject"]))
    assert code == "MalformedPolicyDocument"


def test_role_chaining(server: dict, developer: dict) -> None:
    sts = client(server, "sts", **developer)
    code, message, _ = error_of(lambda: sts.assume_role(RoleArn=CHAINED, RoleSessionName="chain", DurationSeconds=7200))
    assert (code, message) == ("ValidationError", "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.")
    code, message, _ = error_of(lambda: sts.assume_role(RoleArn=CHAINED, RoleSessionName="chaîne"))  # AWS's \w is ASCII
    assert code == "ValidationError" and "at 'roleSessionName' failed to satisfy constraint" in message
    chained = sts.assume_role(RoleArn=CHAINED, RoleSessionName="chain")
    assert chained["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/Chained/chain"
    assert chained["SourceIdentity"] == "alice"  # persists through chaining
    credentials = chained["Credentials"]
    assert (credentials["Expiration"] - datetime.now(UTC)).total_seconds() <= 3600
    session = {"aws_access_key_id": credentials["AccessKeyId"], "aws_secret_access_key": credentials["SecretAccessKey"], "aws_session_token": credentials["SessionToken"]}
    assert client(server, "sts", **session).get_caller_identity()["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/Chained/chain"
    chained_iam = client(server, "iam", **session)
    assert chained_iam.list_roles()["Roles"]
    assert error_of(lambda: chained_iam.get_role(RoleName="Developer"))[0] == "AccessDenied"
    # The chained role may not chain on to Developer: Developer's trust policy only trusts the SAML provider.
    assert error_of(lambda: client(server, "sts", **session).assume_role(RoleArn=DEV_ROLE, RoleSessionName="again"))[0] == "AccessDenied"


def test_role_chaining_refusals(server: dict, developer: dict, registered: dict) -> None:
    admin = client(server, "iam")
    actions = ["sts:AssumeRole", "sts:TagSession"]  # the developer session's transitive tag needs sts:TagSession
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": DEV_ROLE}, "Action": actions}]}
    admin.create_role(RoleName="NoSourceIdentity", AssumeRolePolicyDocument=json.dumps(trust))
    sts = client(server, "sts", **developer)
    target = f"arn:aws:iam::{ACCOUNT}:role/NoSourceIdentity"
    code, message, _ = error_of(lambda: sts.assume_role(RoleArn=target, RoleSessionName="x1"))
    assert code == "AccessDenied" and message == f"User: arn:aws:sts::{ACCOUNT}:assumed-role/Developer/alice@example.com is not authorized to perform: sts:SetSourceIdentity on resource: {target}"
    without_source = _session(server)  # no SourceIdentity: the trust policy needs only sts:AssumeRole
    assert client(server, "sts", **without_source).assume_role(RoleArn=target, RoleSessionName="x2")["Credentials"]
    assert error_of(lambda: sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/Missing", RoleSessionName="x3"))[0] == "AccessDenied"
    admin_sts = client(server, "sts")
    assert error_of(lambda: admin_sts.assume_role(RoleArn=CHAINED, RoleSessionName="x4")) == ("AccessDenied", "Roles may not be assumed by root accounts.", 403)


def test_iam_calls_carry_source_ip_and_transport(server: dict, developer: dict) -> None:
    admin = client(server, "iam")
    admin.put_role_policy(RoleName="Developer", PolicyName="network", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "iam:ListRoles", "Resource": "*", "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}},
    ]}))
    try:
        code, message, _ = error_of(lambda: client(server, "iam", **developer).list_roles())
        assert code == "AccessDenied" and "explicit deny" in message  # the test client calls from 127.0.0.1
    finally:
        admin.delete_role_policy(RoleName="Developer", PolicyName="network")
    assert client(server, "iam", **developer).list_roles()["Roles"]
