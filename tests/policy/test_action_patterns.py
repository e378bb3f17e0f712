"""Action patterns grouped by service (policy/actions.py) match exactly what one alternation of them all matches,
for the patterns and actions where grouping could go wrong: wildcards in the service part, no colon, case, and
letters that Unicode case folding equates with ASCII ones (the Kelvin sign with k, the long s with s)."""

from __future__ import annotations

import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from samlfed.policy.actions import ActionPatterns, action_matcher
from samlfed.policy.variables import alternation

ALPHABET = "sS3kKeEc2:*?-\u212a\u017f"
PATTERNS = st.lists(st.text(ALPHABET, min_size=1, max_size=8), min_size=1, max_size=6).map(tuple)
ACTIONS = st.text(ALPHABET.replace("*", "").replace("?", ""), max_size=8)


@settings(max_examples=2000, deadline=None)
@given(patterns=PATTERNS, action=ACTIONS)
@example(patterns=("s3:Get*",), action="\u017f3:GetObject")  # the long s: the regex folds it to s
@example(patterns=("\u017f3:*",), action="s3:GetObject")
@example(patterns=("sk:*",), action="s\u212a:x")  # the Kelvin sign folds to k
@example(patterns=("s*:Get*", "ec2:*"), action="s3:GetObject")
@example(patterns=("*",), action="nocolon")
@example(patterns=("S3:GET*",), action="s3:getobject")
def test_grouping_by_service_matches_what_one_alternation_matches(patterns: tuple[str, ...], action: str) -> None:
    grouped = ActionPatterns(patterns)
    expected = alternation(patterns, ignore_case=True).fullmatch(action) is not None
    assert (grouped.fullmatch(action) is not None) == expected
    assert (grouped.fullmatch(action) is not None) == expected  # the second time from the compiled cache


def test_a_statement_compiles_only_the_services_it_is_asked_about() -> None:
    patterns = tuple(f"svc{n}:Get*" for n in range(500)) + ("*:List*",)
    grouped = action_matcher(patterns)
    assert isinstance(grouped, ActionPatterns)
    assert grouped.fullmatch("svc7:GetThing") and grouped.fullmatch("other:ListThings") and not grouped.fullmatch("other:GetThing")
    assert sorted(grouped._compiled) == ["", "svc7"]  # one service's patterns and the wildcard ones, not all 501


def test_a_few_patterns_stay_one_regex() -> None:
    assert isinstance(action_matcher(("s3:Get*", "ec2:Describe*")), re.Pattern)


@settings(max_examples=1000, deadline=None)
@given(patterns=st.lists(st.text(ALPHABET + "\0", min_size=1, max_size=8), min_size=1, max_size=6).map(tuple),
       actions=st.lists(st.text(ALPHABET.replace("*", "").replace("?", "") + "\0", max_size=8), min_size=2, max_size=4))
@example(patterns=(":Get*",), actions=["other:GetObject", ":GetObject"])
@example(patterns=("\0:Get*", "s3:*"), actions=["\0:GetObject", "\u017f3:GetObject"])
def test_one_matcher_asked_about_several_actions_answers_each_as_one_alternation(patterns: tuple[str, ...], actions: list[str]) -> None:
    """The compiled regexes are cached by service, beside two entries of their own: "" for the patterns with a
    wildcard in their service part alone (an action of a service no pattern names) and "\\0" for all of them (an
    action whose service part is not ASCII). An empty service part (":GetObject") and a NUL one were services too, and
    shared those entries: once an action of another service had cached the wildcard patterns alone under "", the
    pattern ":Get*" no longer matched ":GetObject", and after "\\0:GetObject" had cached its own patterns under "\\0",
    "s3:*" no longer matched the long-s "ſ3:GetObject". Such a part is now no service: an action with one is checked
    against every pattern, a pattern with one against every action. (No policy IAM stores holds such an action; a
    policy given to SimulateCustomPolicy, read without IAM's write rules, may, and its ActionNames may too.)"""
    grouped = ActionPatterns(patterns)
    for action in actions:
        expected = alternation(patterns, ignore_case=True).fullmatch(action) is not None
        assert (grouped.fullmatch(action) is not None) == expected, action
