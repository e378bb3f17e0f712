"""Temporary credentials from an audit: which keys and tokens authenticate, and the condition keys an IAM call made
with a session is judged with (a Deny conditioned on a key IAM gives must apply), over HTTP with boto3."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.exceptions import ClientError
from saml_factory import ACCOUNT, DEV_ROLE, PROVIDER_ARN, response_b64
from servers import app_in_thread
from service_world import developer_world

from samlfed.api.app import build_app
from samlfed.config import Settings
from samlfed.context import ServiceContext
from samlfed.iam.accounts import NewAccessKey, create_access_key
from samlfed.iam.managed_policies import create_policy
from samlfed.iam.providers import tag_saml_provider, untag_saml_provider
from samlfed.iam.role_policies import put_role_policy
from samlfed.iam.roles import create_role
from samlfed.store import Tag
from samlfed.sts.assume import AssumeRoleWithSamlRequest, assume_role_with_saml
from samlfed.sts.credentials import InvalidSessionToken, KeyRing, SessionClaims, UnknownRingKey, issue, open_session

TRUSTS_ACCOUNT = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"}]})
EVERYTHING = {"Effect": "Allow", "Action": "iam:*", "Resource": "*"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServiceContext, str, NewAccessKey]]:
    ctx = developer_world(Settings(data_dir=tmp_path_factory.mktemp("data")))
    with app_in_thread(build_app(ctx)) as url:
        yield ctx, url, create_access_key(ctx, ACCOUNT)


def iam_client(url: str, key: str, secret: str, token: str | None = None):  # type: ignore[no-untyped-def]
    return boto3.client("iam", endpoint_url=url, region_name="us-east-1", aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=token)


def developer(world: tuple[ServiceContext, str, NewAccessKey], *statements: dict):  # type: ignore[no-untyped-def]
    """An IAM client with a fresh Developer session, the role's only policy being `statements`."""
    ctx, url, _ = world
    document = {"Version": "2012-10-17", "Statement": [EVERYTHING, *statements]}
    put_role_policy(ctx, ACCOUNT, "Developer", "audit", json.dumps(document))
    fresh = response_b64(issue_instant=datetime.now(UTC) - timedelta(seconds=5))
    credentials = assume_role_with_saml(ctx, AssumeRoleWithSamlRequest(DEV_ROLE, PROVIDER_ARN, fresh)).credentials
    return iam_client(url, credentials.access_key_id, credentials.secret_access_key, credentials.session_token)


def error_of(call) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as info:
        call()
    return info.value.response["Error"]["Code"], info.value.response["Error"]["Message"]


def deny(action: str, condition: dict | None = None, resource: str = "*") -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **({"Condition": condition} if condition else {})}


# --- which credentials authenticate ---------------------------------------------------------------------------


def test_a_long_term_key_with_a_session_token_is_refused(world) -> None:  # type: ignore[no-untyped-def]
    """A stale AWS_SESSION_TOKEN next to an administrator key: AWS refuses the pair, it does not drop the token."""
    ctx, url, admin = world
    token = issue(ctx.key_ring(), SessionClaims(ACCOUNT, DEV_ROLE, "AROAEXAMPLE0000000000", "alice", 0, 2**40)).session_token
    assert iam_client(url, admin.access_key_id, admin.secret_access_key).list_roles()["Roles"]
    for stale in (token, "anything"):
        code, message = error_of(lambda stale=stale: iam_client(url, admin.access_key_id, admin.secret_access_key, stale).list_roles())
        assert (code, message) == ("InvalidClientTokenId", "The security token included in the request is invalid")


CLAIMS = SessionClaims(ACCOUNT, DEV_ROLE, "AROAEXAMPLE0000000000", "alice", 1_800_000_000, 1_800_003_600)


@pytest.mark.parametrize(
    "spell",
    [lambda t: t[:8] + "!.!." + t[8:], lambda t: t[:8] + "\r\n\r\n" + t[8:], lambda t: t + "==", lambda t: t.replace("-", "+").replace("_", "/"),
     lambda t: base64.b64encode(base64.urlsafe_b64decode(t + "=" * (-len(t) % 4))).decode()],
    ids=["junk-characters", "line-breaks", "padding", "standard-alphabet", "padded-standard-base64"],
)
def test_only_the_issued_spelling_of_a_token_opens(spell) -> None:  # type: ignore[no-untyped-def]
    """The base64 decoder skips characters outside its alphabet and takes padding: every other spelling of the same
    bytes is refused, so a token is one string."""
    ring = KeyRing.generate()
    credentials = issue(ring, CLAIMS)
    while "-" not in credentials.session_token and "_" not in credentials.session_token:  # the alphabet case needs one
        credentials = issue(ring, CLAIMS)
    assert open_session(ring, credentials.access_key_id, credentials.session_token).claims == CLAIMS
    with pytest.raises(InvalidSessionToken, match="not a samlfed session token"):
        open_session(ring, credentials.access_key_id, spell(credentials.session_token))


def test_only_an_unknown_ring_key_is_worth_rereading_the_ring() -> None:
    """A token under a key the ring lacks may come from a rotation elsewhere; a forged token under a known key may not."""
    ring = KeyRing.generate()
    credentials = issue(ring, CLAIMS)
    with pytest.raises(UnknownRingKey):
        open_session(KeyRing.generate(), credentials.access_key_id, credentials.session_token)
    forged = bytearray(base64.urlsafe_b64decode(credentials.session_token + "=" * (-len(credentials.session_token) % 4)))
    forged[-1] ^= 1
    with pytest.raises(InvalidSessionToken) as info:
        open_session(ring, credentials.access_key_id, base64.urlsafe_b64encode(bytes(forged)).decode().rstrip("="))
    assert not isinstance(info.value, UnknownRingKey)


# --- the resource and condition keys of IAM calls made with a session ------------------------------------------


def test_create_role_is_authorized_on_the_arn_with_its_path(world) -> None:  # type: ignore[no-untyped-def]
    iam = developer(world, deny("iam:*", resource=f"arn:aws:iam::{ACCOUNT}:role/admin/*"))
    code, message = error_of(lambda: iam.create_role(RoleName="Sneaky", Path="/admin/", AssumeRolePolicyDocument=TRUSTS_ACCOUNT))
    assert code == "AccessDenied"
    assert f"iam:CreateRole on resource: arn:aws:iam::{ACCOUNT}:role/admin/Sneaky with an explicit deny" in message
    assert iam.create_role(RoleName="Allowed", Path="/team/", AssumeRolePolicyDocument=TRUSTS_ACCOUNT)["Role"]["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/team/Allowed"


@pytest.mark.parametrize("key", ["aws:ResourceTag/protected", "iam:ResourceTag/protected"])
def test_a_role_s_tags_are_its_resource_tags(world, key: str) -> None:  # type: ignore[no-untyped-def]
    ctx, _, _ = world
    create_role(ctx, ACCOUNT, f"Protected{key[:3]}", TRUSTS_ACCOUNT, tags=[Tag("Protected", "true")])
    iam = developer(world, deny("iam:*", {"StringEquals": {key: "true"}}))
    everything = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    code, message = error_of(lambda: iam.put_role_policy(RoleName=f"Protected{key[:3]}", PolicyName="mine", PolicyDocument=everything))
    assert code == "AccessDenied" and message.endswith("with an explicit deny in an identity-based policy")
    assert iam.get_role(RoleName="Developer")["Role"]["RoleName"] == "Developer"  # untagged: the Deny does not apply


def test_a_saml_provider_s_tags_are_its_resource_tags(world) -> None:  # type: ignore[no-untyped-def]
    ctx, _, _ = world
    tag_saml_provider(ctx, ACCOUNT, PROVIDER_ARN, [Tag("protected", "true")])
    try:
        iam = developer(world, deny("iam:*", {"StringEquals": {"aws:ResourceTag/protected": "true"}}))
        assert error_of(lambda: iam.get_saml_provider(SAMLProviderArn=PROVIDER_ARN))[0] == "AccessDenied"
    finally:
        untag_saml_provider(ctx, ACCOUNT, PROVIDER_ARN, ["protected"])


def test_the_request_s_tags_and_tag_keys(world) -> None:  # type: ignore[no-untyped-def]
    """A role's tags become its sessions' aws:PrincipalTag: who may set which tag is a permission IAM policies state
    with aws:TagKeys and aws:RequestTag/…"""
    only_project = {"Effect": "Allow", "Action": ["iam:TagRole", "iam:UntagRole"], "Resource": "*", "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["project"]}}}
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:Get*", "Resource": "*"}, only_project,
                                                       deny("iam:CreateRole", {"StringEquals": {"aws:RequestTag/department": "Engineering"}})]}
    ctx, _, _ = world
    iam = developer(world)
    put_role_policy(ctx, ACCOUNT, "Developer", "audit", json.dumps(document))
    assert error_of(lambda: iam.tag_role(RoleName="Developer", Tags=[{"Key": "department", "Value": "Engineering"}]))[0] == "AccessDenied"
    assert error_of(lambda: iam.untag_role(RoleName="Developer", TagKeys=["department"]))[0] == "AccessDenied"
    iam.tag_role(RoleName="Developer", Tags=[{"Key": "project", "Value": "apollo"}])
    iam.untag_role(RoleName="Developer", TagKeys=["project"])
    put_role_policy(ctx, ACCOUNT, "Developer", "audit", json.dumps({**document, "Statement": [EVERYTHING, *document["Statement"][2:]]}))
    tags = [{"Key": "department", "Value": "Engineering"}, {"Key": "Department", "Value": "Finance"}]  # one key to IAM: no value hides another
    assert error_of(lambda: iam.create_role(RoleName="Tagged", AssumeRolePolicyDocument=TRUSTS_ACCOUNT, Tags=tags))[0] == "AccessDenied"


def test_the_policy_attached_and_the_permissions_boundary(world) -> None:  # type: ignore[no-untyped-def]
    ctx, _, _ = world
    statement = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    boundary = create_policy(ctx, ACCOUNT, "Boundary", json.dumps(statement)).arn
    other = create_policy(ctx, ACCOUNT, "Other", json.dumps(statement)).arn
    create_role(ctx, ACCOUNT, "Delegated", TRUSTS_ACCOUNT)
    iam = developer(world, deny("iam:AttachRolePolicy", {"ArnNotEquals": {"iam:PolicyARN": boundary}}),
                    deny(["iam:PutRolePermissionsBoundary", "iam:PutRolePolicy"], {"StringNotEquals": {"iam:PermissionsBoundary": boundary}}))
    assert error_of(lambda: iam.attach_role_policy(RoleName="Delegated", PolicyArn=other))[0] == "AccessDenied"
    iam.attach_role_policy(RoleName="Delegated", PolicyArn=boundary)
    assert error_of(lambda: iam.put_role_permissions_boundary(RoleName="Delegated", PermissionsBoundary=other))[0] == "AccessDenied"
    assert error_of(lambda: iam.put_role_policy(RoleName="Delegated", PolicyName="p", PolicyDocument=json.dumps(statement)))[0] == "AccessDenied"
    iam.put_role_permissions_boundary(RoleName="Delegated", PermissionsBoundary=boundary)
    iam.put_role_policy(RoleName="Delegated", PolicyName="p", PolicyDocument=json.dumps(statement))  # the role now has that boundary
