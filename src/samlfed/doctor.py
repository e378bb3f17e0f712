"""`samlfed doctor`: run the validator on a captured SAML response and explain the verdict to a human.

The logic here (read and decode the input, choose the provider, validate, collect facts) returns a `Diagnosis`;
`doctor_report` renders it (text with rich, or one JSON object) and only reads it, so both views say the same thing.
The doctor adds context but never trust: the verdict is the validator's, and KeyInfo is only ever compared.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import hashlib
import re
import shlex
import sys
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal
from urllib.parse import unquote_to_bytes

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from lxml import etree

from .doctor_capture import CaptureError, from_capture, read_capped
from .doctor_trust import TrustReport, check_trust, cross_account, session_tags_refusal
from .files import LARGE_FILE_LIMIT, read_at_most
from .saml import (
    MAX_INPUT_CHARS,
    CheckResult,
    MetadataError,
    ProviderPolicy,
    ProviderTrust,
    RolePair,
    SamlValidationError,
    SigningKey,
    ValidationSettings,
    VerifiedAssertion,
    aws_claims,
    validate,
)
from .saml import constants as c
from .saml.b64 import strict_b64decode
from .saml.checks import CHECKS, ENCRYPTION_NOT_ENABLED
from .saml.metadata import UNREADABLE_CERTIFICATE, IdpMetadata, parse_metadata
from .saml.model import load_rsa_private_key
from .saml.report import stopped_at
from .saml.response import UNSIGNED_DECLARATIONS
from .saml.timeutil import xs_datetime_text
from .saml.xmlparse import XmlRejected, parse_xml
from .sts.trust_context import SessionTagsRejected, noting_tag_faults, requested_tags, session_tags_check, tags_refused_first
from .terminal_text import visible


class DoctorUsageError(ValueError):
    """Options or input the doctor cannot work with (exit code 2), as opposed to an invalid response (exit 1)."""


# --- input ---------------------------------------------------------------------------------------------

_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_FORM_FIELD = re.compile(rb"(?:^|[&?])SAMLResponse=([^&]*)")
_MAX_LAYERS = 4
"""Form field and URL-encodings unwrapped at most: genuine captures need two, hostile nesting would need thousands."""


TERMINAL_NOTICE = (
    "samlfed doctor: reading the SAMLResponse from the terminal: paste it, then press Enter and Ctrl-D. "
    "Terminals cut a pasted line at 4095 characters: save a longer response to a file and give its name instead."
)
TERMINAL_LINE_LIMIT = 4095
"""What a terminal in canonical mode keeps of one line (Linux's N_TTY buffer is 4096 bytes, newline included)."""
CUT_BY_TERMINAL_NOTE = (
    f"the input is exactly {TERMINAL_LINE_LIMIT} characters on one line, read from a terminal: the terminal most likely "
    "cut the pasted response there. Save the response to a file and give the doctor its name."
)


def stdin_is_terminal() -> bool:
    try:
        return sys.stdin.isatty()
    except (ValueError, AttributeError):  # closed or replaced standard input
        return False


def cut_by_terminal(data: bytes) -> bool:
    """Whether `data` looks like a pasted line the terminal cut: exactly the line limit, without a newline inside."""
    line = data.removesuffix(b"\n").removesuffix(b"\r")
    return len(line) == TERMINAL_LINE_LIMIT and b"\n" not in line


def read_source(source: str) -> bytes:
    """The bytes of FILE, or of standard input for '-' (bytes, so that raw XML reaches the validator unchanged)."""
    if not source:  # Path("") is the current directory
        raise DoctorUsageError("no FILE given: name a file, or '-' for standard input")
    if source == "-" and stdin_is_terminal():
        print(TERMINAL_NOTICE, file=sys.stderr)  # stderr: the report on stdout stays what --json promises
    try:
        if source == "-":
            return read_capped(sys.stdin.buffer)
        with Path(source).open("rb") as stream:
            return read_capped(stream)  # capped: a hostile or endless file (/dev/zero) must not fill the memory
    except OSError as exc:
        raise DoctorUsageError(f"cannot read {source}: {exc.strerror or exc}") from None


def decode_input(data: bytes) -> str:
    """The base64 SAMLResponse in `data` (see `read_input`)."""
    return read_input(data)[0]


def read_input(data: bytes) -> tuple[str, list[str]]:
    """The base64 SAMLResponse in `data`, and notes on where it was found: base64 as posted, raw XML, a form body /
    pasted `SAMLResponse=...`, a URL-encoded value, a HAR file or a saved HTML page with the posting form; in UTF-8, or
    in UTF-16 with its byte order mark."""
    text = _utf16_as_utf8(data).removeprefix(_BOM).strip()
    try:
        captured = from_capture(text)
    except CaptureError as exc:
        raise DoctorUsageError(str(exc)) from None
    b64, url_decoded = _decoded(text if captured is None else captured.posted)
    notes = [] if captured is None else [captured.note]
    if url_decoded and captured is None:  # pasted: what was pasted may be passed on as it is
        notes.append(URL_DECODED_NOTE)
    return b64, notes


URL_DECODED_NOTE = (
    "input: URL-decoded (a form body or a percent-encoded value); the verdict is on the decoded response. "
    "AssumeRoleWithSAML's SAMLAssertion takes it decoded (an SDK or the AWS CLI encodes it for the wire): "
    "passed on still percent-encoded, it is refused with 'Response signature invalid'"
)


def _decoded(text: bytes) -> tuple[str, bool]:
    """The base64 in `text`, and whether it was URL-decoded to find it."""
    url_decoded = False
    for _ in range(_MAX_LAYERS):
        text = text.removeprefix(_BOM).strip()
        if not text:
            raise DoctorUsageError("the input is empty")
        if text.startswith(b"<"):
            # Raw XML: encode it as the IdP would have posted it, so the validator sees exactly these bytes.
            return base64.b64encode(text).decode(), url_decoded
        unwrapped = _unwrap(text)
        if unwrapped is None:
            break
        text, percent_decoded = unwrapped
        url_decoded = url_decoded or percent_decoded
    # Anything else is handed over as base64; the validator's input checks say precisely what is wrong with it.
    return text.decode("latin-1"), url_decoded


def _unwrap(text: bytes) -> tuple[bytes, bool] | None:
    """The SAMLResponse field of a form body, or a URL-encoded value, decoded, and whether percent-decoding changed
    it; None when `text` is neither."""
    match = _FORM_FIELD.search(text)
    if match:
        # Percent-decoding only: a '+' stays a '+', since pasted base64 often is not URL-encoded at all.
        value = unquote_to_bytes(match.group(1))
        if not value.strip():
            raise DoctorUsageError("the SAMLResponse form field is empty")
        return value, value != match.group(1)
    unquoted = unquote_to_bytes(text)
    return (unquoted, True) if unquoted != text else None  # a URL-encoded value without its field name (base64 has no '%')


_UTF16_DECLARATION = re.compile(r"""\s*<\?xml\s[^>]*\bencoding\s*=\s*["']utf-16""", re.IGNORECASE)


def _utf16_as_utf8(data: bytes) -> bytes:
    """A UTF-16 text file with its byte order mark (Windows PowerShell's `>` writes one) as UTF-8; else `data`.

    Not an XML document that declares itself UTF-16: that is no capture of a UTF-8 response, and read as UTF-8 it
    contradicts its own declaration (the parser's complaint, "Blank needed here", said nothing useful)."""
    if not data.startswith(_UTF16_BOMS):
        return data
    try:
        text = data.decode("utf-16")
    except UnicodeDecodeError:
        return data  # handed over as it is: the validator's input checks say what is wrong with it
    if _UTF16_DECLARATION.match(text):
        raise DoctorUsageError(
            "the input is an XML document in UTF-16 (its declaration says so); STS takes a SAML response as UTF-8 XML: "
            "give the base64 SAMLResponse as it was posted, or the XML saved as UTF-8"
        )
    return text.encode()


def _decode_base64(b64: str) -> bytes | None:
    try:
        return strict_b64decode(b64)
    except binascii.Error:
        return None


def parse_or_none(xml: bytes | None) -> etree._Element | None:
    """The document through the hardened parser, or None when there is none or it does not pass."""
    if not xml:
        return None
    try:
        return parse_xml(xml)
    except XmlRejected:
        return None


def _unverified_root(b64: str) -> etree._Element | None:
    if len(b64) > MAX_INPUT_CHARS:  # the validator refuses it unread: so must this, or any size gets parsed
        return None
    return parse_or_none(_decode_base64(b64))


def response_issuer(b64: str) -> str | None:
    """The response's (unsigned) Issuer, only used to choose among the given providers."""
    return _issuer_of(_unverified_root(b64))


def _issuer_of(root: etree._Element | None) -> str | None:
    if root is None:
        return None
    return root.findtext(c.ISSUER) or root.findtext(f"{c.ASSERTION}/{c.ISSUER}")


_PER_PROVIDER_ACS = re.compile(r"\S*/saml/acs/([A-Z0-9]{22,64})")


def _addressed_provider_uuid(root: etree._Element | None) -> str | None:
    """The SAMLProviderUUID in the response's (unverified) Destination, else its first SubjectConfirmationData
    Recipient, when that is a per-provider ACS URL (`…/saml/acs/{uuid}`, AWS's for encrypted assertions).
    Standalone, the doctor knows no provider's UUID: it takes this one so that such a response can pass, and says
    it did (`uuid_not_checked`)."""
    if root is None:
        return None
    data = next(root.iter(c.SUBJECT_CONFIRMATION_DATA), None)
    address = root.get("Destination") or (data.get("Recipient", "") if data is not None else "")
    match = _PER_PROVIDER_ACS.fullmatch(address)
    return match.group(1) if match is not None else None


# --- trust ---------------------------------------------------------------------------------------------


def load_metadata(paths: Sequence[Path], *, now: datetime) -> list[IdpMetadata]:
    documents = []
    for path in paths:
        try:
            data = read_at_most(path, LARGE_FILE_LIMIT)
            documents.append(parse_metadata(data, now=now))
        except OSError as exc:
            raise DoctorUsageError(f"cannot read {path}: {exc.strerror or exc}") from None
        except MetadataError as exc:
            instead = _not_metadata(data, path)
            if instead is not None:
                raise DoctorUsageError(instead) from None
            raise DoctorUsageError(f"{exc.aws_message.rstrip('.')}: {visible(exc.reason)} (in {path})") from None
    return documents


def load_keys(paths: Sequence[Path]) -> list[SigningKey]:
    keys = []
    for path in paths:
        try:
            data = read_at_most(path)
            key = SigningKey.from_pem(data)
            _ = key.subject  # decoded lazily: an unreadable subject fails here, not in the middle of the report
        except OSError as exc:
            raise DoctorUsageError(f"cannot read {path}: {exc.strerror or exc}") from None
        except UNREADABLE_CERTIFICATE as exc:
            raise DoctorUsageError(f"{path} is not a PEM RSA certificate or public key: {_held_instead(data, path) or exc}") from None
        keys.append(key)
    return keys


_PEM_BEGIN = b"-----BEGIN "
_BLANKS = b" \t\r\n"


_Held = Literal["empty", "private key", "XML", "PEM", "DER certificate", "bare certificate", "other"]


def _held(data: bytes) -> _Held:
    """What a file given to --metadata or --cert holds, for the files administrators mix up: metadata, a private key,
    another PEM file (a certificate), a certificate exported as DER (as Windows exports .cer files) or its base64
    without the PEM lines (copied out of metadata). A PEM block need not start the file: openssl writes "Bag
    Attributes" or the subject before it."""
    text = data.removeprefix(_BOM).strip(_BLANKS)
    if not text:
        return "empty"
    if b"PRIVATE KEY-----" in text:
        return "private key"
    if text.startswith(b"<"):
        return "XML"
    if _PEM_BEGIN in text:
        return "PEM"
    # 0x30: DER's SEQUENCE, read as it is (stripping "blanks" would cut the signature's last bytes).
    der = data if data.startswith(b"\x30") else _decode_base64(text.decode("latin-1"))
    try:
        x509.load_der_x509_certificate(der or b"")
    except UNREADABLE_CERTIFICATE:
        return "other"
    return "DER certificate" if der is data else "bare certificate"


def _not_metadata(data: bytes, path: Path) -> str | None:
    """What a file given to --metadata is instead, and where it goes; None when it is no certificate or key file (the
    XML parser's error says more). A DER certificate (the .cer files Windows and AD FS export) read as XML got "not
    UTF-8 XML (it holds NUL bytes, as UTF-16 and UTF-32 documents do)", which sent the admin after an encoding."""
    match _held(data):
        case "empty":
            return f"{path} is empty: --metadata takes the IdP's metadata document (XML)"
        case "private key":
            return (f"{path} is a PEM file, not IdP metadata (XML): it holds a private key (the provider's private key, to "
                    "decrypt encrypted assertions, goes to --private-key)")
        case "PEM":
            return f"{path} is a PEM file, not IdP metadata (XML): give the IdP's signing certificate with --cert"
        case "DER certificate" | "bare certificate":
            return f"{path} is a certificate, not IdP metadata (XML): {_held_instead(data, path)}; then give that PEM file with --cert"
        case _:
            return None


def _held_instead(data: bytes, path: Path) -> str | None:
    """What a --cert file holds instead, and how to give it; None when it holds a PEM block whose own error says more."""
    match _held(data):
        case "empty":
            return "the file is empty"
        case "private key":
            return ("it holds a private key; --cert takes the IdP's signing certificate (the provider's private key, to decrypt "
                    "encrypted assertions, goes to --private-key)")
        case "XML":
            return "it is XML; give IdP metadata with --metadata"
        case "PEM":
            return None
        case "DER certificate":
            return f"it is a DER (binary) certificate; convert it to PEM: openssl x509 -inform DER -in {shlex.quote(str(path))} -out cert.pem"
        case "bare certificate":
            return "it is a certificate's base64 without its PEM lines; put it between -----BEGIN CERTIFICATE----- and -----END CERTIFICATE-----"
        case "other":
            return "it holds no PEM block (-----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----)"


def _no_private_key(data: bytes) -> str | None:
    """What a --private-key file holds instead of a private key, for the files administrators mix up; None when it
    holds one (encrypted, say) or nothing recognisable."""
    match _held(data):
        case "empty":
            return "the file is empty"
        case "XML":
            return "it is XML; give IdP metadata with --metadata"
        case "PEM":
            return "its PEM block is no private key (the IdP's signing certificate goes to --cert)"
        case "DER certificate" | "bare certificate":
            return "it is a certificate, not a private key (the IdP's signing certificate goes to --cert)"
        case _:
            return None


def load_private_keys(paths: Sequence[Path]) -> tuple[rsa.RSAPrivateKey, ...]:
    """The provider's private keys, to decrypt encrypted assertions as the server would with the uploaded ones."""
    keys = []
    for path in paths:
        try:
            data = read_at_most(path)
            keys.append(load_rsa_private_key(data))
        except OSError as exc:
            raise DoctorUsageError(f"cannot read {path}: {exc.strerror or exc}") from None
        except ValueError as exc:
            instead = _no_private_key(data)
            raise DoctorUsageError(f"{path}: {exc}" + (f": {instead}" if instead else "")) from None
    return tuple(keys)


NO_METADATA_WARNING = (
    "issuer not checked: no metadata given (the Response's own Issuer is taken as the entity ID, so only the "
    "Assertion's Issuer is compared with it)"
)


@dataclass(frozen=True)
class TrustChoice:
    trust: ProviderTrust
    registered: tuple[str, ...]
    """The entityIDs of every --metadata given."""
    warnings: tuple[str, ...]


def choose_trust(
    b64: str, metadata: Sequence[IdpMetadata], keys: Sequence[SigningKey], policy: ProviderPolicy,
    decryption_keys: tuple[rsa.RSAPrivateKey, ...] = (),
) -> TrustChoice:
    """The provider whose entityID is the response's Issuer (else the first), plus the --cert keys.

    With no metadata the entity ID is unknown, so the response's Issuer stands in for it (and is said so).
    """
    root = _unverified_root(b64)  # parsed once for both
    issuer, uuid = _issuer_of(root), _addressed_provider_uuid(root)
    if not metadata:
        trust = ProviderTrust(issuer or "", _unique(keys), policy, provider_uuid=uuid, decryption_keys=decryption_keys)
        return TrustChoice(trust, (), (NO_METADATA_WARNING,))
    chosen = next((m for m in metadata if m.entity_id == issuer), metadata[0])
    trust = ProviderTrust(chosen.entity_id, _unique([*chosen.signing_keys, *keys]), policy, provider_uuid=uuid, decryption_keys=decryption_keys)
    return TrustChoice(trust, tuple(m.entity_id for m in metadata), tuple(f"metadata: {w}" for w in chosen.warnings))


def _unique(keys: Sequence[SigningKey]) -> tuple[SigningKey, ...]:
    return tuple({k.thumbprint: k for k in keys}.values())


# --- diagnosis -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoleTrust:
    """The role's trust policy (and the provider's attribute mapping), to ask it what the server would ask."""

    policy: str
    """The trust policy document (JSON)."""
    source_ip: str | None = None
    """The client's address as the server sees it (aws:SourceIp); unknown to the doctor unless given."""
    secure_transport: bool | None = None
    """Whether the client used HTTPS (aws:SecureTransport); unknown unless given."""
    attribute_mapping: dict[str, list[str]] | None = None


@dataclass
class Diagnosis:
    valid: bool
    checks: list[CheckResult]
    choice: TrustChoice
    notes: list[str] = field(default_factory=list)
    """Doctor-side context for the failed check (registered entityIDs, KeyInfo vs registered keys)."""
    verified: VerifiedAssertion | None = None
    error: SamlValidationError | None = None
    xml: bytes | None = None
    trust: TrustReport | None = None
    """The role's trust checks on a valid response, when a role was named."""
    caveats: list[str] = field(default_factory=list)
    """What a VALID verdict does not cover: checks STS makes that were not made here, options it relied on."""
    aws_refusal: str | None = None
    """Why AWS would refuse a response samlfed accepts (a samlfed extension it relies on), or None."""
    input: bytes | None = None
    """The input as `examine` read it."""

    @property
    def refused_by_trust(self) -> str | None:
        """The trust check that refused a valid response (then `valid` is False and `error` None)."""
        return self.trust.refused if self.trust is not None else None


def diagnose(
    b64: str,
    choice: TrustChoice,
    *,
    now: datetime,
    settings: ValidationSettings,
    requested_role: RolePair | None = None,
    role_trust: RoleTrust | None = None,
    attribute_mapping: Mapping[str, list[str]] | None = None,
) -> Diagnosis:
    """The validator's verdict; with `role_trust` (and `requested_role`), then the trust policy's on a valid response.
    `attribute_mapping`: the provider's, for the session tags when no trust policy is checked (`role_trust` has its own)."""
    # A valid response's session tags are judged later, by the trust checks (`trust.session_tags`), as the server
    # logs them; the validator only notes their faults, for a response whose Role attribute fails too.
    mapping = role_trust.attribute_mapping if role_trust is not None else attribute_mapping
    tags_faults: list[SessionTagsRejected] = []
    tags_noted = noting_tag_faults(session_tags_check(mapping), tags_faults)
    try:
        verified = validate(b64, choice.trust, now=now, settings=settings, requested_role=requested_role, session_tags_check=tags_noted)
    except SamlValidationError as error:
        tags_first = tags_refused_first(error, tags_faults)
        return _failed(stopped_at(tags_first, error) if tags_first is not None else error, choice)
    if requested_role is None:
        unnamed = _provider_not_named(verified, choice.trust)
        if unnamed is not None:
            unnamed.document = _decode_base64(b64)
            return _failed(unnamed, choice)
    diagnosis = Diagnosis(
        True, list(verified.checks), choice, verified=verified, xml=_decode_base64(b64),
        aws_refusal=_aws_refusal(verified, requested_role),
    )
    if role_trust is not None and requested_role is not None:
        report: TrustReport | None = check_trust(
            verified, trust_policy=role_trust.policy, role_arn=requested_role.role_arn, principal_arn=requested_role.provider_arn,
            now=now, source_ip=role_trust.source_ip, secure_transport=role_trust.secure_transport,
            attribute_mapping=role_trust.attribute_mapping,
        )
    else:
        # No trust policy to ask, but STS refuses a role of another account than the provider's before reading one,
        # and session tags that break AWS's rules whatever the role.
        crossing = cross_account(requested_role.role_arn, requested_role.provider_arn) if requested_role is not None else None
        report = crossing or session_tags_refusal(verified, attribute_mapping)
    if report is not None:
        diagnosis.checks.extend(report.checks)
        diagnosis.notes.extend(report.notes)
        diagnosis.trust = report
        diagnosis.valid = report.refused is None
    return diagnosis


def _failed(error: SamlValidationError, choice: TrustChoice) -> Diagnosis:
    return Diagnosis(False, _corrected_hints(error, choice), choice, _failure_notes(error, choice), error=error, xml=error.document)


def _provider_not_named(verified: VerifiedAssertion, trust: ProviderTrust) -> SamlValidationError | None:
    """Checked against a registered provider without a requested role: a failure of aws.role when no Role pair names
    that provider. The server would refuse such a sign-in (AssumeRoleWithSAML with this PrincipalArn: AccessDenied;
    the console reads the provider from the pairs), though the validator, asked for no pair, accepts the response."""
    provider = trust.provider_arn
    if provider is None or any(pair.provider_arn == provider for pair in verified.claims.roles):
        return None
    named = sorted({pair.provider_arn for pair in verified.claims.roles})  # validate() passed: at least one pair
    error = SamlValidationError(
        "aws.role",
        f"no Role pair names the provider {provider}; the pairs name {', '.join(named)}",
        hint=(
            f"Make the IdP's Role attribute name {provider} (the provider ARN in each role,provider pair), or check the "
            f"response against the provider its pairs name (--principal-arn {named[0]})."
        ),
    )
    error.checks = [
        replace(r, status="fail", message=error.message, hint=error.hint) if r.id == "aws.role" else r for r in verified.checks
    ]
    return error


def _aws_refusal(verified: VerifiedAssertion, requested: RolePair | None) -> str | None:
    """Why AWS would refuse what samlfed accepts: semicolon-separated Role pairs in one value (contract §11), when the
    pair asked for (or, with none asked for, every pair) comes only from such values."""
    values = verified.response.attributes.get(c.AWS_ROLE, ())
    joined = [v for v in values if aws_claims.joined_pairs(v) is not None]
    if not joined:
        return None
    single = aws_claims.role_pairs(tuple(v for v in values if v not in joined))[0]
    if (requested in single) if requested is not None else bool(single):
        return None
    return (
        f"{len(joined)} Role value(s) hold several pairs separated by semicolons, and AWS reads exactly one "
        "role,provider pair per AttributeValue: give each pair its own AttributeValue"
    )


EARLIEST_NOW, LATEST_NOW = datetime.min.replace(year=2, tzinfo=UTC), datetime.max.replace(year=9998, tzinfo=UTC)
"""A year from the ends of Python's calendar: the checks add their time windows to `now` and subtract them from it."""


@dataclass(frozen=True)
class RegisteredProvider:
    """A SAML provider as the server has it registered: the doctor then checks against exactly what the server uses."""

    arn: str
    uuid: str
    metadata_document: str
    policy: ProviderPolicy
    """Its stored opt-ins (plus any the doctor is asked to try)."""
    decryption_keys: tuple[rsa.RSAPrivateKey, ...] = ()
    """Its uploaded private keys, opened with the master key."""
    encryption_required: bool = False
    attribute_mapping: dict[str, list[str]] | None = None
    """Its attribute mapping: the session tags STS adds from the response's attributes."""


def registered_choice(provider: RegisteredProvider, now: datetime) -> TrustChoice:
    try:
        metadata = parse_metadata(provider.metadata_document, now=now)
    except MetadataError as exc:  # stored metadata passed this parser when it was registered; a newer rule may differ
        raise DoctorUsageError(f"the registered metadata of {provider.arn} does not parse: {visible(exc.reason)}") from None
    trust = replace(
        metadata.trust(policy=provider.policy, provider_arn=provider.arn, provider_uuid=provider.uuid),
        decryption_keys=provider.decryption_keys, encryption_required=provider.encryption_required,
    )
    return TrustChoice(trust, (metadata.entity_id,), tuple(f"metadata: {w}" for w in metadata.warnings))


def examine(
    source: str,
    *,
    metadata: Sequence[Path],
    certs: Sequence[Path],
    now: datetime,
    policy: ProviderPolicy,
    settings: ValidationSettings,
    requested_role: RolePair | None = None,
    role_trust: RoleTrust | None = None,
    registered: RegisteredProvider | None = None,
    private_keys: Sequence[Path] = (),
    given: bytes | None = None,
) -> Diagnosis:
    """Everything `samlfed doctor` does short of printing; raises `DoctorUsageError` for exit code 2.

    `given`: the bytes of `source` as an earlier examination read them (`Diagnosis.input`), for another look at the
    same response: standard input can be read only once.

    With `registered`, the provider's registered metadata and opt-ins stand in for `metadata`, `certs` and `policy`."""
    if not EARLIEST_NOW <= now <= LATEST_NOW:
        raise DoctorUsageError(f"--now {xs_datetime_text(now)} is out of range: give an instant between the years 0002 and 9998")
    if registered is None and not metadata and not certs:
        raise DoctorUsageError(
            "give the IdP's metadata (--metadata FILE) or its signing certificate (--cert PEM), "
            "or --data-dir/--database-url with --principal-arn to check against a registered provider"
        )
    if registered is not None:
        data = read_source(source) if given is None else given
        b64, input_notes = read_input(data)
        choice = registered_choice(registered, now)
    else:
        documents = load_metadata(metadata, now=now)
        keys = load_keys(certs)
        decryption_keys = load_private_keys(private_keys)
        data = read_source(source) if given is None else given
        b64, input_notes = read_input(data)
        choice = choose_trust(b64, documents, keys, policy, decryption_keys)
    diagnosis = diagnose(b64, choice, now=now, settings=settings, requested_role=requested_role, role_trust=role_trust,
                         attribute_mapping=registered.attribute_mapping if registered is not None else None)
    diagnosis.notes[:0] = input_notes
    if (
        diagnosis.error is not None and diagnosis.error.check_id == "input.base64"
        and source == "-" and stdin_is_terminal() and cut_by_terminal(data)
    ):
        diagnosis.notes.append(CUT_BY_TERMINAL_NOTE)
    diagnosis.input = data
    return diagnosis


_ACS_FAILURES = ("is not an accepted ACS URL",)
_AUDIENCE_FAILURES = ("no accepted audience",)
"""The validator's messages for a value the accepted URLs decide (not a missing element): what --acs and --audience
can change."""


def trust_not_checked(diagnosis: Diagnosis, attribute_mapping: Mapping[str, list[str]] | None = None) -> str:
    """The note for a valid response whose role's trust policy was not checked: STS checks it next. `attribute_mapping`:
    the provider's, which adds session tags of its own."""
    verified = diagnosis.verified
    assert verified is not None
    needs = [f"its SAML:aud condition, if any, must accept the Recipient {verified.response.recipient}"] if verified.response.recipient else []
    tags = len(requested_tags(verified, attribute_mapping))  # well formed: else the response was refused
    if tags:
        needs.append(f"it must allow sts:TagSession for the {tags} session tag{'s' if tags > 1 else ''}")
    if verified.claims.source_identity is not None:
        needs.append("it must allow sts:SetSourceIdentity for the SourceIdentity")
    detail = f" ({'; '.join(needs)})" if needs else ""
    return (f"not checked: the role's trust policy{detail}, which STS evaluates next; give --role-arn, --principal-arn and "
            "--trust-policy FILE, or --data-dir with --principal-arn and --role-arn")


def uuid_not_checked(diagnosis: Diagnosis) -> str | None:
    """The caveat for a valid response addressed to a per-provider ACS URL whose UUID the doctor took from the
    response itself (`_addressed_provider_uuid`), or None when it was not relied on."""
    uuid = diagnosis.choice.trust.provider_uuid
    if not diagnosis.valid or uuid is None:
        return None
    return (f"not checked: that {uuid}, which the response's ACS URL (…/saml/acs/{uuid}) names, is the provider's SAMLProviderUUID "
            "(aws iam get-saml-provider shows it): STS accepts that URL only for that provider; --data-dir with --principal-arn checks it")


def was_decrypted(diagnosis: Diagnosis) -> bool:
    """Whether the response's assertion was encrypted and decrypted."""
    return any(check.id == "encryption.decrypt" and check.status == "pass" for check in diagnosis.checks)


def add_url_option_hints(diagnosis: Diagnosis, *, acs_given: bool, audience_given: bool) -> None:
    """Standalone mode knows only AWS's URLs and those given: a response for another service provider (a samlfed
    server's own /saml, say) fails there, and the fix may be to tell the doctor that URL rather than to change the IdP."""
    error = diagnosis.error
    if error is None:
        return
    extra = None
    if error.check_id in ("destination", "subject_confirmation") and not acs_given and any(f in error.message for f in _ACS_FAILURES):
        extra = ("The doctor accepts only AWS's ACS URLs unless told more: if the response is meant for another service "
                 "provider (such as a samlfed server's own /saml URL), give that URL with --acs URL.")
    elif error.check_id == "audience" and not audience_given and any(f in error.message for f in _AUDIENCE_FAILURES):
        extra = ("The doctor accepts only AWS's audiences unless told more: if the response is meant for another service "
                 "provider (such as a samlfed server's own entity ID), give that audience with --audience URI.")
    if extra is not None:
        diagnosis.checks = [
            replace(r, hint=f"{r.hint} {extra}" if r.hint else extra) if r.status == "fail" and r.id == error.check_id else r
            for r in diagnosis.checks
        ]


def _failure_notes(error: SamlValidationError, choice: TrustChoice) -> list[str]:
    if _foreign_issuer_refused(error) and len(choice.registered) > 1:
        return [f"registered entityIDs: {', '.join(choice.registered)}; none is the response's Issuer"]
    if error.check_id == "signature.verify":
        foreign = _foreign_issuer(error.document, choice)
        notes = [_foreign_issuer_note(foreign, choice.trust.entity_id)] if foreign is not None else []
        return notes + _keyinfo_notes(error.document, choice.trust, rotation=foreign is None)
    if error.check_id == "shape.assertion" and error.aws == ENCRYPTION_NOT_ENABLED and not choice.trust.decryption_keys:
        if choice.trust.provider_arn is not None:  # the registered provider: the server's keys are the doctor's
            return [f"the assertion is encrypted: upload the provider's private key (samlfed providers private-keys add "
                    f"{choice.trust.provider_arn} KEY.pem); the doctor then decrypts with it as the server does"]
        return ["the assertion is encrypted: give the doctor the provider's private key with --private-key PEM"]
    if error.check_id in _AWS_ATTRIBUTES:
        return _misnamed_attribute(error.document, _AWS_ATTRIBUTES[error.check_id])
    if error.check_id == "xml.parse" and _is_deflated_xml(error.document):
        return ["the input's base64 decodes to raw DEFLATE data that inflates to XML: an HTTP-Redirect binding message"]
    return []


def _foreign_issuer_refused(error: SamlValidationError) -> bool:
    """Whether the issuer check refused an Issuer that is not the provider's, as opposed to a malformed document it
    found (two Issuers: 'Response signature invalid'), which the advice about entityIDs does not fit."""
    return error.check_id == "issuer" and error.aws == CHECKS["issuer"].aws


_AWS_ATTRIBUTES = {"aws.role": c.AWS_ROLE, "aws.role_session_name": c.AWS_ROLE_SESSION_NAME}


def _misnamed_attribute(xml: bytes | None, expected: str) -> list[str]:
    """A note when no attribute has the name AWS reads but one comes close (another case, or only its last part):
    the values are then not the problem, the claim's name is. Read from the posted, unverified document."""
    root = parse_or_none(xml)
    if root is None:
        return []
    names = [str(attribute.get("Name", "")) for attribute in root.iter(c.ATTRIBUTE)]
    if expected in names:
        return []
    short = expected.rsplit("/", 1)[-1].lower()
    close = [n for n in names if n.lower() == expected.lower() or n.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1].lower() == short]
    if not close:
        return []
    return [f"no attribute is named exactly {expected}, but the response has {', '.join(map(repr, close))}: attribute names "
            "are case-sensitive full URIs; rename that claim at the IdP"]


CHANGED_AFTER_SIGNING_HINT = (
    "The response's KeyInfo names a registered key, which was tried: this is no certificate rotation. The response was "
    "changed after it was signed (by a proxy, an editor or a forger); capture it again, unmodified."
)
DEFLATED_HINT = (
    "This SAMLResponse is deflated, as the HTTP-Redirect binding sends it; AWS's sign-in endpoints accept only the "
    "HTTP-POST binding (the base64 of the XML itself), and so does samlfed. Set the IdP application's response (ACS) "
    "binding to HTTP-POST, then capture the SAMLResponse field of the form the browser posts to the ACS URL (developer "
    "tools, Network, the POST request's form data)."
)


def _corrected_hints(error: SamlValidationError, choice: TrustChoice) -> list[CheckResult]:
    """The validator's checks, with the failed check's hint replaced where the doctor knows better: the response is
    another IdP's or was changed after signing (not a rotation), the Issuers differ where no metadata was given, or
    the input is a deflated Redirect-binding message."""
    hint = _better_hint(error, choice)
    if hint is None:
        return error.checks
    return [replace(r, hint=hint) if r.status == "fail" else r for r in error.checks]


def _better_hint(error: SamlValidationError, choice: TrustChoice) -> str | None:
    trust = choice.trust
    if error.check_id == "signature.verify":
        foreign = _foreign_issuer(error.document, choice)
        if foreign is not None:
            return (
                f"The response's Issuer {foreign!r} is not the entityID {trust.entity_id!r} of the metadata it was checked "
                "against: this is another IdP's metadata, not a certificate rotation. Check (or register) the response "
                "against the metadata of the IdP that sent it."
            )
        return CHANGED_AFTER_SIGNING_HINT if _keyinfo_names_a_tried_key(error.document, trust) else None
    if error.check_id == "issuer" and not choice.registered:
        response, assertion = _unsigned_issuers(error.document)
        if response is not None and assertion is not None and response != assertion:
            return (
                f"The Response's Issuer {response!r} and the Assertion's Issuer {assertion!r} differ: AWS requires both to "
                "be the provider's entityID. Make the IdP send the same entity ID in both."
            )
    if error.check_id == "xml.parse" and _is_deflated_xml(error.document):
        return DEFLATED_HINT
    if error.check_id == "encryption.decrypt" and error.message.startswith(UNSIGNED_DECLARATIONS):
        # The console's hint for this check is one text for every failure (no decryption oracle); offline, the
        # doctor may say what is wrong with the plaintext.
        return (
            "The IdP encrypted an unsigned Assertion that uses prefixes declared only on the Response, outside what the "
            "Response's signature covers. Have it declare them on the Assertion itself (pysaml2: "
            "encrypt_assertion_self_contained), or sign the Assertion before encrypting it."
        )
    return None


def _unsigned_issuers(xml: bytes | None) -> tuple[str | None, str | None]:
    """The Response's and the Assertion's Issuer as posted, unverified: context for a hint, never for a verdict."""
    root = parse_or_none(xml)
    if root is None:
        return None, None
    return root.findtext(c.ISSUER), root.findtext(f"{c.ASSERTION}/{c.ISSUER}")


def _foreign_issuer(xml: bytes | None, choice: TrustChoice) -> str | None:
    """The response's (unsigned) Issuer when metadata was given and its entityID is another: then a signature that
    does not verify means the wrong metadata, not a rotation."""
    if not choice.registered:  # --cert alone: the Issuer stands in for the entity ID
        return None
    return next((i for i in _unsigned_issuers(xml) if i is not None and i != choice.trust.entity_id), None)


def _foreign_issuer_note(issuer: str, entity_id: str) -> str:
    return (
        f"the response's Issuer {issuer!r} (unsigned, read for context only) is not the metadata's entityID {entity_id!r}: "
        "the response most likely comes from another IdP than this metadata describes"
    )


_DEFLATE_PEEK = 64
"""Bytes inflated to recognise XML: a bound, so that a decompression bomb costs nothing."""


def _is_deflated_xml(data: bytes | None) -> bool:
    """Whether `data` is raw DEFLATE (RFC 1951, as the HTTP-Redirect binding sends) of something that starts like XML."""
    if not data:
        return False
    try:
        head = zlib.decompressobj(wbits=-15).decompress(data, _DEFLATE_PEEK)
    except zlib.error:
        return False
    return head.lstrip().startswith(b"<")


def _tried(key: SigningKey, trust: ProviderTrust) -> bool:
    """Whether the validator tries `key`: keys under the policy's minimum size never verify anything."""
    return key.key_size >= trust.policy.min_rsa_bits


def _keyinfo_names_a_tried_key(xml: bytes | None, trust: ProviderTrust) -> bool:
    """Whether a KeyInfo certificate holds a registered key big enough to have been tried (context for the hint only:
    the verdict never depends on KeyInfo)."""
    root = parse_or_none(xml)
    if root is None:
        return False
    tried = {_spki(k.public_key) for k in trust.signing_keys if _tried(k, trust)}
    certificates = (_keyinfo_certificate(element.text or "") for element in root.iter(c.DS_X509_CERTIFICATE))
    return any(certificate is not None and certificate[2] in tried for certificate in certificates)


def _spki(key: CertificatePublicKeyTypes) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _keyinfo_notes(xml: bytes | None, trust: ProviderTrust, *, rotation: bool = True) -> list[str]:
    """The KeyInfo certificates next to the registered keys. Informational only: KeyInfo is never trusted.

    Only a key that was tried can show that the response changed after signing; a registered key under the policy's
    minimum size was never tried. `rotation`: whether an unregistered KeyInfo certificate may mean a rotation (not when
    the response is another IdP's)."""
    root = parse_or_none(xml)
    if root is None:
        return []
    minimum = trust.policy.min_rsa_bits
    notes = [
        f"registered signing key sha256:{k.thumbprint}{_sha1_named(k.certificate)} ({k.subject}{_validity(k.not_valid_before, k.not_valid_after)})"
        + ("" if _tried(k, trust) else f", {k.key_size}-bit: not tried, under the {minimum} bits the provider's policy requires")
        for k in trust.signing_keys
    ]
    # Each certificate once: the Response's and the Assertion's signatures usually carry the same one.
    certificates = list(dict.fromkeys((element.text or "").strip() for element in root.iter(c.DS_X509_CERTIFICATE)))
    if not certificates:
        notes.append("the response's KeyInfo carries no certificate to compare with the registered keys")
    registered = {_spki(k.public_key): k for k in trust.signing_keys}
    notes.extend(dict.fromkeys(_describe_keyinfo(text, registered, trust, rotation=rotation) for text in certificates))
    return notes


def sha1_thumbprint(der: bytes) -> str:
    """A DER certificate's SHA-1 thumbprint as IdP consoles list signing certificates (ADFS and Entra ID "Thumbprint",
    Okta "SHA-1 fingerprint"): 40 uppercase hex digits, no colons. Shown only so that an admin can find the certificate
    in the console: SHA-1 collisions can be made, so nothing is ever trusted or matched by it (the validator compares
    the keys themselves)."""
    return hashlib.sha1(der, usedforsecurity=False).hexdigest().upper()


def certificate_sha1(certificate: x509.Certificate) -> str:
    """sha1_thumbprint of a parsed certificate (a registered key's)."""
    return sha1_thumbprint(certificate.public_bytes(serialization.Encoding.DER))


def _sha1_named(certificate: x509.Certificate | None) -> str:
    """", SHA-1 thumbprint …" after a registered key's SHA-256; empty for a bare public key, which no console lists."""
    return "" if certificate is None else f", SHA-1 thumbprint {certificate_sha1(certificate)}"


def _validity(not_before: datetime | None, not_after: datetime | None) -> str:
    """A certificate's validity period, as IdP consoles list signing certificates: after a rotation the old and the
    new one often have the same subject, and their dates tell them apart. Empty for a bare public key."""
    if not_before is None or not_after is None:
        return ""
    return f", valid {not_before:%Y-%m-%d} to {not_after:%Y-%m-%d}"


def _keyinfo_certificate(text: str) -> tuple[bytes, str, bytes] | None:
    """(DER, subject and validity, SubjectPublicKeyInfo) of a KeyInfo certificate, or None if it cannot be read."""
    try:
        der = strict_b64decode(text)
        certificate = x509.load_der_x509_certificate(der)
        # The subject and the key are decoded lazily: read both here, where a hostile certificate is expected.
        described = certificate.subject.rfc4514_string() + _validity(certificate.not_valid_before_utc, certificate.not_valid_after_utc)
        return der, described, _spki(certificate.public_key())
    except UNREADABLE_CERTIFICATE:
        return None


def _describe_keyinfo(text: str, registered: dict[bytes, SigningKey], trust: ProviderTrust, *, rotation: bool) -> str:
    certificate = _keyinfo_certificate(text)
    if certificate is None:
        return "the response's KeyInfo holds a certificate that cannot be read"
    der, described, spki = certificate
    named = (
        "the response's KeyInfo (compared only, never trusted) names certificate "
        f"sha256:{hashlib.sha256(der).hexdigest()}, SHA-1 thumbprint {sha1_thumbprint(der)} ({described})"
    )
    key = registered.get(spki)
    if key is not None and _tried(key, trust):
        return f"{named}, which holds a registered key that was tried: the response was most likely changed after it was signed"
    if key is not None:
        return (
            f"{named}, which holds a registered {key.key_size}-bit key, too small to be tried under the provider's policy "
            f"(at least {trust.policy.min_rsa_bits} bits): rotate the IdP to an RSA-2048 key, or enable the provider's "
            "legacy-algorithms opt-in"
        )
    if not rotation:
        return f"{named}, which is NOT registered"
    return f"{named}, which is NOT registered: if the IdP rotated its signing certificate, register its new metadata"
