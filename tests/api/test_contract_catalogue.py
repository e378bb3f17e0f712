"""The contract's error catalogue (aws-saml-contract.md §2, §3.3-3.4, §4, §6) over real HTTP: for every row the
exact code, message, HTTP status, error Type, namespace and envelope; and, where a request has two problems, the
one the §3.4 order reports first."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import httpx
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.parsers import QueryParser
from lxml import etree
from saml_factory import ACCOUNT, DEV_ROLE, OPS_ROLE, PROVIDER_ARN, response_b64, signer
from servers import app_in_thread
from service_world import developer_world

from samlfed.api.app import build_app
from samlfed.api.xml import NAMESPACES, render_error
from samlfed.config import Settings
from samlfed.errors import ServiceError
from samlfed.iam.accounts import create_access_key
from samlfed.iam.provider_options import set_attribute_mapping

DENIED = ("AccessDenied", "Not authorized to perform sts:AssumeRoleWithSAML", 403)
OTHER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/Other"
MISSING_PROVIDER = f"arn:aws:iam::{ACCOUNT}:saml-provider/Missing"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """saml_factory's IdP registered in a served samlfed; Developer's maximum session is the default hour."""
    ctx = developer_world(Settings(data_dir=tmp_path_factory.mktemp("catalogue")))
    admin = create_access_key(ctx, ACCOUNT)
    with app_in_thread(build_app(ctx)) as url:
        yield {"url": url, "admin": admin, "ctx": ctx}


def iam(world: dict):  # type: ignore[no-untyped-def]
    admin = world["admin"]
    return boto3.client("iam", endpoint_url=world["url"], region_name="us-east-1",
                        aws_access_key_id=admin.access_key_id, aws_secret_access_key=admin.secret_access_key)


def fresh(**overrides: object) -> str:
    return response_b64(issue_instant=datetime.now(UTC), **overrides)


def envelope(response: httpx.Response, service_name: str) -> tuple[str, str, int]:
    """The error's (Code, Message, status), after checking the envelope AWS sends: the service's namespace,
    `<Error><Type><Code><Message>` in that order, Type by status, and the RequestId of the header."""
    ns = NAMESPACES[service_name]
    root = etree.fromstring(response.content)
    assert root.tag == f"{{{ns}}}ErrorResponse", response.text
    assert [child.tag for child in root] == [f"{{{ns}}}Error", f"{{{ns}}}RequestId"]
    error = root[0]
    assert [child.tag for child in error] == [f"{{{ns}}}Type", f"{{{ns}}}Code", f"{{{ns}}}Message"]
    assert error.findtext(f"{{{ns}}}Type") == ("Receiver" if response.status_code >= 500 else "Sender")
    assert root.findtext(f"{{{ns}}}RequestId") == response.headers["x-amzn-RequestId"]
    assert response.headers["content-type"].startswith("text/xml")
    return error.findtext(f"{{{ns}}}Code"), error.findtext(f"{{{ns}}}Message"), response.status_code


def assume(world: dict, **params: object) -> tuple[str, str, int]:
    """An unsigned AssumeRoleWithSAML form POST (as boto3 sends it); the error it gets."""
    form = {"Action": "AssumeRoleWithSAML", "Version": "2011-06-15", "RoleArn": DEV_ROLE, "PrincipalArn": PROVIDER_ARN, **params}
    form.setdefault("SAMLAssertion", fresh())
    return envelope(httpx.post(world["url"], data={k: v for k, v in form.items() if v is not None}), "sts")


def _status(value: str):  # type: ignore[no-untyped-def]
    return {"status": value}


def _drop_name_id(root: etree._Element) -> None:
    name_id = root.find(f".//{{{SAML}}}NameID")
    name_id.getparent().remove(name_id)


# --- §4 and §3.4: every STS row, with its envelope ------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"RoleArn": OPS_ROLE}, DENIED),
        ({"SAMLAssertion": lambda: fresh(before_sign=_drop_name_id)}, DENIED),
        ({"SAMLAssertion": lambda: fresh(role_session_name=None)}, ("InvalidIdentityToken", "RoleSessionName is required in AuthnResponse", 400)),
        ({"SAMLAssertion": lambda: fresh(role_session_name="a" * 65)},
         ("InvalidIdentityToken", "RoleSessionName in AuthnResponse must match [a-zA-Z_0-9+=,.@-]{2,64}", 400)),
        ({"SAMLAssertion": lambda: fresh(source_identity="a b")},
         ("InvalidIdentityToken", 'Source Identity must match [a-zA-Z_0-9+=,.@-]{2,64} and not begin with "aws:"', 400)),
        ({"SAMLAssertion": lambda: fresh(by=signer("attacker"))}, ("InvalidIdentityToken", "Response signature invalid", 400)),
        ({"SAMLAssertion": "bm90IFhNTA=="}, ("InvalidIdentityToken", "Response signature invalid", 400)),
        ({"SAMLAssertion": lambda: fresh(issuer="https://other.example/")}, ("InvalidIdentityToken", "Issuer not present in specified provider", 400)),
        ({"SAMLAssertion": lambda: response_b64(issue_instant=datetime.now(UTC) - timedelta(minutes=11))},
         ("ExpiredTokenException", "Response has expired", 400)),
        ({"SAMLAssertion": lambda: response_b64(issue_instant=datetime.now(UTC) - timedelta(minutes=11), lifetime=timedelta(hours=1))},
         ("ExpiredTokenException", "Token must be redeemed within 5 minutes of issuance", 400)),
        ({"SAMLAssertion": lambda: response_b64(issue_instant=datetime.now(UTC) + timedelta(minutes=10))},
         ("InvalidIdentityToken", "Response is not yet valid", 400)),
        ({"SAMLAssertion": lambda: fresh(status="urn:oasis:names:tc:SAML:2.0:status:Responder")},
         ("IDPRejectedClaim", "The identity provider did not return a successful SAML status", 403)),
        ({"SAMLAssertion": lambda: fresh(audience="https://sp.evil.example/")},
         ("InvalidIdentityToken", "Response does not contain the required audience.", 400)),
        ({"SAMLAssertion": lambda: fresh(recipient="https://sp.evil.example/saml", destination=None)},
         ("InvalidIdentityToken", "Response does not contain a valid SubjectConfirmation for this endpoint", 400)),
        ({"SAMLAssertion": lambda: fresh(session_duration=899)},
         ("InvalidIdentityToken", "SessionDuration in AuthnResponse must be an integer between 900 and 43200", 400)),
        ({"SAMLAssertion": lambda: fresh(principal_tags={"aws:team": "x"})}, ("InvalidIdentityToken", "Session tags in AuthnResponse are invalid", 400)),
        ({"DurationSeconds": "7200"}, ("ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.", 400)),
        ({"DurationSeconds": "43201"}, ("ValidationError", "1 validation error detected: Value '43201' at 'durationSeconds' failed to satisfy "
                                        "constraint: Member must have value less than or equal to 43200", 400)),
        ({"PrincipalArn": "arn:aws:iam::222222222222:saml-provider/ExampleIdP"},
         ("ValidationError", "Principal exists outside the account of the Role being assumed.", 400)),
        ({"PrincipalArn": f" {PROVIDER_ARN}"}, ("ValidationError", "Principal ARN is invalid", 400)),
        ({"PrincipalArn": DEV_ROLE, "RoleArn": PROVIDER_ARN}, ("ValidationError", "Request ARN is invalid", 400)),
        ({"PrincipalArn": MISSING_PROVIDER}, ("InvalidIdentityToken", "Specified provider doesn't exist", 400)),
        ({"Policy": '{"Version": "2012-10-17", "Statement": {"Effect": "Allow"'}, ("MalformedPolicyDocument", None, 400)),
    ],
    ids=[
        "role-not-in-assertion", "no-name-id", "no-session-name", "long-session-name", "bad-source-identity", "forged", "not-xml",
        "wrong-issuer", "expired", "too-old", "not-yet-valid", "idp-rejected", "wrong-audience", "wrong-recipient", "bad-session-duration",
        "reserved-tag", "over-role-max", "over-model-max", "other-account", "padded-principal", "swapped-arns", "no-provider",
        "malformed-session-policy",
    ],
)
def test_every_sts_row_has_aws_code_message_status_and_envelope(world: dict, params: dict, expected: tuple) -> None:
    params = {k: v() if callable(v) else v for k, v in params.items()}
    code, message, status = assume(world, **params)
    assert (code, status) == (expected[0], expected[2])
    assert expected[1] is None or message == expected[1]


def test_packed_policy_too_large_has_its_code_and_envelope(world: dict) -> None:
    code, _, status = assume(world, SAMLAssertion=fresh(principal_tags=_noisy_tags()), Policy=_noisy_policy())
    assert (code, status) == ("PackedPolicyTooLarge", 400)


def _noisy_policy() -> str:
    """A session policy of random (barely compressible) text, under the 2,048-character plaintext limit."""
    resource = f"arn:aws:s3:::{secrets.token_urlsafe(1400)[:1900]}"
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": resource}]})


def _noisy_tags() -> dict[str, str]:
    return {f"t{n}": secrets.token_urlsafe(192) for n in range(8)}


def test_expired_session_credentials_get_expired_token_over_the_wire(world: dict) -> None:
    """A SessionNotOnOrAfter two seconds away gives two-second credentials (§3.7); then the standard auth error."""
    sts = boto3.client("sts", endpoint_url=world["url"], region_name="us-east-1", config=Config(signature_version=UNSIGNED))
    ends = datetime.now(UTC) + timedelta(seconds=2)
    credentials = sts.assume_role_with_saml(RoleArn=DEV_ROLE, PrincipalArn=PROVIDER_ARN, SAMLAssertion=fresh(session_not_on_or_after=ends))["Credentials"]
    time.sleep(max(0.0, (credentials["Expiration"] - datetime.now(UTC)).total_seconds()) + 0.5)
    session = boto3.client("sts", endpoint_url=world["url"], region_name="us-east-1", aws_access_key_id=credentials["AccessKeyId"],
                           aws_secret_access_key=credentials["SecretAccessKey"], aws_session_token=credentials["SessionToken"])
    with pytest.raises(ClientError) as info:
        session.get_caller_identity()
    error = info.value.response["Error"]
    assert (error["Type"], error["Code"], error["Message"]) == ("Sender", "ExpiredToken", "The security token included in the request is expired")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


# --- §2: protocol errors carry the namespace of the service asked ---------------------------------------------


@pytest.mark.parametrize(
    ("form", "service_name", "expected"),
    [
        ({"Action": "Nope", "Version": "2011-06-15"}, "sts", ("InvalidAction", "Could not find operation Nope for version 2011-06-15", 400)),
        ({"Action": "Nope", "Version": "2010-05-08"}, "iam", ("InvalidAction", "Could not find operation Nope for version 2010-05-08", 400)),
        ({"Action": "AssumeRoleWithSAML", "Version": "2010-05-08"}, "iam",
         ("InvalidAction", "Could not find operation AssumeRoleWithSAML for version 2010-05-08", 400)),
        ({"Action": "GetRole", "Version": "2010-05-08", "RoleName": "Developer"}, "iam",
         ("MissingAuthenticationToken", "Request is missing Authentication Token", 403)),
        ({"Version": "2011-06-15"}, "sts", ("MissingAction", "Missing Action", 400)),
    ],
    ids=["sts-unknown-action", "iam-unknown-action", "sts-action-at-iam-version", "iam-unsigned", "no-action"],
)
def test_protocol_errors_have_the_envelope_of_their_service(world: dict, form: dict, service_name: str, expected: tuple) -> None:
    assert envelope(httpx.post(world["url"], data=form), service_name) == expected


# --- §6: IAM rows -----------------------------------------------------------------------------------------------


def _iam_error(call) -> tuple[str, str, int, str]:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as info:
        call()
    error = info.value.response["Error"]
    return error["Code"], error["Message"], info.value.response["ResponseMetadata"]["HTTPStatusCode"], error["Type"]


def test_missing_provider_on_get_and_delete_is_no_such_entity_with_the_arn(world: dict) -> None:
    client = iam(world)
    expected = ("NoSuchEntity", f"Manifest not found for arn {MISSING_PROVIDER}", 404, "Sender")
    assert _iam_error(lambda: client.get_saml_provider(SAMLProviderArn=MISSING_PROVIDER)) == expected
    assert _iam_error(lambda: client.delete_saml_provider(SAMLProviderArn=MISSING_PROVIDER)) == expected


def test_provider_write_errors(world: dict) -> None:
    client = iam(world)
    metadata = client.get_saml_provider(SAMLProviderArn=PROVIDER_ARN)["SAMLMetadataDocument"]
    assert _iam_error(lambda: client.create_saml_provider(SAMLMetadataDocument=metadata, Name="ExampleIdP")) == (
        "EntityAlreadyExists", "Provider with name ExampleIdP already exists.", 409, "Sender")
    assert _iam_error(lambda: client.create_saml_provider(SAMLMetadataDocument="<x/>" * 250, Name="Bad")) == (
        "InvalidInput", "Could not parse metadata.", 400, "Sender")
    bad_arn = "arn:aws:iam::111111111111:role/NotAProvider"
    assert _iam_error(lambda: client.get_saml_provider(SAMLProviderArn=bad_arn))[0::2] == ("InvalidInput", 400)


def test_role_write_errors(world: dict) -> None:
    client = iam(world)
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": PROVIDER_ARN},
                                                                "Action": "sts:AssumeRoleWithSAML", "Sid": "x" * 2048}]})
    assert _iam_error(lambda: client.create_role(RoleName="Big", AssumeRolePolicyDocument=trust)) == (
        "LimitExceeded", "Cannot exceed quota for ACLSizePerRole: 2048", 409, "Sender")
    assert _iam_error(lambda: client.create_role(RoleName="Long", AssumeRolePolicyDocument="{}", MaxSessionDuration=43201)) == (
        "ValidationError", "1 validation error detected: Value '43201' at 'maxSessionDuration' failed to satisfy constraint: "
        "Member must have value less than or equal to 43200", 400, "Sender")


def test_an_alias_may_be_any_number_but_a_12_digit_one(world: dict) -> None:
    """IAM quotas: an alias "can't be a 12-digit number" (it would read as an account ID on the chooser)."""
    client = iam(world)
    code, message, status, _ = _iam_error(lambda: client.create_account_alias(AccountAlias="123456789012"))
    assert (code, status, message) == ("ValidationError", 400, "1 validation error detected: Value '123456789012' at 'accountAlias' failed to "
                                       "satisfy constraint: Member must not be a 12-digit number, which reads as an account ID")
    for alias in ("123", "1234567890123"):
        client.create_account_alias(AccountAlias=alias)
        assert client.list_account_aliases()["AccountAliases"] == [alias]
    client.delete_account_alias(AccountAlias="1234567890123")


# --- §3.4: two problems, the earlier check wins ----------------------------------------------------------------


def _trust(actions: list[str]) -> str:
    statement = {"Effect": "Allow", "Principal": {"Federated": PROVIDER_ARN}, "Action": actions,
                 "Condition": {"StringEquals": {"saml:sub": "nobody"}}}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@pytest.fixture(scope="module")
def denying_role(world: dict) -> str:
    """A role whose trust policy admits no one from this IdP."""
    iam(world).create_role(RoleName="Other", AssumeRolePolicyDocument=_trust(["sts:AssumeRoleWithSAML", "sts:TagSession"]))
    return OTHER_ROLE


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        # 1 before 2: a model violation wins over an ARN of the wrong type.
        ({"RoleArn": "arn:aws:iam::111111111111:rolex/Dev", "DurationSeconds": "899"},
         ("ValidationError", "1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: "
                             "Member must have value greater than or equal to 900", 400)),
        # 2 before 3, 3 before 4, 4 before 5.
        ({"RoleArn": "arn:aws:iam::111111111111:rolex/Dev", "PrincipalArn": "arn:aws:iam:111111111111:saml-provider/X"},
         ("ValidationError", "Request ARN is invalid", 400)),
        ({"PrincipalArn": "arn:aws:iam::222222222222:saml-provider/Nope x"}, ("ValidationError", "Principal ARN is invalid", 400)),
        ({"PrincipalArn": "arn:aws:iam::222222222222:saml-provider/Missing"},
         ("ValidationError", "Principal exists outside the account of the Role being assumed.", 400)),
        # 5 before 6: the provider is looked up before the assertion is read.
        ({"PrincipalArn": MISSING_PROVIDER, "SAMLAssertion": "bm90IFhNTA=="}, ("InvalidIdentityToken", "Specified provider doesn't exist", 400)),
        # 7 before 21-24: nothing about roles or durations before the signature verifies.
        ({"RoleArn": OTHER_ROLE, "DurationSeconds": "7200", "SAMLAssertion": lambda: fresh(by=signer("attacker"))},
         ("InvalidIdentityToken", "Response signature invalid", 400)),
        # 15 before 16.
        ({"SAMLAssertion": lambda: fresh(before_sign=_drop_name_id, role_session_name=None)}, DENIED),
        # 21 before 24: a role the assertion does not list, with a duration over its maximum.
        ({"RoleArn": OPS_ROLE, "DurationSeconds": "7200"}, DENIED),
        # 22 before 24: a listed role that does not exist.
        ({"RoleArn": f"arn:aws:iam::{ACCOUNT}:role/Ghost", "DurationSeconds": "7200",
          "SAMLAssertion": lambda: fresh(roles=[f"arn:aws:iam::{ACCOUNT}:role/Ghost,{PROVIDER_ARN}"])}, DENIED),
        # 23 before 24 and 25: a role whose trust policy denies; its maximum is not revealed.
        ({"RoleArn": OTHER_ROLE, "DurationSeconds": "7200", "Policy": "{",
          "SAMLAssertion": lambda: fresh(roles=[f"{OTHER_ROLE},{PROVIDER_ARN}"])}, DENIED),
        # 24 before 25.
        ({"DurationSeconds": "7200", "Policy": "{"},
         ("ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.", 400)),
        # 25 before 26: a session policy that does not parse, with tags that overflow the packed budget.
        ({"Policy": "{" + "x" * 1900, "SAMLAssertion": lambda: fresh(principal_tags=_noisy_tags())}, ("MalformedPolicyDocument", None, 400)),
    ],
    ids=["1-before-2", "2-before-3", "3-before-4", "4-before-5", "5-before-6", "7-before-21", "15-before-16", "21-before-24",
         "22-before-24", "23-before-24", "24-before-25", "25-before-26"],
)
def test_the_earlier_check_wins(world: dict, denying_role: str, params: dict, expected: tuple) -> None:
    params = {k: v() if callable(v) else v for k, v in params.items()}
    code, message, status = assume(world, **params)
    assert (code, status) == (expected[0], expected[2])
    assert expected[1] is None or message == expected[1]


def _one_time_use(root: etree._Element) -> None:
    etree.SubElement(root.find(f".//{{{SAML}}}Conditions"), f"{{{SAML}}}OneTimeUse")


def test_a_refused_request_does_not_use_up_a_one_time_assertion(world: dict) -> None:
    """Step 26 (packed size) refuses before the assertion is redeemed: the client retries without the policy."""
    assertion = fresh(before_sign=_one_time_use, principal_tags=_noisy_tags())
    assert assume(world, SAMLAssertion=assertion, Policy=_noisy_policy())[0] == "PackedPolicyTooLarge"
    sts = boto3.client("sts", endpoint_url=world["url"], region_name="us-east-1", config=Config(signature_version=UNSIGNED))
    assert sts.assume_role_with_saml(RoleArn=DEV_ROLE, PrincipalArn=PROVIDER_ARN, SAMLAssertion=assertion)["Credentials"]
    assert assume(world, SAMLAssertion=assertion) == ("InvalidIdentityToken", "The SAML assertion has already been used", 400)


def test_mapped_session_tags_are_refused_alike_for_existing_and_missing_roles(world: dict) -> None:
    """Step 20 (an attribute mapping's tags too) comes before step 22: its error must not reveal which roles exist."""
    set_attribute_mapping(world["ctx"], ACCOUNT, PROVIDER_ARN, {"email": ["mail"]})
    try:
        ghost = f"arn:aws:iam::{ACCOUNT}:role/Ghost"
        roles = [f"{DEV_ROLE},{PROVIDER_ARN}", f"{ghost},{PROVIDER_ARN}"]
        refused = ("InvalidIdentityToken", "Session tags in AuthnResponse are invalid", 400)
        for role in (DEV_ROLE, ghost):
            assertion = fresh(roles=roles, principal_tags={}, attributes={"mail": ["alice@example.com", "bob@example.com"]})
            assert assume(world, RoleArn=role, SAMLAssertion=assertion) == refused, role
    finally:
        set_attribute_mapping(world["ctx"], ACCOUNT, PROVIDER_ARN, None)


# --- §6.5: role writes held to the IAM model ---------------------------------------------------------------------


def test_update_role_names_an_existing_role_even_with_nothing_to_change(world: dict) -> None:
    client = iam(world)
    expected = ("NoSuchEntity", "The role with name Ghost cannot be found.", 404, "Sender")
    assert _iam_error(lambda: client.update_role(RoleName="Ghost")) == expected
    assert _iam_error(lambda: client.update_role(RoleName="Ghost", Description="d")) == expected
    client.update_role(RoleName="Developer")


def test_a_role_description_is_held_to_the_model(world: dict) -> None:
    client = iam(world)
    trust = client.get_role(RoleName="Developer")["Role"]["AssumeRolePolicyDocument"]
    long = "d" * 1001
    assert _iam_error(lambda: client.create_role(RoleName="Described", AssumeRolePolicyDocument=json.dumps(trust), Description=long)) == (
        "ValidationError", f"1 validation error detected: Value '{long}' at 'description' failed to satisfy constraint: "
        "Member must have length less than or equal to 1000", 400, "Sender")
    code, message, status, _ = _iam_error(lambda: client.update_role(RoleName="Developer", Description="bell\x07", MaxSessionDuration=50000))
    assert (code, status) == ("ValidationError", 400)
    assert message.startswith("2 validation errors detected: Value 'bell\ufffd' at 'description' failed to satisfy constraint: Member must "
                              "satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u007E\\u00A1-\\u00FF]*; ")
    client.update_role(RoleName="Developer", Description="d" * 1000)
    assert client.get_role(RoleName="Developer")["Role"]["Description"] == "d" * 1000


@pytest.mark.parametrize("tags", [[{"Key": "team", "Value": "a"}, {"Key": "TEAM", "Value": "b"}]], ids=["same-key-in-two-cases"])
def test_duplicate_tag_keys_in_one_request_are_invalid_input(world: dict, tags: list[dict]) -> None:
    """A role's tag keys are case-insensitive: AWS-observed (terraform-aws-modules/terraform-aws-rds-aurora issue #189;
    AWS's recorded CreateRole and TagRole answers); the store would keep only one."""
    client = iam(world)
    expected = ("InvalidInput", "Duplicate tag keys found. Please note that Tag keys are case insensitive.", 400, "Sender")
    trust = json.dumps(client.get_role(RoleName="Developer")["Role"]["AssumeRolePolicyDocument"])
    assert _iam_error(lambda: client.create_role(RoleName="Tagged", AssumeRolePolicyDocument=trust, Tags=tags)) == expected
    assert _iam_error(lambda: client.tag_role(RoleName="Developer", Tags=tags)) == expected
    assert _iam_error(lambda: client.get_role(RoleName="Tagged"))[0] == "NoSuchEntity"
    assert client.list_role_tags(RoleName="Developer")["Tags"] == []


def test_a_provider_and_a_policy_take_tag_keys_that_differ_in_case_but_not_the_same_key_twice(world: dict) -> None:
    """Their tag keys are case-sensitive (IAM's tagging rules; AWS's recorded CreatePolicy and TagPolicy answers keep
    `a` and `A` given in one request, and refuse `0` given twice with "Duplicate tag keys found.")."""
    client = iam(world)
    metadata = client.get_saml_provider(SAMLProviderArn=PROVIDER_ARN)["SAMLMetadataDocument"]
    document = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
    cases = [{"Key": "a", "Value": "lowercase"}, {"Key": "A", "Value": "uppercase"}]
    twice = [{"Key": "0", "Value": ""}, {"Key": "0", "Value": ""}]
    duplicate = ("InvalidInput", "Duplicate tag keys found.", 400, "Sender")
    assert _iam_error(lambda: client.create_policy(PolicyName="Twice", PolicyDocument=document, Tags=twice)) == duplicate
    assert _iam_error(lambda: client.create_saml_provider(Name="Twice", SAMLMetadataDocument=metadata, Tags=twice)) == duplicate
    arn = client.create_policy(PolicyName="Cased", PolicyDocument=document, Tags=cases)["Policy"]["Arn"]
    assert client.list_policy_tags(PolicyArn=arn)["Tags"] == [{"Key": "A", "Value": "uppercase"}, {"Key": "a", "Value": "lowercase"}]
    assert _iam_error(lambda: client.tag_policy(PolicyArn=arn, Tags=twice)) == duplicate
    client.tag_saml_provider(SAMLProviderArn=PROVIDER_ARN, Tags=cases)
    assert _iam_error(lambda: client.tag_saml_provider(SAMLProviderArn=PROVIDER_ARN, Tags=twice)) == duplicate
    client.untag_saml_provider(SAMLProviderArn=PROVIDER_ARN, TagKeys=["a"])
    assert client.list_saml_provider_tags(SAMLProviderArn=PROVIDER_ARN)["Tags"] == [{"Key": "A", "Value": "uppercase"}]
    pages = client.get_paginator("list_policy_tags").paginate(PolicyArn=arn, PaginationConfig={"PageSize": 1})
    assert [page["Tags"] for page in pages] == [[{"Key": "A", "Value": "uppercase"}], [{"Key": "a", "Value": "lowercase"}]]


def test_a_tag_key_outside_the_model_pattern_is_a_validation_error(world: dict) -> None:
    code, message, status, _ = _iam_error(lambda: iam(world).tag_role(RoleName="Developer", Tags=[{"Key": "cost*center", "Value": "x"}]))
    assert (code, status) == ("ValidationError", 400)
    assert message == (
        "1 validation error detected: Value at 'tags.1.member.key' failed to satisfy constraint: "  # IAM quotes no tag
        "Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+"
    )


def test_a_server_fault_is_typed_receiver() -> None:
    """§2: Type is Receiver for 5xx (no real request reaches one on purpose, so the renderer is asked directly)."""
    body = render_error("iam", ServiceError("ServiceFailure", "The request processing has failed because of an unknown error.", 500), "r")
    assert QueryParser().parse({"body": body, "headers": {}, "status_code": 500}, None)["Error"]["Type"] == "Receiver"
