"""IAM parameters at the edges of their model constraints (aws-saml-contract.md §6), through the handlers as the
query API calls them: botocore checks some of these client-side, other clients send anything."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from urllib.parse import unquote

import pytest
from saml_factory import ENTITY_ID, PROVIDER_ARN, response_b64, signer
from service_world import TRUST

from samlfed.api import handlers
from samlfed.api.auth import Administrator
from samlfed.api.protocol import QueryRequest
from samlfed.config import Settings
from samlfed.context import ServiceContext
from samlfed.errors import ServiceError
from samlfed.iam.accounts import create_access_key, create_account
from samlfed.iam.aliases import create_account_alias
from samlfed.saml.metadata import build_idp_metadata
from samlfed.saml.signing import IdpSigner
from samlfed.server import build_context
from samlfed.sts.assume import AssumeRoleWithSamlRequest, assume_role_with_saml

ACCOUNT = "111111111111"
ADMIN = Administrator(ACCOUNT, "AKIAEXAMPLE")
METADATA = build_idp_metadata(ENTITY_ID, [signer().certificate]).decode()


@pytest.fixture
def ctx(tmp_path) -> ServiceContext:
    context = build_context(Settings(data_dir=tmp_path))
    create_account(context, ACCOUNT)
    return context


def call(ctx: ServiceContext, action: str, **params: str) -> dict | None:
    return handlers.IAM[action](ctx, ADMIN, QueryRequest(action, "2010-05-08", dict(params)))


def refused(ctx: ServiceContext, action: str, **params: str) -> ServiceError:
    with pytest.raises(ServiceError) as info:
        call(ctx, action, **params)
    return info.value


@pytest.mark.parametrize(("value", "bound"), [("0", "greater than or equal to 1"), ("-1", "greater than or equal to 1"), ("1001", "less than or equal to 1000")])
def test_max_items_outside_1_to_1000_is_refused_with_the_bound_it_breaks(ctx: ServiceContext, value: str, bound: str) -> None:
    error = refused(ctx, "ListRoles", MaxItems=value)
    assert (error.code, error.message) == ("ValidationError", f"1 validation error detected: Value '{value}' at 'maxItems' failed to satisfy constraint: Member must have value {bound}")


def test_max_items_at_its_edges_pages(ctx: ServiceContext) -> None:
    for name in ("A", "B"):
        call(ctx, "CreateRole", RoleName=name, AssumeRolePolicyDocument=TRUST)
    first = call(ctx, "ListRoles", MaxItems="1")
    assert [r["RoleName"] for r in first["Roles"]] == ["A"] and first["IsTruncated"]
    assert len(call(ctx, "ListRoles", MaxItems="1000")["Roles"]) == 2


def test_create_role_max_session_duration_zero_is_a_value(ctx: ServiceContext) -> None:
    error = refused(ctx, "CreateRole", RoleName="R", AssumeRolePolicyDocument=TRUST, MaxSessionDuration="0")
    assert "Value '0' at 'maxSessionDuration' failed to satisfy constraint: Member must have value greater than or equal to 3600" in error.message
    call(ctx, "CreateRole", RoleName="R", AssumeRolePolicyDocument=TRUST)  # AWS's answer leaves MaxSessionDuration out
    assert call(ctx, "GetRole", RoleName="R")["Role"]["MaxSessionDuration"] == 3600


def test_list_roles_leaves_out_the_permissions_boundary_and_tags(ctx: ServiceContext) -> None:
    boundary = call(ctx, "CreatePolicy", PolicyName="Boundary", PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}')
    call(ctx, "CreateRole", RoleName="R", AssumeRolePolicyDocument=TRUST, **{"Tags.member.1.Key": "team", "Tags.member.1.Value": "a"})
    call(ctx, "PutRolePermissionsBoundary", RoleName="R", PermissionsBoundary=boundary["Policy"]["Arn"])
    full = call(ctx, "GetRole", RoleName="R")["Role"]
    assert full["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary["Policy"]["Arn"] and full["Tags"]
    listed = call(ctx, "ListRoles")["Roles"][0]
    assert "PermissionsBoundary" not in listed and "Tags" not in listed


def test_create_policy_path_must_match_the_pattern(ctx: ServiceContext) -> None:
    document = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}'
    error = refused(ctx, "CreatePolicy", PolicyName="P", PolicyDocument=document, Path="nope")
    assert error.code == "ValidationError" and "Value 'nope' at 'path' failed to satisfy constraint" in error.message
    assert call(ctx, "CreatePolicy", PolicyName="P", PolicyDocument=document, Path="/team/")["Policy"]["Arn"] == f"arn:aws:iam::{ACCOUNT}:policy/team/P"


@pytest.mark.parametrize("action", ["UntagRole", "UntagSAMLProvider"])
def test_at_most_50_tag_keys_are_removed_at_once(ctx: ServiceContext, action: str) -> None:
    call(ctx, "CreateRole", RoleName="R", AssumeRolePolicyDocument=TRUST)
    arn = call(ctx, "CreateSAMLProvider", Name="Corp", SAMLMetadataDocument=METADATA)["SAMLProviderArn"]
    target = {"RoleName": "R"} if action == "UntagRole" else {"SAMLProviderArn": arn}
    keys = {f"TagKeys.member.{n}": f"k{n}" for n in range(1, 52)}
    error = refused(ctx, action, **target, **keys)
    assert error.message == "1 validation error detected: Value at 'tagKeys' failed to satisfy constraint: Member must have length less than or equal to 50"
    keys.pop("TagKeys.member.51")
    call(ctx, action, **target, **keys)
    # each key is a tag key: 1-128 characters of the tag alphabet (found by probing: 200 characters were accepted)
    for bad in ("k" * 129, "semi;colon"):
        error = refused(ctx, action, **target, **{"TagKeys.member.1": "k1", "TagKeys.member.2": bad})
        # IAM quotes no key (recorded answers), and names the null check too
        assert error.code == "ValidationError" and error.message.startswith("1 validation error detected: Value at 'tagKeys'")
        assert error.message.endswith(", Member must not be null]") and bad not in error.message
        assert "Member must have length less than or equal to 128" in error.message
    call(ctx, action, **target, **{"TagKeys.member.1": "k" * 128})


@pytest.mark.parametrize(("name", "violations"), [
    ("", ["Member must have length greater than or equal to 1"]),
    ("p" * 129, ["Member must have length less than or equal to 128"]),
    ("p q" + "p" * 127, ["Member must have length less than or equal to 128", "Member must satisfy regular expression pattern: [\\w._-]+"]),
])
def test_provider_name_violations_are_each_reported(ctx: ServiceContext, name: str, violations: list[str]) -> None:
    error = refused(ctx, "CreateSAMLProvider", Name=name, SAMLMetadataDocument=METADATA)
    count = f"{len(violations)} validation error{'s' if len(violations) > 1 else ''} detected: "
    assert error.message == count + "; ".join(f"Value '{name}' at 'name' failed to satisfy constraint: {v}" for v in violations)


def test_a_provider_holds_at_most_10_keys(ctx: ServiceContext) -> None:
    certificates = [IdpSigner.generate(f"key {n}").certificate for n in range(11)]
    error = refused(ctx, "CreateSAMLProvider", Name="Eleven", SAMLMetadataDocument=build_idp_metadata(ENTITY_ID, certificates).decode())
    assert (error.code, error.status, error.message) == ("LimitExceeded", 409, "Cannot exceed quota for KeysPerSAMLProvider: 10")
    call(ctx, "CreateSAMLProvider", Name="Ten", SAMLMetadataDocument=build_idp_metadata(ENTITY_ID, certificates[:10]).decode())


@pytest.mark.parametrize(("params", "code", "words"), [
    ({"AssertionEncryptionMode": "Required"}, "InvalidInput", "Unable to set assertion encryption mode to Required because no private key is provided."),
    ({"AddPrivateKey": "-----BEGIN PRIVATE KEY-----"}, "InvalidInput", "Invalid private key."),
    ({"AssertionEncryptionMode": "Bogus"}, "ValidationError", "Member must satisfy enum value set: [Required, Allowed]"),
    ({"RemovePrivateKey": "ABCDEFGHIJKLMNOPQRSTUV"}, "InvalidInput", "the Key ID does not match a private key"),
    ({"AddPrivateKey": "x", "RemovePrivateKey": "ABCDEFGHIJKLMNOPQRSTUV"}, "InvalidInput", "Unable to add and remove private keys in the same request"),
])
def test_bad_encryption_requests_are_refused_on_create_and_update(ctx: ServiceContext, params: dict, code: str, words: str) -> None:
    error = refused(ctx, "CreateSAMLProvider", Name="Corp", SAMLMetadataDocument=METADATA, **params)
    assert error.code == code and words in error.message
    assert call(ctx, "ListSAMLProviders")["SAMLProviderList"] == []  # nothing was stored
    arn = call(ctx, "CreateSAMLProvider", Name="Corp", SAMLMetadataDocument=METADATA)["SAMLProviderArn"]
    error = refused(ctx, "UpdateSAMLProvider", SAMLProviderArn=arn, SAMLMetadataDocument=METADATA, **params)
    assert error.code == code and words in error.message


def test_the_allowed_mode_is_what_every_provider_has(ctx: ServiceContext) -> None:
    arn = call(ctx, "CreateSAMLProvider", Name="Corp", SAMLMetadataDocument=METADATA, AssertionEncryptionMode="Allowed")["SAMLProviderArn"]
    assert call(ctx, "UpdateSAMLProvider", SAMLProviderArn=arn, AssertionEncryptionMode="Allowed") == {"SAMLProviderArn": arn}
    assert call(ctx, "GetSAMLProvider", SAMLProviderArn=arn)["AssertionEncryptionMode"] == "Allowed"
    assert "No updates are defined" in refused(ctx, "UpdateSAMLProvider", SAMLProviderArn=arn).message


def test_a_taken_account_id_is_named_without_a_missing_alias(ctx: ServiceContext) -> None:
    with pytest.raises(ServiceError) as info:
        create_account(ctx, ACCOUNT)
    assert (info.value.code, info.value.message) == ("EntityAlreadyExists", f"Account {ACCOUNT} already exists.")
    with pytest.raises(ServiceError) as info:
        create_account(ctx, ACCOUNT, alias="acme")
    assert info.value.message == f"Account {ACCOUNT} already exists."
    create_account_alias(ctx, ACCOUNT, "acme-taken")
    with pytest.raises(ServiceError) as info:  # the account is new: the alias is what exists
        create_account(ctx, "222222222222", alias="acme-taken")
    assert (info.value.code, info.value.message) == ("EntityAlreadyExists", "The account alias acme-taken already exists.")
    with pytest.raises(ServiceError) as info:
        create_access_key(ctx, "12345")
    assert (info.value.code, info.value.message) == ("InvalidInput", "An account ID is 12 digits")


def test_a_trust_policy_naming_a_resource_is_malformed(ctx: ServiceContext) -> None:
    trust = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111111111111:saml-provider/Corp"},"Action":"sts:AssumeRoleWithSAML","Resource":"*"}]}'
    error = refused(ctx, "CreateRole", RoleName="R", AssumeRolePolicyDocument=trust)
    assert (error.code, error.message) == ("MalformedPolicyDocument", "Has prohibited field Resource")
    call(ctx, "CreateRole", RoleName="R", AssumeRolePolicyDocument=TRUST)
    error = refused(ctx, "UpdateAssumeRolePolicy", RoleName="R", PolicyDocument=trust)
    assert error.message == "Has prohibited field Resource"


def test_a_trust_policy_with_not_principal_is_malformed(ctx: ServiceContext) -> None:
    """The IAM User Guide: NotPrincipal cannot be used in a role trust policy (not even with Deny)."""
    deny_others = ('{"Version":"2012-10-17","Statement":[' + TRUST[TRUST.index("[") + 1 : TRUST.rindex("]")] +
                   ',{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole"}]}')
    error = refused(ctx, "CreateRole", RoleName="R", AssumeRolePolicyDocument=deny_others)
    assert (error.code, error.message) == ("MalformedPolicyDocument", "Has prohibited field NotPrincipal")
    call(ctx, "CreateRole", RoleName="R", AssumeRolePolicyDocument=TRUST)
    assert refused(ctx, "UpdateAssumeRolePolicy", RoleName="R", PolicyDocument=deny_others).message == "Has prohibited field NotPrincipal"


def test_a_tag_needs_its_key_and_its_value(ctx: ServiceContext) -> None:
    """The model requires both members of a Tag: a missing Value is refused, not stored as an empty one."""
    error = refused(ctx, "CreateRole", RoleName="R", AssumeRolePolicyDocument=TRUST, **{"Tags.member.1.Key": "team"})
    assert (error.code, error.message) == (
        "ValidationError", "1 validation error detected: Value null at 'tags.1.member.value' failed to satisfy constraint: Member must not be null")
    call(ctx, "CreateRole", RoleName="R", AssumeRolePolicyDocument=TRUST, **{"Tags.member.1.Key": "team", "Tags.member.1.Value": ""})
    error = refused(ctx, "TagRole", RoleName="R", **{"Tags.member.1.Value": "x"})
    assert error.message.endswith("Value null at 'tags.1.member.key' failed to satisfy constraint: Member must not be null")


@pytest.mark.parametrize(("action", "bad", "pattern"), [
    ("ListRoles", "noslash", "\\u002F[\\u0021-\\u007F]*"),
    ("ListPolicies", "/no/trailing", "((/[A-Za-z0-9\\.,\\+@=_-]+)*)/"),
])
def test_a_path_prefix_is_held_to_its_pattern(ctx: ServiceContext, action: str, bad: str, pattern: str) -> None:
    error = refused(ctx, action, PathPrefix=bad)
    assert (error.code, error.message) == (
        "ValidationError",
        f"1 validation error detected: Value '{bad}' at 'pathPrefix' failed to satisfy constraint: Member must satisfy regular expression pattern: {pattern}",
    )
    assert call(ctx, action, PathPrefix="/team/") is not None


def test_update_saml_provider_names_a_missing_provider_first(ctx: ServiceContext) -> None:
    missing = f"arn:aws:iam::{ACCOUNT}:saml-provider/Nobody"
    error = refused(ctx, "UpdateSAMLProvider", SAMLProviderArn=missing, RemovePrivateKey="KEYID")
    assert (error.code, error.status) == ("NoSuchEntity", 404)


def _trusting(principal: str) -> str:
    return '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"' + principal + '"},"Action":"sts:AssumeRole"}]}'


@pytest.mark.parametrize("principal", [
    "notanarn", "11111111111", "arn:aws:iam::111111111111:role/*", "arn:aws:s3:::bucket", "arn:aws:iam::111111111111:group/G",
    "arn:aws:iam::111111111111:user/ghost",  # well-formed, but samlfed has no users: it cannot exist
    "arn:aws:iam::111111111111:role/Ghost",  # well-formed, no such role
    "arn:aws:iam::111111111111:role/other/path/Known",  # the role exists, under another path
])
def test_a_trust_policy_naming_an_aws_principal_that_cannot_be_resolved_is_malformed(ctx: ServiceContext, principal: str) -> None:
    call(ctx, "CreateRole", RoleName="Known", Path="/team/", AssumeRolePolicyDocument=TRUST)
    error = refused(ctx, "CreateRole", RoleName="R", AssumeRolePolicyDocument=_trusting(principal))
    assert (error.code, error.message) == ("MalformedPolicyDocument", f'Invalid principal in policy: "AWS":"{principal}"')
    assert refused(ctx, "GetRole", RoleName="R").code == "NoSuchEntity"  # nothing was made
    error = refused(ctx, "UpdateAssumeRolePolicy", RoleName="Known", PolicyDocument=_trusting(principal))
    assert (error.code, error.message) == ("MalformedPolicyDocument", f'Invalid principal in policy: "AWS":"{principal}"')


@pytest.mark.parametrize("principal", [
    "*", "222222222222", "arn:aws:iam::222222222222:root", "arn:aws:iam::111111111111:role/team/Known",
    "arn:aws:sts::111111111111:assumed-role/Known/alice@example.com", "arn:aws:sts::111111111111:federated-user/bob",
])
def test_a_trust_policy_naming_a_resolvable_aws_principal_is_stored(ctx: ServiceContext, principal: str) -> None:
    call(ctx, "CreateRole", RoleName="Known", Path="/team/", AssumeRolePolicyDocument=TRUST)
    call(ctx, "CreateRole", RoleName="R", AssumeRolePolicyDocument=_trusting(principal))
    call(ctx, "UpdateAssumeRolePolicy", RoleName="Known", PolicyDocument=_trusting(principal))
    assert unquote(call(ctx, "GetRole", RoleName="R")["Role"]["AssumeRolePolicyDocument"]) == _trusting(principal)


def test_a_role_under_any_path_createrole_takes_has_an_arn_sts_takes(ctx: ServiceContext) -> None:
    """CreateRole's pathType allows any printable ASCII between the slashes: STS must take the ARN it gives, as a
    parameter and in the SAML Role attribute."""
    from samlfed.iam import arns

    arn = call(ctx, "CreateRole", RoleName="Hash", Path="/a#b/c:d/", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    assert arn == "arn:aws:iam::111111111111:role/a#b/c:d/Hash"
    parsed = arns.parse_role_arn(arn)
    assert parsed is not None and (parsed.name, parsed.path) == ("Hash", "/a#b/c:d/")
    call(ctx, "CreateSAMLProvider", Name="ExampleIdP", SAMLMetadataDocument=METADATA)
    assertion = response_b64(roles=[f"{arn},{PROVIDER_ARN}"], issue_instant=datetime.now(UTC))
    assumed = assume_role_with_saml(ctx, AssumeRoleWithSamlRequest(arn, PROVIDER_ARN, assertion))
    assert assumed.credentials.claims.role_arn == arn


@pytest.mark.parametrize(("action", "parameters", "named"), [
    ("CreateRole", {"RoleName": "R", "AssumeRolePolicyDocument": TRUST, "MaxSigninSessionDuration": "7200"}, "MaxSigninSessionDuration"),
    ("UpdateRole", {"RoleName": "Known", "MaxSigninSessionDuration": "1"}, "MaxSigninSessionDuration"),
    ("UpdateRole", {"RoleName": "Known", "ResetMaxSigninSessionDuration": "true"}, "ResetMaxSigninSessionDuration"),
    ("CreateSAMLProvider", {"Name": "New", "SAMLMetadataDocument": METADATA, "IdentityCenterInstanceArn": "arn:aws:sso:::instance/ssoins-1"}, "IdentityCenterInstanceArn"),
    ("UpdateSAMLProvider", {"SAMLProviderArn": f"arn:aws:iam::{ACCOUNT}:saml-provider/Corp", "ContextProvider.Arn": "x", "RemoveIdentityCenterInstance": "true"},
     "ContextProvider, RemoveIdentityCenterInstance"),
])
def test_model_members_samlfed_does_not_implement_are_refused_not_ignored(ctx: ServiceContext, action: str, parameters: dict, named: str) -> None:
    call(ctx, "CreateRole", RoleName="Known", AssumeRolePolicyDocument=TRUST)
    call(ctx, "CreateSAMLProvider", Name="Corp", SAMLMetadataDocument=METADATA)
    error = refused(ctx, action, **parameters)
    assert (error.code, error.status) == ("InvalidParameterValue", 400) and f"samlfed's {action} does not support {named} (" in error.message
    assert refused(ctx, "GetRole", RoleName="R").code == "NoSuchEntity" and "New" not in str(call(ctx, "ListSAMLProviders"))


def test_an_inline_policy_of_a_missing_role_names_the_role(ctx: ServiceContext) -> None:
    for action in ("GetRolePolicy", "DeleteRolePolicy"):
        error = refused(ctx, action, RoleName="Nope", PolicyName="p")
        assert (error.code, error.message) == ("NoSuchEntity", "The role with name Nope cannot be found."), action
    call(ctx, "CreateRole", RoleName="Known", AssumeRolePolicyDocument=TRUST)
    for action in ("GetRolePolicy", "DeleteRolePolicy"):  # the role is there, the policy is not
        assert refused(ctx, action, RoleName="Known", PolicyName="p").message == "The role policy with name p cannot be found.", action


def test_create_saml_provider_answers_its_tags_sorted_by_key_as_get_does(ctx: ServiceContext) -> None:
    tags = {"Tags.member.1.Key": "zeta", "Tags.member.1.Value": "1", "Tags.member.2.Key": "Alpha", "Tags.member.2.Value": "2",
            "Tags.member.3.Key": "beta", "Tags.member.3.Value": "3"}
    created = call(ctx, "CreateSAMLProvider", Name="Corp", SAMLMetadataDocument=METADATA, **tags)
    assert [tag["Key"] for tag in created["Tags"]] == ["Alpha", "beta", "zeta"]
    assert call(ctx, "GetSAMLProvider", SAMLProviderArn=created["SAMLProviderArn"])["Tags"] == created["Tags"]


@pytest.mark.parametrize("arn", ["garbage-garbage-garbage", "arn:aws:iam::111111111111:role/NotAPolicy", "arn:aws:s3:::bucket/policy/P1",
                                 "arn:aws:iam::aws:policy/arn:aws:iam::aws:policy/ReadOnlyAccess"])
def test_a_value_that_cannot_be_a_policy_arn_is_invalid_input(ctx: ServiceContext, arn: str) -> None:
    call(ctx, "CreateRole", RoleName="Known", AssumeRolePolicyDocument=TRUST)
    for action, parameters in (
        ("GetPolicy", {"PolicyArn": arn}), ("DeletePolicy", {"PolicyArn": arn}), ("AttachRolePolicy", {"RoleName": "Known", "PolicyArn": arn}),
        ("DetachRolePolicy", {"RoleName": "Known", "PolicyArn": arn}), ("PutRolePermissionsBoundary", {"RoleName": "Known", "PermissionsBoundary": arn}),
        ("CreateRole", {"RoleName": "R", "AssumeRolePolicyDocument": TRUST, "PermissionsBoundary": arn}),
    ):
        error = refused(ctx, action, **parameters)
        code = "ValidationError" if action == "AttachRolePolicy" else "InvalidInput"  # AWS's codes (recorded answers)
        assert (error.code, error.status, error.message) == (code, 400, f"ARN {arn} is not valid."), action
    # A policy ARN of the right shape that names nothing is still a policy that does not exist.
    missing = "arn:aws:iam::111111111111:policy/team/Missing"
    assert refused(ctx, "GetPolicy", PolicyArn=missing).message == f"Policy {missing} was not found."
    aws_managed = "arn:aws:iam::aws:policy/ReadOnlyAccess"  # none exist in samlfed (README, Permissions)
    assert refused(ctx, "GetPolicy", PolicyArn=aws_managed).message == f"Policy {aws_managed} was not found."
    assert refused(ctx, "AttachRolePolicy", RoleName="Developer", PolicyArn=aws_managed).message == f"Policy {aws_managed} does not exist or is not attachable."


@pytest.mark.parametrize(("action", "parameters", "field"), [
    ("GetRolePolicy", {"RoleName": "a b", "PolicyName": "c d"}, "roleName"),  # the first in parameter order
    ("GetRolePolicy", {"RoleName": "Developer", "PolicyName": "c/d"}, "policyName"),
    ("GetRole", {"RoleName": "service-role/Lambda"}, "roleName"),  # a path with the name (quoted: CloudFormation, Terraform)
    ("DeleteRolePolicy", {"RoleName": '{"Ref": "Role"}', "PolicyName": "p"}, "roleName"),  # quoted: an unresolved CDK reference
    ("PutRolePolicy", {"RoleName": "arn:aws:iam::111111111111:role/R", "PolicyName": "p", "PolicyDocument": "{}"}, "roleName"),
    ("CreateRole", {"RoleName": "^^^^-Installer-Role", "AssumeRolePolicyDocument": "{}"}, "roleName"),  # quoted: rosa
    ("CreatePolicy", {"PolicyName": "S3 access", "PolicyDocument": "{}"}, "policyName"),
    ("UpdateRole", {"RoleName": "a b"}, "roleName"),
    ("UpdateRoleDescription", {"RoleName": "a b", "Description": "d"}, "roleName"),
    ("UpdateAssumeRolePolicy", {"RoleName": "a b", "PolicyDocument": "{}"}, "roleName"),
    ("TagRole", {"RoleName": "a b", "Tags.member.1.Key": "k", "Tags.member.1.Value": "v"}, "roleName"),
    ("PutRolePermissionsBoundary", {"RoleName": "a b", "PermissionsBoundary": "arn:aws:iam::111111111111:policy/B"}, "roleName"),
    ("DeleteRolePermissionsBoundary", {"RoleName": "a b"}, "roleName"),
    ("PutRolePolicy", {"RoleName": "Developer", "PolicyName": "c d", "PolicyDocument": "{}"}, "policyName"),
])
def test_a_name_of_other_characters_is_refused_in_iams_words(ctx: ServiceContext, action: str, parameters: dict[str, str], field: str) -> None:
    error = refused(ctx, action, **parameters)
    assert (error.code, error.status, error.message) == (
        "ValidationError", 400, f"The specified value for {field} is invalid. It must contain only alphanumeric characters and/or the following: +=,.@_-"
    )


BAD_PARAMETER = {  # per action, another parameter its model refuses, and AWS's words for it
    "UpdateRole": ({"MaxSessionDuration": "60"}, "Value '60' at 'maxSessionDuration' failed to satisfy constraint: Member must have value greater than or equal to 3600"),
    "UpdateRoleDescription": ({"Description": "d" * 1001}, f"Value '{'d' * 1001}' at 'description' failed to satisfy constraint: Member must have length less than or equal to 1000"),
    "UpdateAssumeRolePolicy": ({"PolicyDocument": "\x01"}, "Value '\x01' at 'policyDocument' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"),
    "TagRole": ({"Tags.member.1.Key": "k" * 129, "Tags.member.1.Value": "v"}, "Value at 'tags.1.member.key' failed to satisfy constraint: Member must have length less than or equal to 128"),
    "PutRolePermissionsBoundary": ({"PermissionsBoundary": "arn:aws"}, "Value 'arn:aws' at 'permissionsBoundary' failed to satisfy constraint: Member must have length greater than or equal to 20"),
    "PutRolePolicy": ({"PolicyName": "p", "PolicyDocument": "\x01"}, "Value '\x01' at 'policyDocument' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"),
}


@pytest.mark.parametrize("action", sorted(BAD_PARAMETER))
def test_a_names_characters_are_checked_after_every_model_violation(ctx: ServiceContext, action: str) -> None:
    """The model's constraints (the front end's check) come first and all together; a name's characters are IAM's
    own check, after them. A name too long is a model violation, reported beside the other parameter's."""
    parameters, violation = BAD_PARAMETER[action]
    error = refused(ctx, action, RoleName="a b", **parameters)
    assert (error.code, error.message) == ("ValidationError", f"1 validation error detected: {violation}")
    long_name = "r" * 65
    error = refused(ctx, action, RoleName=long_name, **parameters)
    name_violation = f"Value '{long_name}' at 'roleName' failed to satisfy constraint: Member must have length less than or equal to 64"
    assert (error.code, error.message) == ("ValidationError", f"2 validation errors detected: {name_violation}; {violation}")


@pytest.mark.parametrize("number", ["0", "01"])
def test_tags_numbered_from_zero_are_refused_not_silently_dropped(ctx: ServiceContext, number: str) -> None:
    call(ctx, "CreateRole", RoleName="Tagged", AssumeRolePolicyDocument=TRUST)
    error = refused(ctx, "TagRole", RoleName="Tagged", **{f"Tags.member.{number}.Key": "team", f"Tags.member.{number}.Value": "x"})
    assert (error.code, error.status) == ("ValidationError", 400)
    assert error.message.startswith(f"Parameter Tags.member.{number}.Key is not a member of Tags")


LONG_KEYS = ["日" * 128, "日" * 127 + "本", "本" * 128]
"""Tag keys of 128 three-byte letters, two sharing all but their last: whole, a key makes a 540-character Marker."""


def _tag_pages(ctx: ServiceContext, marker: str | None = None) -> tuple[list[str], str | None]:
    answer = call(ctx, "ListRoleTags", RoleName="Tagged", MaxItems="1", **({"Marker": marker} if marker else {}))
    return [tag["Key"] for tag in answer["Tags"]], answer["Marker"]


def test_tag_list_markers_fit_the_model_and_page_through_keys_of_any_length(ctx: ServiceContext) -> None:
    call(ctx, "CreateRole", RoleName="Tagged", AssumeRolePolicyDocument=TRUST)
    call(ctx, "TagRole", RoleName="Tagged", **{f"Tags.member.{n}.{f}": key for n, key in enumerate(LONG_KEYS, 1) for f in ("Key", "Value")})
    seen, marker = _tag_pages(ctx)
    while marker is not None:
        assert len(marker) <= 320
        keys, marker = _tag_pages(ctx, marker)
        seen += keys
    assert seen == sorted(LONG_KEYS)


def test_a_tag_deleted_between_pages_skips_nothing_even_when_its_marker_was_abridged(ctx: ServiceContext) -> None:
    call(ctx, "CreateRole", RoleName="Tagged", AssumeRolePolicyDocument=TRUST)
    call(ctx, "TagRole", RoleName="Tagged", **{f"Tags.member.{n}.{f}": key for n, key in enumerate(LONG_KEYS, 1) for f in ("Key", "Value")})
    first, marker = _tag_pages(ctx)
    assert first == [LONG_KEYS[0]]
    call(ctx, "UntagRole", RoleName="Tagged", **{"TagKeys.member.1": LONG_KEYS[0]})
    rest: list[str] = []
    while marker is not None:
        keys, marker = _tag_pages(ctx, marker)
        rest += keys
    assert rest == LONG_KEYS[1:]


def test_a_forged_abridged_marker_is_refused_by_the_lists_the_database_pages(ctx: ServiceContext) -> None:
    forged = base64.urlsafe_b64encode(b"samlfed:ListRoles#0123456789abcdef:a").decode()
    error = refused(ctx, "ListRoles", Marker=forged)
    assert (error.code, error.message) == ("ValidationError", "Invalid Marker")


FROM_THE_OFFICE = (
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*",'
    ' "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]}'
)


def _simulated(ctx: ServiceContext, **entries: str) -> str:
    answer = call(ctx, "SimulateCustomPolicy", **{"PolicyInputList.member.1": FROM_THE_OFFICE, "ActionNames.member.1": "s3:GetObject"}, **entries)
    assert answer is not None
    return answer["EvaluationResults"][0]["EvalDecision"]


def test_simulator_context_entries_after_a_gap_count(ctx: ServiceContext) -> None:
    """An entry numbered after a gap is read (it decides here); it was dropped, and the simulation answered for
    a request without the context key the caller gave."""
    for number in ("1", "2"):
        entry = {f"ContextEntries.member.{number}.{field}": value for field, value in
                 (("ContextKeyName", "aws:SourceIp"), ("ContextKeyValues.member.1", "10.1.2.3"), ("ContextKeyType", "ip"))}
        assert _simulated(ctx, **entry) == "allowed"
    assert _simulated(ctx) == "implicitDeny"


@pytest.mark.parametrize("key", ["ContextEntries.member.1.ContextKeyname", "ContextEntries.member.0.ContextKeyName", "ContextEntries.member.1.ContextKeyValues.1"])
def test_a_key_that_is_no_member_of_a_context_entry_is_refused(ctx: ServiceContext, key: str) -> None:
    error = refused(ctx, "SimulateCustomPolicy", **{"PolicyInputList.member.1": FROM_THE_OFFICE, "ActionNames.member.1": "s3:GetObject", key: "aws:SourceIp"})
    assert (error.code, error.status) == ("ValidationError", 400)
    assert error.message.startswith(f"Parameter {key} is not a member of ContextEntries")
