"""How an IAM AccessDenied names the resource, action by action, as AWS's answers do (quoted in public issues, logs
and AWS's own documentation), and the tagging permission that creating with tags takes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from iam_http import error_of, iam_client, serving, session_client
from saml_factory import ACCOUNT, PROVIDER_ARN

PREFIX = f"arn:aws:iam::{ACCOUNT}"
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
DOCUMENT = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with serving(tmp_path_factory, "denied") as (ctx, url, admin):
        iam = iam_client(url, admin.access_key_id, admin.secret_access_key)
        existing = iam.create_policy(PolicyName="Existing", PolicyDocument=DOCUMENT)["Policy"]["Arn"]
        yield {"ctx": ctx, "url": url, "admin": iam, "existing": existing}


@pytest.fixture
def granted(world: dict[str, Any]) -> Iterator[Any]:
    """Grants the Developer role what the test puts (an inline policy); the session's client."""
    granted: dict[str, Any] = {}

    def grant(*actions: str, resource: str = "*") -> Any:
        statement = {"Effect": "Allow", "Action": list(actions), "Resource": resource}
        world["admin"].put_role_policy(RoleName="Developer", PolicyName="Grant", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
        granted["put"] = True
        return session_client(world["ctx"], world["url"])

    yield grant
    if granted:
        world["admin"].delete_role_policy(RoleName="Developer", PolicyName="Grant")


def denied(call: Any) -> str:
    status, code, message = error_of(call)
    assert (status, code) == (403, "AccessDenied")
    return message.split(" is not authorized to perform: ", 1)[1]


def refusal(action: str, shown: str) -> str:
    return f"iam:{action} on resource: {shown} because no identity-based policy allows the iam:{action} action"


def test_each_action_names_its_resource_as_aws_does(world: dict[str, Any]) -> None:
    session = session_client(world["ctx"], world["url"])
    existing = world["existing"]
    cases = [
        # "iam:GetRole on resource: role lti-project-ec2-role because no identity-based policy allows the iam:GetRole action"
        ("GetRole", lambda: session.get_role(RoleName="Developer"), "role Developer"),
        ("AttachRolePolicy", lambda: session.attach_role_policy(RoleName="Developer", PolicyArn=existing), "role Developer"),
        ("ListInstanceProfilesForRole", lambda: session.list_instance_profiles_for_role(RoleName="Developer"), "role Developer"),
        # "iam:CreateRole on resource: arn:aws:iam::569113802249:role/accelerate-…", "iam:TagRole on resource: arn:aws:iam::…:role/…"
        ("CreateRole", lambda: session.create_role(RoleName="New", Path="/ops/", AssumeRolePolicyDocument=json.dumps(TRUST)), f"{PREFIX}:role/ops/New"),
        ("TagRole", lambda: session.tag_role(RoleName="Developer", Tags=[{"Key": "k", "Value": "v"}]), f"{PREFIX}:role/Developer"),
        ("PutRolePermissionsBoundary", lambda: session.put_role_permissions_boundary(RoleName="Developer", PermissionsBoundary=existing),
         f"{PREFIX}:role/Developer"),
        # "iam:CreatePolicy on resource: policy ch5 because …", "iam:GetPolicy on resource: policy arn:aws:iam::792671221040:policy/…"
        ("CreatePolicy", lambda: session.create_policy(PolicyName="Fresh", PolicyDocument=DOCUMENT), "policy Fresh"),
        ("GetPolicy", lambda: session.get_policy(PolicyArn=existing), f"policy {existing}"),
        ("ListPolicyVersions", lambda: session.list_policy_versions(PolicyArn=existing), f"policy {existing}"),
        # "iam:ListPolicies on resource: policy path / because …"; "iam:ListRoles on resource: arn:aws:iam::921234892411:role/ because …"
        ("ListPolicies", lambda: session.list_policies(), "policy path /"),
        ("ListPolicies", lambda: session.list_policies(PathPrefix="/team/"), "policy path /team/"),
        ("ListRoles", lambda: session.list_roles(), f"{PREFIX}:role/"),
        # "iam:GetSAMLProvider on resource: arn:aws:iam::…:saml-provider/AWSSSO_…_DO_NOT_DELETE because …"
        ("GetSAMLProvider", lambda: session.get_saml_provider(SAMLProviderArn=PROVIDER_ARN), PROVIDER_ARN),
        # "iam:GetAccountAuthorizationDetails on resource: * because …"; "iam:ListAccountAliases on resource: * because …"
        ("GetAccountAuthorizationDetails", lambda: session.get_account_authorization_details(), "*"),
        ("ListAccountAliases", lambda: session.list_account_aliases(), "*"),
    ]
    for action, call, shown in cases:
        assert denied(call) == refusal(action, shown), action


def test_list_roles_is_authorized_on_every_role_whatever_the_path_prefix(world: dict[str, Any], granted: Any) -> None:
    """AWS names role<PathPrefix> (arn:aws:iam::755880545038:role/aws-service-role/…/), but samlfed authorizes ListRoles
    on role/ whatever the prefix: the listing holds every role whose path starts with it, so a grant on one role
    ("role/Dev") must not list "/Dev-ops/" roles, nor a deny on role/ miss a listing with PathPrefix "/s" (a review)."""
    world["admin"].create_role(RoleName="OpsAdmin", Path="/Dev-ops/", AssumeRolePolicyDocument=json.dumps(TRUST))
    try:
        session = granted("iam:ListRoles", resource=f"{PREFIX}:role/Dev")
        assert denied(lambda: session.list_roles(PathPrefix="/Dev")) == refusal("ListRoles", f"{PREFIX}:role/")
        session = granted("iam:ListRoles", resource=f"{PREFIX}:role/")
        assert [r["RoleName"] for r in session.list_roles(PathPrefix="/Dev")["Roles"]] == ["OpsAdmin"]
    finally:
        world["admin"].delete_role(RoleName="OpsAdmin")


@pytest.mark.parametrize(("create", "tag_action", "shown"), [
    (lambda iam: iam.create_policy(PolicyName="Tagged", PolicyDocument=DOCUMENT, Tags=[{"Key": "team", "Value": "a"}]), "TagPolicy", "policy Tagged"),
    (lambda iam: iam.create_role(RoleName="Tagged", AssumeRolePolicyDocument=json.dumps(TRUST), Tags=[{"Key": "team", "Value": "a"}]),
     "TagRole", f"{PREFIX}:role/Tagged"),
])
def test_creating_with_tags_takes_the_permission_to_tag(world: dict[str, Any], granted: Any, create: Any, tag_action: str, shown: str) -> None:
    """AWS: "iam:TagPolicy on resource: policy kk-platform-dev-alb-controller-policy because no identity-based policy
    allows the iam:TagPolicy action" (Terraform creating a tagged policy)."""
    session = granted("iam:CreatePolicy", "iam:CreateRole")
    assert denied(lambda: create(session)) == refusal(tag_action, shown)
    admin = world["admin"]
    assert "Tagged" not in [p["PolicyName"] for p in admin.list_policies(Scope="Local")["Policies"]]
    assert "Tagged" not in [r["RoleName"] for r in admin.list_roles()["Roles"]]
    session = granted("iam:CreatePolicy", "iam:CreateRole", f"iam:{tag_action}")
    create(session)
    if tag_action == "TagPolicy":
        admin.delete_policy(PolicyArn=f"{PREFIX}:policy/Tagged")
    else:
        admin.delete_role(RoleName="Tagged")


def test_creating_without_tags_takes_no_permission_to_tag(world: dict[str, Any], granted: Any) -> None:
    session = granted("iam:CreatePolicy")
    arn = session.create_policy(PolicyName="Untagged", PolicyDocument=DOCUMENT)["Policy"]["Arn"]
    world["admin"].delete_policy(PolicyArn=arn)
