"""count_id's byte-level shortcut must agree with the precise count on every document, above all the hostile ones."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from samlfed.saml.dsig import count_id
from samlfed.saml.xmlparse import parse_xml

SAML = 'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"'


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (f'<r {SAML}><saml:Assertion ID="_a1"/></r>', 1),
        (f'<r {SAML} ID="_a1"><saml:Assertion ID="_a1"/></r>', 2),
        (f"<r {SAML}><saml:Assertion ID='_a1'/><x Id='_a1'/></r>", 2),  # single quotes, another ID name
        (f'<r {SAML}><saml:Assertion ID="_a1"/><x xml:id="_a1"/></r>', 2),
        (f'<r {SAML}><saml:Assertion ID="_a1"/><x id="&#95;a1"/></r>', 2),  # the same value through a character reference
        (f'<r {SAML}><saml:Assertion ID="_a1"/><x other="_a1"/></r>', 1),  # not an ID attribute name
        (f'<r {SAML}><saml:Assertion ID="_a1"/><x>"_a1"</x></r>', 1),  # quoted in text only
    ],
)
def test_count(document: str, expected: int) -> None:
    data = document.encode()
    root = parse_xml(data)
    assert count_id(root, "_a1", data) == expected
    assert count_id(root, "_a1") == expected


_VALUES = st.sampled_from(["_a1", "_a2", "a b", "_a&amp;1", "&#95;a1", "_a\t1"])


_REFERENCES = st.sampled_from(["", '<ref URI="#_a1"/>', "<ref URI='#_a1'/>", '<ref URI="#_a1x"/>', "<t>#_a1</t>", "<t>_a1</t>", "<t>_a1_a1</t>"])


@settings(max_examples=1000, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["ID", "Id", "id", "xml:id", "Other", "URI"]), _VALUES, st.sampled_from(['"', "'"])), max_size=5),
    st.lists(_REFERENCES, max_size=3),
)
def test_shortcut_agrees_with_the_precise_count(attributes: list[tuple[str, str, str]], others: list[str]) -> None:
    children = "".join(f"<x{i} {name}={q}{value}{q}/>" for i, (name, value, q) in enumerate(attributes))
    data = f'<r><a ID="_a1"/>{children}{"".join(others)}</r>'.encode()
    root = parse_xml(data)
    assert count_id(root, "_a1", data) == count_id(root, "_a1")
