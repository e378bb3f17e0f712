"""SAML 2.0 for AWS federation: metadata, strict response validation and signing.

Pure: bytes and documents in, typed results or a typed error out, the clock passed in. Nothing here performs
I/O or imports the service layers.
"""

from .checks import CHECK_ORDER, CHECKS, AwsError, Check
from .errors import MetadataError, SamlError, SamlValidationError
from .model import (
    AwsSessionClaims,
    CheckResult,
    ProviderPolicy,
    ProviderTrust,
    RolePair,
    SigningKey,
    ValidationSettings,
    VerifiedAssertion,
    VerifiedResponse,
)
from .response import MAX_INPUT_CHARS, validate, validate_response

__all__ = [
    "CHECK_ORDER",
    "CHECKS",
    "MAX_INPUT_CHARS",
    "AwsError",
    "AwsSessionClaims",
    "Check",
    "CheckResult",
    "MetadataError",
    "ProviderPolicy",
    "ProviderTrust",
    "RolePair",
    "SamlError",
    "SamlValidationError",
    "SigningKey",
    "ValidationSettings",
    "VerifiedAssertion",
    "VerifiedResponse",
    "validate",
    "validate_response",
]
