"""The one hardened XML parser every untrusted document goes through (responses and metadata alike).

libxml2 via lxml with DTD loading, entity resolution and network access off and its default limits on
(no `huge_tree`: nesting deeper than 256 and oversized text nodes are parse errors), which together with the
100,000-character input cap bounds the work any document can cause. On top of that we refuse anything a SAML document
never needs and attackers often do: a DOCTYPE (entity expansion, XXE), entity references, processing
instructions and encodings other than UTF-8 (parser differentials).
"""

from __future__ import annotations

import re
import threading

from lxml import etree

_PARSER_OPTIONS = dict(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=False,  # comments must stay visible so that we can refuse them where they matter
    remove_pis=False,
    remove_blank_text=False,  # whitespace is signed content
    collect_ids=False,  # ID lookup is ours to do, across ID/Id/id/xml:id
    strip_cdata=True,
)


class XmlRejected(ValueError):
    """The bytes are not a document we are willing to read."""


_local = threading.local()


def _parser() -> etree.XMLParser:
    """This thread's parser: lxml parsers must not be shared between threads, and building one per document
    costs as much as a tenth of parsing it."""
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = etree.XMLParser(**_PARSER_OPTIONS)
    return parser


def parse_xml(data: bytes) -> etree._Element:
    """Parse untrusted bytes into an element tree, or raise `XmlRejected` saying why."""
    # A NUL byte is no XML character, but every UTF-16 or UTF-32 document has them. libxml2 reads such a
    # document by its byte-order mark and still reports it as UTF-8, and the byte scans below (and the ID
    # count of the signature binding) would look at it as if it were UTF-8: refuse it outright.
    if 0 in data:  # the NUL byte as an int: a memchr, where `b"\x00" in` first fails an int conversion (a TypeError)
        raise XmlRejected("the document is not UTF-8 XML (it holds NUL bytes, as UTF-16 and UTF-32 documents do)")
    # A cheap pre-scan: a DOCTYPE or ENTITY declaration is refused before libxml2 reads any of it.
    if _has_declarations(data):
        raise XmlRejected("a DOCTYPE or entity declaration is present")
    if _has_crowded_tag(data):
        raise XmlRejected(f"an element carries more than {MAX_ATTRIBUTES} attributes and namespace declarations")
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise XmlRejected(f"not well-formed XML ({exc.msg})") from None
    except ValueError as exc:  # e.g. unicode strings with an encoding declaration
        raise XmlRejected(f"not parseable XML ({exc})") from None
    tree = root.getroottree()
    docinfo = tree.docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise XmlRejected("a DOCTYPE is present")
    encoding = (docinfo.encoding or "UTF-8").upper()
    if encoding not in ("UTF-8", "UTF8"):
        raise XmlRejected(f"the document is encoded as {docinfo.encoding}; only UTF-8 is accepted")
    declared = _declared_after_bom(data)
    if declared is not None and declared.upper() not in (b"UTF-8", b"UTF8"):
        raise XmlRejected(f"the document starts with a UTF-8 byte order mark but declares encoding {declared.decode('ascii', 'replace')!r}; only UTF-8 is accepted")
    # Processing instructions anywhere (also before or after the root) are refused. Entity reference nodes
    # need a declared entity, so a DTD, refused above (an undeclared one is a syntax error without a DTD).
    if _may_hold_processing_instructions(data):
        for sibling in _document_level_nodes(root):
            if isinstance(sibling, etree._ProcessingInstruction):
                raise XmlRejected("a processing instruction is present")
        for node in root.iter(etree.PI, etree.Entity):
            kind = "a processing instruction" if isinstance(node, etree._ProcessingInstruction) else "an entity reference"
            raise XmlRejected(f"{kind} is present")
    return root


MAX_ATTRIBUTES = 512
"""Attributes and namespace declarations of one element. libxml2's c14n sorts them by insertion into a list, so
their cost grows with the square of their number: 7,000 on one element of a 70 KB document took 0.4 s of CPU
before any signature check. SAML elements carry a handful."""
# A start tag with more than the limit of name="value" pairs. Quoted values may hold '>' (and '=') but not
# '<' or their own quote, so '>' in a value hides nothing, and '=' in text (LDAP names in a group list) counts
# for nothing. Possessive throughout, so that a failed match does not backtrack.
_CROWDED_TAG = re.compile(rb"""<[^\s<>/!?]++(?:\s++[^\s=<>]++\s*+=\s*+(?:"[^"<]*+"|'[^'<]*+')){%d}""" % (MAX_ATTRIBUTES + 1))


# The bytes after the '<' of such a tag, none of them a '<': a name, then pairs of at least ' a=""'.
_CROWDED_TAG_BYTES = 1 + (MAX_ATTRIBUTES + 1) * 5


def _has_crowded_tag(data: bytes) -> bool:
    """Whether some element carries more than MAX_ATTRIBUTES attributes and namespace declarations (each has an
    '='). Such a tag is a long run of bytes free of '<' holding more than MAX_ATTRIBUTES '=': a document without
    either (the usual one, settled by the cheaper test first) has none, and the regex settles the rest."""
    return _has_long_run_without_lt(data) and data.count(b"=") > MAX_ATTRIBUTES and _CROWDED_TAG.search(data) is not None


def _has_long_run_without_lt(data: bytes) -> bool:
    """False only when no _CROWDED_TAG_BYTES consecutive bytes are free of '<'.

    Such a run covers at least one of the aligned windows of half its length, so a window without '<' is looked
    for: a memchr each, a few per document, where counting the '=' of a 6 KB document costs 30,000 instructions."""
    window = _CROWDED_TAG_BYTES // 2
    find = data.find
    for start in range(0, len(data) - window + 1, window):
        if find(b"<", start, start + window) == -1:
            return True
    return False


_UTF8_BOM = b"\xef\xbb\xbf"
# The XML declaration's grammar (XML 1.0 §2.8, §4.3.3): '<?xml' VersionInfo EncodingDecl, with S and Eq as written there.
_ENCODING_DECLARATION = re.compile(rb"""<\?xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*(?:"[^"]*"|'[^']*')[ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*(?:"([^"]*)"|'([^']*)')""")


def _declared_after_bom(data: bytes) -> bytes | None:
    """The encoding a document that starts with a UTF-8 byte order mark declares, if it declares one.

    libxml2 reads such a document as UTF-8 whatever its declaration says, and reports it as UTF-8 (declared UTF-16,
    ISO-8859-1 or EBCDIC alike), where XML 1.0 (appendix F) makes the contradiction an error and other parsers read
    the declaration. Without a BOM, docinfo.encoding is the declared name, which parse_xml checks itself."""
    if not data.startswith(_UTF8_BOM):
        return None
    match = _ENCODING_DECLARATION.match(data, len(_UTF8_BOM))
    return None if match is None else match.group(1) if match.group(1) is not None else match.group(2)


def _may_hold_processing_instructions(data: bytes) -> bool:
    """False only when no '<?' occurs but the XML declaration's: then the tree holds no processing instruction.

    Saves walking the whole tree for the common document; any doubt ('<?' inside a comment or CDATA) walks.
    """
    start = 3 if data.startswith(_UTF8_BOM) else 0
    first = find_pair(data, b"<?", start)
    if first == -1:
        return False
    is_declaration = first == start and data[start + 5 : start + 6] in (b" ", b"\t", b"\r", b"\n") and data[start : start + 5] == b"<?xml"
    return not is_declaration or find_pair(data, b"<?", first + 2) != -1


def _has_declarations(data: bytes) -> bool:
    """Whether '<!DOCTYPE' or '<!ENTITY' occurs anywhere (also inside comments: the pre-scan is conservative)."""
    return _bang_followed_by(data, (b"DOCTYPE", b"ENTITY"))


def may_hold_comments(data: bytes) -> bool:
    """False only when '<!--' occurs nowhere: a comment needs those bytes (no entity can produce markup)."""
    return _bang_followed_by(data, (b"--",))


_BANG = ord("!")


def _bang_followed_by(data: bytes, words: tuple[bytes, ...]) -> bool:
    """Whether '<!' followed by one of `words` occurs anywhere in `data`."""
    if _BANG not in data:  # no '!' at all, as in most documents: one memchr (an int, as in parse_xml)
        return False
    # One search in C per word, whatever the document holds: a loop over each '<!' in Python took 15 ms on a
    # document of 67,000 '!' under the size cap, before any signature check.
    return any(b"<!" + word in data for word in words)


_LONE_HITS = 16
"""How many second bytes not preceded by the first `find_pair` checks one by one before it leaves the rest of the
search to CPython: checked in Python, each of a document's 67,000 '?' cost 15 ms a scan, before any signature
check."""


def find_pair(data: bytes, pair: bytes, start: int = 0) -> int:
    """`data.find(pair)` for a two-byte `pair` whose second byte is rare in SAML documents ('<?').

    CPython searches for a two-byte needle at about a nanosecond per byte; memchr for the rare byte is some
    twenty times faster, and the few hits are checked one by one, up to _LONE_HITS of them.
    """
    second = pair[1:]
    at = data.find(second, start + 1)
    for _ in range(_LONE_HITS):
        if at == -1:
            return -1
        if data[at - 1] == pair[0]:
            return at - 1
        at = data.find(second, at + 1)
    return -1 if at == -1 else data.find(pair, at - 1)


def parse_canonical(data: bytes) -> etree._Element:
    """Re-parse canonical XML that we produced ourselves from an already vetted document.

    Canonical XML has no DOCTYPE, no XML declaration and no entity references, and the document it came from
    passed `parse_xml`, so only the parse itself remains to do (with the same hardened parser settings).
    """
    return etree.fromstring(data, _parser())


def _document_level_nodes(root: etree._Element) -> list[etree._Element]:
    nodes = []
    node = root.getprevious()
    while node is not None:
        nodes.append(node)
        node = node.getprevious()
    node = root.getnext()
    while node is not None:
        nodes.append(node)
        node = node.getnext()
    return nodes
