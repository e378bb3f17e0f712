"""The authorization API's request context and owners, from an audit: the keys AWS puts in every role session's
request (aws:PrincipalIsAWSService, aws:ViaAWSService, aws:RequestedRegion from the signature), keys the service may
not supply (the session's own), another account's resources (both sides must allow); and the S3 example gateway's
mapping of requests to actions (a subresource or a copy is not PutObject, HeadObject, ListObjectsV2's keys)."""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import httpx
import pytest
from authz_request import signed_request
from botocore.auth import S3SigV4Auth
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from saml_factory import ACCOUNT, DEV_ROLE, PROVIDER_ARN, response_b64
from servers import app_in_thread
from service_world import developer_world

from samlfed.authz.client import AuthorizationClient
from samlfed.authz.decide import BadAuthzRequest, decide
from samlfed.authz.keys import create_authz_key
from samlfed.config import Settings
from samlfed.context import ServiceContext
from samlfed.iam.accounts import create_account
from samlfed.iam.attached_policies import attach_role_policy, detach_role_policy
from samlfed.iam.aws_managed import import_catalogue, read_catalogue
from samlfed.iam.role_policies import put_role_policy
from samlfed.iam.roles import tag_role, untag_role
from samlfed.server import build_server_app
from samlfed.store import Tag
from samlfed.sts.assume import AssumeRoleWithSamlRequest, assume_role_with_saml

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples" / "s3-gateway"))
from gateway import build_app  # noqa: E402

OTHER = "222222222222"


def policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


ALL = {"Sid": "All", "Effect": "Allow", "Action": ["s3:*", "sqs:*"], "Resource": "*"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict:
    ctx = developer_world(Settings(data_dir=tmp_path_factory.mktemp("authz-audit")))
    other_admin = create_account(ctx, OTHER)
    fresh = response_b64(issue_instant=datetime.now(UTC) - timedelta(seconds=5))  # botocore signs with the real clock
    issued = service_session(ctx, fresh)
    return {"ctx": ctx, "session": issued, "other_admin": Credentials(other_admin.access_key_id, other_admin.secret_access_key)}


def service_session(ctx: ServiceContext, assertion: str) -> Credentials:
    issued = assume_role_with_saml(ctx, AssumeRoleWithSamlRequest(DEV_ROLE, PROVIDER_ARN, assertion)).credentials
    return Credentials(issued.access_key_id, issued.secret_access_key, issued.session_token)


def ask(world: dict, identity: str, *, region: str = "us-east-1", credentials: Credentials | None = None, **extra: object) -> dict:
    """The decision for a GET signed by the Developer session (or `credentials`) under the identity policy given."""
    put_role_policy(world["ctx"], ACCOUNT, "Developer", "audit", identity)
    request = signed_request(S3SigV4Auth(credentials or world["session"], "s3", region), "GET", "https://s3.example/b/k")
    body = {"request": {**request, "payload_hash": hashlib.sha256(b"").hexdigest()}, "action": "s3:GetObject", "resource": "arn:aws:s3:::b/k", **extra}
    return decide(world["ctx"], body)


def test_a_data_perimeter_deny_applies_to_role_sessions(world: dict) -> None:
    # AWS sets both keys, false, in every request signed with credentials; a Bool deny on them must apply.
    for key in ("aws:PrincipalIsAWSService", "aws:ViaAWSService"):
        perimeter = {"Sid": "Perimeter", "Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": {"Bool": {key: "false"}}}
        answer = ask(world, policy(ALL, perimeter))
        assert answer["decision"] == "explicitDeny", key
        assert answer["matched_statements"] == [{"policy_id": "audit", "policy_type": "role", "sid": "Perimeter"}]


def test_requested_region_is_the_region_the_request_was_signed_for(world: dict) -> None:
    in_region = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}}
    assert ask(world, policy(in_region), region="eu-west-1")["decision"] == "allowed"  # no `region` in the body
    assert ask(world, policy(in_region), region="us-east-1")["decision"] == "implicitDeny"
    spoofed = ask(world, policy(in_region), region="us-east-1", context={"aws:RequestedRegion": "eu-west-1"})
    assert spoofed["decision"] == "implicitDeny"


@pytest.mark.parametrize(("key", "value", "condition", "resource"), [
    ("aws:MultiFactorAuthPresent", "true", {"Bool": {"aws:MultiFactorAuthPresent": "true"}}, "*"),
    ("aws:MultiFactorAuthAge", "10", {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}, "*"),
    ("aws:username", "b", {}, "arn:aws:s3:::${aws:username}/*"),
    ("aws:CurrentTime", "2000-01-01T00:00:00Z", {"DateLessThan": {"aws:CurrentTime": "2001-01-01T00:00:00Z"}}, "*"),
    ("aws:EpochTime", "1", {"NumericLessThan": {"aws:EpochTime": "100"}}, "*"),
    ("aws:FederatedProvider", PROVIDER_ARN, {"StringEquals": {"aws:FederatedProvider": PROVIDER_ARN}}, "*"),
    # Set only for a request a service makes on the principal's behalf, which aws:ViaAWSService false says this is not
    ("aws:CalledVia", "athena.amazonaws.com", {"ForAnyValue:StringEquals": {"aws:CalledVia": "athena.amazonaws.com"}}, "*"),
    ("aws:CalledViaFirst", "athena.amazonaws.com", {"StringEquals": {"aws:CalledViaFirst": "athena.amazonaws.com"}}, "*"),
    ("aws:CalledViaLast", "athena.amazonaws.com", {"StringEquals": {"aws:CalledViaLast": "athena.amazonaws.com"}}, "*"),
])
def test_the_service_cannot_supply_what_only_the_session_or_samlfed_knows(world: dict, key: str, value: str, condition: dict, resource: str) -> None:
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": resource, **({"Condition": condition} if condition else {})}
    assert ask(world, policy(statement), context={key: value})["decision"] == "implicitDeny"


def test_a_statement_of_an_attached_aws_managed_policy_is_named_as_aws_managed(world: dict) -> None:
    """It was answered as a user-managed policy's, which only the account's own policies are."""
    arn = "arn:aws:iam::aws:policy/DenyObjectReads"
    deny = {"Version": "2012-10-17", "Statement": [{"Sid": "NoReads", "Effect": "Deny", "Action": "s3:GetObject", "Resource": "*"}]}
    catalogue = {"Policies": [{
        "PolicyName": "DenyObjectReads", "PolicyId": "ANPAEXAMPLEDENYREADS1", "Arn": arn, "Path": "/", "DefaultVersionId": "v1",
        "IsAttachable": True, "CreateDate": "2020-01-01T00:00:00+00:00", "UpdateDate": "2020-01-01T00:00:00+00:00",
        "PolicyVersionList": [{"Document": deny, "VersionId": "v1", "IsDefaultVersion": True, "CreateDate": "2020-01-01T00:00:00+00:00"}],
    }]}
    entries, refused = read_catalogue(json.dumps(catalogue), now=datetime.now(UTC))
    assert refused == []
    import_catalogue(world["ctx"], entries)
    attach_role_policy(world["ctx"], ACCOUNT, "Developer", arn)
    try:
        answer = ask(world, policy(ALL))
    finally:
        detach_role_policy(world["ctx"], ACCOUNT, "Developer", arn)
    assert answer["decision"] == "explicitDeny"
    assert answer["matched_statements"] == [{"policy_id": arn, "policy_type": "aws-managed", "sid": "NoReads"}]


def test_the_service_still_supplies_request_keys(world: dict) -> None:
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"StringEquals": {"s3:ExistingObjectTag/class": "public"}}}
    assert ask(world, policy(statement), context={"s3:ExistingObjectTag/class": "public"})["decision"] == "allowed"


@pytest.mark.parametrize("context", [
    {"s3:ExistingObjectTag/class": "public", "S3:ExistingObjectTag/class": "secret"},
    {"S3:ExistingObjectTag/class": "secret", "s3:existingobjecttag/CLASS": "public"},
])
def test_a_request_key_given_twice_in_different_case_is_refused(world: dict, context: dict) -> None:
    """Condition key names are case-insensitive: the first spelling was kept and the other dropped, so the order of the
    body decided whether the Deny on "secret" applied (the first context was allowed)."""
    secret = {"Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": {"StringEquals": {"s3:ExistingObjectTag/class": "secret"}}}
    with pytest.raises(BadAuthzRequest, match="^context names the key .* twice .*: condition keys are case-insensitive$"):
        ask(world, policy(ALL, secret), context=context)
    assert ask(world, policy(ALL, secret), context={"S3:ExistingObjectTag/Class": "secret"})["decision"] == "explicitDeny"


QUEUE = f"arn:aws:sqs:us-east-1:{OTHER}:jobs"


def test_another_accounts_resource_needs_its_resource_policy_too(world: dict) -> None:
    asked = {"action": "sqs:SendMessage", "resource": QUEUE}
    assert ask(world, policy(ALL), **asked)["decision"] == "implicitDeny"  # the identity policy alone is half
    for principal in (ACCOUNT, DEV_ROLE):
        grant = policy({"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sqs:SendMessage", "Resource": QUEUE})
        assert ask(world, policy(ALL), resource_policy=grant, **asked)["decision"] == "allowed", principal
        nothing = policy({"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"})
        assert ask(world, nothing, resource_policy=grant, **asked)["decision"] == "implicitDeny", principal  # and the other half


def test_a_service_names_the_owner_of_an_arn_without_an_account(world: dict) -> None:
    assert ask(world, policy(ALL), context={"aws:ResourceAccount": OTHER})["decision"] == "implicitDeny"
    assert ask(world, policy(ALL), context={"aws:ResourceAccount": ACCOUNT})["decision"] == "allowed"


def test_an_account_administrator_is_root_of_its_own_account_only(world: dict) -> None:
    admin = world["other_admin"]
    assert ask(world, policy(ALL), credentials=admin, action="sqs:SendMessage", resource=QUEUE)["decision"] == "allowed"
    mine = f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs"
    assert ask(world, policy(ALL), credentials=admin, action="sqs:SendMessage", resource=mine)["decision"] == "implicitDeny"
    grant = policy({"Effect": "Allow", "Principal": {"AWS": OTHER}, "Action": "sqs:SendMessage", "Resource": mine})
    assert ask(world, policy(ALL), credentials=admin, action="sqs:SendMessage", resource=mine, resource_policy=grant)["decision"] == "allowed"


@pytest.mark.parametrize(("field", "value", "message"), [
    ("secure_transport", "false", "secure_transport must be true or false"),
    ("secure_transport", 0, "secure_transport must be true or false"),
    ("source_ip", "not-an-ip", "source_ip must be an IPv4 or IPv6 address"),
    ("source_ip", "", "source_ip must be an IPv4 or IPv6 address"),
])
def test_an_origin_field_of_another_type_is_refused_not_left_out(world: dict, field: str, value: object, message: str) -> None:
    """A `"false"` left out left aws:SecureTransport unset, so the usual deny of insecure transport matched nothing and
    the request was allowed (the docs walkthrough probe)."""
    insecure = {"Sid": "DenyInsecure", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    private = {"Sid": "DenyOutside", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*", "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}
    for credentials in (None, world["other_admin"]):
        with pytest.raises(BadAuthzRequest, match=f"^{message}$"):
            ask(world, policy(ALL), credentials=credentials, resource_policy=policy(insecure, private), **{field: value})
    assert ask(world, policy(ALL), resource_policy=policy(insecure, private), secure_transport=False, source_ip="10.1.2.3")["decision"] == "explicitDeny"
    assert ask(world, policy(ALL), resource_policy=policy(insecure, private), secure_transport=True, source_ip="10.1.2.3")["decision"] == "allowed"
    assert ask(world, policy(ALL), resource_policy=policy(insecure, private), secure_transport=True, source_ip="2001:db8::1")["decision"] == "explicitDeny"


def test_a_resource_policys_deny_binds_an_administrator_too(world: dict) -> None:
    """As a bucket policy can lock out its account's root: the administrator's request carries its origin, its region
    and the service's request keys, and an explicit deny in the resource policy refuses it, in its account or another."""
    admin, mine = world["other_admin"], f"arn:aws:sqs:us-east-1:{OTHER}:jobs"
    insecure = {"Sid": "DenyInsecure", "Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    grant = {"Effect": "Allow", "Principal": {"AWS": OTHER}, "Action": "sqs:SendMessage", "Resource": "*"}
    for resource in (mine, f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs"):
        asked = {"credentials": admin, "action": "sqs:SendMessage", "resource": resource, "resource_policy": policy(grant, insecure)}
        refused = ask(world, policy(ALL), secure_transport=False, **asked)
        assert (refused["decision"], refused["matched_statements"]) == ("explicitDeny", [{"policy_id": "resource-policy", "policy_type": "resource", "sid": "DenyInsecure"}])
        assert ask(world, policy(ALL), secure_transport=True, **asked)["decision"] == "allowed", resource
    secret = {"Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": "*", "Condition": {"StringLike": {"s3:prefix": "secret*"}}}
    asked = {"credentials": admin, "action": "sqs:SendMessage", "resource": mine, "resource_policy": policy(grant, secret)}
    assert ask(world, policy(ALL), context={"s3:prefix": "secret/"}, **asked)["decision"] == "explicitDeny"
    assert ask(world, policy(ALL), context={"s3:prefix": "public/"}, **asked)["decision"] == "allowed"
    regional = {"Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": "*", "Condition": {"StringNotEquals": {"aws:RequestedRegion": "eu-west-1"}}}
    asked = {"credentials": admin, "action": "sqs:SendMessage", "resource": mine, "resource_policy": policy(grant, regional)}
    assert ask(world, policy(ALL), region="us-east-1", **asked)["decision"] == "explicitDeny"
    assert ask(world, policy(ALL), region="eu-west-1", **asked)["decision"] == "allowed"
    spoofed = ask(world, policy(ALL), context={"aws:PrincipalAccount": ACCOUNT}, credentials=admin, action="sqs:SendMessage", resource=f"arn:aws:sqs:us-east-1:{ACCOUNT}:jobs")
    assert spoofed["decision"] == "implicitDeny"  # the service cannot make the root another account's


def test_a_deny_with_not_principal_spares_only_a_principal_it_names_at_every_level(world: dict) -> None:
    """IAM User Guide (NotPrincipal): AWS "might" check the account, then the role, then the session, and deny at
    the first one left out; a session is spared only when all three are listed, an administrator by its account."""
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/Developer/alice@example.com"

    def deny_all_but(*names: str, credentials: Credentials | None = None) -> str:
        statement = {"Sid": "OnlyThese", "Effect": "Deny", "NotPrincipal": {"AWS": list(names)}, "Action": "s3:*", "Resource": "*"}
        return ask(world, policy(ALL), credentials=credentials, resource_policy=policy(statement))["decision"]

    assert deny_all_but(session, DEV_ROLE, f"arn:aws:iam::{ACCOUNT}:root") == "allowed"
    assert deny_all_but(session, DEV_ROLE, ACCOUNT) == "allowed"
    for names in ([DEV_ROLE], [session], [DEV_ROLE, ACCOUNT], [session, ACCOUNT], [session, DEV_ROLE]):
        assert deny_all_but(*names) == "explicitDeny", names
    admin = world["other_admin"]
    bucket = {"action": "s3:GetObject", "resource": "arn:aws:s3:::b/k", "context": {"aws:ResourceAccount": OTHER}}
    for names, decision in (([OTHER], "allowed"), ([f"arn:aws:iam::{OTHER}:root"], "allowed"), ([session, DEV_ROLE, ACCOUNT], "explicitDeny")):
        statement = {"Effect": "Deny", "NotPrincipal": {"AWS": names}, "Action": "s3:*", "Resource": "*"}
        assert ask(world, policy(ALL), credentials=admin, resource_policy=policy(statement), **bucket)["decision"] == decision, names


# --- the S3 example gateway -------------------------------------------------------------------------------------

GATEWAY_POLICY = policy(
    {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::acme-data/*"},
    {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::acme-data", "Condition": {"StringEquals": {"s3:delimiter": "/"}}},
)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    settings = Settings(data_dir=tmp_path_factory.mktemp("gateway-audit"))
    ctx = developer_world(settings)
    put_role_policy(ctx, ACCOUNT, "Developer", "objects", GATEWAY_POLICY)
    objects = tmp_path_factory.mktemp("objects")
    (objects / "acme-data" / "docs").mkdir(parents=True)
    (objects / "acme-data" / "docs" / "plan.txt").write_text("the plan")
    (objects / "acme-data" / "top.txt").write_text("top")
    (objects / "acme-data.account").write_text(ACCOUNT)
    credentials = service_session(ctx, response_b64(issue_instant=datetime.now(UTC) - timedelta(seconds=5)))
    with app_in_thread(build_server_app(settings, ctx)) as samlfed_url:
        with app_in_thread(build_app(objects, AuthorizationClient(samlfed_url, create_authz_key(ctx, "gw").key))) as url:
            s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1", config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
                              aws_access_key_id=credentials.access_key, aws_secret_access_key=credentials.secret_key, aws_session_token=credentials.token)
            yield {"s3": s3, "objects": objects, "url": url}


def test_a_subresource_or_a_copy_is_not_a_put_object(gateway: dict) -> None:
    s3, plan = gateway["s3"], gateway["objects"] / "acme-data" / "docs" / "plan.txt"
    calls = [
        lambda: s3.put_object_tagging(Bucket="acme-data", Key="docs/plan.txt", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]}),
        lambda: s3.put_object_acl(Bucket="acme-data", Key="docs/plan.txt", ACL="private"),
        lambda: s3.copy_object(Bucket="acme-data", Key="docs/plan.txt", CopySource="acme-data/top.txt"),
        lambda: s3.upload_part(Bucket="acme-data", Key="docs/plan.txt", UploadId="u", PartNumber=1, Body=b"part"),
        lambda: s3.get_object_tagging(Bucket="acme-data", Key="docs/plan.txt"),
    ]
    for call in calls:
        with pytest.raises(ClientError) as refused:
            call()
        assert refused.value.response["Error"]["Code"] == "NotImplemented"
    assert plan.read_text() == "the plan"


def test_head_object_is_authorized_as_get_object(gateway: dict) -> None:
    head = gateway["s3"].head_object(Bucket="acme-data", Key="docs/plan.txt")
    assert head["ContentLength"] == len("the plan")


def test_list_objects_v2_passes_its_parameters_as_condition_keys(gateway: dict) -> None:
    s3 = gateway["s3"]
    listed = s3.list_objects_v2(Bucket="acme-data", Delimiter="/")  # the policy asks for s3:delimiter "/"
    assert [o["Key"] for o in listed["Contents"]] == ["top.txt"] and [p["Prefix"] for p in listed["CommonPrefixes"]] == ["docs/"]
    with pytest.raises(ClientError) as denied:
        s3.list_objects_v2(Bucket="acme-data")  # no delimiter: the key is absent, not ""
    assert denied.value.response["Error"]["Code"] == "AccessDenied"


def test_a_key_the_filesystem_cannot_name_is_a_client_error(gateway: dict) -> None:
    url = gateway["s3"].generate_presigned_url("get_object", Params={"Bucket": "acme-data", "Key": "docs/a\x00b"}, ExpiresIn=300)
    answer = httpx.get(url)
    assert answer.status_code == 400 and b"<Code>InvalidArgument</Code>" in answer.content


def test_the_principals_tags_are_its_session_tags_over_role_tags_in_any_case(world: dict) -> None:
    """AWS: session tags override role tags with the same key whatever its case; the answer lists each key once."""
    tag_role(world["ctx"], ACCOUNT, "Developer", [Tag("Department", "Marketing"), Tag("owner", "ops")])
    try:
        answer = ask(world, policy(ALL))
        assert answer["principal"]["tags"] == {"department": "Engineering", "project": "apollo", "owner": "ops"}
    finally:
        untag_role(world["ctx"], ACCOUNT, "Developer", ["Department", "owner"])


@pytest.mark.parametrize(("condition", "context", "decision"), [
    ({"DateGreaterThan": {"aws:CurrentTime": "2000-01-01T00:00:00Z"}}, None, "explicitDeny"),
    ({"NumericGreaterThan": {"aws:EpochTime": "946684800"}}, None, "explicitDeny"),
    ({"Null": {"aws:CurrentTime": "true"}}, None, "allowed"),
    ({"DateLessThan": {"aws:CurrentTime": "2000-01-01T00:00:00Z"}}, {"aws:CurrentTime": "1999-01-01T00:00:00Z"}, "allowed"),
    ({"NumericLessThan": {"aws:EpochTime": "946684800"}}, {"aws:EpochTime": "1"}, "allowed"),
], ids=["time-window", "epoch-window", "time-present", "time-not-backdated", "epoch-not-backdated"])
def test_an_administrators_request_carries_the_time_and_the_service_cannot_set_it(world: dict, condition: dict, context: dict | None, decision: str) -> None:
    """aws:CurrentTime and aws:EpochTime are in every request context (IAM User Guide, global condition keys): an
    administrator's request had neither, so a bucket policy's time-window deny never bound the root, and the
    service's `context` could supply them (a helper's probe found both)."""
    admin, mine = world["other_admin"], f"arn:aws:sqs:us-east-1:{OTHER}:jobs"
    timed = {"Sid": "Timed", "Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": "*", "Condition": condition}
    asked = {"credentials": admin, "action": "sqs:SendMessage", "resource": mine, "resource_policy": policy(timed)}
    assert ask(world, policy(ALL), **({"context": context} if context else {}), **asked)["decision"] == decision
