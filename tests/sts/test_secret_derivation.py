"""The secret derivation through a copied keyed HMAC gives what a fresh HMAC gives, for every key of the ring."""

from __future__ import annotations

import base64
import hashlib
import hmac

from hypothesis import given
from hypothesis import strategies as st

from samlfed.sts.credentials import KeyRing, derive_secret


@given(access_key_id=st.text(min_size=1, max_size=30))
def test_derived_secrets_are_the_hmac_of_before(access_key_id: str) -> None:
    ring = KeyRing.generate().rotated()
    for key_id, key in ring.keys.items():
        expected = hmac.new(key, b"samlfed secret\x00" + access_key_id.encode(), hashlib.sha256).digest()
        first = derive_secret(ring, key_id, access_key_id)
        assert first == base64.b64encode(expected).decode()[:40]
        assert derive_secret(ring, key_id, access_key_id) == first  # the kept keyed MAC is never updated itself
