"""The inputs (what we trust, how strictly) and outputs (what was verified) of `samlfed.saml`."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal, NamedTuple

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ..timestamps import MAX_CLOCK_SKEW
from .aws_endpoints import AWS_ACS_URLS, AWS_AUDIENCES
from .constants import NAMEID_FORMAT_PREFIX_SAML2


def load_rsa_private_key(pem: bytes) -> rsa.RSAPrivateKey:
    """An unencrypted PEM RSA private key (PKCS#8 or PKCS#1): an IdP's signing key, a provider's decryption key.
    Anything else (not PEM, encrypted, another algorithm) is a ValueError that quotes nothing of the text."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)  # TypeError: encrypted, no password given
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ValueError("not an unencrypted PEM RSA private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA private key")
    return key


@dataclass(frozen=True, slots=True)
class SigningKey:
    """One registered IdP signing key: a certificate from metadata (or a bare public key), loaded once."""

    public_key: rsa.RSAPublicKey
    certificate: x509.Certificate | None
    key_size: int
    thumbprint: str
    """SHA-256 of the DER certificate (or of the DER public key for a bare key), lowercase hex."""
    not_valid_before: datetime | None = field(init=False)
    not_valid_after: datetime | None = field(init=False)
    """The certificate's validity, read once (every validation looks at it); None for a bare key."""

    def __post_init__(self) -> None:
        certificate = self.certificate
        object.__setattr__(self, "not_valid_before", certificate.not_valid_before_utc if certificate else None)
        object.__setattr__(self, "not_valid_after", certificate.not_valid_after_utc if certificate else None)

    @classmethod
    def from_certificate(cls, certificate: x509.Certificate) -> SigningKey:
        key = certificate.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise ValueError("only RSA signing certificates are supported")
        der = certificate.public_bytes(serialization.Encoding.DER)
        return cls(key, certificate, key.key_size, hashlib.sha256(der).hexdigest())

    @classmethod
    def from_pem(cls, pem: bytes) -> SigningKey:
        """A PEM certificate, or a PEM public key (no validity dates then)."""
        if b"BEGIN CERTIFICATE" in pem:
            return cls.from_certificate(x509.load_pem_x509_certificate(pem))
        key = serialization.load_pem_public_key(pem)
        if not isinstance(key, rsa.RSAPublicKey):
            raise ValueError("only RSA signing keys are supported")
        der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return cls(key, None, key.key_size, hashlib.sha256(der).hexdigest())

    @property
    def subject(self) -> str:
        return self.certificate.subject.rfc4514_string() if self.certificate else "(bare public key)"


@dataclass(frozen=True, slots=True)
class ProviderPolicy:
    """Per-provider opt-ins. Every default is the strict choice."""

    allow_legacy_algorithms: bool = False
    """RSA-SHA1, SHA-1 digests, inclusive c14n 1.0 and 1.1, and RSA keys of 1024-2047 bits."""
    allow_response_only_signature: bool = False
    """Accept a signed Response whose Assertion is unsigned (the Assertion is then read from the Response's signed bytes)."""
    require_condition_bounds: bool = False
    """Reject assertions whose Conditions lack NotBefore or NotOnOrAfter (AWS requires only the SubjectConfirmationData bound)."""

    @property
    def min_rsa_bits(self) -> int:
        return 1024 if self.allow_legacy_algorithms else 2048


@dataclass(frozen=True, slots=True)
class ProviderTrust:
    """Everything trusted about one registered SAML provider: its entity ID and its signing keys.

    Nothing in a SAML response ever adds to this: keys in `ds:KeyInfo` are ignored.
    """

    entity_id: str
    signing_keys: tuple[SigningKey, ...]
    policy: ProviderPolicy = ProviderPolicy()
    provider_arn: str | None = None
    provider_uuid: str | None = None
    """The SAMLProviderUUID: responses may target `.../saml/acs/{uuid}` (encryption-enabled providers)."""
    decryption_keys: tuple[rsa.RSAPrivateKey, ...] = ()
    """The private keys uploaded for this provider (AddPrivateKey): encrypted assertions are accepted only when
    there is one, and decrypted only with these."""
    encryption_required: bool = False
    """AssertionEncryptionMode `Required`: a plaintext assertion is refused."""
    decrypts_unsigned: bool = True
    """False while the service's decryption guard holds this provider or the client over its limit: an encrypted
    assertion is then decrypted only in a Response whose signature verifies first (its ciphertext is the IdP's
    own, so the decryption answers no forger's question); any other is refused, UnsignedDecryptionRefused."""

    def __post_init__(self) -> None:
        if not self.signing_keys:
            # A provider that verifies nothing is a configuration error, never a reason to skip verification.
            raise ValueError("a SAML provider needs at least one signing key")


@dataclass(frozen=True, slots=True)
class ValidationSettings:
    """Service-wide settings: which endpoints we answer to and how much clock skew we tolerate."""

    accepted_audiences: frozenset[str] = AWS_AUDIENCES
    accepted_acs_urls: frozenset[str] = AWS_ACS_URLS
    clock_skew: timedelta = MAX_CLOCK_SKEW
    max_assertion_age: timedelta = timedelta(seconds=300)

    def __post_init__(self) -> None:
        if not timedelta(0) <= self.clock_skew <= MAX_CLOCK_SKEW:
            raise ValueError("clock skew must be between 0 and 300 seconds")

    def accepting(self, *, audiences: tuple[str, ...] | list[str] = (), acs_urls: tuple[str, ...] | list[str] = ()) -> ValidationSettings:
        """These settings, also accepting the given audiences and ACS URLs (a service's own entity ID and URLs)."""
        return ValidationSettings(
            accepted_audiences=self.accepted_audiences | frozenset(audiences),
            accepted_acs_urls=self.accepted_acs_urls | frozenset(acs_urls),
            clock_skew=self.clock_skew,
            max_assertion_age=self.max_assertion_age,
        )

    def acs_url_accepted(self, url: str, trust: ProviderTrust) -> bool:
        """Exact match, plus `{accepted ACS URL}/acs/{this provider's UUID}` (AWS's encrypted-assertion form)."""
        if url in self.accepted_acs_urls:
            return True
        uuid = trust.provider_uuid
        suffix = f"/acs/{uuid}"
        return bool(uuid) and url.endswith(suffix) and url[: -len(suffix)] in self.accepted_acs_urls

    def audience_accepted(self, audience: str, trust: ProviderTrust) -> bool:
        return audience in self.accepted_audiences or self.acs_url_accepted(audience, trust)


class RolePair(NamedTuple):
    """A role and the SAML provider it trusts, as one Role attribute value names them. (A named tuple: made,
    compared and hashed in C, several times per sign-in.)"""

    role_arn: str
    provider_arn: str


CheckStatus = Literal["pass", "fail", "warn", "skip"]


@dataclass(slots=True)
class CheckResult:
    id: str
    status: CheckStatus
    message: str
    hint: str | None = None


Message = str | Callable[[], str]
"""A check's message, or how to write it: most are read only by the doctor, so writing waits until then."""

CheckEntry = tuple[str, CheckStatus, Message, str | None]
"""A check's outcome as recorded while validating: (id, status, message, hint)."""


def check_results(entries: tuple[CheckEntry, ...]) -> tuple[CheckResult, ...]:
    return tuple(
        CheckResult(check_id, status, message if isinstance(message, str) else message(), hint)
        for check_id, status, message, hint in entries
    )


# The results of a validation (VerifiedResponse, AwsSessionClaims, VerifiedAssertion) are read-only by convention,
# not frozen: a frozen dataclass's __init__ sets each field through object.__setattr__, which for their forty-odd
# fields cost about 2 % of a validation. Nothing changes them after the validator returns them.
@dataclass(slots=True)
class VerifiedResponse:
    """What a SAML response says, read only from signed bytes, after every SAML-level check passed."""

    issuer: str
    assertion_id: str
    issue_instant: datetime
    name_id: str
    name_id_format: str
    name_qualifier: str | None
    sp_name_qualifier: str | None
    recipient: str
    audiences: tuple[str, ...]
    not_before: datetime | None
    not_on_or_after: datetime
    """The earliest of Conditions/@NotOnOrAfter and SubjectConfirmationData/@NotOnOrAfter."""
    redeem_by: datetime
    """The end of the reuse window: min(not_on_or_after, IssueInstant + max age) + clock skew, the last moment the
    validator still accepts the assertion (a replay cache keeps each use until then)."""
    authn_instant: datetime | None
    session_not_on_or_after: datetime | None
    session_index: str | None
    one_time_use: bool
    """The assertion carries OneTimeUse: the caller must make it single-use (it needs a shared cache)."""
    in_response_to: str | None
    """The AuthnRequest ID this answers, read from signed bytes only (None for an IdP-initiated response)."""
    attributes: dict[str, tuple[str, ...]]
    """Every attribute by Name with its string values (Role values of repeated Attributes merged)."""
    signed: Literal["assertion", "response", "both"]
    key_thumbprint: str
    """SHA-256 thumbprint of the registered key that verified the signature(s)."""
    warnings: tuple[str, ...] = ()
    check_log: tuple[CheckEntry, ...] = ()

    @property
    def checks(self) -> tuple[CheckResult, ...]:
        """Every check run, in order, with its outcome."""
        return check_results(self.check_log)

    @property
    def subject_type(self) -> str:
        """The NameID Format as STS reports it: the SAML 2.0 prefix stripped, other formats unchanged."""
        fmt = self.name_id_format
        return fmt[len(NAMEID_FORMAT_PREFIX_SAML2):] if fmt.startswith(NAMEID_FORMAT_PREFIX_SAML2) else fmt


@dataclass(slots=True)  # read-only by convention: see VerifiedResponse
class AwsSessionClaims:
    """The AWS attributes of a verified assertion (aws-saml-contract.md §3.5-3.8)."""

    roles: tuple[RolePair, ...]
    role_session_name: str
    session_duration: int | None
    source_identity: str | None
    principal_tags: dict[str, str]
    transitive_tag_keys: tuple[str, ...]
    role_problems: tuple[str, ...] = ()
    """Role values that are not a usable pair, in words (ignored for matching, shown on the chooser)."""


@dataclass(slots=True)  # read-only by convention: see VerifiedResponse
class VerifiedAssertion:
    """A fully validated AWS sign-in assertion: the SAML facts plus the AWS session claims."""

    response: VerifiedResponse
    claims: AwsSessionClaims
    warnings: tuple[str, ...] = ()
    check_log: tuple[CheckEntry, ...] = ()

    @property
    def checks(self) -> tuple[CheckResult, ...]:
        """Every check run, in order, with its outcome."""
        return check_results(self.check_log)

    def grants(self, role_arn: str, provider_arn: str) -> bool:
        return RolePair(role_arn, provider_arn) in self.claims.roles


def utc(dt: datetime) -> datetime:
    """An aware datetime in UTC; a naive one is refused (every instant must have an explicit zone)."""
    if dt.tzinfo is None:
        raise ValueError("naive datetime: pass an aware UTC datetime")
    return dt.astimezone(UTC)
