"""Validation of a SAML Response, as the ordered pipeline of named checks in saml-validation-bar.md §1.

`validate_response` answers "is this genuine, meant for us, and what exactly does it say?";
`validate` adds the AWS attributes (aws-saml-contract.md §3.4 steps 16-21). Both are pure: the clock is a
parameter, nothing is stored, and every value in the result is read from the canonical bytes that a
registered key signed.
"""

from __future__ import annotations

import binascii
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import FunctionType
from typing import Literal, TypeVar

from lxml import etree

from ..arn_syntax import ROLE_ARN
from . import aws_claims, dsig, xmlenc
from . import constants as c
from .b64 import strict_b64decode
from .checks import ENCRYPTION_NOT_ENABLED, NO_CONFIRMATION_DATA, NOT_ENCRYPTED, SIGNATURE_INVALID, THROTTLING, AwsError
from .errors import SamlValidationError, UnsignedDecryptionRefused
from .model import (
    AwsSessionClaims,
    Message,
    ProviderTrust,
    RolePair,
    SigningKey,
    ValidationSettings,
    VerifiedAssertion,
    VerifiedResponse,
    utc,
)
from .report import Report
from .timeutil import parse_xs_datetime, xs_datetime_text
from .xmlparse import XmlRejected, may_hold_comments, parse_canonical, parse_xml

MAX_INPUT_CHARS = 100_000
DEFAULT_SETTINGS = ValidationSettings()

_TEXT_ELEMENTS = frozenset({c.ISSUER, c.NAME_ID, c.AUDIENCE, c.ATTRIBUTE_VALUE})
_XSI_NIL = f"{{{c.NS_XSI}}}nil"
_XML_WHITESPACE = " \t\r\n"
_UNDERSTOOD_CONDITIONS = frozenset({c.AUDIENCE_RESTRICTION, c.ONE_TIME_USE, c.PROXY_RESTRICTION})
_NOT_YET_VALID = AwsError("InvalidIdentityToken", 400, "Response is not yet valid")
_BOUND_MISSING = SIGNATURE_INVALID
"""A Conditions bound the provider requires (require_condition_bounds) that is absent: the document falls short of the
provider's profile; nothing is "not yet valid" or "expired" (ExpiredTokenException sends users to sign in again)."""
_ENCRYPTION_CHECKS = ("encryption.response_signature", "encryption.decrypt")
_ONE_SECOND = timedelta(seconds=1)
_T = TypeVar("_T")
_UNEXPECTED_HINT = "samlfed could not run this check on this response and rejects it to be safe: this is a samlfed fault, please report it."


UNSIGNED_DECLARATIONS = (
    "the decrypted Assertion is not signed itself and does not parse without namespace declarations of the Response"
    " that the Response's signature does not cover"
)
"""The start of encryption.decrypt's message for such a plaintext (the doctor names the mend)."""


@dataclass(frozen=True, slots=True)
class Warn:
    """A step outcome that passed with a caveat worth telling the operator."""

    message: str
    hint: str | None = None


Outcome = Message | Warn | None
"""What a check returns: a message (it passed), a `Warn`, or None (it did not apply)."""


@dataclass(slots=True)
class _Document:
    """What the single walk over the parsed tree found."""

    root: etree._Element
    assertions: list[etree._Element] = field(default_factory=list)
    encrypted_assertions: list[etree._Element] = field(default_factory=list)
    signatures: list[etree._Element] = field(default_factory=list)
    forbidden: list[etree._Element] = field(default_factory=list)
    text_with_markup: list[etree._Element] = field(default_factory=list)
    walked_text: bool = True
    """Whether the text values were looked at (only when the document may hold comments)."""


_TEXT_ONLY = frozenset({c.ISSUER, c.NAME_ID, c.AUDIENCE})
# As UTF-8 bytes, which lxml's tag matcher takes as they are: it encodes each str tag on every walk.
_STRUCTURE = tuple(tag.encode() for tag in (c.ASSERTION, c.ENCRYPTED_ASSERTION, c.DS_SIGNATURE, *c.FORBIDDEN_DSIG_ELEMENTS))
_STRUCTURE_AND_TEXT = (*_STRUCTURE, *(tag.encode() for tag in _TEXT_ONLY), etree.Comment)


def _walk(root: etree._Element, *, comments: bool) -> _Document:
    """One look at the whole tree: a single libxml2 traversal yields every node the shape checks need.

    The text-value checks look for comments (and child markup) inside Issuer, NameID, Audience and
    AttributeValue; a document without comments skips them (each tag costs the traversal's setup), and child
    markup inside a value that is read is refused where it is read (`_text`)."""
    doc = _Document(root, walked_text=comments)
    for node in root.iter(*(_STRUCTURE_AND_TEXT if comments else _STRUCTURE)):
        tag = node.tag
        if tag is etree.Comment:
            parent = node.getparent()
            if parent is not None and parent.tag in _TEXT_ELEMENTS:
                doc.text_with_markup.append(parent)
        elif tag in _TEXT_ONLY:
            if len(node):  # child elements or comments
                doc.text_with_markup.append(node)
        elif tag == c.ASSERTION:
            doc.assertions.append(node)
        elif tag == c.ENCRYPTED_ASSERTION:
            doc.encrypted_assertions.append(node)
        elif tag == c.DS_SIGNATURE:
            doc.signatures.append(node)
        else:
            doc.forbidden.append(node)
    return doc


_ENCRYPTED_DATA = c.qname(c.NS_XENC, "EncryptedData")
_ADVICE = c.qname(c.NS_ASSERTION, "Advice")
_PLACES_SHOWN = 5
_PATH_DEPTH = 4


def _place(element: etree._Element) -> str:
    """Where `element` sits: its ancestors' local names from the root, the last _PATH_DEPTH of them ('Response/XSW_ATTACK',
    '…/Assertion/Advice')."""
    names = [etree.QName(a).localname[:64] for a in element.iterancestors()][::-1]
    return ("…/" if len(names) > _PATH_DEPTH else "") + "/".join(names[-_PATH_DEPTH:])


def _several_assertions(assertions: list[etree._Element]) -> SamlValidationError:
    """The refusal of a document with several Assertions, saying where each sits: one inside an Advice may be the IdP's
    doing, one anywhere else is the mark of a signature-wrapping attack, and the fixes differ."""
    places = [_place(a) for a in assertions[:_PLACES_SHOWN]]
    more = f" and {len(assertions) - _PLACES_SHOWN} more" if len(assertions) > _PLACES_SHOWN else ""
    if any(a.getparent() is not None and a.getparent().tag == _ADVICE for a in assertions):
        hint = ("samlfed refuses assertions inside Advice (one Assertion per response, as AWS-bound IdPs send): if the IdP adds "
                "Advice, configure its application to send the Assertion without it; if not, the response was changed on its way.")
    else:
        hint = ("A genuine IdP sends one Assertion, directly in the Response; an Assertion moved or added elsewhere is the mark of "
                "a signature-wrapping attack: find out where this response was changed on its way from the IdP.")
    return SamlValidationError(
        "shape.assertion",
        f"the document holds {len(assertions)} Assertion elements (in {', in '.join(places)}{more}); exactly one is required",
        hint=hint,
    )


def _is_key_retrieval(element: etree._Element, doc: _Document) -> bool:
    """Whether `element` is the ds:RetrievalMethod by which an EncryptedAssertion's EncryptedData names its
    sibling EncryptedKey (Okta's layout): `xmlenc` accepts it only as that, and never follows it elsewhere."""
    if element.tag != c.DS_RETRIEVAL_METHOD or len(doc.encrypted_assertions) != 1:
        return False
    key_info = element.getparent()
    data = key_info.getparent() if key_info is not None and key_info.tag == c.DS_KEY_INFO else None
    return data is not None and data.tag == _ENCRYPTED_DATA and data.getparent() is doc.encrypted_assertions[0]


def _is_nil(marked: str, value: etree._Element, name: str) -> bool:
    """Whether an AttributeValue's xsi:nil (an xs:boolean: whitespace collapsed, true/false/1/0) says it has no value.
    A nil value with content is no schema-valid document, and neither is another word: both are refused rather
    than read one way or the other, as malformed documents (nothing is repeated: not "Attribute is repeated")."""
    flag = marked.strip(_XML_WHITESPACE)
    if flag in ("true", "1"):
        if value.text:
            raise SamlValidationError("attributes.unique", f"a value of {name!r} is marked xsi:nil but has content", aws=SIGNATURE_INVALID)
        return True
    if flag in ("false", "0"):
        return False
    raise SamlValidationError("attributes.unique", f"a value of {name!r} has xsi:nil {marked!r}, which is no xs:boolean", aws=SIGNATURE_INVALID)


def _blank(*texts: str | None) -> bool:
    return all(text is None or not text.strip(_XML_WHITESPACE) for text in texts)


def _text(element: etree._Element, check_id: str) -> str:
    """All text of an element of signed bytes (comments are gone after c14n); child elements are refused, with the
    answer shape.text gives them in a document that holds comments (which is when that check looks for them)."""
    if len(element):
        raise SamlValidationError(
            check_id,
            f"{c.local_name(element.tag)} contains child markup",
            hint="Issuer, NameID and Audience hold plain text; genuine IdPs never put markup in them.",
            aws=SIGNATURE_INVALID,
        )
    return element.text or ""


def _children(parent: etree._Element, tag: str) -> list[etree._Element]:
    """The child elements with this tag.

    `parent[:]` collects the children in C, four times faster than lxml's child iterator (which sets up a tag
    matcher on every call); iterchildren(tag) and find/findall cost more still. The signed trees hold a few
    children per element. A loop rather than a comprehension, which costs a Python frame of its own."""
    found = []
    for child in parent[:]:
        if child.tag == tag:
            found.append(child)
    return found


class _Children:
    """The child elements of one element grouped by tag, in one pass: the checks look up several tags of the
    same parent, and a pass over the children costs more than the lookups."""

    __slots__ = ("parent", "_by_tag")

    def __init__(self, parent: etree._Element) -> None:
        self.parent = parent
        # Element tags are str; a comment's tag is lxml's Comment factory (c14n leaves no comments in signed trees).
        by_tag: dict[str, list[etree._Element]] = {}
        for child in parent[:]:  # see _children
            tag = child.tag
            if tag in by_tag:
                by_tag[tag].append(child)
            else:
                by_tag[tag] = [child]
        self._by_tag = by_tag

    def all(self, tag: str) -> list[etree._Element]:
        return self._by_tag.get(tag, [])

    def tags(self) -> list[str]:
        return list(self._by_tag)

    def one(self, tag: str, check_id: str, *, required: bool = True) -> etree._Element | None:
        found = self._by_tag.get(tag)
        if found is not None and len(found) == 1:  # the usual case, answered without a second call
            return found[0]
        return _at_most_one(found or [], self.parent, tag, check_id, required=required)


def _at_most_one(found: list[etree._Element], parent: etree._Element, tag: str, check_id: str, *, required: bool) -> etree._Element | None:
    """The one `tag` child of `parent` among `found`; more than one, or none where one is required, is refused.

    More than one breaks the schema: a malformed document (contract §3.4 step 6), answered as one whatever the check
    that reads the element would answer (two Issuers are no foreign issuer, two NameIDs no missing one)."""
    if len(found) > 1:
        raise SamlValidationError(
            check_id, f"{c.local_name(parent.tag)} has {len(found)} {c.local_name(tag)} elements; at most one is allowed", aws=SIGNATURE_INVALID
        )
    if not found:
        if required:
            raise SamlValidationError(check_id, f"{c.local_name(parent.tag)} has no {c.local_name(tag)}")
        return None
    return found[0]


@dataclass(slots=True)
class _Signed:
    """What the signature stage hands on: elements re-parsed from the canonical bytes a registered key signed."""

    response: etree._Element
    """The signed Response re-parsed when it is signed, else the original (unsigned) one: used only to reject."""
    assertion: etree._Element
    thumbprint: str
    which: Literal["assertion", "response", "both"]
    may_hold_nil: bool
    """False when the signed bytes hold no `prefix:nil="` (c14n writes every namespaced attribute so), hence no
    xsi:nil attribute: the attribute check then skips looking for one on each value."""


class _Pipeline:
    def __init__(self, trust: ProviderTrust, now: datetime, settings: ValidationSettings) -> None:
        self.trust = trust
        self.now = utc(now)
        self.settings = settings
        self.report = Report()
        self._record = self.report.entries.append
        self.xml: bytes | None = None
        self.decrypted_at: float | None = None
        """When the decryption ended (see SamlValidationError.decrypted_at); None while nothing was decrypted."""

    def step(self, check_id: str, run: Callable[[], Outcome]) -> None:
        """Run one named check; any failure, expected or not, is a rejection (fail closed).

        `steps` does the same for a stage of checks; this single-check twin is written out because routing it
        through `steps` costs 1 % more instructions per validation (bench/instructions.py)."""
        try:
            outcome = run()
        except SamlValidationError as error:
            raise self._failed(error) from None
        except Exception as exc:  # noqa: BLE001 - an unexpected error must still be a rejection, never an accept
            raise self._unexpected(check_id, exc) from None
        if outcome.__class__ is str or outcome.__class__ is FunctionType:  # passed: the common case, recorded at once
            self._record((check_id, "pass", outcome, None))
        else:
            self._record_outcome(check_id, outcome)

    def steps(self, target: _T, checks: tuple[tuple[str, Callable[[_T], Outcome]], ...]) -> None:
        """`step` for each of a stage's checks, which are methods of `target`: one call runs the whole stage, as
        the bookkeeping of a call per check costs as much as a simple check."""
        record = self._record
        for check_id, run in checks:
            try:
                outcome = run(target)
            except SamlValidationError as error:
                raise self._failed(error) from None
            except Exception as exc:  # noqa: BLE001 - as in step
                raise self._unexpected(check_id, exc) from None
            if outcome.__class__ is str or outcome.__class__ is FunctionType:
                record((check_id, "pass", outcome, None))
            else:
                self._record_outcome(check_id, outcome)

    def _record_outcome(self, check_id: str, outcome: Outcome) -> None:
        if isinstance(outcome, Warn):
            self.report.warned(check_id, outcome.message, outcome.hint)
        elif outcome is None:
            self.report.skipped(check_id, "not applicable")
        else:
            self.report.passed(check_id, outcome)

    def _unexpected(self, check_id: str, exc: Exception) -> SamlValidationError:
        error = SamlValidationError(check_id, f"could not be checked: {type(exc).__name__}: {exc}", hint=_UNEXPECTED_HINT, unexpected=True)
        return self._failed(error)

    def _failed(self, error: SamlValidationError) -> SamlValidationError:
        error.document = self.xml
        error.decrypted_at = self.decrypted_at
        return self.report.fail(error)

    # --- input ---------------------------------------------------------------------------------------

    def decode(self, saml_response: str | bytes) -> bytes:
        raw = saml_response  # str or bytes: strict_b64decode reads both, and refuses text that is not ASCII

        def size() -> Message:
            if len(raw) > MAX_INPUT_CHARS:
                raise SamlValidationError("input.size", f"the input has {len(raw):,} characters; at most {MAX_INPUT_CHARS:,} are accepted")
            characters = len(raw)
            return lambda: f"{characters:,} characters"

        decoded = b""

        def b64() -> Message:
            nonlocal decoded
            try:
                decoded = strict_b64decode(raw)
            except (binascii.Error, ValueError):
                raise SamlValidationError(
                    "input.base64",
                    "the input is not strict base64",
                    hint="SAMLResponse is the base64 of the XML as posted by the IdP (HTTP-POST binding); deflated or URL-encoded data is not accepted.",
                ) from None
            if not decoded:
                raise SamlValidationError("input.base64", "the input is empty")
            xml_bytes = len(decoded)
            return lambda: f"{xml_bytes:,} bytes of XML"

        self.step("input.size", size)
        self.step("input.base64", b64)
        self.xml = decoded
        return decoded

    def parse(self, data: bytes) -> _Document:
        root: etree._Element | None = None

        def parse() -> str:
            nonlocal root
            try:
                root = parse_xml(data)
            except XmlRejected as exc:
                raise SamlValidationError("xml.parse", str(exc)) from None
            return "well-formed UTF-8 XML"

        self.step("xml.parse", parse)
        assert root is not None
        doc = _walk(root, comments=may_hold_comments(data))
        self.doc = doc  # what the shape checks look at: one `steps` call runs them (a lambda each cost 1,500 instructions)
        self.steps(self, _Pipeline.SHAPE_CHECKS)
        if not doc.encrypted_assertions:
            for check_id in _ENCRYPTION_CHECKS:
                self._record((check_id, "skip", "the assertion is not encrypted", None))
        return doc

    def _shape_root(self) -> str:
        root = self.doc.root
        if root.tag != c.RESPONSE:
            raise SamlValidationError("shape.root", f"the root element is {root.tag}, not a SAML 2.0 protocol Response")
        if root.get("Version") != "2.0":
            raise SamlValidationError("shape.root", f"Response Version is {root.get('Version')!r}, not '2.0'")
        response_id = root.get("ID")
        if not response_id:
            raise SamlValidationError("shape.root", "the Response has no ID")
        return f"samlp:Response {response_id}"

    def _shape_assertion(self) -> str:
        doc = self.doc
        if doc.encrypted_assertions:
            return self._shape_encrypted_assertion(doc)
        if self.trust.encryption_required:
            raise SamlValidationError(
                "shape.assertion",
                "the assertion is not encrypted, and this provider requires encrypted assertions (AssertionEncryptionMode Required)",
                hint="Turn assertion encryption on in the IdP application, or set the provider's AssertionEncryptionMode to Allowed.",
                aws=NOT_ENCRYPTED,
            )
        if not doc.assertions:
            raise SamlValidationError(
                "shape.assertion", "the document holds 0 Assertion elements; exactly one is required",
                hint="The IdP sent no assertion: check the IdP's sign-in status and logs.",
            )
        if len(doc.assertions) > 1:
            raise _several_assertions(doc.assertions)
        assertion = doc.assertions[0]
        if assertion.getparent() is not doc.root:
            raise SamlValidationError("shape.assertion", "the Assertion is not a direct child of the Response")
        if assertion.get("Version") != "2.0":
            raise SamlValidationError("shape.assertion", f"Assertion Version is {assertion.get('Version')!r}, not '2.0'")
        return f"one Assertion ({assertion.get('ID')})"

    def _shape_encrypted_assertion(self, doc: _Document) -> str:
        if not self.trust.decryption_keys:
            raise SamlValidationError(
                "shape.assertion",
                "the response holds an EncryptedAssertion, and encrypted assertions are not enabled for this provider",
                hint="Turn assertion encryption off in the IdP application, or upload the provider's private key (AddPrivateKey) to enable encrypted assertions.",
                aws=ENCRYPTION_NOT_ENABLED,
            )
        if doc.assertions or len(doc.encrypted_assertions) != 1:
            raise SamlValidationError(
                "shape.assertion",
                f"the document holds {len(doc.encrypted_assertions)} EncryptedAssertion and {len(doc.assertions)} Assertion elements; "
                "exactly one EncryptedAssertion and no plaintext Assertion are required",
            )
        if doc.encrypted_assertions[0].getparent() is not doc.root:
            raise SamlValidationError("shape.assertion", "the EncryptedAssertion is not a direct child of the Response")
        return "one EncryptedAssertion"

    def _shape_signatures(self, doc: _Document | None = None) -> str:
        """`doc` is the document's walk (`self.doc`) unless given (a decrypted Assertion's)."""
        if doc is None:
            doc = self.doc
        forbidden = [e for e in doc.forbidden if not _is_key_retrieval(e, doc)]
        if forbidden:
            names = sorted({c.local_name(e.tag) for e in forbidden})
            raise SamlValidationError("shape.signatures", f"the document contains {', '.join(names)}, which is never accepted")
        root = doc.root
        assertion = doc.assertions[0] if doc.assertions else root  # encrypted: only the Response may be signed
        seen: set[int] = set()
        for signature in doc.signatures:
            parent = signature.getparent()
            if parent is not root and parent is not assertion:
                where = c.local_name(parent.tag) if parent is not None else "document"
                raise SamlValidationError("shape.signatures", f"a Signature sits inside {where}; signatures belong directly in the Response or the Assertion")
            if id(parent) in seen:
                raise SamlValidationError("shape.signatures", f"the {c.local_name(parent.tag)} carries more than one Signature")
            seen.add(id(parent))
        return f"{len(doc.signatures)} signature(s), each directly in the Response or the Assertion"

    def _shape_text(self, doc: _Document | None = None) -> str:
        if doc is None:  # as in _shape_signatures
            doc = self.doc
        if doc.text_with_markup:
            element = doc.text_with_markup[0]
            raise SamlValidationError(
                "shape.text",
                f"{c.local_name(element.tag)} contains a comment or child markup",
                hint="Comments inside signed text values are the comment-truncation attack (CVE-2017-11427); genuine IdPs never emit them.",
            )
        return "text values are plain text" if doc.walked_text else "the document holds no comments"

    SHAPE_CHECKS = (
        ("shape.root", _shape_root),
        ("shape.assertion", _shape_assertion),
        ("shape.signatures", _shape_signatures),
        ("shape.text", _shape_text),
    )
    """The shape checks, in order, over `self.doc`."""

    # --- signature -----------------------------------------------------------------------------------

    def verify_signatures(self, doc: _Document, document: bytes) -> _Signed:
        """`doc` is the walk of `document`, the decoded input."""
        if doc.encrypted_assertions:
            return self._verify_encrypted(doc, document)
        return self._verify(doc, document, response=doc.root, response_signed=None)

    def _verify(
        self,
        doc: _Document,
        document: bytes,
        *,
        response: etree._Element,
        response_signed: tuple[dsig.VerifiedSignature, etree._Element] | None,
    ) -> _Signed:
        """The signature checks over `doc` (parsed from `document`): the Response and its Assertion, or a
        decrypted Assertion alone, whose Response (`response`) had its signature, if any, verified before
        decryption (`response_signed`)."""
        bound: list[dsig.BoundSignature] = []
        assertion = doc.assertions[0]
        policy = self.trust.policy
        decrypted = doc.root is assertion

        def binding() -> Message | None:
            bound.extend(dsig.bind_signature(s, doc.root, document=document) for s in doc.signatures)
            if not bound:
                return None
            targets = [(b.parent.tag, b.reference_id) for b in bound]
            return lambda: "; ".join(f"{c.local_name(tag)} signature references #{reference}" for tag, reference in targets)

        def algorithms() -> Message | None:
            for b in bound:
                dsig.check_algorithms(b, policy)
                dsig.check_c14n_cost(b, document)
            if not bound:
                return None
            methods = [b.signature_method for b in bound] + [b.digest_method for b in bound]
            return lambda: ", ".join(sorted({method.rsplit("#", 1)[-1] for method in methods}))

        def required() -> str:
            signed = {id(b.parent) for b in bound}
            if id(assertion) in signed:
                return "the Assertion is signed" + (" (and the Response)" if len(bound) == 2 or response_signed else "")
            if response_signed is not None or id(doc.root) in signed:
                if policy.allow_response_only_signature:
                    return "only the Response is signed (allowed for this provider); the Assertion is read from its signed bytes"
                raise SamlValidationError(
                    "signature.required",
                    "only the Response is signed; this provider requires a signed Assertion",
                    hint=(
                        "Make the IdP sign the assertion (AWS's SP metadata asks for WantAssertionsSigned), or, where it cannot, allow "
                        "response-only signatures for this provider (samlfed providers validation-options set PROVIDER_ARN "
                        "--allow-response-only-signature; try it with doctor --allow-response-only-signature)."
                    ),
                )
            raise SamlValidationError(
                "signature.required",
                "the response is not signed",
                hint="An unsigned response is never accepted. Check that the IdP application signs assertions.",
            )

        self.step("signature.binding", binding)
        self.step("signature.algorithms", algorithms)
        self.step("signature.required", required)

        results: dict[int, tuple[dsig.VerifiedSignature, etree._Element]] = {}

        def verify() -> Message:
            # The Response's signature first: its digest covers the Assertion's signature, which verifying that
            # one detaches (dsig.enveloped_c14n).
            # (one signature, the usual case, needs no sorting: its key function would be a call of its own)
            for b in bound if len(bound) == 1 else sorted(bound, key=lambda b: b.parent is not doc.root):
                verified = dsig.verify(b, self.trust.signing_keys, policy)
                signed = parse_canonical(verified.signed_bytes)
                if signed.tag != b.parent.tag or signed.get("ID") != b.reference_id:
                    raise SamlValidationError("signature.verify", "the signed bytes are not the referenced element")
                results[id(b.parent)] = (verified, signed)
            if not results:  # a decrypted Assertion that is not signed: its Response's signature was verified
                return "the Response signature was verified before decryption"
            thumbprints = {v.key.thumbprint[:16] for v, _ in results.values()}
            return lambda: f"verified with registered key sha256:{', '.join(sorted(thumbprints))}…"

        self.step("signature.verify", verify)
        keys = [v.key for v, _ in results.values()] + ([response_signed[0].key] if decrypted and response_signed else [])
        self.step("signature.certificate", lambda: self._certificate(keys))

        if not decrypted:
            response_signed = results.get(id(doc.root))
        assertion_signed = results.get(id(assertion))
        if assertion_signed is not None:
            signed_assertion = assertion_signed[1]
            signed_by = assertion_signed[0]
            # c14n writes every namespaced attribute as prefix:name="…", so these bytes show any xsi:nil (find, not
            # `in`: bytes' `in` first tries the needle as an int, and raising that TypeError costs as much as the search)
            may_hold_nil = signed_by.signed_bytes.find(b':nil="') != -1
        else:
            assert response_signed is not None
            signed_by = response_signed[0]
            if decrypted:  # the plaintext of the ciphertext that the Response's signature covers
                signed_assertion, may_hold_nil = assertion, True
            else:
                inner = response_signed[1].findall(c.ASSERTION)
                if len(inner) != 1:  # cannot happen after the shape checks; refuse rather than guess
                    raise self._failed(SamlValidationError("signature.verify", "the signed Response does not hold exactly one Assertion"))
                signed_assertion, may_hold_nil = inner[0], signed_by.signed_bytes.find(b':nil="') != -1
        # Response-level fields (Status, Destination, Issuer) come from the signed Response when it is signed;
        # otherwise they are unsigned, and are only ever used to reject, never as claims.
        response_level = response_signed[1] if response_signed is not None else response
        which: Literal["assertion", "response", "both"] = (
            "both" if response_signed and assertion_signed else "assertion" if assertion_signed else "response"
        )
        return _Signed(response_level, signed_assertion, signed_by.key.thumbprint, which, may_hold_nil)

    def _verify_encrypted(self, doc: _Document, document: bytes) -> _Signed:
        """Bar step 9: the Response's signature, if any, is verified on the bytes as received, before anything is
        decrypted (IdPs sign the encrypted form, and a decryption oracle must not be reachable with a forged
        ciphertext); the ciphertext is taken from those signed bytes; the decrypted Assertion then goes through
        the shape and signature checks as a document of its own."""
        policy = self.trust.policy
        response_signed: tuple[dsig.VerifiedSignature, etree._Element] | None = None

        def response_signature() -> Message | None:
            nonlocal response_signed
            if not doc.signatures:
                return None
            try:
                bound = dsig.bind_signature(doc.signatures[0], doc.root, document=document)
                dsig.check_algorithms(bound, policy)
                dsig.check_c14n_cost(bound, document)
                verified = dsig.verify(bound, self.trust.signing_keys, policy)
            except SamlValidationError as error:
                raise SamlValidationError("encryption.response_signature", f"the Response signature: {error.message}", hint=error.hint) from None
            signed = parse_canonical(verified.signed_bytes)
            if signed.tag != c.RESPONSE or signed.get("ID") != bound.reference_id:
                raise SamlValidationError("encryption.response_signature", "the signed bytes are not the referenced Response")
            response_signed = (verified, signed)
            thumbprint = verified.key.thumbprint[:16]
            return lambda: f"the Response signature verifies with registered key sha256:{thumbprint}… before decryption"

        plaintext = b""
        inner: _Document | None = None

        def failed(message: str) -> SamlValidationError:
            return SamlValidationError("encryption.decrypt", message, hint=xmlenc.DECRYPTION_FAILED_HINT)

        def decrypt() -> str:
            # Every failure here, in the keys, the ciphertext, the padding or the plaintext's parse and shape, is
            # this check's, whose API answer is one message (DECRYPTION_FAILED) and whose hint is one text (the
            # console shows it): no decryption oracle (bar, attack 19). The messages below reach only the log and
            # the doctor. A plaintext that passes them and then fails its signature cannot come from a tampered CBC
            # ciphertext: changing a block garbles it, and changing the IV or cutting blocks off the front loses the
            # opening of the one Assertion.
            nonlocal plaintext, inner
            if response_signed is None and not self.trust.decrypts_unsigned:
                raise UnsignedDecryptionRefused(
                    "encryption.decrypt", "too many encrypted responses were rejected for this provider or from this client: "
                    "until fewer are, only an assertion in a Response whose signature verifies is decrypted", aws=THROTTLING,
                    hint="Try again later. An IdP that signs the whole Response (not only the assertion) is never held up this way.",
                )
            container = response_signed[1] if response_signed is not None else doc.root
            encrypted = container.findall(c.ENCRYPTED_ASSERTION)
            if len(encrypted) != 1:  # cannot happen after the shape checks; refuse rather than guess
                raise SamlValidationError("encryption.decrypt", "the Response does not hold exactly one EncryptedAssertion")
            try:
                plaintext = xmlenc.decrypt_assertion(encrypted[0], self.trust.decryption_keys)
            finally:  # failed or not: every rejection from here on may depend on the plaintext
                self.decrypted_at = time.monotonic()
            context = encrypted[0].nsmap
            unsigned_context: list[str | None] = []
            try:
                wrapper = parse_xml(in_context := xmlenc.plaintext_in_context(plaintext, context))
            except XmlRejected as exc:
                # Exclusive c14n leaves out of a signed Response the declarations it does not use itself (xmlns:xsi
                # on the Response, used only inside the plaintext). The received Response's may supply them, but
                # unsigned: the Assertion must then be signed itself (below), which covers the namespace of every
                # name in it.
                received = doc.root.find(c.ENCRYPTED_ASSERTION).nsmap  # exactly one (the shape checks)
                unsigned_context = [prefix for prefix in received if prefix not in context]
                if response_signed is None or not unsigned_context:
                    raise failed(f"the decrypted assertion is not a document samlfed reads: {exc}") from None
                try:
                    wrapper = parse_xml(in_context := xmlenc.plaintext_in_context(plaintext, {**received, **context}))
                except XmlRejected:
                    raise failed(f"the decrypted assertion is not a document samlfed reads: {exc}") from None
            plaintext = in_context
            root = wrapper[0] if len(wrapper) == 1 else wrapper
            inner = _walk(root, comments=may_hold_comments(plaintext))
            if root.tag != c.ASSERTION or inner.assertions != [root] or inner.encrypted_assertions or not _blank(wrapper.text, root.tail):
                raise failed("the decrypted content is not exactly one Assertion")
            if root.get("Version") != "2.0":
                raise failed(f"the decrypted Assertion's Version is {root.get('Version')!r}, not '2.0'")
            try:
                self._shape_signatures(inner)
                self._shape_text(inner)
            except SamlValidationError as error:
                raise failed(f"the decrypted Assertion: {error.message}") from None
            if unsigned_context and root.find(c.DS_SIGNATURE) is None:
                prefixes = ", ".join(sorted(prefix or "(default)" for prefix in unsigned_context))
                raise failed(f"{UNSIGNED_DECLARATIONS} ({prefixes})")
            return f"decrypted one Assertion ({root.get('ID')}) with the provider's private key"

        self.step("encryption.response_signature", response_signature)
        self.step("encryption.decrypt", decrypt)
        assert inner is not None
        return self._verify(inner, plaintext, response=doc.root, response_signed=response_signed)

    def _certificate(self, keys: list[SigningKey]) -> str | Warn:
        for key in keys:
            after, before = key.not_valid_after, key.not_valid_before
            if after is not None and after < self.now:
                return Warn(
                    f"the signing certificate {key.subject} expired on {after:%Y-%m-%d}; it still verifies (AWS parity)",
                    hint="Metadata keys are trusted as bare keys, but rotate the IdP certificate and update the provider's metadata.",
                )
            if before is not None and before > self.now:
                return Warn(f"the signing certificate {key.subject} is not valid before {before:%Y-%m-%d}; it still verifies")
        return "the signing certificate is within its validity period"


def _parse_and_verify(
    saml_response: str | bytes, trust: ProviderTrust, now: datetime, settings: ValidationSettings
) -> tuple[_Pipeline, VerifiedResponse]:
    run = _Pipeline(trust, now, settings)
    data = run.decode(saml_response)
    doc = run.parse(data)
    verified = _Semantics(run, run.verify_signatures(doc, data)).check_all()
    return run, verified


class _Semantics:
    """Exact SAML semantics (bar §1 step 10), over elements re-parsed from signed bytes."""

    def __init__(self, run: _Pipeline, signed: _Signed) -> None:
        self.run = run
        self.signed = signed
        self.response = signed.response
        self.assertion = signed.assertion
        self.in_response = _Children(signed.response)
        self.in_assertion = _Children(signed.assertion)
        self.now = now = run.now
        self.settings = run.settings
        self.trust = run.trust
        skew = run.settings.clock_skew
        self.latest_start = now + skew
        """A start (NotBefore, IssueInstant) after this lies in the future, even allowing for clock skew."""
        self.earliest_end = now - skew
        """An end (NotOnOrAfter) at or before this has passed, even allowing for clock skew."""
        self.instants: dict[str, datetime] = {}
        """Each instant text parsed so far (see `_instant`)."""

    def check_all(self) -> VerifiedResponse:
        which = self.signed.which
        a = self.assertion
        try:
            self.conditions = self.in_assertion.one(c.CONDITIONS, "conditions.not_before", required=False)
            self.in_conditions = _Children(self.conditions) if self.conditions is not None else None
            subject = self.in_assertion.one(c.SUBJECT, "subject_confirmation")
            assert subject is not None
            self.in_subject = _Children(subject)
            self.bearer_data = self._bearer_confirmation_data()
        except SamlValidationError as error:
            raise self.run._failed(error) from None

        self.run.steps(self, _Semantics.CHECKS)

        not_on_or_after = self.not_on_or_after
        # The bounds plus the skew: the checks above accept the assertion until then, so a replay cache that
        # forgot a use any earlier would let a OneTimeUse assertion be redeemed again.
        redeem_by = min(not_on_or_after, self.issue_instant + self.settings.max_assertion_age) + self.settings.clock_skew
        # Positional, in VerifiedResponse's field order (each line names its field): matching 22 keywords to the
        # parameters cost 12,000 instructions, 0.6 % of a validation (bench/instructions.py).
        return VerifiedResponse(
            self.issuer,  # issuer
            a.get("ID", ""),  # assertion_id
            self.issue_instant,  # issue_instant
            self.name_id,  # name_id
            self.name_id_format,  # name_id_format
            self.name_qualifier,  # name_qualifier
            self.sp_name_qualifier,  # sp_name_qualifier
            self.recipient,  # recipient
            self.audiences,  # audiences
            self.not_before,  # not_before
            not_on_or_after,  # not_on_or_after
            redeem_by,  # redeem_by
            self.authn_instant,  # authn_instant
            self.session_not_on_or_after,  # session_not_on_or_after
            self.session_index,  # session_index
            self.in_conditions is not None and bool(self.in_conditions.all(c.ONE_TIME_USE)),  # one_time_use
            self._in_response_to(which),  # in_response_to
            self.attributes,  # attributes
            which,  # signed
            self.signed.thumbprint,  # key_thumbprint
            tuple(self.run.report.warnings),  # warnings
            tuple(self.run.report.entries),  # check_log
        )

    def _instant(self, value: str | None, what: str, check_id: str) -> datetime | None:
        """The instant an attribute states (None when absent), parsing each distinct text once per response: IdPs
        write the same instant in several places (Conditions and SubjectConfirmationData NotOnOrAfter, NotBefore
        and AuthnInstant), and a parse costs ten times the lookup. Only successes are kept: a text that does not
        parse is refused where it is first read."""
        if value is None:
            return None
        instant = self.instants.get(value)
        if instant is None:
            try:
                instant = self.instants[value] = parse_xs_datetime(value)
            except ValueError:
                # A document error (contract step 6), answered as one: under the check's own AWS error, a malformed
                # AuthnInstant got ExpiredTokenException "Response has expired", which clients read as "sign in again".
                raise SamlValidationError(
                    check_id, f"{what} {value!r} is not a valid xs:dateTime with a time zone (or lies outside years 1-9999)", aws=SIGNATURE_INVALID,
                ) from None
        return instant

    def _in_response_to(self, which: Literal["assertion", "response", "both"]) -> str | None:
        """The request this answers, from signed bytes only: the bearer SubjectConfirmationData's InResponseTo
        (inside the signed Assertion), else the Response's when the Response itself is signed."""
        data = self.bearer_data[0]
        signed = data.get("InResponseTo") if data is not None else None
        if signed is None and which != "assertion":
            signed = self.response.get("InResponseTo")
        return signed

    def _bearer_confirmation_data(self) -> list[etree._Element | None]:
        """SubjectConfirmationData of each bearer SubjectConfirmation (None where it has none)."""
        found: list[etree._Element | None] = []
        for confirmation in self.in_subject.all(c.SUBJECT_CONFIRMATION):
            if confirmation.get("Method") != c.CM_BEARER:
                continue
            data = _children(confirmation, c.SUBJECT_CONFIRMATION_DATA)
            if len(data) > 1:  # the schema allows one; reading only the first would ignore the others' limits
                raise SamlValidationError("subject_confirmation", f"a bearer SubjectConfirmation holds {len(data)} SubjectConfirmationData elements; at most one is allowed")
            found.append(data[0] if data else None)
        return found

    def _issuer(self) -> str:
        expected = self.trust.entity_id
        issuer_el = self.in_assertion.one(c.ISSUER, "issuer")
        self.issuer = _text(issuer_el, "issuer")
        if self.issuer != expected:
            raise SamlValidationError(
                "issuer", f"the Assertion Issuer {self.issuer!r} is not the provider's entity ID {expected!r}", hint=self._issuer_hint(self._response_issuer_or_none())
            )
        response_issuer = self.in_response.one(c.ISSUER, "issuer", required=False)
        if response_issuer is not None and _text(response_issuer, "issuer") != expected:
            raise SamlValidationError(
                "issuer", f"the Response Issuer {_text(response_issuer, 'issuer')!r} is not the provider's entity ID {expected!r}",
                hint=self._issuer_hint(_text(response_issuer, "issuer")),
            )
        return self.issuer

    def _response_issuer_or_none(self) -> str | None:
        """The Response's Issuer for the hint only: a malformed one fails the check on its own once it is read."""
        try:
            element = self.in_response.one(c.ISSUER, "issuer", required=False)
            return None if element is None else _text(element, "issuer")
        except SamlValidationError:
            return None

    def _issuer_hint(self, response_issuer: str | None) -> str:
        if response_issuer is not None and response_issuer != self.issuer:
            # Two entity IDs in one response: no metadata can match both, so registering other metadata cannot help.
            return (
                f"The Response's Issuer {response_issuer!r} and the Assertion's Issuer {self.issuer!r} differ; both must be "
                f"the provider's entityID ({self.trust.entity_id!r} in its metadata). Make the IdP send one entity ID in both."
            )
        return f"The provider's metadata has entityID {self.trust.entity_id!r}. Register the metadata of the IdP that sent this response, or fix the IdP's issuer setting."

    def _status(self) -> str:
        status = self.in_response.one(c.STATUS, "status")
        assert status is not None
        code = _at_most_one(_children(status, c.STATUS_CODE), status, c.STATUS_CODE, "status", required=True)
        assert code is not None
        value = code.get("Value")
        if value != c.STATUS_SUCCESS:
            detail = [value or "(none)"] + [sub.get("Value", "") for sub in code.iter(c.STATUS_CODE) if sub is not code]
            message = status.findtext(c.STATUS_MESSAGE)
            raise SamlValidationError(
                "status",
                f"the IdP answered with status {' / '.join(detail)}" + (f": {message}" if message else ""),
                hint="The IdP refused the sign-in (user not assigned to the application, MFA failure, …): see the IdP's logs.",
            )
        return "Success"

    def _not_before(self) -> str:
        cond = self.conditions
        written = cond.get("NotBefore") if cond is not None else None
        self.not_before = self._instant(written, "Conditions NotBefore", "conditions.not_before")
        if cond is None:
            if self.trust.policy.require_condition_bounds:
                raise SamlValidationError("conditions.not_before", "the Assertion has no Conditions", aws=_BOUND_MISSING)
            return "no Conditions element"
        if self.not_before is None:
            if self.trust.policy.require_condition_bounds:
                raise SamlValidationError("conditions.not_before", "Conditions has no NotBefore, which this provider requires", aws=_BOUND_MISSING)
            return "no NotBefore"
        if self.latest_start < self.not_before:
            raise SamlValidationError(
                "conditions.not_before",
                f"the assertion is valid only from {xs_datetime_text(self.not_before)}; now is {xs_datetime_text(self.now)}, "
                f"{_span(self.not_before - self.now)} before it (clock skew allowed: {_span(self.settings.clock_skew)})",
                hint="The IdP's clock is ahead of this server's (or this server's is behind): synchronise both with NTP.",
            )
        return f"NotBefore {written}"  # as written: formatting the parsed instant costs more than the check

    def _not_on_or_after(self) -> str:
        bounds: list[tuple[str, datetime, str | None]] = []  # (what, instant, as written)
        cond = self.conditions
        if cond is not None:
            written = cond.get("NotOnOrAfter")
            value = self._instant(written, "Conditions NotOnOrAfter", "conditions.not_on_or_after")
            if value is not None:
                bounds.append(("Conditions NotOnOrAfter", value, written))
            elif self.trust.policy.require_condition_bounds:
                raise SamlValidationError("conditions.not_on_or_after", "Conditions has no NotOnOrAfter, which this provider requires", aws=_BOUND_MISSING)
        for data in self.bearer_data:
            if data is not None:
                written = data.get("NotOnOrAfter")
                value = self._instant(written, "SubjectConfirmationData NotOnOrAfter", "conditions.not_on_or_after")
                if value is not None:
                    bounds.append(("SubjectConfirmationData NotOnOrAfter", value, written))
        if not bounds:
            # Nothing has expired: the bound AWS requires (SubjectConfirmationData's) is missing, and AWS's answer is
            # the one the subject_confirmation check gives for that alone (ExpiredTokenException sends users to sign in again).
            raise SamlValidationError("conditions.not_on_or_after", "the assertion states no NotOnOrAfter at all", aws=NO_CONFIRMATION_DATA)
        earliest = bounds[0]
        for bound in bounds:
            if self.earliest_end >= bound[1]:
                raise SamlValidationError(
                    "conditions.not_on_or_after",
                    f"{bound[0]} {xs_datetime_text(bound[1])} has passed; now is {xs_datetime_text(self.now)}, "
                    f"{_span(self.now - bound[1])} after it (clock skew allowed: {_span(self.settings.clock_skew)})",
                    hint="The response expired: sign in at the IdP again. If this happens at once, compare the clocks of the IdP and this server.",
                )
            if bound[1] < earliest[1]:
                earliest = bound
        self.not_on_or_after = earliest[1]
        return f"valid until {earliest[2]}"

    def _issue_instant(self) -> str:
        written = self.assertion.get("IssueInstant")
        issued = self._instant(written, "Assertion IssueInstant", "issue_instant")
        if issued is None:
            # A required attribute missing: a document error (contract step 6), answered as a malformed instant is,
            # not as an assertion issued too long ago (ExpiredTokenException sends users to sign in again).
            raise SamlValidationError("issue_instant", "the Assertion has no IssueInstant", aws=SIGNATURE_INVALID)
        self.issue_instant = issued
        if issued > self.latest_start:
            raise SamlValidationError(
                "issue_instant",
                f"the assertion was issued in the future ({xs_datetime_text(issued)}; now is {xs_datetime_text(self.now)})",
                hint="The IdP's clock is ahead of this server's: synchronise both with NTP.",
                aws=_NOT_YET_VALID,
            )
        if self.earliest_end - issued > self.settings.max_assertion_age:
            raise SamlValidationError(
                "issue_instant",
                f"the assertion was issued at {xs_datetime_text(issued)}; now is {xs_datetime_text(self.now)}, {_span(self.now - issued)} after it, "
                f"more than {_span(self.settings.max_assertion_age)} (clock skew allowed: {_span(self.settings.clock_skew)})",
                hint="Assertions must be redeemed within 5 minutes of issuance: sign in again (and don't cache SAML responses longer).",
            )
        return f"issued {written}"

    def _audience(self) -> Message:
        restrictions = self.in_conditions.all(c.AUDIENCE_RESTRICTION) if self.in_conditions is not None else []
        if not restrictions:
            raise SamlValidationError(
                "audience",
                "the assertion has no AudienceRestriction",
                hint="Set the IdP application's audience (SP entity ID) to urn:amazon:webservices.",
            )
        audiences: list[str] = []
        settings, trust = self.settings, self.trust
        for restriction in restrictions:
            values = [_text(a, "audience") for a in _children(restriction, c.AUDIENCE)]
            audiences.extend(values)
            for value in values:
                if settings.audience_accepted(value, trust):
                    break
            else:
                raise SamlValidationError(
                    "audience",
                    f"no accepted audience in AudienceRestriction {values}",
                    hint=next(filter(None, (_close_to(v, settings.accepted_audiences | settings.accepted_acs_urls) for v in values)), None)
                    or "Set the IdP application's audience (SP entity ID) to urn:amazon:webservices or https://signin.aws.amazon.com/saml, or to this service's own entity ID.",
                )
        self.audiences = tuple(audiences)
        return lambda: ", ".join(audiences)

    def _conditions_understood(self) -> Message | None:
        if self.in_conditions is None:
            return None
        tags = self.in_conditions.tags()
        unknown = sorted({c.local_name(tag) for tag in tags if tag not in _UNDERSTOOD_CONDITIONS})
        if unknown:
            # SAML Core §2.5.1: a condition the relying party does not understand makes the assertion
            # Indeterminate, never valid.
            raise SamlValidationError(
                "conditions.understood",
                f"Conditions holds {', '.join(unknown)}, which samlfed does not understand",
                hint="AWS-style service providers understand AudienceRestriction, OneTimeUse and ProxyRestriction only: remove the other conditions in the IdP application.",
            )
        # The message closes over the tags, not over self: the report keeps it, and a reference from the report
        # back to this object would make a cycle that holds the signed trees until the garbage collector runs.
        return lambda: ", ".join(c.local_name(tag) for tag in tags) or "no conditions besides the time bounds"

    def _destination(self) -> str | None:
        destination = self.response.get("Destination")
        if destination is None:
            return None
        if not self.settings.acs_url_accepted(destination, self.trust):
            raise SamlValidationError(
                "destination",
                f"the Response Destination {destination!r} is not an accepted ACS URL",
                hint=_close_to(destination, self.settings.accepted_acs_urls)
                or "The IdP sends this response to another service provider. Set its ACS URL to https://signin.aws.amazon.com/saml or to this service's /saml URL.",
            )
        return destination

    def _subject_confirmation(self) -> str:
        if not self.bearer_data:
            raise SamlValidationError("subject_confirmation", "the Subject has no bearer SubjectConfirmation; exactly one is required", aws=NO_CONFIRMATION_DATA)
        if len(self.bearer_data) != 1:
            raise SamlValidationError("subject_confirmation", f"the Subject has {len(self.bearer_data)} bearer SubjectConfirmation elements; exactly one is required")
        data = self.bearer_data[0]
        if data is None:
            raise SamlValidationError("subject_confirmation", "the bearer SubjectConfirmation has no SubjectConfirmationData", aws=NO_CONFIRMATION_DATA)
        recipient = data.get("Recipient")
        if recipient is None:
            raise SamlValidationError("subject_confirmation", "SubjectConfirmationData has no Recipient", aws=NO_CONFIRMATION_DATA)
        if not self.settings.acs_url_accepted(recipient, self.trust):
            raise SamlValidationError(
                "subject_confirmation",
                f"the Recipient {recipient!r} is not an accepted ACS URL",
                hint=_close_to(recipient, self.settings.accepted_acs_urls)
                or "Set the IdP application's ACS (reply) URL to https://signin.aws.amazon.com/saml or to this service's /saml URL.",
            )
        if data.get("NotOnOrAfter") is None:
            raise SamlValidationError("subject_confirmation", "SubjectConfirmationData has no NotOnOrAfter (AWS requires it)", aws=NO_CONFIRMATION_DATA)
        not_before = self._instant(data.get("NotBefore"), "SubjectConfirmationData NotBefore", "subject_confirmation")
        if not_before is not None and self.latest_start < not_before:
            raise SamlValidationError("subject_confirmation", f"SubjectConfirmationData is valid only from {xs_datetime_text(not_before)}", aws=_NOT_YET_VALID)
        self.recipient = recipient
        return f"bearer, Recipient {recipient}"

    def _name_id(self) -> str:
        if self.in_subject.all(c.ENCRYPTED_ID):
            raise SamlValidationError("subject.name_id", "the NameID is encrypted (EncryptedID), which is not supported")
        name_id = self.in_subject.one(c.NAME_ID, "subject.name_id", required=False)
        # ASCII whitespace only, as for the AWS attributes: str.strip() would also drop U+00A0 and the like, and
        # "\u00a0admin" would become the subject "admin", which was never signed.
        value = _text(name_id, "subject.name_id").strip(_XML_WHITESPACE) if name_id is not None else ""
        if not value:
            raise SamlValidationError(
                "subject.name_id",
                "the Subject has no NameID" if name_id is None else "the NameID is empty",
                hint="AWS requires a NameID: configure the IdP application's NameID (persistent, or the user's email).",
            )
        assert name_id is not None
        self.name_id = value
        self.name_id_format = name_id.get("Format") or c.NAMEID_FORMAT_UNSPECIFIED
        self.name_qualifier = name_id.get("NameQualifier")
        self.sp_name_qualifier = name_id.get("SPNameQualifier")
        return f"{value} ({self.name_id_format})"

    def _attributes(self) -> str | Warn:
        merged: dict[str, list[str]] = {}
        skipped: list[str] = []
        value_tag, nil = c.ATTRIBUTE_VALUE, _XSI_NIL if self.signed.may_hold_nil else None
        for statement in self.in_assertion.all(c.ATTRIBUTE_STATEMENT):
            for attribute in statement[:]:  # see _children
                if attribute.tag != c.ATTRIBUTE:
                    continue
                name = attribute.get("Name")
                if not name:
                    raise SamlValidationError("attributes.unique", "an Attribute has no Name", aws=SIGNATURE_INVALID)
                values = merged.get(name)
                if values is None:
                    values = merged[name] = []
                elif name not in c.MULTI_ATTRIBUTE_NAMES:
                    raise SamlValidationError(
                        "attributes.unique",
                        f"the attribute {name!r} appears more than once",
                        hint="Only the Role attribute may repeat; put multiple values into one Attribute element.",
                    )
                for value in attribute[:]:
                    if value.tag != value_tag:
                        continue
                    if len(value):
                        if name.startswith(c.AWS_ATTR_PREFIX):
                            raise SamlValidationError("attributes.unique", f"a value of {name!r} contains XML elements instead of text", aws=SIGNATURE_INVALID)
                        skipped.append(name)
                    elif nil is None or (marked := value.get(nil)) is None or not _is_nil(marked, value, name):
                        values.append(value.text or "")
        self.attributes = dict(zip(merged, map(tuple, merged.values()), strict=True))  # in C: a comprehension is a frame
        if skipped:
            return Warn(f"{len(self.attributes)} attribute(s); values with XML content were ignored in {sorted(set(skipped))}")
        return f"{len(self.attributes)} attribute(s)"

    def _session(self) -> str | None:
        statements = self.in_assertion.all(c.AUTHN_STATEMENT)
        self.authn_instant = self.session_not_on_or_after = self.session_index = None
        ends_written = None
        for statement in statements:
            self.authn_instant = self.authn_instant or self._instant(statement.get("AuthnInstant"), "AuthnInstant", "session.not_on_or_after")
            self.session_index = self.session_index or statement.get("SessionIndex")
            written = statement.get("SessionNotOnOrAfter")
            ends = self._instant(written, "SessionNotOnOrAfter", "session.not_on_or_after")
            if ends is not None and (self.session_not_on_or_after is None or ends < self.session_not_on_or_after):
                self.session_not_on_or_after, ends_written = ends, written
        ends = self.session_not_on_or_after
        if ends is None:
            return None
        if ends <= self.now:
            raise SamlValidationError("session.not_on_or_after", f"the IdP session ended at {xs_datetime_text(ends)} (SessionNotOnOrAfter)", hint="Sign in at the IdP again.")
        if ends - self.now < _ONE_SECOND:  # credentials are issued in whole seconds: none could end with the IdP session
            raise SamlValidationError("session.not_on_or_after", f"the IdP session ends at {xs_datetime_text(ends)}, within the second (SessionNotOnOrAfter)", hint="Sign in at the IdP again.")
        return f"IdP session until {ends_written}"

    CHECKS = (
        ("issuer", _issuer),
        ("status", _status),
        ("conditions.not_before", _not_before),
        ("conditions.not_on_or_after", _not_on_or_after),
        ("issue_instant", _issue_instant),
        ("audience", _audience),
        ("conditions.understood", _conditions_understood),
        ("destination", _destination),
        ("subject_confirmation", _subject_confirmation),
        ("subject.name_id", _name_id),
        ("attributes.unique", _attributes),
        ("session.not_on_or_after", _session),
    )
    """The semantic checks, in the order of the validation bar."""


def validate_response(
    saml_response: str | bytes,
    trust: ProviderTrust,
    *,
    now: datetime,
    settings: ValidationSettings = DEFAULT_SETTINGS,
) -> VerifiedResponse:
    """Validate a base64 SAMLResponse against one registered provider: every SAML-level check, no AWS attributes.

    Raises `SamlValidationError` (with the check id, a message, a hint and the AWS error) on any failure.
    """
    _, verified = _parse_and_verify(saml_response, trust, now, settings)
    return verified


SessionTagsCheck = Callable[[dict[str, tuple[str, ...]], dict[str, str], tuple[str, ...]], None]
"""See `validate`."""


def validate(
    saml_response: str | bytes,
    trust: ProviderTrust,
    *,
    now: datetime,
    settings: ValidationSettings = DEFAULT_SETTINGS,
    requested_role: RolePair | None = None,
    session_tags_check: SessionTagsCheck | None = None,
) -> VerifiedAssertion:
    """Validate an AWS sign-in response: `validate_response` plus the AWS attributes and, if given, the requested pair.

    `session_tags_check(attributes, principal_tags, transitive_tag_keys)`: more rules for the session tags (STS: the
    tags the provider's attribute mapping adds, and that every TransitiveTagKeys value names a tag), run in the
    session-tag check (contract §3.4 step 20), before the Role attribute is read (step 21); it raises
    SamlValidationError."""
    run, verified = _parse_and_verify(saml_response, trust, now, settings)
    claims = _AwsClaims(verified.attributes, requested_role, trust, session_tags_check)
    run.steps(claims, _AwsClaims.CHECKS)
    # Positional, as VerifiedResponse (see _Semantics.check_all): response, claims, warnings, check_log.
    return VerifiedAssertion(verified, claims.result(), tuple(run.report.warnings), tuple(run.report.entries))


class _AwsClaims:
    """The AWS stage (contract §3.4 steps 16-21): one method per check, results kept for `result()`."""

    def __init__(
        self, attributes: dict[str, tuple[str, ...]], requested: RolePair | None, trust: ProviderTrust, tags_check: SessionTagsCheck | None = None,
    ) -> None:
        self.attributes = attributes
        self.requested = requested
        self.trust = trust
        self.tags_check = tags_check

    def session_name(self) -> str:
        self.role_session_name = aws_claims.role_session_name(self.attributes)
        return self.role_session_name

    def source_identity(self) -> str | None:
        self.source = aws_claims.source_identity(self.attributes)
        return self.source

    def duration(self) -> str | None:
        self.session_duration = aws_claims.session_duration(self.attributes)
        return f"{self.session_duration} seconds" if self.session_duration is not None else None

    def tags(self) -> Message | Warn | None:
        self.principal_tags, self.transitive_tag_keys = aws_claims.session_tags(self.attributes)
        if self.tags_check is not None:
            self.tags_check(self.attributes, self.principal_tags, self.transitive_tag_keys)
        tags = self.principal_tags
        if self.transitive_tag_keys:
            named = {key.lower() for key in tags}
            unset = [key for key in self.transitive_tag_keys if key.lower() not in named]
            if unset:
                return Warn(
                    f"TransitiveTagKeys names {', '.join(map(repr, unset))}, which no PrincipalTag attribute sets",
                    hint="The sign-in is refused unless the provider's attribute mapping adds that session tag.",
                )
        return (lambda: ", ".join([f"{k}={v}" for k, v in tags.items()])) if tags else None

    def roles(self) -> Message | Warn:
        if c.AWS_ROLE not in self.attributes:  # not a malformed pair: the IdP sends no Role claim, or under another name
            raise SamlValidationError(
                "aws.role", f"the Role attribute is missing; {aws_claims.attribute_names(self.attributes)}",
                hint=f"Add an attribute named {c.AWS_ROLE} to the IdP application, with one AttributeValue per role the user may "
                "assume: 'arn:aws:iam::ACCOUNT:role/NAME,arn:aws:iam::ACCOUNT:saml-provider/NAME'.",
            )
        self.pairs, problems, warnings = aws_claims.role_pairs(self.attributes.get(c.AWS_ROLE, ()))
        self.problems = tuple(problems)
        _check_requested_role(self.pairs, problems, self.requested, self.trust)
        pairs = self.pairs
        if problems or warnings:
            return Warn(f"{_listing(pairs)}. " + _notes(warnings + problems), hint=_ROLE_HINT)
        return lambda: _listing(pairs)

    def result(self) -> AwsSessionClaims:
        # Positional, in AwsSessionClaims's field order (each line names its field), as VerifiedResponse.
        return AwsSessionClaims(
            self.pairs,  # roles
            self.role_session_name,  # role_session_name
            self.session_duration,  # session_duration
            self.source,  # source_identity
            self.principal_tags,  # principal_tags
            self.transitive_tag_keys,  # transitive_tag_keys
            self.problems,  # role_problems
        )

    CHECKS = (
        ("aws.role_session_name", session_name),
        ("aws.source_identity", source_identity),
        ("aws.session_duration", duration),
        ("aws.session_tags", tags),
        ("aws.role", roles),
    )


def _close_to(value: str, accepted: frozenset[str]) -> str | None:
    """A hint when `value` is an accepted URL or audience but for its scheme, a trailing slash or letter case: the
    comparison is exact, and an administrator looking at both would not see why."""
    for candidate in sorted(accepted):
        if value.lower() == candidate.lower() or value.rstrip("/") == candidate.rstrip("/") or (
            value.startswith("http://") and "https://" + value[len("http://"):] == candidate
        ):
            return f"{value!r} is not {candidate!r}: values are compared exactly. Set the IdP application's value to {candidate}."
    return None


def _span(delta: timedelta) -> str:
    """A time span in words: '6 min 5 s', '42 s'."""
    seconds = int(abs(delta.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{hours} h" if hours else "", f"{minutes} min" if minutes else "", f"{seconds} s" if seconds or not (hours or minutes) else ""]
    return " ".join(part for part in parts if part)


LISTED_AT_MOST = 20
"""How many role pairs, or problems with Role values, a message names before it counts the rest: a trusted IdP's
Role attribute may hold hundreds, and every refusal's message is also a log line."""


def _listing(pairs: tuple[RolePair, ...]) -> str:
    shown = "; ".join([f"{p.role_arn} via {p.provider_arn}" for p in pairs[:LISTED_AT_MOST]])
    return f"{shown}; and {len(pairs) - LISTED_AT_MOST} more" if len(pairs) > LISTED_AT_MOST else shown


def _notes(notes: list[str]) -> str:
    shown = " ".join(notes[:LISTED_AT_MOST])
    return f"{shown} And {len(notes) - LISTED_AT_MOST} more like these." if len(notes) > LISTED_AT_MOST else shown


def _near_miss(requested: RolePair, pairs: tuple[RolePair, ...]) -> str | None:
    """What to fix when a listed pair is the requested one but for letter case, the role's path or the account."""
    wanted = ROLE_ARN.fullmatch(requested.role_arn)
    for pair in pairs:
        listed = ROLE_ARN.fullmatch(pair.role_arn)
        if wanted is None or listed is None:
            continue
        if pair.provider_arn.lower() == requested.provider_arn.lower() and pair.role_arn.lower() == requested.role_arn.lower():
            return (f"The IdP sends {pair.role_arn} via {pair.provider_arn}, which differs from the requested pair only in letter "
                    "case: ARNs are compared exactly. Make the IdP's Role value name the role and provider as IAM spells them.")
        if listed["name"] != wanted["name"]:
            continue
        if listed["account"] == wanted["account"] and listed["path"] != wanted["path"]:
            return (f"The IdP sends {pair.role_arn}, whose path differs from the requested {requested.role_arn}: the path is part of "
                    "the ARN. Make the IdP's Role value the role's full ARN, path included.")
        if listed["account"] != wanted["account"]:
            return (f"The IdP sends {pair.role_arn} via {pair.provider_arn}, in account {listed['account']}, not {wanted['account']}. "
                    "Make the IdP's Role value name the account that holds the role and the provider.")
    return None


_ROLE_HINT = (
    "Each Role AttributeValue must be one 'arn:aws:iam::ACCOUNT:role/NAME,arn:aws:iam::ACCOUNT:saml-provider/NAME' "
    "pair (either order, separated by a comma); give several roles as several AttributeValues."
)


def _check_requested_role(
    pairs: tuple[RolePair, ...], problems: list[str], requested: RolePair | None, trust: ProviderTrust
) -> None:
    if not pairs:
        detail = f" ({problems[0]})" if problems else ""
        raise SamlValidationError("aws.role", f"the Role attribute holds no usable role/provider pair{detail}", hint=_ROLE_HINT)
    if requested is None:
        return
    if requested not in pairs:
        raise SamlValidationError(
            "aws.role",
            f"the requested role {requested.role_arn} with provider {requested.provider_arn} is not a pair in the Role attribute, "
            f"which lists {_listing(pairs)}",
            hint=_near_miss(requested, pairs)
            or "Ask for one of the pairs the assertion lists (exact, case-sensitive ARNs), or grant the role to the user at the IdP.",
        )
    if trust.provider_arn is not None and requested.provider_arn != trust.provider_arn:
        raise SamlValidationError("aws.role", f"the requested provider {requested.provider_arn} is not the provider that verified the signature")
