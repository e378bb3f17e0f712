"""The validation opt-ins over HTTP: the extension actions set them, and AssumeRoleWithSAML through boto3 obeys them."""

from __future__ import annotations

from datetime import UTC, datetime

from e2e_setup import error_of, unsigned_sts
from lxml import etree
from saml_factory import DEV_ROLE, PROVIDER_ARN, response_b64
from test_boto3 import signed_extension_call

IAM_NS = "{https://iam.amazonaws.com/doc/2010-05-08/}"


def options_shown(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.text
    shown = etree.fromstring(response.content).find(f".//{IAM_NS}ValidationOptions")
    return {etree.QName(child).localname: child.text for child in shown}


def test_response_only_signatures_follow_the_providers_option(server: dict, registered: dict) -> None:
    sts = unsigned_sts(server)
    response_only = response_b64("response", issue_instant=datetime.now(UTC))
    assume = lambda: sts.assume_role_with_saml(RoleArn=DEV_ROLE, PrincipalArn=PROVIDER_ARN, SAMLAssertion=response_only)  # noqa: E731
    assert error_of(assume) == ("InvalidIdentityToken", "Response signature invalid", 400)

    shown = options_shown(signed_extension_call(server, {"Action": "GetSAMLProviderValidationOptions", "SAMLProviderArn": PROVIDER_ARN}))
    assert shown == {"AllowLegacyAlgorithms": "false", "AllowResponseOnlySignature": "false", "RequireConditionBounds": "false"}
    set_on = {"Action": "SetSAMLProviderValidationOptions", "SAMLProviderArn": PROVIDER_ARN, "AllowResponseOnlySignature": "true"}
    assert options_shown(signed_extension_call(server, set_on))["AllowResponseOnlySignature"] == "true"
    try:
        assert assume()["AssumedRoleUser"]["Arn"].endswith(":assumed-role/Developer/alice@example.com")
    finally:
        set_off = {**set_on, "AllowResponseOnlySignature": "false"}
        assert options_shown(signed_extension_call(server, set_off))["AllowResponseOnlySignature"] == "false"
    assert error_of(assume) == ("InvalidIdentityToken", "Response signature invalid", 400)


def test_bad_option_requests_get_aws_errors(server: dict, registered: dict) -> None:
    nothing = signed_extension_call(server, {"Action": "SetSAMLProviderValidationOptions", "SAMLProviderArn": PROVIDER_ARN})
    assert nothing.status_code == 400 and b"<Code>InvalidInput</Code>" in nothing.content
    bad = signed_extension_call(server, {"Action": "SetSAMLProviderValidationOptions", "SAMLProviderArn": PROVIDER_ARN, "AllowLegacyAlgorithms": "yes"})
    assert bad.status_code == 400 and b"<Code>ValidationError</Code>" in bad.content and b"allowLegacyAlgorithms" in bad.content
    missing = signed_extension_call(server, {"Action": "GetSAMLProviderValidationOptions", "SAMLProviderArn": PROVIDER_ARN.replace("ExampleIdP", "Nobody")})
    assert missing.status_code == 404 and b"<Code>NoSuchEntity</Code>" in missing.content
    no_arn = signed_extension_call(server, {"Action": "GetSAMLProviderValidationOptions"})
    assert no_arn.status_code == 400 and b"<Code>ValidationError</Code>" in no_arn.content and b"sAMLProviderArn" in no_arn.content
