"""`samlfed doctor`: run the validator on a captured SAML response and explain the verdict to a human.

Logic (decode the input, pick the provider, validate, collect facts) is kept apart from rendering (text with
rich, or one JSON object), so both views say the same thing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import parse_qs

from lxml import etree
from rich.console import Console
from rich.markup import escape
from rich.syntax import Syntax

from .saml import (
    CheckResult,
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
from .saml.metadata import IdpMetadata
from .saml.xmlparse import XmlRejected, parse_xml


class UnreadableInput(ValueError):
    """The input is not a SAML response in any form the doctor recognises."""


_FORM_FIELD = re.compile(r"(?:^|&)SAMLResponse=([^&]*)")


def decode_input(text: str) -> str:
    """Return the base64 SAMLResponse from base64, raw XML, or a (URL-encoded) form body."""
    text = text.lstrip("\ufeff").strip()
    if not text:
        raise UnreadableInput("the input is empty")
    if text.startswith("<"):
        return base64.b64encode(text.encode("utf-8")).decode()
    if "SAMLResponse=" in text:
        match = _FORM_FIELD.search(text.replace("\n", "").replace("\r", ""))
        if match is None:
            raise UnreadableInput("found 'SAMLResponse=' but could not read the form field")
        values = parse_qs("SAMLResponse=" + match.group(1), keep_blank_values=True).get("SAMLResponse", [""])
        return values[0].strip()
    return text


@dataclass
class Diagnosis:
    valid: bool
    checks: list[CheckResult]
    notes: list[str] = field(default_factory=list)
    """Doctor-side context: metadata warnings, which provider was chosen, key comparisons."""
    verified: VerifiedAssertion | None = None
    error: SamlValidationError | None = None
    xml: bytes | None = None


def response_issuer(b64: str) -> str | None:
    """The (unsigned) Issuer of a response, only to choose among several registered providers."""
    root = _try_parse(b64)
    if root is None:
        return None
    return root.findtext(c.ISSUER) or root.findtext(f"{c.ASSERTION}/{c.ISSUER}")


def _try_parse(b64: str) -> etree._Element | None:
    try:
        return parse_xml(base64.b64decode("".join(b64.split()), validate=True))
    except (binascii.Error, ValueError, XmlRejected):
        return None


def choose_trust(
    b64: str,
    metadata: Sequence[IdpMetadata],
    extra_keys: Sequence[SigningKey],
    policy: ProviderPolicy,
    notes: list[str],
) -> ProviderTrust:
    issuer = response_issuer(b64)
    if metadata:
        chosen = next((m for m in metadata if m.entity_id == issuer), metadata[0])
        if len(metadata) > 1:
            notes.append(f"provider chosen: {chosen.entity_id} (registered: {', '.join(m.entity_id for m in metadata)})")
        notes.extend(f"metadata: {w}" for w in chosen.warnings)
        return ProviderTrust(chosen.entity_id, chosen.signing_keys + tuple(extra_keys), policy)
    notes.append("issuer not checked: no metadata given, the response's own Issuer is assumed")
    return ProviderTrust(issuer or "", tuple(extra_keys), policy)


def diagnose(
    b64: str,
    trust: ProviderTrust,
    *,
    now: datetime,
    settings: ValidationSettings,
    requested_role: RolePair | None = None,
    notes: list[str] | None = None,
) -> Diagnosis:
    notes = list(notes or [])
    try:
        verified = validate(b64, trust, now=now, settings=settings, requested_role=requested_role)
    except SamlValidationError as error:
        if error.check_id == "signature.verify":
            notes.extend(_key_comparison(error.document, trust))
        return Diagnosis(False, error.checks, notes, error=error, xml=error.document)
    return Diagnosis(True, list(verified.checks), notes, verified=verified, xml=base64.b64decode("".join(b64.split())))


def _key_comparison(xml: bytes | None, trust: ProviderTrust) -> list[str]:
    """Show KeyInfo certificates next to the registered ones. Informational only: KeyInfo is never trusted."""
    if not xml:
        return []
    try:
        root = parse_xml(xml)
    except XmlRejected:
        return []
    registered = {k.thumbprint for k in trust.signing_keys}
    notes = [f"registered signing key sha256:{k.thumbprint} ({k.subject})" for k in trust.signing_keys]
    for cert in root.iter(c.DS_X509_CERTIFICATE):
        try:
            der = base64.b64decode("".join((cert.text or "").split()), validate=True)
        except (binascii.Error, ValueError):
            continue
        thumbprint = hashlib.sha256(der).hexdigest()
        state = "matches a registered key" if thumbprint in registered else "is NOT registered: update the provider's metadata if the IdP rotated its key"
        notes.append(f"the response's KeyInfo names certificate sha256:{thumbprint}, which {state}")
    return notes


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="milliseconds" if moment.microsecond else "seconds").replace("+00:00", "Z") if moment else None


def assertion_facts(verified: VerifiedAssertion) -> dict[str, object]:
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
        "notes": diagnosis.notes,
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


_STYLE = {"pass": "green", "fail": "bold red", "warn": "yellow", "skip": "dim"}


def render_text(diagnosis: Diagnosis, console: Console) -> None:
    for result in diagnosis.checks:
        style = _STYLE[result.status]
        console.print(f"[{style}]{result.status.upper():4}[/] {result.id:28} {escape(result.message)}", highlight=False)
        if result.hint and result.status in ("fail", "warn"):
            console.print(f"     {'':28} [cyan]fix:[/] {escape(result.hint)}", highlight=False)
    for note in diagnosis.notes:
        console.print(f"[yellow]note[/] {escape(note)}", highlight=False)
    console.print()
    if diagnosis.valid:
        console.print("[bold green]VALID[/]: AWS would accept this response.", highlight=False)
    else:
        error = diagnosis.error
        assert error is not None
        console.print(
            f"[bold red]INVALID[/] at {error.check_id}: STS answers {error.aws.code} ({error.aws.status}) "
            f"{escape(repr(error.aws.message))}",
            highlight=False,
        )
    pretty = _pretty(diagnosis.xml)
    if pretty:
        console.print()
        console.print("Decoded response:", highlight=False)
        console.print(Syntax(pretty, "xml", theme="ansi_dark", word_wrap=True) if console.is_terminal else pretty, highlight=False)


def _pretty(xml: bytes | None) -> str | None:
    if not xml:
        return None
    try:
        root = parse_xml(xml)
    except XmlRejected:
        return None
    for element in root.iter():
        if isinstance(element.tag, str) and len(element):
            element.text = element.text if (element.text or "").strip() else None
        if (element.tail or "").strip() == "":
            element.tail = None
    etree.indent(root)
    return etree.tostring(root, encoding="unicode")
