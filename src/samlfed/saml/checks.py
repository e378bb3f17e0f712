"""The named checks of the validation pipeline, in the order they run.

Every check has a stable id that the doctor, error messages, logs and tests share. The order
follows `aws-saml-contract.md` §3.4 so that a response with several defects gets the same error
AWS would return first. Each check also names the AWS error the STS API returns when it fails.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AwsError:
    """What the STS API answers when a check fails."""

    code: str
    status: int
    message: str


SIGNATURE_INVALID = AwsError("InvalidIdentityToken", 400, "Response signature invalid")
NOT_AUTHORIZED = AwsError("AccessDenied", 403, "Not authorized to perform sts:AssumeRoleWithSAML")
DECRYPTION_FAILED = AwsError("InvalidIdentityToken", 400, "Response could not be decrypted")
"""AWS documents no message for this; every decryption failure gets this one (no decryption oracle)."""
ENCRYPTION_NOT_ENABLED = AwsError("InvalidIdentityToken", 400, "encrypted assertions are not enabled for this provider")
NOT_ENCRYPTED = AwsError("InvalidIdentityToken", 400, "this provider requires encrypted assertions")
THROTTLING = AwsError("Throttling", 400, "Rate exceeded")
"""STS's answer to a caller over a limit (botocore retries it, with back-off)."""
INVALID_SESSION_TAGS = AwsError("InvalidIdentityToken", 400, "Session tags in AuthnResponse are invalid")
NO_CONFIRMATION_DATA = AwsError("InvalidIdentityToken", 400, "Responses must contain SubjectConfirmatonData with a Recipient and NotOnOrAfter")
"""AWS's answer, its spelling included, to a bearer confirmation without a Recipient (the AWS CLI's output quoted in
"ADFS2 is not always SAML 2.0 standards compliant", Tech Debug, 2015); also given here for one without NotOnOrAfter
or without SubjectConfirmationData, which the message names alike."""


@dataclass(frozen=True, slots=True)
class Check:
    id: str
    title: str
    aws: AwsError


_CHECKS: tuple[Check, ...] = (
    # STS refuses a longer SAMLAssertion parameter before validating anything (its model's length constraint).
    Check("input.size", "Input is at most 100,000 characters", AwsError(
        "ValidationError", 400,
        "1 validation error detected: Value at 'sAMLAssertion' failed to satisfy constraint: Member must have length less than or equal to 100000",
    )),
    # AWS's words (an AWS CLI answer quoted in a public note on Keycloak federation: "Invalid base64 SAMLResponse
    # (Service: AWSOpenIdDiscoveryService; Status Code: 400; Error Code: AuthSamlInvalidSamlResponseException").
    Check("input.base64", "Input is strict base64", AwsError("InvalidIdentityToken", 400, "Invalid base64 SAMLResponse")),
    Check("xml.parse", "Well-formed UTF-8 XML without DOCTYPE, entities or processing instructions", SIGNATURE_INVALID),
    Check("shape.root", "Root is a SAML 2.0 protocol Response with an ID", SIGNATURE_INVALID),
    Check("shape.assertion", "Exactly one Assertion in the whole document", SIGNATURE_INVALID),
    Check("shape.signatures", "Every Signature is a direct child of the Response or the Assertion", SIGNATURE_INVALID),
    Check("shape.text", "No comments inside Issuer, NameID, Audience or AttributeValue (markup is refused where a value is read)", SIGNATURE_INVALID),
    Check("encryption.response_signature", "An encrypted assertion's Response signature, if any, verifies before decryption", SIGNATURE_INVALID),
    Check("encryption.decrypt", "The EncryptedAssertion decrypts with a provider private key to exactly one Assertion", DECRYPTION_FAILED),
    Check("signature.binding", "Each signature has one Reference naming its parent's unique ID", SIGNATURE_INVALID),
    Check("signature.algorithms", "Signature, digest, canonicalization and transforms are in the allowed profile", SIGNATURE_INVALID),
    Check("signature.required", "The Assertion is signed (or the Response, where allowed)", SIGNATURE_INVALID),
    Check("signature.verify", "Every signature verifies with a registered signing key", SIGNATURE_INVALID),
    Check("signature.certificate", "The verifying certificate is within its validity period", SIGNATURE_INVALID),
    Check("issuer", "Issuer equals the provider's entity ID", AwsError("InvalidIdentityToken", 400, "Issuer not present in specified provider")),
    Check("status", "Status is Success", AwsError("IDPRejectedClaim", 403, "The identity provider did not return a successful SAML status")),
    Check("conditions.not_before", "Conditions NotBefore has been reached", AwsError("InvalidIdentityToken", 400, "Response is not yet valid")),
    Check("conditions.not_on_or_after", "Conditions and SubjectConfirmationData NotOnOrAfter are in the future", AwsError("ExpiredTokenException", 400, "Response has expired")),
    Check("issue_instant", "Assertion was issued less than 5 minutes ago, plus the clock skew", AwsError("ExpiredTokenException", 400, "Token must be redeemed within 5 minutes of issuance")),
    Check("audience", "An Audience is an accepted audience", AwsError("InvalidIdentityToken", 400, "Response does not contain the required audience.")),
    Check("conditions.understood", "Conditions holds only AudienceRestriction, OneTimeUse and ProxyRestriction", AwsError("InvalidIdentityToken", 400, "Response contains a condition that is not understood")),
    Check("destination", "Response Destination (if present) is an accepted ACS URL", AwsError("InvalidIdentityToken", 400, "Response Destination is not an accepted endpoint")),
    Check("subject_confirmation", "One bearer SubjectConfirmation with an accepted Recipient and a NotOnOrAfter", AwsError("InvalidIdentityToken", 400, "Response does not contain a valid SubjectConfirmation for this endpoint")),
    Check("subject.name_id", "Subject has a non-empty NameID", NOT_AUTHORIZED),
    Check("attributes.unique", "No attribute other than Role is repeated", AwsError("InvalidIdentityToken", 400, "Attribute is repeated in AuthnResponse")),
    Check("session.not_on_or_after", "AuthnStatement SessionNotOnOrAfter (if present) is at least a second away (credentials last whole seconds)", AwsError("ExpiredTokenException", 400, "Response has expired")),
    Check("aws.role_session_name", "RoleSessionName is present and matches [a-zA-Z_0-9+=,.@-]{2,64}", AwsError("InvalidIdentityToken", 400, "RoleSessionName is required in AuthnResponse")),
    Check("aws.source_identity", "SourceIdentity (if present) matches [a-zA-Z_0-9+=,.@-]{2,64} and does not begin with aws:", AwsError("InvalidIdentityToken", 400, 'Source Identity must match [a-zA-Z_0-9+=,.@-]{2,64} and not begin with "aws:"')),
    Check("aws.session_duration", "SessionDuration (if present) is one integer from 900 to 43200", AwsError("InvalidIdentityToken", 400, "SessionDuration in AuthnResponse must be an integer between 900 and 43200")),
    Check("aws.session_tags", "PrincipalTag and TransitiveTagKeys attributes are well formed", INVALID_SESSION_TAGS),
    Check("aws.role", "Role attribute holds role/provider pairs (and the requested pair)", NOT_AUTHORIZED),
)

CHECKS: dict[str, Check] = {check.id: check for check in _CHECKS}
CHECK_ORDER: tuple[str, ...] = tuple(check.id for check in _CHECKS)


def check(check_id: str) -> Check:
    return CHECKS[check_id]
