"""From the IAM audit against AWS (aws-saml-contract.md §2, §6): every model member samlfed does not implement is
refused, not ignored; a required parameter that is missing is reported with the malformed names beside it; the tags
of providers, roles and policies are in the same order in every answer whatever the database's collation; and what
the handlers answer is what boto3 receives over the wire."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError
from postgres_scratch import POSTGRES_URL
from saml_factory import ACCOUNT, DEV_ROLE, ENTITY_ID, PROVIDER_ARN, signer
from servers import app_in_thread
from service_world import TRUST, developer_world
from sqlalchemy import create_engine, make_url, text
from test_iam_constraints import call, refused

from samlfed.api.app import build_app
from samlfed.config import Settings
from samlfed.context import ServiceContext
from samlfed.iam.accounts import create_access_key, create_account
from samlfed.iam.providers import list_saml_providers
from samlfed.saml.metadata import build_idp_metadata
from samlfed.server import build_context

METADATA = build_idp_metadata(ENTITY_ID, [signer().certificate]).decode()
POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
IAM_MODEL = botocore.session.get_session().get_service_model("iam")

IMPLEMENTED = {
    "CreateRole": {"Path", "RoleName", "AssumeRolePolicyDocument", "Description", "MaxSessionDuration", "PermissionsBoundary", "Tags"},
    "UpdateRole": {"RoleName", "Description", "MaxSessionDuration"},
    "CreateSAMLProvider": {"SAMLMetadataDocument", "Name", "Tags", "AssertionEncryptionMode", "AddPrivateKey"},
    "UpdateSAMLProvider": {"SAMLMetadataDocument", "SAMLProviderArn", "AssertionEncryptionMode", "AddPrivateKey", "RemovePrivateKey"},
    "SimulatePrincipalPolicy": {
        "PolicySourceArn", "PolicyInputList", "PermissionsBoundaryPolicyInputList", "ActionNames", "ResourceArns", "ResourcePolicy", "CallerArn",
        "ContextEntries", "MaxItems", "Marker",
    },
    "SimulateCustomPolicy": {
        "PolicyInputList", "PermissionsBoundaryPolicyInputList", "ActionNames", "ResourceArns", "ResourcePolicy", "CallerArn", "ContextEntries",
        "MaxItems", "Marker",
    },
}
"""The input members of botocore's model that samlfed implements for these operations; every other one is refused."""

REQUIRED = {
    "CreateRole": {"RoleName": "New", "AssumeRolePolicyDocument": TRUST},
    "UpdateRole": {"RoleName": "Developer"},
    "CreateSAMLProvider": {"Name": "New", "SAMLMetadataDocument": METADATA},
    "UpdateSAMLProvider": {"SAMLProviderArn": PROVIDER_ARN},
    "SimulatePrincipalPolicy": {"PolicySourceArn": DEV_ROLE, "ActionNames.member.1": "s3:GetObject"},
    "SimulateCustomPolicy": {"PolicyInputList.member.1": POLICY, "ActionNames.member.1": "s3:GetObject"},
}


def _query_value(member: str, shape: botocore.model.Shape) -> dict[str, str]:
    """The member as the query protocol sends it: a structure as one of its members (`ContextProvider.KeyDefinitionList`)."""
    values = {"boolean": "true", "integer": "7200"}
    if shape.type_name == "structure":
        return {f"{member}.{next(iter(shape.members))}": "x"}
    return {member: values.get(shape.type_name, "arn:aws:sso:::instance/ssoins-1234567890abcdef")}


UNIMPLEMENTED = [
    (action, member, _query_value(member, shape))
    for action in IMPLEMENTED
    for member, shape in IAM_MODEL.operation_model(action).input_shape.members.items()
    if member not in IMPLEMENTED[action]
]


@pytest.fixture
def ctx(tmp_path) -> ServiceContext:
    return developer_world(Settings(data_dir=tmp_path))


# --- model members samlfed does not implement ---------------------------------------------------------------


@pytest.mark.parametrize(("action", "member", "given"), UNIMPLEMENTED, ids=[f"{a}-{m}" for a, m, _ in UNIMPLEMENTED])
def test_every_model_member_samlfed_does_not_implement_is_refused(ctx: ServiceContext, action: str, member: str, given: dict[str, str]) -> None:
    error = refused(ctx, action, **REQUIRED[action], **given)
    assert (error.code, error.status) == ("InvalidParameterValue", 400)
    assert error.message.startswith(f"samlfed's {action} does not support {member} (")
    # Refused before anything changed.
    assert refused(ctx, "GetRole", RoleName="New").code == "NoSuchEntity"
    assert [p.arn for p in list_saml_providers(ctx, ACCOUNT)] == [PROVIDER_ARN]


def test_the_members_samlfed_implements_are_not_refused(ctx: ServiceContext) -> None:
    call(ctx, "UpdateRole", RoleName="Developer", Description="d", MaxSessionDuration="7200")
    role = call(ctx, "GetRole", RoleName="Developer")["Role"]
    assert (role["Description"], role["MaxSessionDuration"]) == ("d", 7200)
    # RemovePrivateKey is implemented: a key the provider does not have is the documented InvalidInput.
    error = refused(ctx, "UpdateSAMLProvider", SAMLProviderArn=PROVIDER_ARN, RemovePrivateKey="A" * 22)
    assert error.code == "InvalidInput"


# --- a missing parameter beside a malformed name ---------------------------------------------------------------


def test_a_missing_parameter_is_reported_before_a_name_of_other_characters(ctx: ServiceContext) -> None:
    """The model's violations first; a name's characters are IAM's own check, made once the model's hold."""
    error = refused(ctx, "GetRolePolicy", RoleName="a b")
    assert (error.code, error.message) == ("ValidationError", "1 validation error detected: Value null at 'policyName' failed to satisfy constraint: Member must not be null")
    error = refused(ctx, "DeleteRolePolicy", PolicyName="c d")
    assert error.message == "1 validation error detected: Value null at 'roleName' failed to satisfy constraint: Member must not be null"
    error = refused(ctx, "DeleteRolePolicy", RoleName="a" * 65, PolicyName="c d")
    assert error.message == f"1 validation error detected: Value '{'a' * 65}' at 'roleName' failed to satisfy constraint: Member must have length less than or equal to 64"


# --- CreateSAMLProvider and GetSAMLProvider agree on the order of the tags -------------------------------------

# Sorted by lower-cased key in Python: "a0" < "a:" < "b"; PostgreSQL's ICU en-US collation puts punctuation first.
ORDERED_KEYS = ["a0", "a:", "b"]


@contextmanager
def icu_collated_database() -> Iterator[str]:
    """The URL of a new database whose default collation is ICU's en-US (a deployment's database need not be "C")."""
    name = f"samlfed_icu_{secrets.token_hex(4)}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE \"{name}\" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


TAGS = {f"Tags.member.{n}.{field}": value for n, key in enumerate(reversed(ORDERED_KEYS), 1) for field, value in (("Key", key), ("Value", "v"))}
"""The tags as a query request carries them, in reverse order."""


@contextmanager
def icu_collated_account(tmp_path) -> Iterator[ServiceContext]:  # type: ignore[no-untyped-def]
    """A service on a new ICU-collated PostgreSQL database, with the account ACCOUNT."""
    with icu_collated_database() as url:
        ctx = build_context(Settings(data_dir=tmp_path, database_url=url))
        try:
            create_account(ctx, ACCOUNT)
            yield ctx
        finally:
            ctx.store.engine.dispose()


def test_create_and_get_saml_provider_list_tags_in_the_same_order_on_any_collation(tmp_path) -> None:
    with icu_collated_account(tmp_path) as ctx:
        created = call(ctx, "CreateSAMLProvider", Name="Corp", SAMLMetadataDocument=METADATA, **TAGS)
        got = call(ctx, "GetSAMLProvider", SAMLProviderArn=created["SAMLProviderArn"])
        listed = call(ctx, "ListSAMLProviderTags", SAMLProviderArn=created["SAMLProviderArn"])
    assert [tag["Key"] for tag in created["Tags"]] == ORDERED_KEYS
    assert got["Tags"] == created["Tags"] == listed["Tags"]


def test_roles_and_policies_list_tags_in_the_same_order_on_any_collation(tmp_path) -> None:
    """GetRole, GetPolicy and GetAccountAuthorizationDetails order tags as ListRoleTags and ListPolicyTags do."""
    with icu_collated_account(tmp_path) as ctx:
        call(ctx, "CreateRole", RoleName="Reader", AssumeRolePolicyDocument=TRUST, **TAGS)
        policy = call(ctx, "CreatePolicy", PolicyName="Reading", PolicyDocument=POLICY, **TAGS)["Policy"]["Arn"]
        role_tags = call(ctx, "GetRole", RoleName="Reader")["Role"]["Tags"]
        policy_tags = call(ctx, "GetPolicy", PolicyArn=policy)["Policy"]["Tags"]
        details = call(ctx, "GetAccountAuthorizationDetails")["RoleDetailList"][0]["Tags"]
        listed = [call(ctx, "ListRoleTags", RoleName="Reader")["Tags"], call(ctx, "ListPolicyTags", PolicyArn=policy)["Tags"]]
    assert [tag["Key"] for tag in role_tags] == ORDERED_KEYS
    assert role_tags == policy_tags == details == listed[0] == listed[1]


# --- over the wire, with boto3 -----------------------------------------------------------------------------------


@pytest.fixture
def iam(tmp_path) -> Iterator:  # type: ignore[type-arg]
    ctx = developer_world(Settings(data_dir=tmp_path))
    key = create_access_key(ctx, ACCOUNT)
    with app_in_thread(build_app(ctx)) as url:
        yield boto3.client("iam", endpoint_url=url, region_name="us-east-1", aws_access_key_id=key.access_key_id, aws_secret_access_key=key.secret_access_key)


def error_of(call) -> tuple[str, str, int]:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as info:
        call()
    response = info.value.response
    return response["Error"]["Code"], response["Error"]["Message"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_boto3_gets_the_audited_answers(iam) -> None:  # type: ignore[no-untyped-def]
    code, message, status = error_of(lambda: iam.create_saml_provider(
        Name="New", SAMLMetadataDocument=METADATA, ContextProvider={"SubjectSourceKey": "email", "KeyDefinitionList": [{"SourceKey": "s", "TargetKey": "k"}]}))
    assert (code, status) == ("InvalidParameterValue", 400) and message.startswith("samlfed's CreateSAMLProvider does not support ContextProvider (")
    code, message, status = error_of(lambda: iam.update_role(RoleName="Developer", MaxSigninSessionDuration=7200, ResetMaxSigninSessionDuration=False))
    assert (code, status) == ("InvalidParameterValue", 400)
    assert message.startswith("samlfed's UpdateRole does not support MaxSigninSessionDuration, ResetMaxSigninSessionDuration (")
    assert error_of(lambda: iam.get_policy(PolicyArn="garbage-garbage-garbage")) == ("InvalidInput", "ARN garbage-garbage-garbage is not valid.", 400)
    assert error_of(lambda: iam.get_role_policy(RoleName="Nope", PolicyName="p")) == ("NoSuchEntity", "The role with name Nope cannot be found.", 404)
    created = iam.create_saml_provider(Name="Corp", SAMLMetadataDocument=METADATA, Tags=[{"Key": "b", "Value": "1"}, {"Key": "A", "Value": "2"}])
    assert [tag["Key"] for tag in created["Tags"]] == ["A", "b"] == [tag["Key"] for tag in iam.get_saml_provider(SAMLProviderArn=created["SAMLProviderArn"])["Tags"]]
