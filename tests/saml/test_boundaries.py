"""The exact edges of every limit the validator applies: the last accepted value and the first refused one.

AWS documents these edges (a response is valid until NotOnOrAfter, redeemable for 5 minutes, a session lasts 900 to
43200 seconds, a tag key has at most 128 characters). A comparison written with `<` instead of `<=` passes any test
that stays away from the edge, so each test here sits on it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from saml_factory import NOW, response_b64, trust

from samlfed.saml import SamlValidationError, ValidationSettings, validate
from samlfed.saml import constants as c
from samlfed.saml.aws_claims import is_valid_tag_key, is_valid_tag_value

SKEW = ValidationSettings().clock_skew
MAX_AGE = ValidationSettings().max_assertion_age
MS = timedelta(milliseconds=1)


def verdict(b64: str, at: datetime) -> str:
    """'accept', or the id of the check that refused the response at time `at`."""
    try:
        validate(b64, trust(), now=at)
    except SamlValidationError as error:
        assert not error.unexpected, error.message
        return error.check_id
    return "accept"


def test_not_on_or_after_holds_until_the_skew_has_passed() -> None:
    b64 = response_b64(issue_instant=NOW, lifetime=timedelta(minutes=5))  # NotOnOrAfter = NOW + 5 min
    ends = NOW + timedelta(minutes=5)
    assert verdict(b64, ends + SKEW - MS) == "accept"
    assert verdict(b64, ends + SKEW) == "conditions.not_on_or_after"


def test_not_before_holds_from_the_skew_before_it() -> None:
    b64 = response_b64(issue_instant=NOW)  # NotBefore = IssueInstant = NOW
    assert verdict(b64, NOW - SKEW) == "accept"
    assert verdict(b64, NOW - SKEW - MS) == "conditions.not_before"


def test_issue_instant_in_the_future_within_the_skew() -> None:
    def earlier_not_before(root) -> None:
        root.find(f"{c.ASSERTION}/{c.CONDITIONS}").set("NotBefore", "2026-11-24T11:00:00Z")

    b64 = response_b64(issue_instant=NOW, before_sign=earlier_not_before)
    assert verdict(b64, NOW - SKEW) == "accept"
    assert verdict(b64, NOW - SKEW - MS) == "issue_instant"


def test_issue_instant_may_be_five_minutes_old_beyond_the_skew() -> None:
    b64 = response_b64(issue_instant=NOW, lifetime=timedelta(hours=1))
    assert verdict(b64, NOW + MAX_AGE + SKEW) == "accept"
    assert verdict(b64, NOW + MAX_AGE + SKEW + MS) == "issue_instant"


def test_subject_confirmation_not_before_within_the_skew() -> None:
    def later_confirmation(root) -> None:
        data = root.find(f"{c.ASSERTION}/{c.SUBJECT}/{c.SUBJECT_CONFIRMATION}/{c.SUBJECT_CONFIRMATION_DATA}")
        data.set("NotBefore", "2026-11-24T12:01:00Z")

    b64 = response_b64(issue_instant=NOW, before_sign=later_confirmation)
    later = NOW + timedelta(minutes=1)
    assert verdict(b64, later - SKEW) == "accept"
    assert verdict(b64, later - SKEW - MS) == "subject_confirmation"


def test_session_not_on_or_after_has_no_skew() -> None:
    ends = NOW + timedelta(minutes=2)
    b64 = response_b64(issue_instant=NOW, session_not_on_or_after=ends)
    assert verdict(b64, ends - timedelta(seconds=1)) == "accept"
    assert verdict(b64, ends - timedelta(seconds=1) + MS) == "session.not_on_or_after"  # within the second: no whole second of session is left
    assert verdict(b64, ends) == "session.not_on_or_after"


@pytest.mark.parametrize(("duration", "expected"), [(900, "accept"), (43200, "accept"), (899, "aws.session_duration"), (43201, "aws.session_duration")])
def test_session_duration_edges(duration: int, expected: str) -> None:
    assert verdict(response_b64(issue_instant=NOW, session_duration=duration), NOW) == expected


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"k" * 128: "v"}, "accept"),
        ({"k" * 129: "v"}, "aws.session_tags"),
        ({"k": "v" * 256}, "accept"),
        ({"k": "v" * 257}, "aws.session_tags"),
        ({f"key{i}": "v" for i in range(50)}, "accept"),
        ({f"key{i}": "v" for i in range(51)}, "aws.session_tags"),
        ({"": "v"}, "aws.session_tags"),
        ({"área": "Ingeniería @ Zürich 2"}, "accept"),  # letters, separators and numbers of any script
        ({"k": "Ingeniería!"}, "aws.session_tags"),
    ],
    ids=["key of 128", "key of 129", "value of 256", "value of 257", "50 tags", "51 tags", "empty key", "unicode letters", "unicode with !"],
)
def test_session_tag_edges(tags: dict[str, str], expected: str) -> None:
    assert verdict(response_b64(issue_instant=NOW, principal_tags=tags), NOW) == expected


def test_tag_checks_of_the_attribute_mapping_share_the_edges() -> None:
    """The STS checks mapped attributes with these two (contract §11): the same limits as PrincipalTag attributes."""
    assert [is_valid_tag_key(k) for k in ("k", "k" * 128, "k" * 129, "")] == [True, True, False, False]
    assert [is_valid_tag_value(v) for v in ("", "v" * 256, "v" * 257)] == [True, True, False]
