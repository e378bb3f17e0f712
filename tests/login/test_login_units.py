"""The login client's pure parts: the credentials-file edit, role parsing and picking, the profile file."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from saml_factory import response_b64

from samlfed.cli_login import SignIn, _offered
from samlfed.login.browser import _roles
from samlfed.login.config import ConfigError, LoginProfile, load_profile, save_profile
from samlfed.login.credentials_file import AwsCredentials, replace_profile
from samlfed.login.roles import RoleOption, RolesError, grouped, pick, roles_in, with_aliases
from samlfed.saml.signing import IdpSigner

CREDS = AwsCredentials("ASIAEXAMPLE", "secret", "token", datetime(2026, 12, 1, 13, 0, tzinfo=UTC))
SECTION = "[p]\naws_access_key_id = ASIAEXAMPLE\naws_secret_access_key = secret\naws_session_token = token\nx_security_token_expires = 2026-12-01T13:00:00Z\n"


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("", SECTION),
        ("[a]\nx = 1", "[a]\nx = 1\n\n" + SECTION),
        ("[a]\nx = 1\n", "[a]\nx = 1\n\n" + SECTION),
        ("[p]\nold = 1\n[a]\nx = 1\n", SECTION + "old = 1\n[a]\nx = 1\n"),  # the profile's other settings stay
        ("[a]\n[p]\nold = 1\n\n# about b\n[b]\n", "[a]\n" + SECTION + "old = 1\n\n# about b\n[b]\n"),
        ("[ p ]\nold = 1\n", "[ p ]\nold = 1\n\n" + SECTION),  # botocore reads "[ p ]" as profile " p ", not p
        ("[p] ; mine\nold = 1", "[p] ; mine\n" + SECTION.split("\n", 1)[1] + "old = 1\n"),  # the header line (comment too) stays
        (  # the old credentials go where they were, with a value's continuation lines; region, s3, comments stay
            "[p]\n# keep the region\nregion = eu-west-1\nAWS_Access_Key_Id=OLD\naws_session_token: OLD\n  more\n"
            "s3 =\n  addressing_style = path\naws_secret_access_key = OLD\n",
            "[p]\n# keep the region\nregion = eu-west-1\n" + SECTION.split("\n", 1)[1] + "s3 =\n  addressing_style = path\n",
        ),
        ("[profile p]\nx = 1\n", "[profile p]\nx = 1\n\n" + SECTION),
    ],
)
def test_replace_profile(before: str, after: str) -> None:
    assert replace_profile(before, "p", CREDS) == after


def test_roles_in_either_order_and_picking() -> None:
    dev, ops = "arn:aws:iam::111111111111:role/Developer", "arn:aws:iam::222222222222:role/Operator"
    provider1, provider2 = "arn:aws:iam::111111111111:saml-provider/Idp", "arn:aws:iam::222222222222:saml-provider/Idp"
    options = roles_in(response_b64(roles=[f"{dev},{provider1}", f"{provider2},{ops}", "garbage"]))
    assert options == [RoleOption(dev, provider1), RoleOption(ops, provider2)]
    assert pick(options, "Operator").role_arn == ops and pick(options, dev).role_arn == dev
    with pytest.raises(RolesError):
        pick(options, "Admin")
    aliased = with_aliases(options, {"acme-dev (111111111111)": [dev]})
    assert aliased == [RoleOption(dev, provider1, "acme-dev")]  # the server did not offer Operator
    assert list(grouped(with_aliases(options, {"acme-dev (111111111111)": [dev], "222222222222": [ops]}))) == ["222222222222", "acme-dev (111111111111)"]
    with pytest.raises(RolesError, match=r"^the SAML response grants no roles \(no usable Role attribute\)$"):
        roles_in(response_b64(roles=[]))
    with pytest.raises(RolesError, match="^the SAML response's assertion is encrypted for samlfed, so this client cannot read the roles"):
        roles_in(response_b64(encrypt_for=IdpSigner.generate("samlfed SP")))  # said so, not "grants no roles"
    with pytest.raises(RolesError):
        roles_in("not base64!")


def test_profile_file_round_trip_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    assert load_profile("x", path) == LoginProfile(name="x")
    save_profile(LoginProfile(name="a", endpoint="https://s.example", duration=7200, remember_password=True), path)
    save_profile(LoginProfile(name="b", username="bob"), path)
    assert load_profile("a", path).duration == 7200 and load_profile("b", path).username == "bob"
    path.write_text('[profiles.a]\nduration = "long"\n')
    with pytest.raises(ConfigError, match="duration must be an integer"):
        load_profile("a", path)
    path.write_text("[profiles.a]\nremember_password = 1\n")
    with pytest.raises(ConfigError):
        load_profile("a", path)


def test_browser_role_data_that_is_not_usable_is_ignored() -> None:
    good = base64.b64encode(json.dumps({"111111111111": ["Developer"]}).encode()).decode()
    assert _roles(good) == {"111111111111": ["Developer"]}
    for bad in ("", "not base64!", base64.b64encode(b"[1]").decode(), base64.b64encode(b"[" * 100_000).decode()):
        assert _roles(bad) is None  # deep nesting was a RecursionError: a traceback instead of the picker


def test_a_browser_hand_off_that_admits_no_role_offers_none() -> None:
    """Found by review: the hand-off's roles were `{}` (every role refused), which read as "no data", so login asked
    the chooser instead; that request had been used, the chooser answered nothing, and every role was offered."""
    class NoTransport:
        def check(self, *_: object) -> None:
            raise AssertionError("the chooser must not be asked: the hand-off said")

    with pytest.raises(RolesError, match="offers none of the response's roles"):
        _offered(LoginProfile(name="p"), NoTransport(), SignIn(response_b64(), {}))  # type: ignore[arg-type]
