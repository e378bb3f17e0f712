"""`samlfed doctor`: run the validator on a captured SAML response and explain the verdict to a human.

The logic (read and decode the input, choose the provider, validate, collect facts) comes first and returns a
`Diagnosis`; rendering (text with rich, or one JSON object) only reads it, so both views say the same thing.
The doctor adds context but never trust: the verdict is the validator's, and KeyInfo is only ever compared.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote_to_bytes

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from lxml import etree
from rich.console import Console
from rich.markup import escape
from rich.syntax import Syntax

from .saml import (
    CHECK_ORDER,
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
)
from .saml import constants as c
from .saml.metadata import IdpMetadata, parse_metadata
from .saml.xmlparse import XmlRejected, parse_xml


class DoctorUsageError(ValueError):
    """Options or input the doctor cannot work with (exit code 2), as opposed to an invalid response (exit 1)."""


# --- input ---------------------------------------------------------------------------------------------

_BOM = b"\xef\xbb\xbf"
_FORM_FIELD = re.compile(rb"(?:^|[&?])SAMLResponse=([^&]*)")


def read_source(source: str) -> bytes:
    """The bytes of FILE, or of standard input for '-' (bytes, so that raw XML reaches the validator unchanged)."""
    if not source:  # Path("") is the current directory
        raise DoctorUsageError("no FILE given: name a file, or '-' for standard input")
    try:
        return sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as exc:
        raise DoctorUsageError(f"cannot read {source}: {exc.strerror or exc}") from None


def decode_input(data: bytes) -> str:
    """The base64 SAMLResponse in `data`: base64 as posted, raw XML, or a form body / pasted `SAMLResponse=...`."""
    text = data.removeprefix(_BOM).strip()
    if not text:
        raise DoctorUsageError("the input is empty")
    if text.startswith(b"<"):
        # Raw XML: encode it as the IdP would have posted it, so the validator sees exactly these bytes.
        return base64.b64encode(text).decode()
    match = _FORM_FIELD.search(text)
    if match:
        # Percent-decoding only: a '+' stays a '+', since pasted base64 often is not URL-encoded at all.
        value = unquote_to_bytes(match.group(1))
        if not value.strip():
            raise DoctorUsageError("the SAMLResponse form field is empty")
        return decode_input(value)
    # Anything else is handed over as base64; the validator's input checks say precisely what is wrong with it.
    return text.decode("latin-1")


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
            raise DoctorUsageError(f"{MetadataError.aws_message}: {exc.reason} (in {path})") from None
    return documents


def load_keys(paths: Sequence[Path]) -> list[SigningKey]:
    keys = []
    for path in paths:
        try:
            keys.append(SigningKey.from_pem(path.read_bytes()))
        except OSError as exc:
            raise DoctorUsageError(f"cannot read {path}: {exc.strerror or exc}") from None
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise DoctorUsageError(f"{path} is not a PEM RSA certificate or public key: {exc}") from None
    return keys


NO_METADATA_WARNING = "issuer not checked: no metadata given (the response's own Issuer is taken as the entity ID)"


@dataclass(frozen=True)
class TrustChoice:
    trust: ProviderTrust
    registered: tuple[str, ...]
    """The entityIDs of every --metadata given."""
    warnings: tuple[str, ...]


def choose_trust(b64: str, metadata: Sequence[IdpMetadata], keys: Sequence[SigningKey], policy: ProviderPolicy) -> TrustChoice:
    """The provider whose entityID is the response's Issuer (else the first), plus the --cert keys.

    With no metadata the entity ID is unknown, so the response's Issuer stands in for it (and is said so).
    """
    issuer = response_issuer(b64)
    if not metadata:
        return TrustChoice(ProviderTrust(issuer or "", _unique(keys), policy), (), (NO_METADATA_WARNING,))
    chosen = next((m for m in metadata if m.entity_id == issuer), metadata[0])
    trust = ProviderTrust(chosen.entity_id, _unique([*chosen.signing_keys, *keys]), policy)
    return TrustChoice(trust, tuple(m.entity_id for m in metadata), tuple(f"metadata: {w}" for w in chosen.warnings))


def _unique(keys: Sequence[SigningKey]) -> tuple[SigningKey, ...]:
    return tuple({k.thumbprint: k for k in keys}.values())


# --- diagnosis -----------------------------------------------------------------------------------------


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


def diagnose(
    b64: str,
    choice: TrustChoice,
    *,
    now: datetime,
    settings: ValidationSettings,
    requested_role: RolePair | None = None,
) -> Diagnosis:
    try:
        verified = validate(b64, choice.trust, now=now, settings=settings, requested_role=requested_role)
    except SamlValidationError as error:
        return Diagnosis(False, error.checks, choice, _failure_notes(error, choice), error=error, xml=error.document)
    return Diagnosis(True, list(verified.checks), choice, verified=verified, xml=_decode_base64(b64))


def examine(
    source: str,
    *,
    metadata: Sequence[Path],
    certs: Sequence[Path],
    now: datetime,
    policy: ProviderPolicy,
    settings: ValidationSettings,
    requested_role: RolePair | None = None,
) -> Diagnosis:
    """Everything `samlfed doctor` does short of printing; raises `DoctorUsageError` for exit code 2."""
    if not metadata and not certs:
        raise DoctorUsageError("give the IdP's metadata (--metadata FILE) or its signing certificate (--cert PEM)")
    documents = load_metadata(metadata, now=now)
    keys = load_keys(certs)
    b64 = decode_input(read_source(source))
    return diagnose(b64, choose_trust(b64, documents, keys, policy), now=now, settings=settings, requested_role=requested_role)


def _failure_notes(error: SamlValidationError, choice: TrustChoice) -> list[str]:
    if error.check_id == "issuer" and len(choice.registered) > 1:
        return [f"registered entityIDs: {', '.join(choice.registered)}; none is the response's Issuer"]
    if error.check_id == "signature.verify":
        return _keyinfo_notes(error.document, choice.trust)
    return []


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


def _describe_keyinfo(text: str, registered: set[bytes]) -> str:
    try:
        der = base64.b64decode("".join(text.split()), validate=True)
        certificate = x509.load_der_x509_certificate(der)
    except ValueError:
        return "the response's KeyInfo holds a certificate that cannot be read"
    named = f"the response's KeyInfo (compared only, never trusted) names certificate sha256:{hashlib.sha256(der).hexdigest()} ({certificate.subject.rfc4514_string()})"
    if _spki(certificate.public_key()) in registered:
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
    error = diagnosis.error
    document = {
        "valid": diagnosis.valid,
        "checks": [{"id": r.id, "status": r.status, "message": r.message, "hint": r.hint} for r in diagnosis.checks],
        "assertion": assertion_facts(diagnosis.verified) if diagnosis.verified else None,
        "error": (
            {"check": error.check_id, "code": error.aws.code, "status": error.aws.status, "message": error.aws.message}
            if error
            else None
        ),
        "provider": diagnosis.choice.trust.entity_id,
        "warnings": list(diagnosis.choice.warnings),
        "notes": diagnosis.notes,
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


_STYLE = {"pass": "green", "fail": "bold red", "warn": "yellow", "skip": "dim"}
_ID_WIDTH = max(len(check_id) for check_id in CHECK_ORDER)


def render_text(diagnosis: Diagnosis, console: Console) -> None:
    """Checks in order, context, verdict, verified facts, then the decoded response (colour only on a terminal)."""
    out = console.print
    trust = diagnosis.choice.trust
    out(f"provider {escape(trust.entity_id)} ({len(trust.signing_keys)} signing key(s))", highlight=False)
    for warning in diagnosis.choice.warnings:
        out(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    out()
    for result in diagnosis.checks:
        out(f"[{_STYLE[result.status]}]{result.status.upper():4}[/] {result.id:{_ID_WIDTH}} {escape(result.message)}", highlight=False)
        if result.hint and result.status in ("fail", "warn"):
            out(f"     {'':{_ID_WIDTH}} [cyan]fix:[/] {escape(result.hint)}", highlight=False)
    for note in diagnosis.notes:
        out(f"[yellow]note:[/] {escape(note)}", highlight=False)
    out()
    _render_verdict(diagnosis, console)
    pretty = pretty_xml(diagnosis.xml)
    if pretty:
        out()
        out("Decoded response:", highlight=False)
        out(Syntax(pretty, "xml", theme="ansi_dark", word_wrap=True) if console.is_terminal else pretty, markup=False, highlight=False)


def _render_verdict(diagnosis: Diagnosis, console: Console) -> None:
    if diagnosis.verified is not None:
        console.print("[bold green]VALID[/]: AWS would accept this response.", highlight=False)
        for name, value in assertion_facts(diagnosis.verified).items():
            if value not in (None, [], {}) and name != "attributes":
                console.print(f"  {name:24} {escape(_fact_text(value))}", highlight=False)
        return
    error = diagnosis.error
    assert error is not None
    console.print(
        f"[bold red]INVALID[/] at {error.check_id}: STS answers {error.aws.code} ({error.aws.status}) {escape(repr(error.aws.message))}",
        highlight=False,
    )


def _fact_text(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, list):
        return "; ".join(f"{v['role_arn']} via {v['provider_arn']}" if isinstance(v, dict) else str(v) for v in value)
    return str(value)


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
