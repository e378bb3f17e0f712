"""Self-contained session tokens: sealed claims, bound access keys, derived secrets, key rotation."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections import Counter
from dataclasses import asdict, fields, replace

import pytest

from samlfed.iam.ids import secret_access_key
from samlfed.sts.credentials import (
    _BYTE_TO_BASE32,
    InvalidSessionToken,
    KeyRing,
    SessionClaims,
    _access_key_id,
    _claims_dict,
    derive_secret,
    issue,
    open_session,
)

CLAIMS = SessionClaims(
    account_id="111111111111",
    role_arn="arn:aws:iam::111111111111:role/engineering/Developer",
    role_id="AROAEXAMPLEEXAMPLE123",
    session_name="alice@example.com",
    issued_at=1_800_000_000,
    expires_at=1_800_003_600,
    source_identity="alice",
    tags={"department": "Engineering"},
    transitive_tag_keys=["department"],
    saml={"namequalifier": "abc=", "sub": "alice", "sub_type": "persistent"},
)


def test_issue_and_open_round_trip() -> None:
    ring = KeyRing.generate()
    credentials = issue(ring, CLAIMS)
    assert re.fullmatch(r"ASIA[A-Z2-7]{16}", credentials.access_key_id)
    assert len(credentials.secret_access_key) == 40
    opened = open_session(ring, credentials.access_key_id, credentials.session_token)
    assert opened.claims == CLAIMS
    assert opened.secret_access_key == credentials.secret_access_key
    assert CLAIMS.assumed_role_arn == "arn:aws:sts::111111111111:assumed-role/Developer/alice@example.com"


def test_the_sealed_claims_are_the_fields_and_nothing_else() -> None:
    """issue seals the claims' attribute dict: every field, in the order of the class, and nothing more."""
    for claims in (CLAIMS, SessionClaims("111111111111", "arn:aws:iam::111111111111:role/R", "AROAEXAMPLE", "s", 1, 2), replace(CLAIMS, chained=True)):
        assert list(_claims_dict(claims)) == [f.name for f in fields(SessionClaims)]
        assert _claims_dict(claims) == asdict(claims)


def test_secret_access_keys_are_spelled_as_aws_spells_them() -> None:
    """40 characters of standard base64, for administrator keys as for temporary ones (the URL-safe alphabet's
    '-' and '_' are not in AWS's secrets)."""
    secrets = [secret_access_key() for _ in range(200)] + [issue(KeyRing.generate(), CLAIMS).secret_access_key for _ in range(50)]
    assert all(re.fullmatch(r"[A-Za-z0-9+/]{40}", secret) for secret in secrets)
    assert {"+", "/"} <= set("".join(secrets))


def test_access_key_ids_draw_every_base32_character_equally() -> None:
    """Each random byte picks a character; a table where some character had more bytes would bias key ids."""
    assert Counter(_BYTE_TO_BASE32) == {character: 8 for character in b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"}
    assert _access_key_id(bytes([0, 31, 32, 255] * 4)) == "ASIA" + "A7A7" * 4


def test_token_is_bound_to_its_access_key_and_ring() -> None:
    ring = KeyRing.generate()
    one, two = issue(ring, CLAIMS), issue(ring, CLAIMS)
    with pytest.raises(InvalidSessionToken, match="the token does not open with this access key"):
        open_session(ring, two.access_key_id, one.session_token)
    with pytest.raises(InvalidSessionToken, match="sealed with a key this server does not hold"):
        open_session(KeyRing.generate(), one.access_key_id, one.session_token)


@pytest.mark.parametrize(
    "token",
    ["", "!!!", "AQ", base64.urlsafe_b64encode(b"\x02" + b"\x00" * 40).decode(), base64.urlsafe_b64encode(b"\x01" + b"\x00" * 16).decode()],
    ids=["empty", "not-base64", "one-byte", "other-version", "header-only"],
)
def test_garbage_tokens_are_refused(token: str) -> None:
    with pytest.raises(InvalidSessionToken, match="not a samlfed session token"):
        open_session(KeyRing.generate(), "ASIAAAAAAAAAAAAAAAAA", token)


def test_tampered_token_is_refused() -> None:
    ring = KeyRing.generate()
    credentials = issue(ring, CLAIMS)
    raw = bytearray(base64.urlsafe_b64decode(credentials.session_token + "=="))
    raw[-1] ^= 1
    with pytest.raises(InvalidSessionToken, match="the token does not open with this access key"):
        open_session(ring, credentials.access_key_id, base64.urlsafe_b64encode(bytes(raw)).decode())


def test_rotation_keeps_live_sessions() -> None:
    ring = KeyRing.generate()
    before = issue(ring, CLAIMS)
    rotated = ring.rotated()
    after = issue(rotated, CLAIMS)
    assert open_session(rotated, before.access_key_id, before.session_token).claims == CLAIMS
    assert open_session(rotated, after.access_key_id, after.session_token).claims == CLAIMS
    retired = rotated.without(ring.active)
    with pytest.raises(InvalidSessionToken):
        open_session(retired, before.access_key_id, before.session_token)
    with pytest.raises(ValueError):
        rotated.without(rotated.active)
    assert derive_secret(rotated, ring.active, before.access_key_id) == before.secret_access_key


def test_the_secret_is_the_hmac_of_the_access_key_id() -> None:
    ring = KeyRing.generate()
    expected = hmac.new(ring.keys[ring.active], b"samlfed secret\x00ASIAEXAMPLE", hashlib.sha256).digest()
    assert derive_secret(ring, ring.active, "ASIAEXAMPLE") == base64.b64encode(expected).decode()[:40]


@pytest.mark.parametrize(
    ("keys", "active", "reason"),
    [
        ({"00000001": b"k" * 32}, "00000002", "the active key is not in the ring"),
        ({"00000001": b"k" * 31}, "00000001", "ring keys are 32 bytes with 4-byte hex ids"),
        ({"0001": b"k" * 32}, "0001", "ring keys are 32 bytes with 4-byte hex ids"),
    ],
    ids=["active-missing", "short-key", "short-id"],
)
def test_a_malformed_key_ring_is_refused(keys: dict[str, bytes], active: str, reason: str) -> None:
    """A ring read back from storage must be exactly what `generate` makes: anything else is refused, not used."""
    with pytest.raises(ValueError, match=reason):
        KeyRing(keys, active)
