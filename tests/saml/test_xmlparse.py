"""The hardened parser: what it refuses, including the shapes its processing-instruction shortcut must not miss."""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import FrameType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from samlfed.saml.xmlparse import XmlRejected, _has_declarations, _may_hold_processing_instructions, find_pair, may_hold_comments, parse_xml

DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>'


@pytest.mark.parametrize(
    "document",
    [
        b"<a><?pi data?></a>",
        DECLARATION + b"<a><b/><?pi?></a>",
        b"<?xml-stylesheet href='x.xsl'?><a/>",  # looks like a declaration, is a processing instruction
        DECLARATION + b"<?xml-stylesheet href='x.xsl'?><a/>",
        b"<a/><?after root?>",
        b"<?before root?><a/>",
        b"\xef\xbb\xbf" + DECLARATION + b"<a><?pi?></a>",
        b"<!DOCTYPE a [<!ENTITY e 'x'>]><a>&e;</a>",
        b"<a>&undeclared;</a>",
        DECLARATION.replace(b"UTF-8", b"ISO-8859-1") + b"<a/>",
        # libxml2 reads these as UTF-8 (the byte order mark wins) and reports UTF-8; the declaration says otherwise
        b"\xef\xbb\xbf" + DECLARATION.replace(b"UTF-8", b"UTF-16") + b"<a/>",
        b"\xef\xbb\xbf<?xml version='1.0'\n encoding = 'ISO-8859-1' standalone='yes'?><a/>",
    ],
)
def test_refused(document: bytes) -> None:
    with pytest.raises(XmlRejected):
        parse_xml(document)


@pytest.mark.parametrize(
    "document",
    [
        b"<a/>",
        DECLARATION + b"<a/>",
        b"\xef\xbb\xbf" + DECLARATION + b"<a/>",
        b"\xef\xbb\xbf" + DECLARATION.replace(b"UTF-8", b"utf8") + b"<a/>",
        b'\xef\xbb\xbf<?xml version="1.0"?><a/>',
        b"<a><!-- <?not a pi?> --><![CDATA[<?nor this?>]]></a>",  # '<?' seen in the bytes, so the tree is walked
        b"<a>&lt;?text?&gt;&#65;</a>",
    ],
)
def test_accepted(document: bytes) -> None:
    assert parse_xml(document).tag == "a"


@given(st.binary(max_size=120).map(lambda b: bytes(b"<?!a"[x % 4] for x in b)), st.sampled_from([b"<?", b"<!"]), st.integers(0, 4))  # past _LONE_HITS too
def test_find_pair_agrees_with_bytes_find(data: bytes, pair: bytes, start: int) -> None:
    assert find_pair(data, pair, start) == data.find(pair, start)


_PIECES = st.sampled_from(["<a>", "</a>", "text", "<!-- c -->", "<![CDATA[<!-- not one -->]]>", "<b x='<!'/>", "!", "<!", "&lt;!--"])


@given(st.lists(_PIECES, max_size=8))
def test_may_hold_comments_never_misses_one(pieces: list[str]) -> None:
    data = f"<r>{''.join(pieces)}</r>".encode()
    try:
        root = parse_xml(data)
    except XmlRejected:
        return
    has_comment = any(True for _ in root.iter(etree.Comment))
    assert may_hold_comments(data) or not has_comment
    assert may_hold_comments(data) == (b"<!--" in data)


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(st.integers(min_value=500, max_value=520), st.integers(min_value=0, max_value=20)),
    st.sampled_from([b' a{}=""', b" a{}='x'", b'\n a{} = "v>"', b" xmlns:p{}=\"urn:x\""]),
    st.lists(st.sampled_from([b"<x>", b"text", b"=", b"</x>", b" ", b"<y a='1' b='2'/>"]), max_size=1500),
    st.integers(min_value=0, max_value=1500),
)
def test_the_crowded_tag_pre_scan_decides_as_the_full_count_does(count: int, pair: bytes, filler: list[bytes], at: int) -> None:
    """The pre-scan (a long run of bytes without '<') only skips work: the verdict is the '=' count and the regex's."""
    from samlfed.saml.xmlparse import _CROWDED_TAG, MAX_ATTRIBUTES, _has_crowded_tag

    tag = b"<e" + b"".join(pair.replace(b"{}", str(n).encode()) for n in range(count)) + b"/>"
    data = b"".join(filler[:at]) + tag + b"".join(filler[at:])
    assert _has_crowded_tag(data) == (data.count(b"=") > MAX_ATTRIBUTES and _CROWDED_TAG.search(data) is not None)


def _lines_run(call: Callable[[], object]) -> int:
    """How many lines of Python `call` runs: a count of work that, unlike a time, does not vary with the machine."""
    lines = 0

    def trace(frame: FrameType, event: str, arg: object) -> Callable[..., object]:
        nonlocal lines
        lines += event == "line"
        return trace

    sys.settrace(trace)
    try:
        call()
    finally:
        sys.settrace(None)
    return lines


@pytest.mark.parametrize("filler", [b"!", b"?", b"!?", b"<!--!-->", b"<!-- <? <! -->"])
def test_the_pre_scans_do_bounded_python_work_whatever_the_document_holds(filler: bytes) -> None:
    """A document of ~100,000 bytes that are mostly the rare bytes the scans look for: each scan runs a bounded
    number of lines. One loop turn per '!' or '?' cost 15 ms a scan (30 ms per sign-in, ten times that on the
    console's path), before any signature check."""
    document = b"<r>" + filler * (99_000 // len(filler)) + b"</r>"
    for scan in (lambda: _has_declarations(document), lambda: may_hold_comments(document), lambda: _may_hold_processing_instructions(document)):
        assert _lines_run(scan) < 100
