"""A profile-restricted XML-DSig verifier for SAML: enveloped signatures, one Reference, RSA, exc-c14n.

Written by hand on purpose. General-purpose verifiers (signxml, libxmlsec) implement the whole XML-DSig
transform and key-retrieval machinery, and every SAML signature-wrapping, XSLT and KeyInfo attack lives in
that generality. Here the only accepted shape is the one SAML IdPs actually emit, so that
  * the signature is bound to the element it envelops (checked before any crypto),
  * no transform engine exists (the transform list must be exactly enveloped-signature + c14n),
  * keys come only from the registered metadata, never from KeyInfo,
  * the caller receives the canonical bytes that were digested, and reads values only from them.
The canonicalization itself is libxml2's (through lxml) and the RSA is OpenSSL's (through `cryptography`).
It is differentially tested against signxml and python-xmlsec (tests/saml/test_dsig_differential.py).
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from lxml import etree

from . import constants as c
from .b64 import strict_b64decode
from .errors import SamlValidationError
from .model import ProviderPolicy, SigningKey

_SIGNATURE_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    c.ALG_RSA_SHA256: hashes.SHA256,
    c.ALG_RSA_SHA384: hashes.SHA384,
    c.ALG_RSA_SHA512: hashes.SHA512,
}
_LEGACY_SIGNATURE_HASHES: dict[str, type[hashes.HashAlgorithm]] = {c.ALG_RSA_SHA1: hashes.SHA1}

# The constructors themselves: hashlib.new(name) goes through a Python-level lookup on every call.
_Digest = Callable[[bytes], "hashlib._Hash"]
_DIGESTS: dict[str, _Digest] = {c.ALG_SHA256: hashlib.sha256, c.ALG_SHA384: hashlib.sha384, c.ALG_SHA512: hashlib.sha512}
_LEGACY_DIGESTS: dict[str, _Digest] = {c.ALG_SHA1: hashlib.sha1}

_PKCS1V15 = padding.PKCS1v15()
# RFC 8017 §9.2, note 1: the DER DigestInfo that precedes the hash in an RSASSA-PKCS1-v1_5 signature.
_DIGEST_INFO: dict[type[hashes.HashAlgorithm], tuple[bytes, _Digest]] = {
    hashes.SHA256: (bytes.fromhex("3031300d060960864801650304020105000420"), hashlib.sha256),
    hashes.SHA384: (bytes.fromhex("3041300d060960864801650304020205000430"), hashlib.sha384),
    hashes.SHA512: (bytes.fromhex("3051300d060960864801650304020305000440"), hashlib.sha512),
    hashes.SHA1: (bytes.fromhex("3021300906052b0e03021a05000414"), hashlib.sha1),
}


def rsa_pkcs1v15_verify(public_key: rsa.RSAPublicKey, signature: bytes, data: bytes, hash_cls: type[hashes.HashAlgorithm]) -> bool:
    """RSASSA-PKCS1-v1_5 verification as RFC 8017 §8.2.2 describes it: encode, then compare.

    OpenSSL undoes the RSA and checks the padding (00 01 FF..FF 00, through recover_data_from_signature); what it
    recovers must then equal the DigestInfo of the hash of `data`, byte for byte. The verdict is the same as
    `public_key.verify` (tests/saml/test_rsa_verify.py checks both on valid, altered and foreign signatures);
    it costs 3 µs less, because `verify` sets up a digest context inside OpenSSL on every call.
    """
    if len(signature) != (public_key.key_size + 7) // 8:  # §8.2.2 step 1; OpenSSL's recovery takes a shorter one
        return False
    try:
        recovered = public_key.recover_data_from_signature(signature, _PKCS1V15, None)
    except InvalidSignature:
        return False
    prefix, digest = _DIGEST_INFO[hash_cls]
    return hmac.compare_digest(recovered, prefix + digest(data).digest())


_C14N = frozenset({c.ALG_C14N_EXCLUSIVE})
_LEGACY_C14N = frozenset({c.ALG_C14N_INCLUSIVE, c.ALG_C14N_11})

_PREFIX = re.compile(r"^(#default|[A-Za-z_][\w.\-]*)$")


@dataclass(slots=True)
class BoundSignature:
    """A `ds:Signature` that passed the binding and algorithm checks, ready to verify."""

    element: etree._Element
    parent: etree._Element
    reference_id: str
    signed_info: etree._Element
    c14n_method: str
    c14n_prefixes: list[str] | None
    transform_c14n: str
    transform_prefixes: list[str] | None
    signature_method: str
    digest_method: str
    digest_value: bytes
    signature_value: bytes


@dataclass(slots=True)  # read-only by convention, not frozen: see model.VerifiedResponse
class VerifiedSignature:
    key: SigningKey
    signed_bytes: bytes
    """The canonical bytes of the referenced element after the enveloped transform: exactly what was digested."""


def _reject(check_id: str, message: str, hint: str | None = None) -> SamlValidationError:
    return SamlValidationError(check_id, message, hint=hint)


# The children of an element of a signature that `_check_signature_elements` passed, so all elements, are
# `element[:]`: collected in C, several times faster than lxml's child iterator (and written out rather than
# wrapped in a helper, whose call cost as much as the slice).
_tag = operator.attrgetter("tag")
"""An element's tag, for map(): no Python frame per element, as a comprehension has (bench/instructions.py)."""


def _strict_b64(text: str | None, what: str) -> bytes:
    try:
        decoded = strict_b64decode(text or "")
    except (binascii.Error, ValueError):
        raise _reject("signature.binding", f"{what} is not valid base64") from None
    if not decoded:
        raise _reject("signature.binding", f"{what} is empty")
    return decoded


def _expect(children: list[etree._Element], shapes: tuple[tuple[str, ...], ...], where: str) -> None:
    """The children's tags must be one of `shapes`, in order."""
    actual = tuple(map(_tag, children))
    if actual not in shapes:
        names = ", ".join(map(c.local_name, actual)) or "nothing"
        raise _reject("signature.binding", f"{where} must contain exactly {', '.join(map(c.local_name, shapes[0]))}; found {names}")


_SIGNATURE_SHAPES = ((c.DS_SIGNED_INFO, c.DS_SIGNATURE_VALUE), (c.DS_SIGNED_INFO, c.DS_SIGNATURE_VALUE, c.DS_KEY_INFO))
_SIGNED_INFO_SHAPES = ((c.DS_C14N_METHOD, c.DS_SIGNATURE_METHOD, c.DS_REFERENCE),)
_REFERENCE_SHAPES = ((c.DS_TRANSFORMS, c.DS_DIGEST_METHOD, c.DS_DIGEST_VALUE),)


_ATTRIBUTES_WITH_VALUE = etree.XPath("//@*[. = $value]")
_ID_NAMES = frozenset({"ID", "Id", "id"})


_PLAIN_ID = re.compile(rb"[A-Za-z0-9_.:-]+")
_AMPERSAND = ord("&")


def count_id(root: etree._Element, value: str, document: bytes | None = None) -> int:
    """How often `value` is used as an ID: attributes with local name ID, Id or id in any namespace (xml:id too).

    `value` must be the ID of an element of `root` (the caller read it from one), so at least one attribute holds it.

    `document`, the UTF-8 bytes `root` was parsed from, allows a shortcut for the usual case. When the value is
    plain ([A-Za-z0-9_.:-]) and the bytes hold no character reference ('&#'), an attribute can only carry the
    value if the bytes hold it literally between quotes (no other escape can produce these characters, and
    normalisation only turns whitespace into spaces). Such an occurrence is bounded by quotes, which the value
    cannot contain, so `bytes.count` never misses it. The caller knows that one attribute holds the value, so:
    one occurrence in all the bytes, or two of which one is a quoted '#value' (the Reference URI, not an ID),
    means no second attribute anywhere holds it. Anything else counts precisely.
    """
    # '&' alone is a memchr, 15x faster; as an int, `in` does not first fail an int conversion (a TypeError).
    if document is not None and (_AMPERSAND not in document or b"&#" not in document):
        literal = value.encode()
        if _PLAIN_ID.fullmatch(literal):
            occurrences = document.count(literal)
            if occurrences == 1 or (occurrences == 2 and (document.find(b'"#' + literal + b'"') != -1 or document.find(b"'#" + literal + b"'") != -1)):
                return 1
    # libxml2 finds the few attributes holding this value; only their names are looked at in Python.
    return sum(1 for a in _ATTRIBUTES_WITH_VALUE(root, value=value) if a.attrname.rsplit("}", 1)[-1] in _ID_NAMES)


def bind_signature(signature: etree._Element, root: etree._Element, *, document: bytes | None = None) -> BoundSignature:
    """Check the structure of one signature and that its single Reference names its parent's unique ID.

    `document` is the bytes `root` was parsed from, when the caller has them (see `count_id`)."""
    parent = signature.getparent()
    assert parent is not None  # the shape check only hands over signatures that have a parent
    # One walk over the whole signature, first: it refuses comments and processing instructions anywhere in
    # it, so the structural checks below see only elements. Holding the elements also keeps lxml's proxies
    # alive for those checks, which then cost next to nothing.
    everything = list(signature.iter())
    _check_signature_elements(everything)
    children = signature[:]
    _expect(children, _SIGNATURE_SHAPES, "ds:Signature")
    signed_info, signature_value = children[0], children[1]
    if len(children) == 3:
        _check_key_info(children[2])

    si_children = signed_info[:]
    _expect(si_children, _SIGNED_INFO_SHAPES, "ds:SignedInfo")
    c14n_el, method_el, reference = si_children

    ref_children = reference[:]
    _expect(ref_children, _REFERENCE_SHAPES, "ds:Reference")
    transforms_el, digest_method_el, digest_value_el = ref_children

    parent_id = parent.get("ID")
    uri = reference.get("URI")
    if not parent_id:
        raise _reject("signature.binding", f"the signed {c.local_name(parent.tag)} has no ID attribute")
    if uri != "#" + parent_id:
        raise _reject(
            "signature.binding",
            f"the Reference URI {uri!r} does not name the signature's parent {c.local_name(parent.tag)} (ID {parent_id!r})",
            hint="A signature must sit inside the element it signs; a moved or wrapped signature is a signature-wrapping attack.",
        )
    occurrences = count_id(root, parent_id, document)
    if occurrences != 1:
        raise _reject(
            "signature.binding",
            f"the ID {parent_id!r} occurs {occurrences} times across ID/Id/id/xml:id attributes",
            hint="Duplicate IDs let a verifier and a reader pick different elements (signature wrapping).",
        )

    transforms = transforms_el[:]
    if not _ONLY_TRANSFORM.issuperset(map(_tag, transforms)):
        raise _reject("signature.binding", "ds:Transforms may contain only ds:Transform elements")

    # Positional, in BoundSignature's field order (each line names its field): twelve keywords cost 5,000
    # instructions more to match (bench/instructions.py).
    return BoundSignature(
        signature,  # element
        parent,  # parent
        parent_id,  # reference_id
        signed_info,  # signed_info
        c14n_el.get("Algorithm", ""),  # c14n_method
        _inclusive_prefixes(c14n_el),  # c14n_prefixes
        _transform_c14n(transforms),  # transform_c14n
        _inclusive_prefixes(transforms[-1]) if transforms else None,  # transform_prefixes
        _no_children(method_el).get("Algorithm", ""),  # signature_method
        _no_children(digest_method_el).get("Algorithm", ""),  # digest_method
        _strict_b64(_no_children(digest_value_el).text, "DigestValue"),  # digest_value
        _strict_b64(_no_children(signature_value).text, "SignatureValue"),  # signature_value
    )


_ALLOWED_ATTRIBUTES: dict[str, frozenset[str]] = {
    c.DS_SIGNATURE: frozenset({"Id"}),
    c.DS_SIGNED_INFO: frozenset({"Id"}),
    c.DS_C14N_METHOD: frozenset({"Algorithm"}),
    c.DS_SIGNATURE_METHOD: frozenset({"Algorithm"}),
    c.DS_REFERENCE: frozenset({"URI", "Id", "Type"}),
    c.DS_TRANSFORMS: frozenset(),
    c.DS_TRANSFORM: frozenset({"Algorithm"}),
    c.DS_DIGEST_METHOD: frozenset({"Algorithm"}),
    c.DS_DIGEST_VALUE: frozenset(),
    c.DS_SIGNATURE_VALUE: frozenset({"Id"}),
    c.EXC_INCLUSIVE_NAMESPACES: frozenset({"PrefixList"}),
    c.DS_KEY_INFO: frozenset({"Id"}),
    c.DS_X509_DATA: frozenset(),
    c.DS_X509_CERTIFICATE: frozenset(),
}
# KeyInfo is never read (keys come from metadata), but it must still look like what IdPs send.
_KEY_INFO_CHILDREN = frozenset({c.qname(c.NS_DSIG, "KeyName"), c.qname(c.NS_DSIG, "KeyValue"), c.DS_X509_DATA})
_X509_DATA_CHILDREN = frozenset(
    {c.DS_X509_CERTIFICATE, c.qname(c.NS_DSIG, "X509SubjectName"), c.qname(c.NS_DSIG, "X509IssuerSerial"), c.qname(c.NS_DSIG, "X509SKI")}
)


_ONLY_TRANSFORM = frozenset({c.DS_TRANSFORM})
_SINGLETONS = frozenset({c.DS_SIGNATURE, c.DS_SIGNED_INFO, c.DS_REFERENCE, c.DS_TRANSFORMS, c.DS_DIGEST_VALUE, c.DS_SIGNATURE_VALUE})


def _check_signature_elements(elements: list[etree._Element]) -> None:
    """Elements only, schema attributes only, and no second copy of a singleton anywhere in the signature
    (KeyInfo included).

    A second SignedInfo or Reference hidden in KeyInfo is how verifiers that search instead of walking the
    structure get confused (xml-crypto CVE-2025-29774).
    """
    singletons = 0
    for element in elements:
        tag = element.tag
        if not isinstance(tag, str):
            raise _reject("signature.binding", "the signature contains a comment or processing instruction")
        if tag in _SINGLETONS:
            singletons += 1
        names = element.keys()
        if names:
            allowed = _ALLOWED_ATTRIBUTES.get(tag)
            if allowed is not None and not allowed.issuperset(names):
                extra = sorted(set(names) - allowed)
                raise _reject("signature.binding", f"ds:{c.local_name(tag)} carries unexpected attributes {extra}")
    # The structural checks then find each singleton in its place, so any count above one each is an extra copy.
    if singletons > len(_SINGLETONS):
        raise _reject(
            "signature.binding",
            "the signature holds more than one Signature, SignedInfo, Reference, Transforms, DigestValue or SignatureValue",
        )


def _check_key_info(key_info: etree._Element) -> None:
    entries = key_info[:]
    tags = list(map(_tag, entries))
    if not tags or not _KEY_INFO_CHILDREN.issuperset(tags):
        raise _reject("signature.binding", "ds:KeyInfo holds something other than KeyName, KeyValue or X509Data")
    for entry, tag in zip(entries, tags, strict=True):
        if tag != c.DS_X509_DATA:
            continue
        items = entry[:]
        if not items or not _X509_DATA_CHILDREN.issuperset(map(_tag, items)):
            raise _reject("signature.binding", "ds:X509Data holds something other than X.509 certificate data")


def _no_children(element: etree._Element) -> etree._Element:
    if len(element):
        raise _reject(
            "signature.algorithms",
            f"ds:{c.local_name(element.tag)} must not have child elements (HMACOutputLength and similar are refused)",
        )
    return element


def _transform_c14n(transforms: list[etree._Element]) -> str:
    """The canonicalization the transform list ends in; '' when the list is not an accepted shape.

    Accepted: [enveloped-signature, c14n]. [enveloped-signature] alone means inclusive c14n 1.0 (XML-DSig's
    default for a node-set), which only the legacy opt-in allows.
    """
    algorithms = [t.get("Algorithm", "") for t in transforms]
    if algorithms == [c.ALG_ENVELOPED]:
        return c.ALG_C14N_INCLUSIVE
    if len(algorithms) == 2 and algorithms[0] == c.ALG_ENVELOPED:
        return algorithms[1]
    return ""


def _inclusive_prefixes(element: etree._Element) -> list[str] | None:
    if not len(element):  # the usual case: len() costs a fraction of the slice
        return None
    children = element[:]
    if len(children) != 1 or children[0].tag != c.EXC_INCLUSIVE_NAMESPACES or len(children[0]):
        raise _reject("signature.algorithms", f"unexpected content inside {c.local_name(element.tag)}")
    prefixes = (children[0].get("PrefixList") or "").split()
    if not all(_PREFIX.match(p) for p in prefixes):
        raise _reject("signature.algorithms", "InclusiveNamespaces PrefixList is malformed")
    if len(prefixes) > MAX_PREFIXES:
        raise _reject("signature.algorithms", f"InclusiveNamespaces PrefixList names {len(prefixes)} prefixes; at most {MAX_PREFIXES} are accepted")
    return prefixes


MAX_PREFIXES = 10
"""PrefixList tokens: IdPs name the few prefixes of their documents (five at most in the wild: 'ds saml samlp xs xsi')."""
# Elements times namespace declarations times prefixes (or declarations again, for inclusive c14n): about 3 ns of
# libxml2's c14n each, so 10 ms or so. A 73 KB response declaring xs and xsi on every AttributeValue, as Okta
# does, with two prefixes in its PrefixList, makes 800,000.
_C14N_LOOKUPS = 3_000_000


def check_c14n_cost(bound: BoundSignature, document: bytes) -> None:
    """Refuse, before canonicalizing, a document whose namespaces would make libxml2's c14n take seconds.

    Each element costs a walk through the namespace declarations in scope, times the PrefixList prefixes
    (exclusive c14n) or times the namespaces in scope again (inclusive c14n). 128 declarations on the Response,
    listed in a PrefixList, over 10,000 empty elements took 1 s of CPU before the signature was checked. The
    bound is taken from the size (an element takes 4 bytes or more, a declaration 9), else from counts of bytes:
    '<' for the elements, 'xmlns' for the declarations.
    """
    # The most PrefixList prefixes of an exclusive c14n, at least 1. Written out rather than as max() over a
    # comprehension, which cost twice as much on every validation (bench/instructions.py).
    prefixes = 1
    if bound.c14n_method == c.ALG_C14N_EXCLUSIVE and bound.c14n_prefixes and len(bound.c14n_prefixes) > prefixes:
        prefixes = len(bound.c14n_prefixes)
    if bound.transform_c14n == c.ALG_C14N_EXCLUSIVE and bound.transform_prefixes and len(bound.transform_prefixes) > prefixes:
        prefixes = len(bound.transform_prefixes)
    inclusive = bound.c14n_method in _LEGACY_C14N or bound.transform_c14n in _LEGACY_C14N
    size = len(document)
    if (size // 4) * (size // 9) * (size // 9 if inclusive else prefixes) <= _C14N_LOOKUPS:
        return  # the usual response, without counting
    declarations = document.count(b"xmlns")
    factor = declarations if inclusive else prefixes
    if document.count(b"<") * declarations * factor > _C14N_LOOKUPS:
        raise _reject("signature.algorithms", "the document declares too many namespaces to be canonicalized in reasonable time")


LEGACY_OPT_IN = " (samlfed providers validation-options set PROVIDER_ARN --allow-legacy-algorithms; try it with doctor --allow-legacy-algorithms)"


def check_algorithms(bound: BoundSignature, policy: ProviderPolicy) -> None:
    """Refuse anything outside the profile before any cryptography runs."""
    legacy = policy.allow_legacy_algorithms
    legacy_hint = f"Configure the IdP for RSA-SHA256 with SHA-256 digests and exclusive c14n, or enable the provider's legacy-algorithms opt-in{LEGACY_OPT_IN}."
    if bound.signature_method not in _SIGNATURE_HASHES and not (legacy and bound.signature_method in _LEGACY_SIGNATURE_HASHES):
        kind = "legacy " if bound.signature_method in _LEGACY_SIGNATURE_HASHES else ""
        raise _reject("signature.algorithms", f"{kind}signature method {bound.signature_method!r} is not allowed", hint=legacy_hint if kind else None)
    if bound.digest_method not in _DIGESTS and not (legacy and bound.digest_method in _LEGACY_DIGESTS):
        kind = "legacy " if bound.digest_method in _LEGACY_DIGESTS else ""
        raise _reject("signature.algorithms", f"{kind}digest method {bound.digest_method!r} is not allowed", hint=legacy_hint if kind else None)
    for what, algorithm in (("CanonicalizationMethod", bound.c14n_method), ("the Reference transform", bound.transform_c14n)):
        if algorithm in _C14N or (legacy and algorithm in _LEGACY_C14N):
            continue
        if algorithm == "":
            raise _reject("signature.algorithms", "the Reference transforms must be exactly enveloped-signature then exclusive c14n")
        hint = legacy_hint if algorithm in _LEGACY_C14N else None
        raise _reject("signature.algorithms", f"{what} {algorithm!r} is not allowed", hint=hint)
    if bound.c14n_method != c.ALG_C14N_EXCLUSIVE and bound.c14n_prefixes is not None:
        raise _reject("signature.algorithms", "InclusiveNamespaces is only meaningful with exclusive c14n")
    if bound.transform_c14n != c.ALG_C14N_EXCLUSIVE and bound.transform_prefixes is not None:
        raise _reject("signature.algorithms", "InclusiveNamespaces is only meaningful with exclusive c14n")


_XML_ID, _XML_BASE = f"{{{c.NS_XML}}}id", f"{{{c.NS_XML}}}base"


def _c14n(element: etree._Element, algorithm: str, prefixes: list[str] | None) -> bytes:
    if algorithm == c.ALG_C14N_11:
        # libxml2 (through lxml) canonicalizes with c14n 1.0 only. C14N 1.1 differs from inclusive 1.0 only in the
        # xml:id and xml:base attributes it takes over from ancestors outside the signed element (it leaves out
        # xml:id and joins xml:base values): without such ancestors the two give the same bytes. With them, refuse.
        if any(ancestor.get(_XML_ID) is not None or ancestor.get(_XML_BASE) is not None for ancestor in element.iterancestors()):
            raise _reject(
                "signature.algorithms",
                "c14n 1.1 of an element inside one that carries xml:id or xml:base is not supported",
                hint="Configure the IdP for exclusive c14n (http://www.w3.org/2001/10/xml-exc-c14n#).",
            )
    try:
        return etree.tostring(
            element,
            method="c14n",
            exclusive=algorithm == c.ALG_C14N_EXCLUSIVE,
            with_comments=False,
            inclusive_ns_prefixes=prefixes or None,
        )
    except etree.C14NError:
        # libxml2 refuses to canonicalize some well-formed documents, such as one declaring a relative
        # namespace URI (xmlns:x="rel"): no signature over such an element can be checked.
        raise _reject(
            "signature.verify",
            f"the signed {c.local_name(element.tag)} cannot be canonicalized (a relative namespace URI, for example, makes c14n impossible)",
            hint="Genuine IdPs declare only absolute namespace URIs; something rewrote this document.",
        ) from None


def enveloped_c14n(bound: BoundSignature) -> bytes:
    """Canonicalize the parent without its signature: the enveloped-signature transform, then c14n.

    The signature is detached for good. Putting it back changed it: lxml re-points every namespace reference of a
    re-inserted subtree to the nearest declaration of the same URI, so a SignedInfo whose prefix differed from the
    one in scope was canonicalized, afterwards, as bytes that were never received (a re-prefixed SignedInfo passed;
    an unused xmlns:dsig on the Response failed a genuine signature). Whatever covers the signature must therefore
    be canonicalized first: its SignedInfo (`verify` does that), and the digest of an enclosing signed element
    (callers verify the Response's signature before the Assertion's). lxml moves an element's tail text with it,
    but the transform removes only the Signature node, so the tail stays in the parent.
    """
    parent, signature = bound.parent, bound.element
    previous = signature.getprevious()
    tail = signature.tail
    if tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(signature)
    return _c14n(parent, bound.transform_c14n, bound.transform_prefixes)


def verify(bound: BoundSignature, keys: tuple[SigningKey, ...], policy: ProviderPolicy) -> VerifiedSignature:
    """Check the digest of the enveloping element, then the RSA signature over SignedInfo with each registered key.

    SignedInfo is canonicalized first, while the tree is as received (see `enveloped_c14n`). The signature is left
    detached from its parent."""
    signed_info = _c14n(bound.signed_info, bound.c14n_method, bound.c14n_prefixes)
    signed_bytes = enveloped_c14n(bound)
    digest = (_DIGESTS.get(bound.digest_method) or _LEGACY_DIGESTS[bound.digest_method])(signed_bytes).digest()
    if not hmac.compare_digest(digest, bound.digest_value):
        raise _reject(
            "signature.verify",
            f"the digest of the signed {c.local_name(bound.parent.tag)} does not match: its content was changed after signing",
            hint="Something between the IdP and here altered the document (a proxy re-encoding it, or tampering).",
        )
    hash_cls = _SIGNATURE_HASHES.get(bound.signature_method) or _LEGACY_SIGNATURE_HASHES[bound.signature_method]
    too_small = []
    for key in keys:
        if key.key_size < policy.min_rsa_bits:
            too_small.append(key)
            continue
        if rsa_pkcs1v15_verify(key.public_key, bound.signature_value, signed_info, hash_cls):
            return VerifiedSignature(key, signed_bytes)
    if too_small and len(too_small) == len(keys):
        raise _reject(
            "signature.verify",
            f"every registered signing key is under {policy.min_rsa_bits} bits",
            hint=f"Rotate the IdP signing key to RSA-2048 or larger, or enable the provider's legacy-algorithms opt-in{LEGACY_OPT_IN}.",
        )
    raise _reject(
        "signature.verify",
        f"the {c.local_name(bound.parent.tag)} signature does not verify with any of the {len(keys)} registered signing key(s)",
        hint="The IdP probably signs with a new certificate (rotation): download its current metadata and update the SAML provider.",
    )
