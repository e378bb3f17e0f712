"""AssumeRole from a role session with new session tags, TransitiveTagKeys and a SourceIdentity, through boto3 against
a running samlfed: AWS's checks and messages, the trust policy's sts:TagSession and sts:SetSourceIdentity, the tags as
aws:PrincipalTag of later decisions, transitive tags over two hops, and the packed size; MFA's SerialNumber and
TokenCode, checked as AWS checks them and then refused (samlfed has no MFA device to verify a code against).

AWS's rules: IAM User Guide, "Passing session tags in AWS STS" (chaining roles with session tags: a tag passed with
the key of an inherited transitive tag fails the call) and "Monitor and control actions taken with assumed roles" (a
source identity cannot be changed once set); the codes and messages are those AWS answers (no page quotes them)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from chain_setup import SAML_TRUST, TARGET, allowing, chain_world, developer_credentials, document, trusting
from saml_factory import ACCOUNT, DEV_ROLE
from servers import app_in_thread

from samlfed.api.app import build_app
from samlfed.context import ServiceContext
from samlfed.errors import ServiceError
from samlfed.iam.role_policies import put_role_policy
from samlfed.iam.roles import create_role, update_trust_policy
from samlfed.sts.assume import packed_policy_size

TAGGED = f"arn:aws:iam::{ACCOUNT}:role/Tagged"
SECOND = f"arn:aws:iam::{ACCOUNT}:role/Second"
THIRD = f"arn:aws:iam::{ACCOUNT}:role/Third"
ALICE = f"arn:aws:sts::{ACCOUNT}:assumed-role/Developer/alice@example.com"
EVERY_ACTION = ("sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity")
MFA_DEVICE = f"arn:aws:iam::{ACCOUNT}:mfa/alice"
CONFLICT = "One of the specified transitive tag keys can't be set because it conflicts with a transitive tag key from the calling session."
ALREADY_SET = "The source identity is already set for this assume role session"
TAG_KEY_PATTERN = "[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+"
CLIENT_CONFIG = Config(parameter_validation=False)  # botocore would refuse some bad values before samlfed sees them


@pytest.fixture
def world(tmp_path) -> Iterator[tuple[ServiceContext, str]]:
    """Developer → Tagged → Second → Third, each trusting the one before for every action; Target trusts Developer
    for sts:AssumeRole only."""
    ctx = chain_world(tmp_path)
    update_trust_policy(ctx, ACCOUNT, "Developer", document(SAML_TRUST))
    create_role(ctx, ACCOUNT, "Tagged", document(trusting(DEV_ROLE, *EVERY_ACTION)))
    create_role(ctx, ACCOUNT, "Second", document(trusting(TAGGED, *EVERY_ACTION)))
    create_role(ctx, ACCOUNT, "Third", document(trusting(SECOND, *EVERY_ACTION)))
    with app_in_thread(build_app(ctx)) as url:
        yield ctx, url


def client(url: str, name: str, credentials: dict[str, Any]) -> Any:
    """A boto3 client signing with `credentials` (an AssumeRole answer, or its Credentials)."""
    credentials = credentials.get("Credentials", credentials)
    return boto3.client(
        name, endpoint_url=url, region_name="us-east-1", config=CLIENT_CONFIG, aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"], aws_session_token=credentials["SessionToken"],
    )  # fmt: skip


def developer(world: tuple[ServiceContext, str], **assertion: object) -> Any:
    """An STS client for a Developer session signed in with `assertion`'s fields (saml_factory.spec)."""
    ctx, url = world
    credentials = developer_credentials(ctx, **assertion)
    keys = {
        "AccessKeyId": credentials.access_key_id,
        "SecretAccessKey": credentials.secret_access_key,
        "SessionToken": credentials.session_token,
    }
    return client(url, "sts", keys)


def error_of(call: Callable[[], object]) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        call()
    return info.value.response["Error"]["Code"], info.value.response["Error"]["Message"]


def tags(**pairs: str) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in pairs.items()]


def test_new_session_tags_are_principal_tags_of_later_decisions(world) -> None:  # type: ignore[no-untyped-def]
    ctx, url = world
    put_role_policy(
        ctx, ACCOUNT, "Tagged", "red-team", document(allowing("iam:GetRole", {"StringEquals": {"aws:PrincipalTag/team": "red"}}))
    )
    sts = developer(world)
    red = sts.assume_role(RoleArn=TAGGED, RoleSessionName="red", Tags=tags(team="red"))
    assert red["PackedPolicySize"] == packed_policy_size(None, (), {"team": "red"})
    assert client(url, "sts", red).get_caller_identity()["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/Tagged/red"
    assert client(url, "iam", red).get_role(RoleName="Target")["Role"]["Arn"] == TARGET
    blue = sts.assume_role(RoleArn=TAGGED, RoleSessionName="blue", Tags=tags(team="blue"))
    assert error_of(lambda: client(url, "iam", blue).get_role(RoleName="Target"))[0] == "AccessDenied"


def test_transitive_tags_carry_over_two_hops(world) -> None:  # type: ignore[no-untyped-def]
    """TransitiveTagKeys names a key in another case: the tag as spelled goes on; a tag not named stays behind."""
    ctx, url = world
    keeps_team = {"StringEquals": {"aws:PrincipalTag/team": "red"}, "ForAllValues:StringEquals": {"sts:TransitiveTagKeys": ["team"]},
                  "Null": {"sts:TransitiveTagKeys": "false"}}  # fmt: skip
    # carrying the team tag over needs sts:TagSession too
    update_trust_policy(ctx, ACCOUNT, "Second", document(trusting(TAGGED, "sts:AssumeRole", "sts:TagSession", condition=keeps_team)))
    reads = document(
        allowing("iam:GetRole", {"StringEquals": {"aws:PrincipalTag/team": "red"}}),
        allowing("iam:ListRoles", {"Null": {"aws:PrincipalTag/cost": "false"}}),
    )
    for role in ("Second", "Third"):
        put_role_policy(ctx, ACCOUNT, role, "reads", reads)
    first = developer(world).assume_role(
        RoleArn=TAGGED, RoleSessionName="hop1", Tags=tags(team="red", cost="1"), TransitiveTagKeys=["TEAM"]
    )
    second = client(url, "sts", first).assume_role(RoleArn=SECOND, RoleSessionName="hop2")
    assert second["PackedPolicySize"] == packed_policy_size(None, (), {"team": "red"})  # carried tags count too
    assert client(url, "iam", second).get_role(RoleName="Target")["Role"]["Arn"] == TARGET
    assert error_of(lambda: client(url, "iam", second).list_roles())[0] == "AccessDenied"  # cost was not transitive
    third = client(url, "sts", second).assume_role(RoleArn=THIRD, RoleSessionName="hop3", Tags=tags(cost="2"))
    assert client(url, "iam", third).get_role(RoleName="Target")["Role"]["Arn"] == TARGET
    assert client(url, "iam", third).list_roles()["Roles"]
    refused = error_of(lambda: client(url, "sts", second).assume_role(RoleArn=THIRD, RoleSessionName="hop3", Tags=tags(Team="blue")))
    assert refused == ("InvalidParameterValue", CONFLICT)


def test_a_tag_may_not_replace_a_transitive_tag_of_the_sign_in(world) -> None:  # type: ignore[no-untyped-def]
    sts = developer(world, transitive_tag_keys=["department"])
    assert error_of(lambda: sts.assume_role(RoleArn=TAGGED, RoleSessionName="again", Tags=tags(Department="Sales"))) == (
        "InvalidParameterValue",
        CONFLICT,
    )
    answer = sts.assume_role(RoleArn=TAGGED, RoleSessionName="again", Tags=tags(project="hermes"))  # not transitive at sign-in: replaceable
    assert answer["PackedPolicySize"] == packed_policy_size(None, (), {"department": "Engineering", "project": "hermes"})


def _validation(*violations: str) -> tuple[str, str]:
    noun = "error" if len(violations) == 1 else "errors"
    return "ValidationError", f"{len(violations)} validation {noun} detected: " + "; ".join(violations)


@pytest.mark.parametrize(("parameters", "error"), [
    ({"Tags": tags(team="red", TEAM="blue")}, ("InvalidParameterValue", "Duplicate tag keys found. Please note that Tag keys are case insensitive.")),
    ({"Tags": tags(team="red"), "TransitiveTagKeys": ["cost"]}, ("InvalidParameterValue", "The specified transitive tag key must be included in the requested tags.")),
    ({"TransitiveTagKeys": ["team"]}, ("InvalidParameterValue", "The specified transitive tag key must be included in the requested tags.")),
    ({"Tags": [{"Key": "AWS:team", "Value": "red"}]}, ("InvalidParameterValue", "Session tag keys can't start with 'aws:': the prefix is reserved for AWS.")),
    ({"Tags": tags(**{"team!": "red"})}, _validation(f"Value 'team!' at 'tags.1.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern: {TAG_KEY_PATTERN}")),
    ({"Tags": tags(team="r" * 257)}, _validation(f"Value '{'r' * 257}' at 'tags.1.member.value' failed to satisfy constraint: Member must have length less than or equal to 256")),
    ({"Tags": tags(**{f"k{n}": "v" for n in range(51)})}, _validation("Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 50")),
    ({"Tags": tags(team="red"), "TransitiveTagKeys": ["team", "a!"]}, _validation(
        "Value '[team, a!]' at 'transitiveTagKeys' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or "
        f"equal to 128, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: {TAG_KEY_PATTERN}]")),
    ({"SourceIdentity": "a"}, _validation("Value 'a' at 'sourceIdentity' failed to satisfy constraint: Member must have length greater than or equal to 2")),
    ({"SourceIdentity": "aws:alice"}, _validation("Value 'aws:alice' at 'sourceIdentity' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*")),
    ({"SerialNumber": "GAHT1234", "TokenCode": "12345a"}, _validation(
        "Value 'GAHT1234' at 'serialNumber' failed to satisfy constraint: Member must have length greater than or equal to 9",
        "Value '12345a' at 'tokenCode' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\d]*")),
    ({"SerialNumber": "arn:aws:iam::111111111111:mfa/jane doe", "TokenCode": "1234567"}, _validation(
        "Value 'arn:aws:iam::111111111111:mfa/jane doe' at 'serialNumber' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=/:,.@-]*",
        "Value '1234567' at 'tokenCode' failed to satisfy constraint: Member must have length less than or equal to 6")),
    ({"TokenCode": "12a"}, _validation(  # a U2F key's answer, as AWS refused it (boto/botocore#1567): pattern, then length
        "Value '12a' at 'tokenCode' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\d]*",
        "Value '12a' at 'tokenCode' failed to satisfy constraint: Member must have length greater than or equal to 6")),
])  # fmt: skip
def test_the_parameters_are_checked_as_aws_checks_them(world, parameters: dict, error: tuple[str, str]) -> None:  # type: ignore[no-untyped-def]
    assert error_of(lambda: developer(world).assume_role(RoleArn=TAGGED, RoleSessionName="checked", **parameters)) == error


def test_a_missing_parameter_is_reported_with_the_others(world) -> None:  # type: ignore[no-untyped-def]
    """A request without RoleArn or RoleSessionName was told only of the missing ones, the other violations dropped;
    AWS reports them all in one ValidationError, as samlfed's AssumeRoleWithSAML does (botocore's client checks stop
    such requests before they leave, but other clients send them)."""
    sts = developer(world)
    assert error_of(lambda: sts.assume_role(RoleArn=TAGGED, DurationSeconds=100, SourceIdentity="a")) == _validation(
        "Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null",
        "Value '100' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900",
        "Value 'a' at 'sourceIdentity' failed to satisfy constraint: Member must have length greater than or equal to 2",
    )
    assert error_of(lambda: sts.assume_role(ExternalId="x")) == _validation(
        "Value null at 'roleArn' failed to satisfy constraint: Member must not be null",
        "Value null at 'roleSessionName' failed to satisfy constraint: Member must not be null",
        "Value 'x' at 'externalId' failed to satisfy constraint: Member must have length greater than or equal to 2",
    )


def test_mfa_is_refused_as_no_code_can_be_verified(world, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    """Target's trust policy does not ask for MFA, but a code given must still be checked, and samlfed has no device to
    check it against: a well-formed pair is refused (AccessDenied), as is half a pair, in AWS's words."""
    caplog.set_level(logging.INFO, logger="samlfed.sts")
    sts = developer(world)
    assert sts.assume_role(RoleArn=TARGET, RoleSessionName="plain")["Credentials"]  # no MFA asked for, none given
    code, message = error_of(lambda: sts.assume_role(RoleArn=TARGET, RoleSessionName="mfa", SerialNumber=MFA_DEVICE, TokenCode="123456"))
    assert (code, message.split(":")[0]) == ("AccessDenied", "MultiFactorAuthentication failed, unable to validate MFA code")
    assert "samlfed has no MFA devices" in message
    half = ("AccessDenied", "MultiFactorAuthentication failed, must provide both MFA serial number and one time pass code.")
    assert error_of(lambda: sts.assume_role(RoleArn=TARGET, RoleSessionName="mfa", TokenCode="123456")) == half
    assert error_of(lambda: sts.assume_role(RoleArn=TARGET, RoleSessionName="mfa", SerialNumber=MFA_DEVICE)) == half
    denials = [r for r in caplog.records if r.name == "samlfed.sts" and r.getMessage().startswith("AssumeRole denied")]
    assert [(r.denied_by, r.role) for r in denials] == [("mfa", TARGET)] * 3  # type: ignore[attr-defined]


def test_passing_tags_needs_tag_session_in_the_trust_policy(world) -> None:  # type: ignore[no-untyped-def]
    ctx, _ = world
    sts = developer(world)
    assert sts.assume_role(RoleArn=TARGET, RoleSessionName="plain")["Credentials"]  # no tags: sts:AssumeRole is enough
    refused = error_of(lambda: sts.assume_role(RoleArn=TARGET, RoleSessionName="tagged", Tags=tags(team="red")))
    assert refused == ("AccessDenied", f"User: {ALICE} is not authorized to perform: sts:TagSession on resource: {TARGET}")
    limits = {
        "StringEquals": {"aws:RequestTag/team": "red"},
        "ForAllValues:StringEquals": {"aws:TagKeys": ["team", "cost"], "sts:TransitiveTagKeys": ["team"]},
    }
    update_trust_policy(
        ctx, ACCOUNT, "Target", document(trusting(DEV_ROLE), trusting(DEV_ROLE, "sts:TagSession", condition=limits))
    )
    assert sts.assume_role(RoleArn=TARGET, RoleSessionName="ok", Tags=tags(team="red", cost="1"), TransitiveTagKeys=["team"])["Credentials"]
    for refused_request in (
        {"Tags": tags(team="blue")},  # aws:RequestTag/team
        {"Tags": tags(team="red", owner="bob")},  # aws:TagKeys
        {"Tags": tags(team="red", cost="1"), "TransitiveTagKeys": ["cost"]},  # sts:TransitiveTagKeys
    ):
        code, message = error_of(lambda: sts.assume_role(RoleArn=TARGET, RoleSessionName="again", **refused_request))  # noqa: B023 - called at once
        assert (code, message) == ("AccessDenied", f"User: {ALICE} is not authorized to perform: sts:TagSession on resource: {TARGET}"), (
            refused_request
        )


def test_carrying_transitive_tags_needs_tag_session_too(world) -> None:  # type: ignore[no-untyped-def]
    """The caller's transitive tags become session tags of the chained session, so the target's trust policy must allow
    sts:TagSession though the call passes no Tags (AWS's answer to chains from EKS Pod Identity sessions)."""
    ctx, _ = world
    carrying = developer(world, transitive_tag_keys=["department"])
    refused = error_of(lambda: carrying.assume_role(RoleArn=TARGET, RoleSessionName="carried"))
    assert refused == ("AccessDenied", f"User: {ALICE} is not authorized to perform: sts:TagSession on resource: {TARGET}")
    assert developer(world).assume_role(RoleArn=TARGET, RoleSessionName="plain")["Credentials"]  # its tags are not transitive
    update_trust_policy(ctx, ACCOUNT, "Target", document(trusting(DEV_ROLE, "sts:AssumeRole", "sts:TagSession")))
    assert carrying.assume_role(RoleArn=TARGET, RoleSessionName="carried")["Credentials"]


def test_a_source_identity_is_set_once_then_kept(world) -> None:  # type: ignore[no-untyped-def]
    ctx, url = world
    only_alice = trusting(DEV_ROLE, "sts:AssumeRole", "sts:SetSourceIdentity", condition={"StringEquals": {"sts:SourceIdentity": "alice"}})
    update_trust_policy(ctx, ACCOUNT, "Tagged", document(only_alice))
    put_role_policy(
        ctx, ACCOUNT, "Second", "alice-reads", document(allowing("iam:ListRoles", {"StringEquals": {"aws:SourceIdentity": "alice"}}))
    )
    sts = developer(world)
    assert error_of(lambda: sts.assume_role(RoleArn=TAGGED, RoleSessionName="set", SourceIdentity="mallory"))[0] == "AccessDenied"
    first = sts.assume_role(RoleArn=TAGGED, RoleSessionName="set", SourceIdentity="alice")
    assert first["SourceIdentity"] == "alice"
    hop = client(url, "sts", first)
    kept = hop.assume_role(RoleArn=SECOND, RoleSessionName="kept")
    assert kept["SourceIdentity"] == "alice"
    assert client(url, "iam", kept).list_roles()["Roles"]  # aws:SourceIdentity of the chained session
    assert hop.assume_role(RoleArn=SECOND, RoleSessionName="same", SourceIdentity="alice")["SourceIdentity"] == "alice"
    assert error_of(lambda: hop.assume_role(RoleArn=SECOND, RoleSessionName="changed", SourceIdentity="mallory")) == (
        "ValidationError",
        ALREADY_SET,
    )


def test_a_changed_source_identity_is_reported_before_a_tag_conflict(world) -> None:  # type: ignore[no-untyped-def]
    sts = developer(world, source_identity="alice", transitive_tag_keys=["department"])
    both = {"Tags": tags(department="Sales"), "TransitiveTagKeys": ["department"]}
    assert error_of(lambda: sts.assume_role(RoleArn=TAGGED, RoleSessionName="again", SourceIdentity="mallory", **both)) == (
        "ValidationError",
        ALREADY_SET,
    )
    assert error_of(lambda: sts.assume_role(RoleArn=TAGGED, RoleSessionName="again", SourceIdentity="alice", **both)) == (
        "InvalidParameterValue",
        CONFLICT,
    )


def test_setting_or_carrying_a_source_identity_needs_set_source_identity(world) -> None:  # type: ignore[no-untyped-def]
    denied = ("AccessDenied", f"User: {ALICE} is not authorized to perform: sts:SetSourceIdentity on resource: {TARGET}")
    assert error_of(lambda: developer(world).assume_role(RoleArn=TARGET, RoleSessionName="set", SourceIdentity="alice")) == denied
    assert error_of(lambda: developer(world, source_identity="alice").assume_role(RoleArn=TARGET, RoleSessionName="carried")) == denied


def _incompressible_tags() -> dict[str, str]:
    """50 tags of 256 hex digits that repeat nothing: far above the packed budget, though each is within its limits."""
    return {f"k{n}": "".join(hashlib.sha256(f"{n}.{part}".encode()).hexdigest() for part in range(4)) for n in range(50)}


def test_session_tags_count_against_the_packed_size(world) -> None:  # type: ignore[no-untyped-def]
    big = _incompressible_tags()
    with pytest.raises(ServiceError) as expected:
        packed_policy_size(None, (), big)
    refused = error_of(lambda: developer(world).assume_role(RoleArn=TAGGED, RoleSessionName="big", Tags=tags(**big)))
    assert refused == ("PackedPolicyTooLarge", expected.value.message)
    assert int(expected.value.message.split(" consumes ")[1].split("%")[0]) > 100


def test_the_decision_line_names_tag_keys_and_source_identity_not_values(world, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.INFO, logger="samlfed.sts")
    sts = developer(world, transitive_tag_keys=["department"])
    sts.assume_role(RoleArn=TAGGED, RoleSessionName="logged", Tags=tags(team="scarlet"), TransitiveTagKeys=["team"], SourceIdentity="alice")
    (line,) = [r for r in caplog.records if r.name == "samlfed.sts" and r.getMessage().startswith("AssumeRole allowed")]
    fields = {name: getattr(line, name) for name in ("source_identity", "tag_keys", "transitive_tag_keys")}
    assert fields == {"source_identity": "alice", "tag_keys": ["department", "team"], "transitive_tag_keys": ["department", "team"]}
    assert line.getMessage().endswith("source_identity=alice tag_keys=['department', 'team']")
    assert "scarlet" not in repr(line.__dict__) and "Engineering" not in repr(line.__dict__)
