"""The doctor's report of a `Diagnosis`: text for a terminal or a file (rich), or one JSON object. Both only read
the diagnosis, so they say the same thing; every value from the document is printed through `terminal_text`."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Any

from lxml import etree
from rich.console import Console
from rich.markup import escape
from rich.syntax import Syntax

from .doctor import Diagnosis, certificate_sha1, parse_or_none
from .doctor_trust import CHECK_IDS as TRUST_CHECK_IDS
from .saml import CHECK_ORDER, ProviderTrust, SamlValidationError, VerifiedAssertion, xmlenc
from .saml import constants as c
from .saml.timeutil import xs_datetime_text
from .saml.xmlparse import XmlRejected, parse_xml
from .terminal_text import one_line, visible


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else xs_datetime_text(moment)


def assertion_facts(verified: VerifiedAssertion, trust: ProviderTrust) -> dict[str, object]:
    """The verified facts, JSON-ready (ISO 8601 Z timestamps). `trust`: the provider the response was verified
    against, whose certificate of the verifying key gives the SHA-1 thumbprint IdP consoles show."""
    r, claims = verified.response, verified.claims
    # key_thumbprint is the SHA-256 of the certificate (of the public key for a bare key, which has no SHA-1 thumbprint).
    certificate = next((k.certificate for k in trust.signing_keys if k.thumbprint == r.key_thumbprint), None)
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
        "key_sha1_thumbprint": None if certificate is None else certificate_sha1(certificate),
        "warnings": list(verified.warnings),
    }


def to_json(diagnosis: Diagnosis) -> str:
    document = {
        "valid": diagnosis.valid,
        "verdict": "".join(verdict(diagnosis)),
        "checks": [{"id": r.id, "status": r.status, "message": r.message, "hint": r.hint} for r in diagnosis.checks],
        "assertion": assertion_facts(diagnosis.verified, diagnosis.choice.trust) if diagnosis.verified else None,
        "error": _error_json(diagnosis),
        "provider": diagnosis.choice.trust.entity_id,
        "warnings": list(diagnosis.choice.warnings),
        "notes": diagnosis.notes,
        "caveats": diagnosis.caveats,
    }
    return visible(json.dumps(document, indent=2, ensure_ascii=False))


def _error_json(diagnosis: Diagnosis) -> dict[str, object] | None:
    error = diagnosis.error
    if error is not None:
        return {"check": error.check_id, "code": error.aws.code, "status": error.aws.status, "message": error.aws.message}
    trust = diagnosis.trust
    if trust is not None and trust.refused is not None:
        return {"check": trust.refused, "code": trust.answer.code, "status": trust.answer.status, "message": trust.answer.message}
    return None


_STYLE = {"pass": "green", "fail": "bold red", "warn": "yellow", "skip": "dim"}
_ID_WIDTH = max(len(check_id) for check_id in (*CHECK_ORDER, *TRUST_CHECK_IDS.values()))


def _printer(console: Console) -> Callable[..., None]:
    """`console.print` of one line holding document values: visible characters only, line breaks escaped, no
    highlighting, and no emoji codes (':thumbs_up:' stays as written)."""

    def out(*objects: object, **options: Any) -> None:
        console.print(*(one_line(visible(o)) if isinstance(o, str) else o for o in objects), highlight=False, emoji=False, **options)

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
        console.print(  # the one output of several lines: the document's own, as it is
            Syntax(visible(pretty), "xml", theme="ansi_dark", word_wrap=True) if console.is_terminal else visible(pretty),
            markup=False, highlight=False, emoji=False,
        )


def verdict(diagnosis: Diagnosis) -> tuple[str, str]:
    """The verdict's word and the rest of its sentence, as both views state it."""
    trust = diagnosis.trust
    if trust is not None and trust.refused is not None:
        answer = trust.answer
        return "REFUSED", (
            f" by {trust.refuser} at {trust.refused}: the response is valid, but STS answers "
            f"{answer.code} ({answer.status}) {answer.message!r}"
        )
    if diagnosis.verified is not None:
        trusted = " and the role's trust policy admits it" if any(r.id in TRUST_CHECK_IDS.values() for r in diagnosis.checks) else ""
        if diagnosis.aws_refusal is not None:  # `valid` stays samlfed's verdict; AWS's is another
            return "VALID", f": samlfed accepts this response{trusted}, but AWS would refuse it: {diagnosis.aws_refusal}."
        return "VALID", f": AWS would accept this response{trusted}."
    error = diagnosis.error
    assert error is not None
    return "INVALID", f" at {error.check_id}: STS answers {error.aws.code} ({error.aws.status}) {error.aws.message!r}"


_VERDICT_STYLE = {"VALID": "bold green", "REFUSED": "bold red", "INVALID": "bold red"}


def _render_verdict(diagnosis: Diagnosis, out: Callable[..., None]) -> None:
    word, rest = verdict(diagnosis)
    out(f"[{_VERDICT_STYLE[word]}]{word}[/]{escape(rest)}")
    for caveat in diagnosis.caveats:
        out(f"[yellow]caveat:[/] {escape(caveat)}")
    if diagnosis.verified is not None and diagnosis.refused_by_trust is None:
        for name, value in assertion_facts(diagnosis.verified, diagnosis.choice.trust).items():
            if value not in (None, [], {}) and name != "attributes":
                out(f"  {name:24} {escape(_fact_text(value))}")
        # The AWS attributes are the facts above; the others are what a trust policy's saml:<name> keys and a
        # provider's attribute mapping read, so they are listed too rather than left to the XML below.
        for name, values in diagnosis.verified.response.attributes.items():
            if not name.startswith(c.AWS_ATTR_PREFIX):
                out(f"  {'attribute':24} {escape(name)} = {escape('; '.join(values))}")


def _fact_text(value: object) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, list):
        return "; ".join(f"{v['role_arn']} via {v['provider_arn']}" if isinstance(v, dict) else str(v) for v in value)
    return str(value)


def decrypted_view(xml: bytes | None, trust: ProviderTrust) -> bytes | None:
    """For reading only: the response with its EncryptedAssertion replaced by the Assertion decrypted with the
    keys the doctor was given; None when there is none, or it does not decrypt to one element."""
    root = parse_or_none(xml)
    if root is None or not trust.decryption_keys:
        return None
    encrypted = root.find(c.ENCRYPTED_ASSERTION)
    if encrypted is None:
        return None
    try:
        plaintext = xmlenc.decrypt_assertion(encrypted, trust.decryption_keys)
        wrapper = parse_xml(xmlenc.plaintext_in_context(plaintext, encrypted.nsmap))
    except (SamlValidationError, XmlRejected):
        return None
    if len(wrapper) != 1:
        return None
    root.replace(encrypted, wrapper[0])
    return etree.tostring(root)


def pretty_xml(xml: bytes | None) -> str | None:
    """The document re-indented for reading, its line breaks in text as references; None if it does not pass the
    hardened parser."""
    root = parse_or_none(xml)
    if root is None:
        return None
    for element in root.iter():
        # Drop the document's own layout so that indent() lays it out afresh; text content is kept.
        if len(element) and not (element.text or "").strip():
            element.text = None
        if not (element.tail or "").strip():
            element.tail = None
    etree.indent(root)
    return _breaks_as_references(root)


def _breaks_as_references(root: etree._Element) -> str | None:
    """The serialized document with each line break inside text as a character reference (`&#10;`, `&#x2028;`: the
    same text), so that its lines are the layout's and a NameID "alice\\nVALID: …" cannot print a line that looks like
    the doctor's own; None (no view) should no marker absent from the document be found. Attribute values carry
    `\\n` as `&#10;` already; U+2028 and U+2029 are nowhere part of the layout, so they are replaced everywhere."""
    text = etree.tostring(root, encoding="unicode")
    for _ in range(8):  # a random marker: the document cannot hold it in advance (a fixed set of stand-ins it could)
        marker = f"\ue000{secrets.token_hex(16)}\ue000"
        if marker not in text:
            break
    else:
        return None
    for element in root.iter():
        for part in ("text", "tail"):
            value = getattr(element, part)
            if value and value.strip():  # content, not the layout indent() made
                setattr(element, part, value.replace("\n", marker))
    text = etree.tostring(root, encoding="unicode").replace(marker, "&#10;")
    return text.replace("\u2028", "&#x2028;").replace("\u2029", "&#x2029;")
