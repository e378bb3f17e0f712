"""IAM wildcard matching, compiled to regexes that cannot backtrack exponentially, against a plain dynamic
programming matcher: the same answers on random patterns and values, and quick answers where a naive regex
(`.*` per `*`) would take minutes."""

from __future__ import annotations

from functools import cache

from hypothesis import given, settings
from hypothesis import strategies as st

from samlfed.policy.conditions import wildcard_match
from samlfed.policy.variables import alternation


def reference(pattern: str, value: str) -> bool:
    """`*` any run, `?` one character, everything else literal."""

    @cache
    def match(i: int, j: int) -> bool:
        if i == len(pattern):
            return j == len(value)
        if pattern[i] == "*":
            return match(i + 1, j) or (j < len(value) and match(i, j + 1))
        return j < len(value) and pattern[i] in ("?", value[j]) and match(i + 1, j + 1)

    return match(0, 0)


@settings(max_examples=600, deadline=None)
@given(st.text(alphabet="ab*?/.", max_size=10), st.text(alphabet="ab/.", max_size=14))
def test_wildcards_match_as_the_reference_does(pattern: str, value: str) -> None:
    assert wildcard_match(pattern, value) == reference(pattern, value)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="ab*?", max_size=6), min_size=1, max_size=3), st.text(alphabet="ab", max_size=10))
def test_an_alternation_matches_when_one_pattern_does(patterns: list[str], value: str) -> None:
    assert (alternation(tuple(patterns), ignore_case=False).fullmatch(value) is not None) == any(reference(p, value) for p in patterns)


def test_patterns_that_made_a_naive_regex_backtrack_for_minutes() -> None:
    assert not wildcard_match("arn:aws:s3:::b/*a*a*a*a*a*a*a*a*b", "arn:aws:s3:::b/" + "a" * 2000)
    assert not wildcard_match("arn:aws:s3:::b/*/*/*/*.pdf", "arn:aws:s3:::b/" + "/" * 2000)
    assert wildcard_match("arn:aws:s3:::b/*a*a*b", "arn:aws:s3:::b/" + "a" * 2000 + "b")
