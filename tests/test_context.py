"""The key ring is shared through the store: a rotation on one node reaches the others."""

from __future__ import annotations

import pytest
from ring_spy import count_ring_reads

from samlfed.context import ServiceContext
from samlfed.masterkey import MasterKey
from samlfed.store import SqlStore
from samlfed.sts.credentials import InvalidSessionToken, KeyRing, SessionClaims, issue


def test_rotation_reaches_other_nodes(tmp_path) -> None:
    store = SqlStore.open(f"sqlite:///{tmp_path / 'db.sqlite'}")
    master = MasterKey(b"k" * 32)
    one = ServiceContext(store=store, master=master)
    two = ServiceContext(store=store, master=master, ring_refresh_seconds=0)
    first = one.key_ring()
    assert two.key_ring().active == first.active  # the ring was created once and shared
    rotated = one.rotate_key_ring()
    assert rotated.active != first.active
    assert two.key_ring().active == rotated.active and first.active in two.key_ring().keys
    stale = ServiceContext(store=store, master=master, ring_refresh_seconds=3600)
    assert stale.key_ring().active == rotated.active


def test_only_a_token_naming_an_unknown_key_rereads_the_ring_and_at_most_once_a_second(tmp_path) -> None:
    store = SqlStore.open(f"sqlite:///{tmp_path / 'db.sqlite'}")
    node = ServiceContext(store=store, master=MasterKey(b"k" * 32))
    ring = node.key_ring()
    claims = SessionClaims(account_id="111111111111", role_arn="arn:aws:iam::111111111111:role/R", role_id="AROAEXAMPLE", session_name="s", issued_at=1, expires_at=2)
    good = issue(ring, claims)
    reads = count_ring_reads(store)
    forged = good.session_token[:-4] + ("AAAA" if not good.session_token.endswith("AAAA") else "BBBB")  # the GCM tag
    for _ in range(20):  # altered under a key the node holds: refused without a store read
        with pytest.raises(InvalidSessionToken):
            node.open_session(good.access_key_id, forged)
    assert reads[0] == 0
    foreign = issue(KeyRing.generate(), claims)  # under a key the node lacks: one re-read, then none for a second
    node._ring_loaded -= node.ring_reread_seconds  # the ring was read a second ago
    for _ in range(20):
        with pytest.raises(InvalidSessionToken):
            node.open_session(foreign.access_key_id, foreign.session_token)
    assert reads[0] == 1
    node._ring_loaded -= node.ring_reread_seconds
    with pytest.raises(InvalidSessionToken):
        node.open_session(foreign.access_key_id, foreign.session_token)
    assert reads[0] == 2
