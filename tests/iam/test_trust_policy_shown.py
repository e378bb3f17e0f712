"""A trust policy that names a role which is gone, as IAM shows it: GetRole, ListRoles and
GetAccountAuthorizationDetails show the ID the policy is bound to in place of the role's ARN (also once a role of that
name exists again, which the policy does not trust), until the policy is written again."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import count
from typing import Any

import pytest
from iam_http import error_of, iam_client, serving

from samlfed.iam.accounts import create_account
from samlfed.iam.roles import get_role
from samlfed.iam.trust_shown import trust_policy_shown
from samlfed.store import Role

_accounts = count(410000000000)
SERVICE_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with serving(tmp_path_factory, "trust-shown") as (ctx, url, _admin):
        yield {"ctx": ctx, "url": url}


def new_account(world: dict[str, Any]) -> tuple[str, Any]:
    key = create_account(world["ctx"], str(next(_accounts)))
    return key.account_id, iam_client(world["url"], key.access_key_id, key.secret_access_key)


def shown_everywhere(iam: Any, name: str) -> dict[str, Any]:
    """The role's trust policy as GetRole shows it, after checking that ListRoles and GetAccountAuthorizationDetails
    show the same."""
    shown = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
    assert [r["AssumeRolePolicyDocument"] for r in iam.list_roles()["Roles"] if r["RoleName"] == name] == [shown]
    details = iam.get_account_authorization_details(Filter=["Role"])["RoleDetailList"]
    assert [r["AssumeRolePolicyDocument"] for r in details if r["RoleName"] == name] == [shown]
    return shown  # type: ignore[no-any-return]


def test_a_deleted_role_shows_as_its_id_until_the_policy_is_written_again(world: dict[str, Any]) -> None:
    account, iam = new_account(world)
    friend = iam.create_role(RoleName="Friend", AssumeRolePolicyDocument=SERVICE_TRUST)["Role"]
    root = f"arn:aws:iam::{account}:root"
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": [friend["Arn"], root]}, "Action": "sts:AssumeRole"},
        {"Effect": "Deny", "Principal": {"AWS": friend["Arn"]}, "Action": "sts:TagSession",
         "Condition": {"StringEquals": {"aws:PrincipalArn": friend["Arn"]}}},  # not a principal: never replaced
    ]}
    iam.create_role(RoleName="Target", AssumeRolePolicyDocument=json.dumps(trust))
    assert shown_everywhere(iam, "Target") == trust

    iam.delete_role(RoleName="Friend")
    expected = copy.deepcopy(trust)
    expected["Statement"][0]["Principal"]["AWS"] = [friend["RoleId"], root]
    expected["Statement"][1]["Principal"]["AWS"] = friend["RoleId"]
    assert shown_everywhere(iam, "Target") == expected

    again = iam.create_role(RoleName="Friend", AssumeRolePolicyDocument=SERVICE_TRUST)["Role"]
    assert again["RoleId"] != friend["RoleId"]
    assert shown_everywhere(iam, "Target") == expected  # the policy does not trust the new Friend, nor says it does

    # The ID is not a principal one may write (IAM refuses it); the ARN, written again, binds the new Friend.
    status, code, message = error_of(lambda: iam.update_assume_role_policy(RoleName="Target", PolicyDocument=json.dumps(expected)))
    assert (status, code, message) == (400, "MalformedPolicyDocument", f'Invalid principal in policy: "AWS":"{friend["RoleId"]}"')
    iam.update_assume_role_policy(RoleName="Target", PolicyDocument=json.dumps(trust))
    assert shown_everywhere(iam, "Target") == trust


def test_a_policy_whose_roles_all_live_is_shown_exactly_as_written(world: dict[str, Any]) -> None:
    _, iam = new_account(world)
    friend = iam.create_role(RoleName="Friend", AssumeRolePolicyDocument=SERVICE_TRUST)["Role"]
    written = '{ "Version":"2012-10-17",\n  "Statement":{"Effect":"Allow","Principal":{"AWS":"' + friend["Arn"] + '"},"Action":"sts:AssumeRole"} }'
    iam.create_role(RoleName="Target", AssumeRolePolicyDocument=written)
    role = get_role(world["ctx"], friend["Arn"].split(":")[4], "Target")
    assert trust_policy_shown(role, {friend["RoleId"]}) == written  # the text itself, not an equal value
    iam.delete_role(RoleName="Friend")
    assert shown_everywhere(iam, "Target")["Statement"] == {"Effect": "Allow", "Principal": {"AWS": friend["RoleId"]}, "Action": "sts:AssumeRole"}


def test_an_arn_bound_to_no_role_id_is_shown_as_written() -> None:
    """Migration 0013 binds an ARN no role held at the upgrade to "": there is no ID to show."""
    ghost = "arn:aws:iam::111111111111:role/Ghost"
    document = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": ghost}, "Action": "sts:AssumeRole"}]})
    role = Role(
        account_id="111111111111", name="Target", role_id="AROAEXAMPLEEXAMPLE01", path="/", arn="arn:aws:iam::111111111111:role/Target",
        trust_policy=document, max_session_duration=3600, created_at=datetime.now(UTC), trust_principal_ids=((ghost, ""),),
    )
    assert trust_policy_shown(role, set()) == document


def _role_trusting(document: str, *bound: tuple[str, str]) -> Role:
    return Role(
        account_id="111111111111", name="Target", role_id="AROAEXAMPLEEXAMPLE01", path="/", arn="arn:aws:iam::111111111111:role/Target",
        trust_policy=document, max_session_duration=3600, created_at=datetime.now(UTC), trust_principal_ids=bound,
    )


def test_written_again_numbers_keep_their_text_and_strings_stay_within_the_policy_pattern() -> None:
    """Found by the review: floats turned 1.10 into 1.1 and 12345678901234567890.5 into 1.2345678901234567e+19 (what
    the policy means, written back), and raw non-ASCII text left the pattern IAM holds policies to."""
    gone = "arn:aws:iam::111111111111:role/Gone"
    written = (
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "' + gone + '"}, "Action": "sts:AssumeRole",'
        ' "Condition": {"NumericLessThan": {"aws:MultiFactorAuthAge": 12345678901234567890.5, "x:y": 1.10, "x:z": 7},'
        ' "StringEquals": {"aws:PrincipalTag/team": "\\u4e2d\\u00e9"}}}]}'
    )
    shown = trust_policy_shown(_role_trusting(written, (gone, "AROAEXAMPLEEXAMPLE02")), set())
    assert '"AWS":"AROAEXAMPLEEXAMPLE02"' in shown
    assert '"aws:MultiFactorAuthAge":12345678901234567890.5,"x:y":1.10,"x:z":7' in shown
    assert '"\\u4e2d\\u00e9"' in shown and shown.isascii()
    assert json.loads(shown)["Statement"][0]["Condition"] == json.loads(written)["Statement"][0]["Condition"]


@pytest.mark.parametrize("stored", [
    "{not json", "[]", '{"Statement": 3}', '{"Statement": [7, {"Principal": "*"}]}', '{"Statement": {"Principal": {"AWS": [{"x": 1}, 2]}}}',
    '{"Statement": {"Principal": {"AWS": {"x": 1}}}}', '{"Statement": NaN}', "[" * 100000 + "]" * 100000,
])
def test_a_stored_document_that_is_no_policy_is_shown_as_written(stored: str) -> None:
    """IAM stores only policies, but a row written by another tool (or an older release) must not make GetRole fail."""
    shown = trust_policy_shown(_role_trusting(stored, ("arn:aws:iam::111111111111:role/Gone", "AROAEXAMPLEEXAMPLE02")), set())
    assert shown == stored or json.loads(shown) == json.loads(stored)  # the text, or (written again) the same value
