"""End to end over HTTP with boto3: register an IdP, create a role, assume it with a signed assertion, use the credentials."""

from __future__ import annotations

import base64
import json
import secrets
from datetime import UTC, datetime, timedelta

import boto3
import httpx
import pytest
from botocore.config import Config
from e2e_setup import ACCOUNT, TRUST_POLICY, client, error_of, unsigned_sts
from lxml import etree
from saml_factory import DEV_ROLE, ENTITY_ID, OPS_ROLE, PROVIDER_ARN, response_b64, signer
from servers import raw_exchange

from samlfed.saml.metadata import build_idp_metadata


def fresh_assertion(**overrides: object) -> str:
    return response_b64(issue_instant=datetime.now(UTC), **overrides)


def made_now(params: dict) -> dict:
    """The parameters with each assertion made now. A parametrize list is built when the module is collected: on a
    busy machine its tests ran more than 5 minutes later, and their assertions were refused as too old (a CI run)."""
    return {name: value() if callable(value) else value for name, value in params.items()}


def test_iam_provider_and_role_round_trip(server: dict, registered: dict) -> None:
    iam = client(server, "iam")
    provider = iam.get_saml_provider(SAMLProviderArn=PROVIDER_ARN)
    assert provider["AssertionEncryptionMode"] == "Allowed" and provider["PrivateKeyList"] == [] and provider["Tags"] == []
    assert 22 <= len(provider["SAMLProviderUUID"]) <= 64
    assert [p["Arn"] for p in iam.list_saml_providers()["SAMLProviderList"]] == [PROVIDER_ARN]
    role = iam.get_role(RoleName="developer")["Role"]  # names are case-insensitive
    assert role["RoleId"].startswith("AROA") and role["Arn"] == DEV_ROLE and role["MaxSessionDuration"] == 7200
    assert role["AssumeRolePolicyDocument"] == json.loads(TRUST_POLICY)  # botocore URL-decodes and parses it


def test_duration_equal_to_the_role_maximum_is_allowed(server: dict, registered: dict) -> None:
    result = unsigned_sts(server).assume_role_with_saml(RoleArn=DEV_ROLE, PrincipalArn=PROVIDER_ARN, SAMLAssertion=fresh_assertion(), DurationSeconds=7200)
    assert result["Credentials"]["AccessKeyId"].startswith("ASIA")


def test_a_minimum_session_token_size_is_refused_rather_than_ignored(server: dict, registered: dict) -> None:
    """botocore's model has MinimumSessionTokenSize (STS pads the token to it); samlfed's tokens are not padded."""
    code, message, status = error_of(lambda: unsigned_sts(server).assume_role_with_saml(
        RoleArn=DEV_ROLE, PrincipalArn=PROVIDER_ARN, SAMLAssertion=fresh_assertion(), MinimumSessionTokenSize=4096))
    assert (code, status) == ("InvalidParameterValue", 400) and "samlfed's AssumeRoleWithSAML does not support MinimumSessionTokenSize (" in message


def test_fifty_session_tags_are_allowed(server: dict, registered: dict) -> None:
    assertion = fresh_assertion(principal_tags={f"k{i}": "v" for i in range(50)})
    assert unsigned_sts(server).assume_role_with_saml(RoleArn=DEV_ROLE, PrincipalArn=PROVIDER_ARN, SAMLAssertion=assertion)["Credentials"]


def test_assume_role_with_saml_and_use_the_credentials(server: dict, registered: dict) -> None:
    result = unsigned_sts(server).assume_role_with_saml(RoleArn=DEV_ROLE, PrincipalArn=PROVIDER_ARN, SAMLAssertion=fresh_assertion(), DurationSeconds=3600)
    credentials = result["Credentials"]
    assert credentials["AccessKeyId"].startswith("ASIA") and len(credentials["SecretAccessKey"]) == 40
    assert result["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/Developer/alice@example.com"
    assert result["Subject"] == "alice@example.com" and result["SubjectType"] == "persistent"
    assert result["Issuer"] == ENTITY_ID and result["Audience"] == "https://signin.aws.amazon.com/saml"
    assert result["PackedPolicySize"] >= 1  # two session tags were passed
    sts = client(server, "sts", aws_access_key_id=credentials["AccessKeyId"], aws_secret_access_key=credentials["SecretAccessKey"], aws_session_token=credentials["SessionToken"])
    identity = sts.get_caller_identity()
    assert identity["Arn"] == result["AssumedRoleUser"]["Arn"] and identity["Account"] == ACCOUNT
    assert identity["UserId"] == result["AssumedRoleUser"]["AssumedRoleId"]


def test_sigv4a_signed_calls_work_with_both_kinds_of_credentials(server: dict, registered: dict) -> None:
    """STS's model offers SigV4a beside SigV4: botocore signs with it (through awscrt) when asked to prefer it."""
    def sts(**credentials: object):  # noqa: ANN202
        return boto3.client("sts", endpoint_url=server["url"], region_name="eu-west-1", config=Config(auth_scheme_preference="sigv4a"), **credentials)

    sent: list[str] = []
    admin = sts(aws_access_key_id=server["admin"].access_key_id, aws_secret_access_key=server["admin"].secret_access_key)
    admin.meta.events.register("before-send", lambda request, **_: sent.append(request.headers["Authorization"].decode()))
    assert admin.get_caller_identity()["Arn"] == f"arn:aws:iam::{ACCOUNT}:root"
    assert sent[0].startswith("AWS4-ECDSA-P256-SHA256 ")
    credentials = unsigned_sts(server).assume_role_with_saml(RoleArn=DEV_ROLE, PrincipalArn=PROVIDER_ARN, SAMLAssertion=fresh_assertion())["Credentials"]
    session = sts(aws_access_key_id=credentials["AccessKeyId"], aws_secret_access_key=credentials["SecretAccessKey"], aws_session_token=credentials["SessionToken"])
    assert session.get_caller_identity()["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/Developer/alice@example.com"
    forged = sts(aws_access_key_id=credentials["AccessKeyId"], aws_secret_access_key="x" * 40, aws_session_token=credentials["SessionToken"])
    assert error_of(forged.get_caller_identity)[0] == "SignatureDoesNotMatch"


def test_assume_role_accepts_any_signature(server: dict, registered: dict) -> None:
    """Clients sign AssumeRoleWithSAML with whatever credentials they find; the signature is ignored."""
    sts = client(server, "sts", aws_access_key_id="AKIAUNKNOWNUNKNOWN00", aws_secret_access_key="x" * 40)
    assert sts.assume_role_with_saml(RoleArn=DEV_ROLE, PrincipalArn=PROVIDER_ARN, SAMLAssertion=fresh_assertion())["Credentials"]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"RoleArn": OPS_ROLE}, ("AccessDenied", "Not authorized to perform sts:AssumeRoleWithSAML", 403)),
        # Role names are unique case-insensitively, but an ARN must name the role exactly (the assertion's too).
        ({"RoleArn": DEV_ROLE.replace("Developer", "developer"), "SAMLAssertion": lambda: fresh_assertion(roles=[f"{DEV_ROLE.replace('Developer', 'developer')},{PROVIDER_ARN}"])},
         ("AccessDenied", "Not authorized to perform sts:AssumeRoleWithSAML", 403)),
        ({"RoleArn": "arn:aws:iam::111111111111:rolex/Dev"}, ("ValidationError", "Request ARN is invalid", 400)),
        ({"PrincipalArn": "arn:aws:iam:111111111111:saml-provider/ExampleIdP"}, ("ValidationError", "Principal ARN is invalid", 400)),
        ({"PrincipalArn": "arn:aws:iam::222222222222:saml-provider/ExampleIdP"}, ("ValidationError", "Principal exists outside the account of the Role being assumed.", 400)),
        ({"PrincipalArn": "arn:aws:iam::111111111111:saml-provider/Missing"}, ("InvalidIdentityToken", "Specified provider doesn't exist", 400)),
        ({"DurationSeconds": 43200}, ("ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.", 400)),
        ({"DurationSeconds": 50000}, ("ValidationError", "1 validation error detected: Value '50000' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200", 400)),
        ({"SAMLAssertion": lambda: fresh_assertion(by=signer("attacker"))}, ("InvalidIdentityToken", "Response signature invalid", 400)),
        ({"SAMLAssertion": lambda: fresh_assertion(issuer="https://other.example/")}, ("InvalidIdentityToken", "Issuer not present in specified provider", 400)),
        ({"SAMLAssertion": lambda: fresh_assertion(role_session_name=None)}, ("InvalidIdentityToken", "RoleSessionName is required in AuthnResponse", 400)),
        ({"SAMLAssertion": lambda: fresh_assertion(role_session_name="alice smith")}, ("InvalidIdentityToken", "RoleSessionName in AuthnResponse must match [a-zA-Z_0-9+=,.@-]{2,64}", 400)),
        ({"SAMLAssertion": lambda: fresh_assertion(source_identity="aws:alice")}, ("InvalidIdentityToken", 'Source Identity must match [a-zA-Z_0-9+=,.@-]{2,64} and not begin with "aws:"', 400)),
        ({"SAMLAssertion": lambda: response_b64(issue_instant=datetime.now(UTC) - timedelta(minutes=11))}, ("ExpiredTokenException", "Response has expired", 400)),
        ({"SAMLAssertion": lambda: response_b64(issue_instant=datetime.now(UTC) - timedelta(minutes=11), lifetime=timedelta(hours=1))}, ("ExpiredTokenException", "Token must be redeemed within 5 minutes of issuance", 400)),
        ({"SAMLAssertion": lambda: fresh_assertion(audience="https://sp.evil.example/")}, ("InvalidIdentityToken", "Response does not contain the required audience.", 400)),
        ({"SAMLAssertion": lambda: fresh_assertion(recipient="https://eu-west-1.signin.aws.amazon.com/saml", destination=None)}, ("AccessDenied", "Not authorized to perform sts:AssumeRoleWithSAML", 403)),
    ],
    ids=[
        "role-not-in-assertion", "role-arn-in-another-case", "bad-role-arn", "bad-principal-arn", "other-account", "no-provider", "over-max-duration", "over-model-max",
        "forged", "wrong-issuer", "no-session-name", "bad-session-name", "bad-source-identity", "expired", "too-old", "wrong-audience",
        "trust-condition-fails",
    ],
)
def test_assume_role_errors_match_aws(server: dict, registered: dict, kwargs: dict, expected: tuple[str, str, int]) -> None:
    params = made_now({"RoleArn": DEV_ROLE, "PrincipalArn": PROVIDER_ARN, "SAMLAssertion": fresh_assertion, **kwargs})
    assert error_of(lambda: unsigned_sts(server).assume_role_with_saml(**params)) == expected


def test_iam_errors_match_aws(server: dict, registered: dict) -> None:
    iam = client(server, "iam")
    missing = "arn:aws:iam::111111111111:saml-provider/Nope"
    assert error_of(lambda: iam.get_saml_provider(SAMLProviderArn=missing)) == ("NoSuchEntity", f"Manifest not found for arn {missing}", 404)
    assert error_of(lambda: iam.delete_saml_provider(SAMLProviderArn=missing))[0] == "NoSuchEntity"
    assert error_of(lambda: iam.create_saml_provider(SAMLMetadataDocument="a" * 1000, Name="Bad")) == ("InvalidInput", "Could not parse metadata.", 400)
    code, message, status = error_of(lambda: iam.create_role(RoleName="PRODROLE", AssumeRolePolicyDocument="{"))
    assert (code, status) == ("MalformedPolicyDocument", 400)
    iam.create_role(RoleName="ProdRole", AssumeRolePolicyDocument=TRUST_POLICY)
    assert error_of(lambda: iam.create_role(RoleName="PRODROLE", AssumeRolePolicyDocument=TRUST_POLICY))[:2] == ("EntityAlreadyExists", "Role with name PRODROLE already exists.")


def test_authentication_errors(server: dict, registered: dict) -> None:
    unknown = client(server, "sts", aws_access_key_id="AKIAUNKNOWNUNKNOWN00", aws_secret_access_key="x" * 40)
    assert error_of(unknown.get_caller_identity) == ("InvalidClientTokenId", "The security token included in the request is invalid", 403)
    wrong_secret = client(server, "sts", aws_access_key_id=server["admin"].access_key_id, aws_secret_access_key="y" * 40)
    assert error_of(wrong_secret.get_caller_identity)[0] == "SignatureDoesNotMatch"
    assert httpx.post(server["url"], data={"Action": "GetCallerIdentity", "Version": "2011-06-15"}).status_code == 403
    assert client(server, "sts").get_caller_identity()["Arn"] == f"arn:aws:iam::{ACCOUNT}:root"


def test_bad_requests_get_aws_errors_never_a_500(server: dict) -> None:
    for body in ({"Version": "2011-06-15"}, {"Action": "Nope", "Version": "2011-06-15"}, {"Action": "AssumeRoleWithSAML", "Version": "2011-06-15"}):
        response = httpx.post(server["url"], data=body)
        assert 400 <= response.status_code < 500 and b"<ErrorResponse" in response.content and response.headers["x-amzn-RequestId"]
    saml = {"Action": "AssumeRoleWithSAML", "Version": "2011-06-15", "RoleArn": "arn:aws:iam::111111111111:role/R",
            "PrincipalArn": "arn:aws:iam::111111111111:saml-provider/P", "SAMLAssertion": "PHNhbWxwOlJlc3BvbnNlLz4="}
    # No integer: AWS answers MalformedInput without a Message (aws-azure-login #30 sent "NaN"; a live AssumeRole probe).
    for duration in ("1_000", " 900", "\uff19\uff10\uff10", "900.0", "12345678901", "", "NaN"):  # int() takes the first three
        response = httpx.post(server["url"], data={**saml, "DurationSeconds": duration})
        assert response.status_code == 400 and b"<Code>MalformedInput</Code>" in response.content, (duration, response.text)
        assert b"<Message>" not in response.content
    too_large = httpx.post(server["url"], content=b"Action=GetCallerIdentity&x=" + b"a" * (1024 * 1024), headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert too_large.status_code == 413 and b"<Code>ValidationError</Code>" in too_large.content
    # A byte no HTTP client would send.
    answer = raw_exchange(server["url"], b"GET /?Action=GetCallerIdentity&Version=2011-06-15&x=\xff HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", timeout=10)
    assert answer.startswith(b"HTTP/1.1 400"), answer[:300]  # uvicorn refuses it before the application sees it
    iam = client(server, "iam")
    for name in ("bad\x01name", "nul\x00", "é"):  # AWS's RoleName pattern is ASCII
        code, message, status = error_of(lambda name=name: iam.get_role(RoleName=name))
        assert (code, status) == ("ValidationError", 400) and message.startswith("The specified value for roleName is invalid.")
    assert error_of(lambda: iam.delete_role(RoleName="x" * 65))[1].endswith("Member must have length less than or equal to 64")
    assert error_of(lambda: iam.get_role(RoleName="NoSuchRole"))[0] == "NoSuchEntity"
    code, message, _ = error_of(lambda: iam.get_role_policy(RoleName="NoSuchRole", PolicyName="bad name"))
    assert code == "ValidationError" and message.startswith("The specified value for policyName is invalid.")


def test_an_iam_request_refused_at_a_limit_is_answered_in_iam_s_namespace(server: dict) -> None:
    """Unsigned: its Version, in the query string or in the fields read before the limit, names IAM."""
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    too_large = httpx.post(f"{server['url']}/?Action=ListRoles&Version=2010-05-08", content=b"x=" + b"a" * (1024 * 1024), headers=form)
    too_many = httpx.post(server["url"], content=b"Action=ListRoles&Version=2010-05-08" + b"&x=1" * 10_000, headers=form)
    for response, status in ((too_large, 413), (too_many, 400)):
        assert response.status_code == status and b'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">' in response.content


@pytest.mark.parametrize("key", ["PolicyArns.member.0.arn", "PolicyArns.member.01.arn", "PolicyArns.member.1.Arn", "PolicyArns.member.1"])
def test_a_session_policy_under_a_member_key_botocore_never_sends_is_refused(server: dict, registered: dict, key: str) -> None:
    """Ignored, it left the session with all of the role's permissions instead of the ones it asked for."""
    body = {"Action": "AssumeRoleWithSAML", "Version": "2011-06-15", "RoleArn": DEV_ROLE, "PrincipalArn": PROVIDER_ARN,
            "SAMLAssertion": fresh_assertion(), key: f"arn:aws:iam::{ACCOUNT}:policy/ReadOnly"}
    response = httpx.post(server["url"], data=body)
    assert response.status_code == 400 and b"<Code>ValidationError</Code>" in response.content, response.text
    assert f"Parameter {key} is not a member of PolicyArns".encode() in response.content
    assert b"<Credentials>" not in response.content


def test_a_policy_document_at_its_length_limit_fits_in_a_request(server: dict, registered: dict) -> None:
    """policyDocumentType allows 131,072 characters of U+0009–U+00FF: padded with tabs (3 bytes URL-encoded) and
    with Latin-1 letters (6 bytes), the request body reaches ~400 KB, over the 256 KiB the API used to take."""
    iam = client(server, "iam")
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalTag/team": "\u00e9" * 3000}}}
    compact = json.dumps({"Version": "2012-10-17", "Statement": [statement]}, ensure_ascii=False)
    document = compact[:-1] + "\t" * (131072 - len(compact)) + "}"
    arn = iam.create_policy(PolicyName="AtTheLimit", PolicyDocument=document)["Policy"]["Arn"]
    stored = iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]["Document"]
    assert stored["Statement"][0]["Condition"]["StringEquals"]["aws:PrincipalTag/team"] == "\u00e9" * 3000
    iam.put_role_policy(RoleName="Developer", PolicyName="AtTheLimit", PolicyDocument=document)
    iam.delete_role_policy(RoleName="Developer", PolicyName="AtTheLimit")
    code, message, status = error_of(lambda: iam.create_policy(PolicyName="OverTheLimit", PolicyDocument=document + "\t"))
    assert (code, status) == ("ValidationError", 400) and message.endswith("Member must have length less than or equal to 131072")
    iam.delete_policy(PolicyArn=arn)


def test_role_lifecycle_tags_inline_policies_and_paging(server: dict, registered: dict) -> None:
    iam = client(server, "iam")
    for index in range(5):
        iam.create_role(RoleName=f"Paged{index}", AssumeRolePolicyDocument=TRUST_POLICY, Path="/paged/")
    first = iam.list_roles(PathPrefix="/paged/", MaxItems=2)
    assert first["IsTruncated"] and len(first["Roles"]) == 2 and "Tags" not in first["Roles"][0]
    names = [r["RoleName"] for page in iam.get_paginator("list_roles").paginate(PathPrefix="/paged/", PaginationConfig={"PageSize": 2}) for r in page["Roles"]]
    assert names == [f"Paged{i}" for i in range(5)]
    second = iam.list_roles(PathPrefix="/paged/", MaxItems=2, Marker=first["Marker"])
    assert [r["RoleName"] for r in second["Roles"]] == ["Paged2", "Paged3"]
    for forged in ("samlfed:-5", "5", "samlfed:\u0665", "samlfed: 2", "not base64!"):
        marker = forged if forged == "not base64!" else base64.urlsafe_b64encode(forged.encode()).decode()
        assert error_of(lambda marker=marker: iam.list_roles(PathPrefix="/paged/", Marker=marker)) == ("ValidationError", "Invalid Marker", 400)

    iam.update_role(RoleName="Paged0", Description="first", MaxSessionDuration=43200)
    role = iam.get_role(RoleName="Paged0")["Role"]
    assert (role["Description"], role["MaxSessionDuration"]) == ("first", 43200)
    assert error_of(lambda: iam.update_role(RoleName="Paged0", MaxSessionDuration=50000))[0] == "ValidationError"
    iam.update_assume_role_policy(RoleName="Paged0", PolicyDocument=TRUST_POLICY.replace("sts:TagSession", "sts:SetSourceIdentity"))
    assert "sts:SetSourceIdentity" in json.dumps(iam.get_role(RoleName="Paged0")["Role"]["AssumeRolePolicyDocument"])

    iam.tag_role(RoleName="Paged0", Tags=[{"Key": "team", "Value": "platform"}, {"Key": "cost", "Value": "42"}])
    assert {t["Key"] for t in iam.list_role_tags(RoleName="Paged0")["Tags"]} == {"team", "cost"}
    iam.untag_role(RoleName="Paged0", TagKeys=["TEAM"])
    assert [t["Key"] for t in iam.list_role_tags(RoleName="Paged0")["Tags"]] == ["cost"]

    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/engineering/*"}]}
    iam.put_role_policy(RoleName="Paged0", PolicyName="ReadEngineering", PolicyDocument=json.dumps(policy))
    assert iam.get_role_policy(RoleName="Paged0", PolicyName="ReadEngineering")["PolicyDocument"] == policy
    assert iam.list_role_policies(RoleName="Paged0")["PolicyNames"] == ["ReadEngineering"]
    assert error_of(lambda: iam.delete_role(RoleName="Paged0"))[0] == "DeleteConflict"
    iam.delete_role_policy(RoleName="Paged0", PolicyName="ReadEngineering")
    iam.delete_role(RoleName="Paged0")
    assert error_of(lambda: iam.get_role(RoleName="Paged0"))[:2] == ("NoSuchEntity", "The role with name Paged0 cannot be found.")


def test_provider_update_tags_and_account_aliases(server: dict, registered: dict) -> None:
    iam = client(server, "iam")
    metadata = build_idp_metadata(ENTITY_ID, [signer().certificate, signer("next").certificate]).decode()
    assert iam.update_saml_provider(SAMLProviderArn=PROVIDER_ARN, SAMLMetadataDocument=metadata)["SAMLProviderArn"] == PROVIDER_ARN
    assert iam.get_saml_provider(SAMLProviderArn=PROVIDER_ARN)["SAMLMetadataDocument"] == metadata
    iam.tag_saml_provider(SAMLProviderArn=PROVIDER_ARN, Tags=[{"Key": "env", "Value": "dev"}])
    assert iam.list_saml_provider_tags(SAMLProviderArn=PROVIDER_ARN)["Tags"] == [{"Key": "env", "Value": "dev"}]
    iam.untag_saml_provider(SAMLProviderArn=PROVIDER_ARN, TagKeys=["env"])
    assert iam.list_saml_provider_tags(SAMLProviderArn=PROVIDER_ARN)["Tags"] == []
    assert error_of(lambda: iam.tag_saml_provider(SAMLProviderArn=PROVIDER_ARN, Tags=[{"Key": "aws:x", "Value": "1"}]))[0] == "InvalidInput"

    assert iam.list_account_aliases()["AccountAliases"] == ["acme-dev"]
    assert error_of(lambda: iam.create_account_alias(AccountAlias="Bad_Alias"))[0] == "ValidationError"
    iam.delete_account_alias(AccountAlias="acme-dev")
    assert iam.list_account_aliases()["AccountAliases"] == []
    iam.create_account_alias(AccountAlias="acme-dev")
    assert iam.list_account_aliases()["AccountAliases"] == ["acme-dev"]


def test_managed_policies_and_session_policy_arns(server: dict, registered: dict) -> None:
    iam = client(server, "iam")
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    policy = iam.create_policy(PolicyName="ReadObjects", PolicyDocument=json.dumps(document), Description="read")["Policy"]
    assert policy["Arn"] == f"arn:aws:iam::{ACCOUNT}:policy/ReadObjects" and policy["PolicyId"].startswith("ANPA")
    assert iam.get_policy_version(PolicyArn=policy["Arn"], VersionId="v1")["PolicyVersion"]["Document"] == document
    iam.attach_role_policy(RoleName="Developer", PolicyArn=policy["Arn"])
    assert iam.list_attached_role_policies(RoleName="Developer")["AttachedPolicies"] == [{"PolicyName": "ReadObjects", "PolicyArn": policy["Arn"]}]
    assert iam.get_policy(PolicyArn=policy["Arn"])["Policy"]["AttachmentCount"] == 1
    assert [p["PolicyName"] for p in iam.list_policies(Scope="Local", OnlyAttached=True)["Policies"]] == ["ReadObjects"]
    assert error_of(lambda: iam.delete_policy(PolicyArn=policy["Arn"]))[0] == "DeleteConflict"

    sts = unsigned_sts(server)
    result = sts.assume_role_with_saml(RoleArn=DEV_ROLE, PrincipalArn=PROVIDER_ARN, SAMLAssertion=fresh_assertion(), PolicyArns=[{"arn": policy["Arn"]}])
    assert result["Credentials"]["AccessKeyId"].startswith("ASIA")
    missing = f"arn:aws:iam::{ACCOUNT}:policy/Nope"
    assert error_of(lambda: sts.assume_role_with_saml(RoleArn=DEV_ROLE, PrincipalArn=PROVIDER_ARN, SAMLAssertion=fresh_assertion(), PolicyArns=[{"arn": missing}]))[0] == "MalformedPolicyDocument"
    assert error_of(lambda: sts.assume_role_with_saml(RoleArn=DEV_ROLE, PrincipalArn=PROVIDER_ARN, SAMLAssertion=fresh_assertion(), Policy="{not json"))[0] == "MalformedPolicyDocument"

    iam.detach_role_policy(RoleName="Developer", PolicyArn=policy["Arn"])
    iam.delete_policy(PolicyArn=policy["Arn"])
    assert error_of(lambda: iam.get_policy(PolicyArn=policy["Arn"]))[0] == "NoSuchEntity"


def test_tags_and_source_identity_need_their_trust_actions(server: dict, registered: dict) -> None:
    iam = client(server, "iam")
    only_assume = TRUST_POLICY.replace(', "sts:TagSession"', "")
    iam.create_role(RoleName="NoTags", AssumeRolePolicyDocument=only_assume)
    role = f"arn:aws:iam::{ACCOUNT}:role/NoTags"
    roles = [f"{role},{PROVIDER_ARN}"]
    sts = unsigned_sts(server)
    denied = ("AccessDenied", "Not authorized to perform sts:AssumeRoleWithSAML", 403)
    assert error_of(lambda: sts.assume_role_with_saml(RoleArn=role, PrincipalArn=PROVIDER_ARN, SAMLAssertion=fresh_assertion(roles=roles))) == denied
    untagged = fresh_assertion(roles=roles, principal_tags={})
    assert sts.assume_role_with_saml(RoleArn=role, PrincipalArn=PROVIDER_ARN, SAMLAssertion=untagged)["Credentials"]
    with_source = fresh_assertion(roles=roles, principal_tags={}, source_identity="alice")
    assert error_of(lambda: sts.assume_role_with_saml(RoleArn=role, PrincipalArn=PROVIDER_ARN, SAMLAssertion=with_source)) == denied


def test_assume_role_by_query_string_get(server: dict, registered: dict) -> None:
    response = httpx.get(server["url"], params={"Action": "AssumeRoleWithSAML", "Version": "2011-06-15", "RoleArn": DEV_ROLE, "PrincipalArn": PROVIDER_ARN, "SAMLAssertion": fresh_assertion()})
    assert response.status_code == 200 and b"<AssumeRoleWithSAMLResult>" in response.content
    assert response.headers["content-type"].startswith("text/xml")


def signed_extension_call(server: dict, params: dict[str, str]) -> httpx.Response:
    """samlfed's extension actions have no botocore model: sign the form request with botocore's signer."""
    from urllib.parse import urlencode

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    admin = server["admin"]
    body = urlencode({"Version": "2010-05-08", **params})
    request = AWSRequest(method="POST", url=server["url"] + "/", data=body, headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(Credentials(admin.access_key_id, admin.secret_access_key), "iam", "us-east-1").add_auth(request)
    prepared = request.prepare()
    return httpx.post(prepared.url, content=prepared.body, headers=dict(prepared.headers))


def test_attribute_mapping_turns_attributes_into_session_tags(server: dict, registered: dict) -> None:
    iam = client(server, "iam")
    trust = json.loads(TRUST_POLICY)
    trust["Statement"][0]["Condition"] = {"StringEquals": {"aws:RequestTag/email": "alice@example.com"}}
    iam.create_role(RoleName="Mapped", AssumeRolePolicyDocument=json.dumps(trust))
    role = f"arn:aws:iam::{ACCOUNT}:role/Mapped"
    assertion = lambda: fresh_assertion(roles=[f"{role},{PROVIDER_ARN}"], principal_tags={}, attributes={"mail": ["alice@example.com"]})  # noqa: E731
    sts = unsigned_sts(server)
    assert error_of(lambda: sts.assume_role_with_saml(RoleArn=role, PrincipalArn=PROVIDER_ARN, SAMLAssertion=assertion()))[0] == "AccessDenied"

    response = signed_extension_call(server, {"Action": "SetSAMLProviderAttributeMapping", "SAMLProviderArn": PROVIDER_ARN, "AttributeMapping": json.dumps({"email": ["mail"]})})
    assert response.status_code == 200, response.text
    response = signed_extension_call(server, {"Action": "GetSAMLProviderAttributeMapping", "SAMLProviderArn": PROVIDER_ARN})
    shown = etree.fromstring(response.content).findtext(".//{https://iam.amazonaws.com/doc/2010-05-08/}AttributeMapping")
    assert json.loads(shown) == {"email": ["mail"]}
    assert sts.assume_role_with_saml(RoleArn=role, PrincipalArn=PROVIDER_ARN, SAMLAssertion=assertion())["PackedPolicySize"] >= 1
    # An explicit PrincipalTag wins over the mapping; a mapped attribute must hold one valid tag value.
    explicit = fresh_assertion(roles=[f"{role},{PROVIDER_ARN}"], principal_tags={"email": "alice@example.com"}, attributes={"mail": ["mallory@example.com"]})
    assert sts.assume_role_with_saml(RoleArn=role, PrincipalArn=PROVIDER_ARN, SAMLAssertion=explicit)["Credentials"]
    for values in (["alice@example.com", "bob@example.com"], ["alice!"]):
        invalid = fresh_assertion(roles=[f"{role},{PROVIDER_ARN}"], principal_tags={}, attributes={"mail": values})
        refused = error_of(lambda invalid=invalid: sts.assume_role_with_saml(RoleArn=role, PrincipalArn=PROVIDER_ARN, SAMLAssertion=invalid))
        assert refused == ("InvalidIdentityToken", "Session tags in AuthnResponse are invalid", 400), values
    # The mapping cannot take a session past 50 tags either.
    crowded = fresh_assertion(roles=[f"{role},{PROVIDER_ARN}"], principal_tags={f"k{i}": "v" for i in range(50)}, attributes={"mail": ["alice@example.com"]})
    refused = error_of(lambda: sts.assume_role_with_saml(RoleArn=role, PrincipalArn=PROVIDER_ARN, SAMLAssertion=crowded))
    assert refused == ("InvalidIdentityToken", "Session tags in AuthnResponse are invalid", 400)

    # A mapped tag can be made transitive, as a PrincipalTag can (contract §3.4 step 20); a key naming neither cannot.
    transitive = fresh_assertion(roles=[f"{role},{PROVIDER_ARN}"], principal_tags={}, attributes={"mail": ["alice@example.com"]}, transitive_tag_keys=["EMAIL"])
    assert sts.assume_role_with_saml(RoleArn=role, PrincipalArn=PROVIDER_ARN, SAMLAssertion=transitive)["Credentials"]
    dangling = fresh_assertion(roles=[f"{role},{PROVIDER_ARN}"], principal_tags={}, attributes={"mail": ["alice@example.com"]}, transitive_tag_keys=["dept"])
    refused = error_of(lambda: sts.assume_role_with_saml(RoleArn=role, PrincipalArn=PROVIDER_ARN, SAMLAssertion=dangling))
    assert refused == ("InvalidIdentityToken", "Session tags in AuthnResponse are invalid", 400)

    bad = signed_extension_call(server, {"Action": "SetSAMLProviderAttributeMapping", "SAMLProviderArn": PROVIDER_ARN, "AttributeMapping": '{"aws:x": ["mail"]}'})
    assert bad.status_code == 400 and b"<Code>InvalidInput</Code>" in bad.content
    assert signed_extension_call(server, {"Action": "SetSAMLProviderAttributeMapping", "SAMLProviderArn": PROVIDER_ARN}).status_code == 200  # clears


def _drop_name_id(root: etree._Element) -> None:
    name_id = root.find(".//{urn:oasis:names:tc:SAML:2.0:assertion}NameID")
    name_id.getparent().remove(name_id)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"SAMLAssertion": lambda: fresh_assertion(before_sign=_drop_name_id)}, ("AccessDenied", "Not authorized to perform sts:AssumeRoleWithSAML", 403)),
        ({"Policy": '{"Version": "2012-10-17", "Statement": {"Effect": "Allow"'}, ("MalformedPolicyDocument", None, 400)),
        ({"PolicyArns": [{"arn": "arn:aws:iam::111111111111:policy/Missing"}]}, ("MalformedPolicyDocument", "Policy arn:aws:iam::111111111111:policy/Missing does not exist or is not attachable.", 400)),
        # AWS managed policies do not exist in samlfed (README, Permissions)
        ({"PolicyArns": [{"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}]}, ("MalformedPolicyDocument", "Policy arn:aws:iam::aws:policy/ReadOnlyAccess does not exist or is not attachable.", 400)),
    ],
    ids=["no-name-id", "malformed-session-policy", "missing-managed-session-policy", "aws-managed-session-policy"],
)
def test_more_assume_role_errors_match_aws(server: dict, registered: dict, kwargs: dict, expected: tuple) -> None:
    params = made_now({"RoleArn": DEV_ROLE, "PrincipalArn": PROVIDER_ARN, "SAMLAssertion": fresh_assertion, **kwargs})
    code, message, status = error_of(lambda: unsigned_sts(server).assume_role_with_saml(**params))
    assert (code, status) == (expected[0], expected[2])
    assert expected[1] is None or message == expected[1]


def test_packed_policy_too_large(server: dict, registered: dict) -> None:
    """Random (barely compressible) session policy text plus session tags overflow the packed budget."""
    noise = secrets.token_urlsafe(1400)[:1900]
    tags = {f"t{n}": secrets.token_urlsafe(192) for n in range(8)}
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{noise}"}]})
    assert len(policy) <= 2048
    code, message, status = error_of(
        lambda: unsigned_sts(server).assume_role_with_saml(RoleArn=DEV_ROLE, PrincipalArn=PROVIDER_ARN, SAMLAssertion=fresh_assertion(principal_tags=tags), Policy=policy)
    )
    assert (code, status) == ("PackedPolicyTooLarge", 400) and message.startswith("Packed policy consumes ") and message.endswith("% of allotted space.")


def test_empty_arns_get_the_model_validation_error(server: dict) -> None:
    """botocore refuses empty ARNs client-side; other clients send them, and AWS answers with the model's message."""
    body = {"Action": "AssumeRoleWithSAML", "Version": "2011-06-15", "RoleArn": "", "PrincipalArn": "", "SAMLAssertion": fresh_assertion()}
    response = httpx.post(server["url"], data=body)
    assert response.status_code == 400
    error = etree.fromstring(response.content).find("{*}Error")
    assert error.findtext("{*}Code") == "ValidationError"
    pattern = "Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u007E\\u0085\\u00A0-\\uD7FF\\uE000-\\uFFFD\\u10000-\\u10FFFF]+"
    assert error.findtext("{*}Message") == (  # as AWS answered aws-runas (issue #80): each empty ARN fails the pattern, then the length
        f"4 validation errors detected: Value '' at 'roleArn' failed to satisfy constraint: {pattern}; "
        "Value '' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20; "
        f"Value '' at 'principalArn' failed to satisfy constraint: {pattern}; "
        "Value '' at 'principalArn' failed to satisfy constraint: Member must have length greater than or equal to 20"
    )


def test_every_missing_parameter_is_reported_with_the_other_violations(server: dict) -> None:
    response = httpx.post(server["url"], data={"Action": "AssumeRoleWithSAML", "Version": "2011-06-15", "RoleArn": "arn:short"})
    assert response.status_code == 400
    assert etree.fromstring(response.content).findtext("{*}Error/{*}Message") == (
        "3 validation errors detected: Value 'arn:short' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20; "
        "Value null at 'principalArn' failed to satisfy constraint: Member must not be null; "
        "Value null at 'sAMLAssertion' failed to satisfy constraint: Member must not be null"
    )


def _role_trusting(server: dict, name: str, actions: list[str], condition: dict) -> str:
    statement = {"Effect": "Allow", "Principal": {"Federated": PROVIDER_ARN}, "Action": actions, "Condition": condition}
    client(server, "iam").create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def test_trust_conditions_see_source_identity_and_transitive_tag_keys(server: dict, registered: dict) -> None:
    sts = unsigned_sts(server)
    sourced = _role_trusting(server, "Sourced", ["sts:AssumeRoleWithSAML", "sts:TagSession", "sts:SetSourceIdentity"],
                             {"StringEquals": {"sts:SourceIdentity": "alice"}})
    assertion = fresh_assertion(roles=[f"{sourced},{PROVIDER_ARN}"], source_identity="alice")
    assert sts.assume_role_with_saml(RoleArn=sourced, PrincipalArn=PROVIDER_ARN, SAMLAssertion=assertion)["SourceIdentity"] == "alice"
    transitive = _role_trusting(server, "Transitive", ["sts:AssumeRoleWithSAML", "sts:TagSession"],
                                {"ForAnyValue:StringEquals": {"sts:TransitiveTagKeys": "department"}})
    assertion = fresh_assertion(roles=[f"{transitive},{PROVIDER_ARN}"], transitive_tag_keys=["department"])
    assert sts.assume_role_with_saml(RoleArn=transitive, PrincipalArn=PROVIDER_ARN, SAMLAssertion=assertion)["Credentials"]


def test_the_assertion_session_duration_caps_the_credentials(server: dict, registered: dict) -> None:
    result = unsigned_sts(server).assume_role_with_saml(RoleArn=DEV_ROLE, PrincipalArn=PROVIDER_ARN, SAMLAssertion=fresh_assertion(session_duration=900))
    lifetime = result["Credentials"]["Expiration"] - datetime.now(UTC)
    assert timedelta(minutes=13) < lifetime <= timedelta(minutes=15)  # not the default hour


def test_a_one_time_use_assertion_is_redeemed_once(server: dict, registered: dict) -> None:
    def one_time_use(root: etree._Element) -> None:
        etree.SubElement(root.find(".//{urn:oasis:names:tc:SAML:2.0:assertion}Conditions"), "{urn:oasis:names:tc:SAML:2.0:assertion}OneTimeUse")

    sts = unsigned_sts(server)
    assertion = fresh_assertion(before_sign=one_time_use)
    assert sts.assume_role_with_saml(RoleArn=DEV_ROLE, PrincipalArn=PROVIDER_ARN, SAMLAssertion=assertion)["Credentials"]
    again = error_of(lambda: sts.assume_role_with_saml(RoleArn=DEV_ROLE, PrincipalArn=PROVIDER_ARN, SAMLAssertion=assertion))
    assert again == ("InvalidIdentityToken", "The SAML assertion has already been used", 400)


def test_packed_policy_size_only_when_tags_or_session_policies_are_passed(server: dict, registered: dict) -> None:
    result = unsigned_sts(server).assume_role_with_saml(RoleArn=DEV_ROLE, PrincipalArn=PROVIDER_ARN, SAMLAssertion=fresh_assertion(principal_tags={}))
    assert "PackedPolicySize" not in result


@pytest.mark.parametrize("value", ["1", "yes", "", "banana"])
def test_a_boolean_parameter_that_is_no_boolean_is_refused(server: dict, value: str) -> None:
    """Read as false, SetAsDefault=1 answered 200 and left the old default in force."""
    iam = client(server, "iam")
    v1 = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
    arn = iam.create_policy(PolicyName=f"Flags{len(value)}{value}", PolicyDocument=v1)["Policy"]["Arn"]
    for name, params in (
        ("SetAsDefault", {"Action": "CreatePolicyVersion", "PolicyArn": arn, "PolicyDocument": v1}),
        ("OnlyAttached", {"Action": "ListPolicies"}),
    ):
        answer = signed_extension_call(server, {**params, name: value})
        error = etree.fromstring(answer.content).find(".//{*}Error")
        assert answer.status_code == 400 and error.findtext("{*}Code") == "ValidationError"
        assert error.findtext("{*}Message") == f"Invalid value '{value}' for {name}: a boolean (true or false) is required"
    assert [v["VersionId"] for v in iam.list_policy_versions(PolicyArn=arn)["Versions"]] == ["v1"]
    iam.delete_policy(PolicyArn=arn)


@pytest.mark.parametrize(
    ("roles", "role_arn"),
    [
        ([f"{OPS_ROLE},{PROVIDER_ARN}"], DEV_ROLE),  # the requested pair is not in the Role attribute
        ([], DEV_ROLE),  # no Role attribute value at all
        ([f"arn:aws:iam::{ACCOUNT}:role/Missing,{PROVIDER_ARN}"], f"arn:aws:iam::{ACCOUNT}:role/Missing"),  # listed, but no such role
    ],
    ids=["pair-not-listed", "no-roles", "no-such-role"],
)
def test_session_tags_are_refused_before_the_role_attribute_is_read(server: dict, registered: dict, roles: list[str], role_arn: str) -> None:
    """Contract §3.4: step 20 (every TransitiveTagKeys value names a passed tag; the mapped tags) comes before step 21
    (the pair is in the Role attribute). Checked after the role, a response failing both got AccessDenied 403."""
    sts = unsigned_sts(server)
    refused = ("InvalidIdentityToken", "Session tags in AuthnResponse are invalid", 400)
    dangling = fresh_assertion(roles=roles, transitive_tag_keys=["nosuchtag"])
    assert error_of(lambda: sts.assume_role_with_saml(RoleArn=role_arn, PrincipalArn=PROVIDER_ARN, SAMLAssertion=dangling)) == refused
    mapping = {"Action": "SetSAMLProviderAttributeMapping", "SAMLProviderArn": PROVIDER_ARN, "AttributeMapping": json.dumps({"email": ["mail"]})}
    assert signed_extension_call(server, mapping).status_code == 200
    try:
        two_mails = fresh_assertion(roles=roles, principal_tags={}, attributes={"mail": ["alice@example.com", "bob@example.com"]})
        assert error_of(lambda: sts.assume_role_with_saml(RoleArn=role_arn, PrincipalArn=PROVIDER_ARN, SAMLAssertion=two_mails)) == refused
    finally:
        assert signed_extension_call(server, {"Action": "SetSAMLProviderAttributeMapping", "SAMLProviderArn": PROVIDER_ARN}).status_code == 200
