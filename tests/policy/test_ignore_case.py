"""StringEqualsIgnoreCase compares as Java's String.equalsIgnoreCase (IAM is a Java service), not as str.casefold."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from samlfed.policy.conditions import _folded, equals_ignore_case, parse_conditions

JAVA_FOLDS = Path(__file__).with_name("java17_case_folds.txt")
UNICODE_14_CASED = {0x2C2F, 0xA7C0, 0xA7D0, 0xA7D6, 0xA7D8, *range(0x10570, 0x10596)}
"""Capital letters that Unicode 14 added with a lower case (Python 3.11's tables): Java 17 knows Unicode 13 only."""


def java_folds() -> dict[int, int]:
    lines = [line.split() for line in JAVA_FOLDS.read_text().splitlines() if not line.startswith("#")]
    return {int(code, 16): int(folded, 16) for code, folded in lines}


def test_every_code_point_folds_as_java_17_folds_it() -> None:
    java = java_folds()
    assert len(java) == 1416
    differing = [
        code for code in range(0x110000)
        if not 0xD800 <= code <= 0xDFFF and ord(_folded(chr(code))) != java.get(code, code)
    ]
    assert set(differing) == {code for code in UNICODE_14_CASED if unicodedata.category(chr(code)) == "Lu"}


@pytest.mark.parametrize(
    ("policy", "value", "equal"),
    [  # Java 17's answers to "policy".equalsIgnoreCase("value")
        ("straße", "STRASSE", False),  # casefold says equal
        ("\ufb01", "FI", False),  # the fi ligature: casefold says equal
        ("\u0130", "i", True),  # capital I with dot: casefold says different
        ("\u212a", "k", True),  # the Kelvin sign
        ("\u017f", "S", True),  # long s
        ("\u1f80", "\u1f88", True),  # Greek with ypogegrammeni, whose full upper case is two letters
        ("\U00010400", "\U00010428", True),  # Deseret, outside the BMP
        ("Engineering", "ENGINEERING", True),
        ("Engineering", "Engineer", False),
    ],
)
def test_answers_as_java(policy: str, value: str, equal: bool) -> None:
    assert equals_ignore_case(policy, value) is equal


@pytest.mark.parametrize(("operator", "tag", "matches"), [
    ("StringEqualsIgnoreCase", "Straße", False), ("StringEqualsIgnoreCase", "strasse", True),
    ("StringNotEqualsIgnoreCase", "Straße", True), ("StringNotEqualsIgnoreCase", "strasse", False),
])
def test_the_operators_compare_so(operator: str, tag: str, matches: bool) -> None:
    (condition,) = parse_conditions({operator: {"aws:PrincipalTag/street": "STRASSE"}})
    assert condition.matches({"aws:principaltag/street": [tag]}, effect="Allow") is matches


@given(st.text(max_size=8), st.text(max_size=8))
def test_symmetric_and_reflexive(a: str, b: str) -> None:
    assert equals_ignore_case(a, b) == equals_ignore_case(b, a)
    assert equals_ignore_case(a, a)
