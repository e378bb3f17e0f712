"""`samlfed doctor`: run the validator on a captured SAML response and explain the verdict to a human.

The logic (read and decode the input, choose the provider, validate, collect facts) comes first and returns a
`Diagnosis`; rendering (text with rich, or one JSON object) only reads it, so both views say the same thing.
The doctor adds context but never trust: the verdict is the validator's, and KeyInfo is only ever compared.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import hashlib
import json
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from lxml import etree
from rich.console import Console
from rich.markup import escape
from rich.syntax import Syntax

from .doctor_trust import CHECK_IDS as TRUST_CHECK_IDS
from .doctor_trust import check_trust
from .saml import (
    CHECK_ORDER,
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
    validate,
    xmlenc,
)
from .saml import constants as c
from .saml.checks import ENCRYPTION_NOT_ENABLED, NOT_AUTHORIZED
from .saml.metadata import IdpMetadata, parse_metadata
from .saml.model import load_rsa_private_key
from .saml.xmlparse import XmlRejected, parse_xml


class DoctorUsageError(ValueError):
    """Options or input the doctor cannot work with (exit code 2), as opposed to an invalid response (exit 1)."""


# --- input ---------------------------------------------------------------------------------------------

_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_FORM_FIELD = re.compile(rb"(?:^|[&?])SAMLResponse=([^&]*)")
_MAX_LAYERS = 4
"""Form field and URL-encodings unwrapped at most: genuine captures need two, hostile nesting would need thousands."""


def read_source(source: str) -> bytes:
    """The bytes of FILE, or of standard input for '-' (bytes, so that raw XML reaches the validator unchanged)."""
    if not source:  # Path("") is the current directory
        raise DoctorUsageError("no FILE given: name a file, or '-' for standard input")
    try:
        return sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as exc:
        raise DoctorUsageError(f"cannot read {source}: {exc.strerror or exc}") from None


def decode_input(data: bytes) -> str:
    """The base64 SAMLResponse in `data`: base64 as posted, raw XML, a form body / pasted `SAMLResponse=...`, or a
    URL-encoded value; in UTF-8, or in UTF-16 with its byte order mark."""
    text = _utf16_as_utf8(data)
    for _ in range(_MAX_LAYERS):
        text = text.removeprefix(_BOM).strip()
        if not text:
            raise DoctorUsageError("the input is empty")
        if text.startswith(b"<"):
            # Raw XML: encode it as the IdP would have posted it, so the validator sees exactly these bytes.
            return base64.b64encode(text).decode()
        unwrapped = _unwrap(text)
        if unwrapped is None:
            break
        text = unwrapped
    # Anything else is handed over as base64; the validator's input checks say precisely what is wrong with it.
    return text.decode("latin-1")


def _unwrap(text: bytes) -> bytes | None:
    """The SAMLResponse field of a form body, or a URL-encoded value decoded; None when `text` is neither."""
    match = _FORM_FIELD.search(text)
    if match:
        # Percent-decoding only: a '+' stays a '+', since pasted base64 often is not URL-encoded at all.
        value = unquote_to_bytes(match.group(1))
        if not value.strip():
            raise DoctorUsageError("the SAMLResponse form field is empty")
        return value
    unquoted = unquote_to_bytes(text)
    return unquoted if unquoted != text else None  # a URL-encoded value without its field name (base64 has no '%')


def _utf16_as_utf8(data: bytes) -> bytes:
    """A UTF-16 text file with its byte order mark (Windows PowerShell's `>` writes one) as UTF-8; else `data`."""
    if not data.startswith(_UTF16_BOMS):
        return data
    try:
        return data.decode("utf-16").encode()
    except UnicodeDecodeError:
        return data  # handed over as it is: the validator's input checks say what is wrong with it


def _decode_base64(b64: str) -> bytes | None:
    try:
        return binascii.a2b_base64("".join(b64.split()).encode("latin-1"), strict_mode=True)
    except (binascii.Error, ValueError):
        return None


def _parse_or_none(xml: bytes | None) -> etree._Element | None:
    if not xml:
        return None
    try:
        return parse_xml(xml)
    except XmlRejected:
        return None


def response_issuer(b64: str) -> str | None:
    """The response's (unsigned) Issuer, only used to choose among the given providers."""
    if len(b64) > MAX_INPUT_CHARS:  # the validator refuses it unread: so must this, or any size gets parsed
        return None
    root = _parse_or_none(_decode_base64(b64))
    if root is None:
        return None
    return root.findtext(c.ISSUER) or root.findtext(f"{c.ASSERTION}/{c.ISSUER}")


# --- trust ---------------------------------------------------------------------------------------------


def load_metadata(paths: Sequence[Path], *, now: datetime) -> list[IdpMetadata]:
    documents = []
    for path in paths:
        try:
            documents.append(parse_metadata(path.read_bytes(), now=now))
        except OSError as exc:
            raise DoctorUsageError(f"cannot read {path}: {exc.strerror or exc}") from None
        except MetadataError as exc:
            raise DoctorUsageError(f"{MetadataError.aws_message}: {_visible(exc.reason)} (in {path})") from None
    return documents


def load_keys(paths: Sequence[Path]) -> list[SigningKey]:
    keys = []
    for path in paths:
        try:
            key = SigningKey.from_pem(path.read_bytes())
            _ = key.subject  # decoded lazily: an unreadable subject fails here, not in the middle of the report
        except OSError as exc:
            raise DoctorUsageError(f"cannot read {path}: {exc.strerror or exc}") from None
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise DoctorUsageError(f"{path} is not a PEM RSA certificate or public key: {exc}") from None
        keys.append(key)
    return keys


def load_private_keys(paths: Sequence[Path]) -> tuple[rsa.RSAPrivateKey, ...]:
    """The provider's private keys, to decrypt encrypted assertions as the server would with the uploaded ones."""
    keys = []
    for path in paths:
        try:
            keys.append(load_rsa_private_key(path.read_bytes()))
        except OSError as exc:
            raise DoctorUsageError(f"cannot read {path}: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise DoctorUsageError(f"{path}: {exc}") from None
    return tuple(keys)


NO_METADATA_WARNING = "issuer not checked: no metadata given (the response's own Issuer is taken as the entity ID)"


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
    issuer = response_issuer(b64)
    if not metadata:
        trust = ProviderTrust(issuer or "", _unique(keys), policy, decryption_keys=decryption_keys)
        return TrustChoice(trust, (), (NO_METADATA_WARNING,))
    chosen = next((m for m in metadata if m.entity_id == issuer), metadata[0])
    trust = ProviderTrust(chosen.entity_id, _unique([*chosen.signing_keys, *keys]), policy, decryption_keys=decryption_keys)
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
    refused_by_trust: str | None = None
    """The trust check that refused a valid response (then `valid` is False and `error` None)."""


def diagnose(
    b64: str,
    choice: TrustChoice,
    *,
    now: datetime,
    settings: ValidationSettings,
    requested_role: RolePair | None = None,
    role_trust: RoleTrust | None = None,
) -> Diagnosis:
    """The validator's verdict; with `role_trust` (and `requested_role`), then the trust policy's on a valid response."""
    try:
        verified = validate(b64, choice.trust, now=now, settings=settings, requested_role=requested_role)
    except SamlValidationError as error:
        checks = _corrected_hints(error, choice.trust)
        return Diagnosis(False, checks, choice, _failure_notes(error, choice), error=error, xml=error.document)
    diagnosis = Diagnosis(True, list(verified.checks), choice, verified=verified, xml=_decode_base64(b64))
    if role_trust is not None and requested_role is not None:
        report = check_trust(
            verified, trust_policy=role_trust.policy, role_arn=requested_role.role_arn, principal_arn=requested_role.provider_arn,
            now=now, source_ip=role_trust.source_ip, secure_transport=role_trust.secure_transport,
            attribute_mapping=role_trust.attribute_mapping,
        )
        diagnosis.checks.extend(report.checks)
        diagnosis.notes.extend(report.notes)
        diagnosis.refused_by_trust = report.refused
        diagnosis.valid = report.refused is None
    return diagnosis


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


def registered_choice(provider: RegisteredProvider, now: datetime) -> TrustChoice:
    try:
        metadata = parse_metadata(provider.metadata_document, now=now)
    except MetadataError as exc:  # stored metadata passed this parser when it was registered; a newer rule may differ
        raise DoctorUsageError(f"the registered metadata of {provider.arn} does not parse: {_visible(exc.reason)}") from None
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
) -> Diagnosis:
    """Everything `samlfed doctor` does short of printing; raises `DoctorUsageError` for exit code 2.

    With `registered`, the provider's registered metadata and opt-ins stand in for `metadata`, `certs` and `policy`."""
    if not EARLIEST_NOW <= now <= LATEST_NOW:
        raise DoctorUsageError(f"--now {_iso(now)} is out of range: give an instant between the years 0002 and 9998")
    if registered is None and not metadata and not certs:
        raise DoctorUsageError("give the IdP's metadata (--metadata FILE) or its signing certificate (--cert PEM)")
    if registered is not None:
        b64 = decode_input(read_source(source))
        choice = registered_choice(registered, now)
    else:
        documents = load_metadata(metadata, now=now)
        keys = load_keys(certs)
        decryption_keys = load_private_keys(private_keys)
        b64 = decode_input(read_source(source))
        choice = choose_trust(b64, documents, keys, policy, decryption_keys)
    return diagnose(b64, choice, now=now, settings=settings, requested_role=requested_role, role_trust=role_trust)


def _failure_notes(error: SamlValidationError, choice: TrustChoice) -> list[str]:
    if error.check_id == "issuer" and len(choice.registered) > 1:
        return [f"registered entityIDs: {', '.join(choice.registered)}; none is the response's Issuer"]
    if error.check_id == "signature.verify":
        return _keyinfo_notes(error.document, choice.trust)
    if error.check_id == "shape.assertion" and error.aws == ENCRYPTION_NOT_ENABLED and not choice.trust.decryption_keys:
        return ["the assertion is encrypted: give the doctor the provider's private key with --private-key PEM"]
    return []


CHANGED_AFTER_SIGNING_HINT = (
    "The response's KeyInfo names a registered key, which was tried: this is no certificate rotation. The response was "
    "changed after it was signed (by a proxy, an editor or a forger); capture it again, unmodified."
)


def _corrected_hints(error: SamlValidationError, trust: ProviderTrust) -> list[CheckResult]:
    """The validator's checks, with the failed signature's rotation hint replaced where KeyInfo shows it is wrong."""
    if error.check_id != "signature.verify" or not _keyinfo_names_a_tried_key(error.document, trust):
        return error.checks
    return [replace(r, hint=CHANGED_AFTER_SIGNING_HINT) if r.status == "fail" else r for r in error.checks]


def _keyinfo_names_a_tried_key(xml: bytes | None, trust: ProviderTrust) -> bool:
    """Whether a KeyInfo certificate holds a registered key big enough to have been tried (context for the hint only:
    the verdict never depends on KeyInfo)."""
    root = _parse_or_none(xml)
    if root is None:
        return False
    tried = {_spki(k.public_key) for k in trust.signing_keys if k.key_size >= trust.policy.min_rsa_bits}
    certificates = (_keyinfo_certificate(element.text or "") for element in root.iter(c.DS_X509_CERTIFICATE))
    return any(certificate is not None and certificate[2] in tried for certificate in certificates)


def _spki(key: CertificatePublicKeyTypes) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _keyinfo_notes(xml: bytes | None, trust: ProviderTrust) -> list[str]:
    """The KeyInfo certificates next to the registered keys. Informational only: KeyInfo is never trusted."""
    root = _parse_or_none(xml)
    if root is None:
        return []
    notes = [f"registered signing key sha256:{k.thumbprint} ({k.subject})" for k in trust.signing_keys]
    certificates = list(root.iter(c.DS_X509_CERTIFICATE))
    if not certificates:
        notes.append("the response's KeyInfo carries no certificate to compare with the registered keys")
    registered = {_spki(k.public_key) for k in trust.signing_keys}
    notes.extend(_describe_keyinfo(element.text or "", registered) for element in certificates)
    return notes


def _keyinfo_certificate(text: str) -> tuple[bytes, str, bytes] | None:
    """(DER, subject, SubjectPublicKeyInfo) of a KeyInfo certificate, or None if it cannot be read."""
    try:
        der = base64.b64decode("".join(text.split()), validate=True)
        certificate = x509.load_der_x509_certificate(der)
        # The subject and the key are decoded lazily: read both here, where a hostile certificate is expected.
        return der, certificate.subject.rfc4514_string(), _spki(certificate.public_key())
    except (ValueError, UnsupportedAlgorithm):
        return None


def _describe_keyinfo(text: str, registered: set[bytes]) -> str:
    certificate = _keyinfo_certificate(text)
    if certificate is None:
        return "the response's KeyInfo holds a certificate that cannot be read"
    der, subject, spki = certificate
    named = f"the response's KeyInfo (compared only, never trusted) names certificate sha256:{hashlib.sha256(der).hexdigest()} ({subject})"
    if spki in registered:
        return f"{named}, which holds a registered key: the response was most likely changed after it was signed"
    return f"{named}, which is NOT registered: if the IdP rotated its signing certificate, register its new metadata"


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.isoformat(timespec="milliseconds" if moment.microsecond else "seconds").replace("+00:00", "Z")


def assertion_facts(verified: VerifiedAssertion) -> dict[str, object]:
    """The verified facts, JSON-ready (ISO 8601 Z timestamps)."""
    r, claims = verified.response, verified.claims
    return {
        "issuer": r.issuer,
        "name_id": r.name_id,
        "name_id_format": r.name_id_format,
        "subject_type": r.subject_type,
        "assertion_id": r.assertion_id,
        "issue_instant": _iso(r.issue_instant),
        "not_on_or_after": _iso(r.not_on_or_after),
        "redeem_by": _iso(r.redeem_by),
        "session_not_on_or_after": _iso(r.session_not_on_or_after),
        "recipient": r.recipient,
        "audiences": list(r.audiences),
        "roles": [{"role_arn": p.role_arn, "provider_arn": p.provider_arn} for p in claims.roles],
        "role_session_name": claims.role_session_name,
        "session_duration": claims.session_duration,
        "source_identity": claims.source_identity,
        "principal_tags": claims.principal_tags,
        "transitive_tag_keys": list(claims.transitive_tag_keys),
        "attributes": {k: list(v) for k, v in r.attributes.items()},
        "signed": r.signed,
        "key_thumbprint": r.key_thumbprint,
        "warnings": list(verified.warnings),
    }


# --- rendering -----------------------------------------------------------------------------------------


def to_json(diagnosis: Diagnosis) -> str:
    document = {
        "valid": diagnosis.valid,
        "checks": [{"id": r.id, "status": r.status, "message": r.message, "hint": r.hint} for r in diagnosis.checks],
        "assertion": assertion_facts(diagnosis.verified) if diagnosis.verified else None,
        "error": _error_json(diagnosis),
        "provider": diagnosis.choice.trust.entity_id,
        "warnings": list(diagnosis.choice.warnings),
        "notes": diagnosis.notes,
    }
    return _visible(json.dumps(document, indent=2, ensure_ascii=False))


def _error_json(diagnosis: Diagnosis) -> dict[str, object] | None:
    error = diagnosis.error
    if error is not None:
        return {"check": error.check_id, "code": error.aws.code, "status": error.aws.status, "message": error.aws.message}
    if diagnosis.refused_by_trust is not None:
        return {"check": diagnosis.refused_by_trust, "code": NOT_AUTHORIZED.code, "status": NOT_AUTHORIZED.status, "message": NOT_AUTHORIZED.message}
    return None


_STYLE = {"pass": "green", "fail": "bold red", "warn": "yellow", "skip": "dim"}
_ID_WIDTH = max(len(check_id) for check_id in (*CHECK_ORDER, *TRUST_CHECK_IDS.values()))


_INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
"""Control characters (C0 but tab and newline, DEL, C1) and bidirectional overrides: XML allows most of them."""


def _visible(text: str) -> str:
    """`text` with its invisible characters as \\uXXXX escapes: a hostile document must not drive the terminal
    (an 8-bit CSI can move the cursor and rewrite the verdict). In JSON text, the escape is the same string."""
    return _INVISIBLE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def _printer(console: Console) -> Callable[..., None]:
    """`console.print` for document values: visible characters only, no highlighting, and no emoji codes
    (':thumbs_up:' stays as written)."""

    def out(*objects: object, **options: Any) -> None:
        console.print(*(_visible(o) if isinstance(o, str) else o for o in objects), highlight=False, emoji=False, **options)

    return out


def render_text(diagnosis: Diagnosis, console: Console) -> None:
    """Checks in order, context, verdict, verified facts, then the decoded response (colour only on a terminal)."""
    out = _printer(console)
    trust = diagnosis.choice.trust
    out(f"provider {escape(trust.entity_id)} ({len(trust.signing_keys)} signing key(s))")
    for warning in diagnosis.choice.warnings:
        out(f"[yellow]warning:[/] {escape(warning)}")
    out()
    for result in diagnosis.checks:
        out(f"[{_STYLE[result.status]}]{result.status.upper():4}[/] {result.id:{_ID_WIDTH}} {escape(result.message)}")
        if result.hint and result.status in ("fail", "warn"):
            out(f"     {'':{_ID_WIDTH}} [cyan]fix:[/] {escape(result.hint)}")
    for note in diagnosis.notes:
        out(f"[yellow]note:[/] {escape(note)}")
    out()
    _render_verdict(diagnosis, out)
    decrypted = decrypted_view(diagnosis.xml, trust)
    pretty = pretty_xml(decrypted or diagnosis.xml)
    if pretty:
        out()
        out("Decoded response, its EncryptedAssertion shown decrypted:" if decrypted else "Decoded response:")
        out(Syntax(_visible(pretty), "xml", theme="ansi_dark", word_wrap=True) if console.is_terminal else pretty, markup=False)


def _render_verdict(diagnosis: Diagnosis, out: Callable[..., None]) -> None:
    if diagnosis.refused_by_trust is not None:
        out(f"[bold red]REFUSED[/] by the role's trust policy at {diagnosis.refused_by_trust}: the response is valid, but STS answers "
            f"{NOT_AUTHORIZED.code} ({NOT_AUTHORIZED.status}) {escape(repr(NOT_AUTHORIZED.message))}")
        return
    if diagnosis.verified is not None:
        trusted = " and the role's trust policy admits it" if any(r.id in TRUST_CHECK_IDS.values() for r in diagnosis.checks) else ""
        out(f"[bold green]VALID[/]: AWS would accept this response{trusted}.")
        for name, value in assertion_facts(diagnosis.verified).items():
            if value not in (None, [], {}) and name != "attributes":
                out(f"  {name:24} {escape(_fact_text(value))}")
        return
    error = diagnosis.error
    assert error is not None
    out(f"[bold red]INVALID[/] at {error.check_id}: STS answers {error.aws.code} ({error.aws.status}) {escape(repr(error.aws.message))}")


def _fact_text(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, list):
        return "; ".join(f"{v['role_arn']} via {v['provider_arn']}" if isinstance(v, dict) else str(v) for v in value)
    return str(value)


def decrypted_view(xml: bytes | None, trust: ProviderTrust) -> bytes | None:
    """For reading only: the response with its EncryptedAssertion replaced by the Assertion decrypted with the
    keys the doctor was given; None when there is none, or it does not decrypt to one element."""
    root = _parse_or_none(xml)
    encrypted = root.find(c.ENCRYPTED_ASSERTION) if root is not None and trust.decryption_keys else None
    if encrypted is None:
        return None
    try:
        plaintext = xmlenc.decrypt_assertion(encrypted, trust.decryption_keys)
        wrapper = parse_xml(xmlenc.plaintext_in_context(plaintext, encrypted))
    except (SamlValidationError, XmlRejected):
        return None
    if len(wrapper) != 1:
        return None
    root.replace(encrypted, wrapper[0])
    return etree.tostring(root)


def pretty_xml(xml: bytes | None) -> str | None:
    """The document re-indented for reading, or None if it does not pass the hardened parser."""
    root = _parse_or_none(xml)
    if root is None:
        return None
    for element in root.iter():
        # Drop the document's own layout so that indent() lays it out afresh; text content is kept.
        if len(element) and not (element.text or "").strip():
            element.text = None
        if not (element.tail or "").strip():
            element.tail = None
    etree.indent(root)
    return etree.tostring(root, encoding="unicode")
