"""Role attribute values: one role ARN and one saml-provider ARN, in either order, separated by a comma; the role's
name may hold commas too (IAM allows them), its path may not."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from samlfed.saml.aws_claims import role_pairs
from samlfed.saml.model import RolePair

ROLE = "arn:aws:iam::123456789012:role/Dev"
PROVIDER = "arn:aws:iam::123456789012:saml-provider/Corp"
_ROLE = re.compile(r"arn:aws(?:-cn|-us-gov|-iso|-iso-[bef]|-eusc)?:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]{1,512}")
_PROVIDER = re.compile(r"arn:aws(?:-cn|-us-gov|-iso|-iso-[bef]|-eusc)?:iam::[0-9]{12}:saml-provider/[A-Za-z0-9_.-]{1,128}")


def _readings(value: str) -> set[RolePair]:
    """Every way to cut the value at one comma into a role ARN, whose commas are all in its name, and a provider ARN."""
    value = value.strip(" \t\r\n")
    readings = set()
    for at in (i for i, ch in enumerate(value) if ch == ","):
        left, right = value[:at].strip(" \t\r\n"), value[at + 1:].strip(" \t\r\n")
        for role, provider in ((left, right), (right, left)):
            if _ROLE.fullmatch(role) and "," not in role.rpartition("/")[0] and _PROVIDER.fullmatch(provider):
                readings.add(RolePair(role, provider))
    return readings


def _rule(value: str) -> RolePair | None:
    """The rule, stated plainly: the one cut of the value into a role ARN and a provider ARN, if there is one."""
    readings = _readings(value)
    assert len(readings) <= 1, readings  # a provider ARN holds no comma: never two ways to read a value
    return readings.pop() if readings else None


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
        # IAM's role names may hold commas ([\w+=,.@-]), its provider names not ([\w._-]): one reading only
        (f"{ROLE},Ops,{PROVIDER}", RolePair(f"{ROLE},Ops", PROVIDER)),
        (f"{PROVIDER},{ROLE},Ops", RolePair(f"{ROLE},Ops", PROVIDER)),
        (f" {PROVIDER} , {ROLE},,Ops\n", RolePair(f"{ROLE},,Ops", PROVIDER)),
        (f"{ROLE},Ops,,{PROVIDER}", RolePair(f"{ROLE},Ops,", PROVIDER)),
        (f"{ROLE.replace('/Dev', '/team/Dev')},{PROVIDER}", RolePair(ROLE.replace("/Dev", "/team/Dev"), PROVIDER)),
        (f"{ROLE.replace('/Dev', '/team/Dev')},Ops,{PROVIDER}", RolePair(ROLE.replace("/Dev", "/team/Dev") + ",Ops", PROVIDER)),
        (f"{ROLE}, Ops,{PROVIDER}", None),  # white space inside the ARN
        (f"{ROLE},Ops,{PROVIDER},{PROVIDER}", None),
        # Commas in a role's path are not read: pairs or roles joined with commas by mistake stay a mistake, not a
        # role whose path holds the ARNs
        (f"{ROLE},{PROVIDER},{ROLE},{PROVIDER}", None),
        (f"{ROLE},{ROLE},{PROVIDER}", None),
        (f"{PROVIDER},{ROLE},{PROVIDER}", None),
        (f"{ROLE.replace('/Dev', '/a,b/Dev')},{PROVIDER}", None),
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
        "arn:aws-eusc:iam::123456789012:saml-provider/Corp",
        "arn:aws:iam::123456789012:role/Dév",
        "",
        " ",
        "x",
        "arn:aws:iam::12:role/x",
        "Ops",
        "a/b",
    ]
)


@settings(max_examples=1500, deadline=None)
@given(st.lists(_PIECES, min_size=1, max_size=4), st.sampled_from(["", " ", "\n", "\t "]))
def test_agrees_with_the_rule(pieces: list[str], padding: str) -> None:
    value = ",".join(padding + p + padding for p in pieces)
    pairs, _, _ = role_pairs((value,))
    expected = _rule(value)
    assert pairs == ((expected,) if expected else ())
