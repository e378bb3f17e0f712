"""Authorization-API keys: what `verify_authz_key` refuses before and after looking a key up."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from samlfed.authz.keys import create_authz_key, verify_authz_key
from samlfed.config import Settings
from samlfed.context import ServiceContext
from samlfed.server import build_context


@pytest.fixture
def ctx(tmp_path: Path) -> ServiceContext:
    return build_context(Settings(data_dir=tmp_path))


def stored_key(ctx: ServiceContext, key_id: str, secret: str) -> str:
    """A key planted with a chosen secret (created keys have a random 43-character one)."""
    ctx.store.add_authz_key(key_id, f"svc-{key_id}", hashlib.sha256(secret.encode()).hexdigest(), now=ctx.clock())
    return f"sfk_{key_id}_{secret}"


def test_a_created_key_verifies_and_its_variants_do_not(ctx: ServiceContext) -> None:
    key = create_authz_key(ctx, "s3-gateway").key
    assert verify_authz_key(ctx, key) == "s3-gateway"
    refused = [
        "xyz_" + key[4:],  # another prefix of the same length
        key[4:],  # no prefix
        key.replace("_", "-", 2),  # no separators
        key + "x",  # another secret
        "sfk_" + key.split("_")[1] + "_",  # the id alone
    ]
    assert [verify_authz_key(ctx, variant) for variant in refused] == [None] * len(refused)


def test_keys_longer_than_200_characters_are_refused_unread(ctx: ServiceContext) -> None:
    """The bound keeps a caller from having long strings hashed; a stored key of that length is refused too."""
    longest = stored_key(ctx, "long", "s" * (200 - len("sfk_long_")))
    assert len(longest) == 200 and verify_authz_key(ctx, longest) == "svc-long"
    too_long = stored_key(ctx, "longer", "s" * (201 - len("sfk_longer_")))
    assert len(too_long) == 201 and verify_authz_key(ctx, too_long) is None


def test_an_empty_secret_never_verifies(ctx: ServiceContext) -> None:
    assert verify_authz_key(ctx, stored_key(ctx, "empty", "")) is None
