"""Role attribute values: one role ARN and one saml-provider ARN, in either order, separated by one comma."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from samlfed.saml.aws_claims import role_pairs
from samlfed.saml.model import RolePair

ROLE = "arn:aws:iam::123456789012:role/Dev"
PROVIDER = "arn:aws:iam::123456789012:saml-provider/Corp"
_ROLE = re.compile(r"arn:aws(?:-cn|-us-gov|-iso|-iso-b)?:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]{1,512}")
_PROVIDER = re.compile(r"arn:aws(?:-cn|-us-gov|-iso|-iso-b)?:iam::[0-9]{12}:saml-provider/[A-Za-z0-9_.-]{1,128}")


def _rule(value: str) -> RolePair | None:
    """The rule, stated plainly: exactly two pieces, of which exactly one is a role and exactly one a provider."""
    pieces = [p.strip(" \t\r\n") for p in value.strip(" \t\r\n").split(",")]
    if len(pieces) != 2:
        return None
    roles = [p for p in pieces if _ROLE.fullmatch(p)]
    providers = [p for p in pieces if _PROVIDER.fullmatch(p)]
    return RolePair(roles[0], providers[0]) if len(roles) == 1 and len(providers) == 1 else None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (f"{ROLE},{PROVIDER}", RolePair(ROLE, PROVIDER)),
        (f"{PROVIDER},{ROLE}", RolePair(ROLE, PROVIDER)),
        (f" {PROVIDER} ,\n{ROLE}\t", RolePair(ROLE, PROVIDER)),
        (f"{ROLE},{ROLE}", None),
        (f"{PROVIDER},{PROVIDER}", None),
        (f"{ROLE}", None),
        (f"{ROLE},{PROVIDER},{PROVIDER}", None),
        (f"{ROLE},", None),
        (f",{PROVIDER}", None),
        (f"{ROLE}x,{PROVIDER}", RolePair(f"{ROLE}x", PROVIDER)),
        (f"{ROLE},{PROVIDER}/x", None),
        # AWS's patterns are Java's: \w and \d are ASCII only
        (f"{ROLE}é,{PROVIDER}", None),
        (f"{ROLE},{PROVIDER}é", None),
        (f"{ROLE.replace('1', '١')},{PROVIDER}", None),
    ],
)
def test_pairs(value: str, expected: RolePair | None) -> None:
    pairs, problems, _ = role_pairs((value,))
    assert pairs == ((expected,) if expected else ())
    assert bool(problems) == (expected is None)
    assert _rule(value) == expected


_PIECES = st.sampled_from(
    [
        ROLE,
        PROVIDER,
        "arn:aws:iam::123456789012:user/Dev",
        "arn:aws-cn:iam::123456789012:role/a/b",
        "arn:aws:iam::123456789012:role/Dév",
        "",
        " ",
        "x",
        "arn:aws:iam::12:role/x",
    ]
)


@settings(max_examples=1500, deadline=None)
@given(st.lists(_PIECES, min_size=1, max_size=3), st.sampled_from(["", " ", "\n", "\t "]))
def test_agrees_with_the_rule(pieces: list[str], padding: str) -> None:
    value = ",".join(padding + p + padding for p in pieces)
    pairs, _, _ = role_pairs((value,))
    expected = _rule(value)
    assert pairs == ((expected,) if expected else ())
