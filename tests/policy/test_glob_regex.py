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


def arn_reference(pattern: str, value: str) -> bool:
    """The IAM User Guide's rule for Resource ARNs: `*` and `?` match within a colon-separated segment, except a
    `*` that ends a segment (followed by ':' or the end), which may also match colons."""

    @cache
    def match(i: int, j: int) -> bool:
        if i == len(pattern):
            return j == len(value)
        if pattern[i] == "*":
            rest = pattern[i:].lstrip("*")
            crosses = rest == "" or rest.startswith(":")
            return match(i + 1, j) or (j < len(value) and (crosses or value[j] != ":") and match(i, j + 1))
        if pattern[i] == "?":
            return j < len(value) and value[j] != ":" and match(i + 1, j + 1)
        return j < len(value) and pattern[i] == value[j] and match(i + 1, j + 1)

    return match(0, 0)


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet="ab:*?", max_size=10), st.text(alphabet="ab:", max_size=14))
def test_resource_wildcards_match_as_the_arn_reference_does(pattern: str, value: str) -> None:
    assert (alternation((pattern,), ignore_case=False, arn=True).fullmatch(value) is not None) == arn_reference(pattern, value)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="a:*?", max_size=6), min_size=1, max_size=3), st.text(alphabet="a:", max_size=10))
def test_an_arn_alternation_matches_when_one_pattern_does(patterns: list[str], value: str) -> None:
    assert (alternation(tuple(patterns), ignore_case=False, arn=True).fullmatch(value) is not None) == any(arn_reference(p, value) for p in patterns)


def test_resource_wildcards_keep_to_arn_segments_unless_they_end_one() -> None:
    """Found by review: matched as one flat glob, `*-prod` also matched a function alias and `us-*-1` crossed into
    the account segment."""
    function = "arn:aws:lambda:us-east-1:111122223333:function:"

    def matches(pattern: str, value: str) -> bool:
        return alternation((pattern,), ignore_case=False, arn=True).fullmatch(value) is not None

    assert matches(function + "*-prod", function + "app-prod")
    assert not matches(function + "*-prod", function + "app:alias-prod")
    assert matches(function + "app*", function + "app:live")  # a `*` that ends a segment crosses colons
    assert not matches("arn:aws:sqs:us-*-1:111122223333:q", "arn:aws:sqs:us-east:999999999999:x-1:111122223333:q")
    assert matches("arn:aws:iam::*:role/*-admin", "arn:aws:iam::111122223333:role/ops-admin")
    assert not matches("arn:aws:s3:::b/*.jpg", "arn:aws:s3:::b/a:b.jpg")
    assert matches("arn:aws:s3:::b/*", "arn:aws:s3:::b/a:b.jpg") and matches("*", "arn:aws:s3:::b/a:b")
    assert not matches("arn:aws:s3:::b/?", "arn:aws:s3:::b/:")


def test_arn_patterns_that_would_backtrack_for_minutes_answer_at_once() -> None:
    """A linear bound, counted as the regex's result on values of 2,000 characters (a naive regex takes minutes)."""
    assert alternation(("arn:aws:s3:::b/*a*a*a*a*a*a*a*a*b",), ignore_case=False, arn=True).fullmatch("arn:aws:s3:::b/" + "a" * 2000) is None
    assert alternation(("*:a*:a*:a*:a*:a*b",), ignore_case=False, arn=True).fullmatch(":a" * 1000) is None
    assert alternation(("*:*:*:*:*:*:*:b",), ignore_case=False, arn=True).fullmatch(":" * 2000) is None
