"""The key ring is shared through the store: a rotation on one node reaches the others."""

from __future__ import annotations

import sqlite3

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


CLAIMS = SessionClaims(account_id="111111111111", role_arn="arn:aws:iam::111111111111:role/R", role_id="AROAEXAMPLE", session_name="s", issued_at=1, expires_at=2)


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
    for _ in range(20):
        with pytest.raises(InvalidSessionToken):
            node.open_session(foreign.access_key_id, foreign.session_token)
    assert reads[0] == 1
    node._ring_forced -= node.ring_reread_seconds  # a second later
    with pytest.raises(InvalidSessionToken):
        node.open_session(foreign.access_key_id, foreign.session_token)
    assert reads[0] == 2


def test_a_token_under_a_key_rotated_in_just_after_this_node_read_its_ring_opens(tmp_path) -> None:
    """Any read of the ring (here the node's first; as often its periodic re-read) held off the re-read a token
    naming an unknown key forces for a second: credentials sealed by another node under a key rotated in within
    that second were refused (InvalidClientTokenId) by this one."""
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    master = MasterKey(b"k" * 32)
    rotating = ServiceContext(store=SqlStore.open(url), master=master)
    node = ServiceContext(store=SqlStore.open(url), master=master)
    rotating.key_ring()
    node.key_ring()
    credentials = issue(rotating.rotate_key_ring(), CLAIMS)
    assert node.open_session(credentials.access_key_id, credentials.session_token).claims == CLAIMS
    forged = issue(KeyRing.generate(), CLAIMS)  # the forced re-read stays at most one a second
    reads = count_ring_reads(node.store)
    for _ in range(5):
        with pytest.raises(InvalidSessionToken):
            node.open_session(forged.access_key_id, forged.session_token)
    assert reads[0] == 0


def test_a_token_naming_an_unknown_key_is_invalid_while_a_stored_key_does_not_unseal(tmp_path) -> None:
    """The re-read such a token forces failed on a stored ring key damaged after the node read its ring, and the
    request answered 500 InternalFailure rather than InvalidClientTokenId; the ring held still opens its tokens."""
    store = SqlStore.open(f"sqlite:///{tmp_path / 'db.sqlite'}")
    node = ServiceContext(store=store, master=MasterKey(b"k" * 32))
    old = node.key_ring().active
    good = issue(node.rotate_key_ring(), CLAIMS)
    with sqlite3.connect(tmp_path / "db.sqlite") as db:
        db.execute("UPDATE server_keys SET sealed_key = ? WHERE key_id = ?", (bytes(60), old))
    foreign = issue(KeyRing.generate(), CLAIMS)
    with pytest.raises(InvalidSessionToken):
        node.open_session(foreign.access_key_id, foreign.session_token)
    assert node.open_session(good.access_key_id, good.session_token).claims == CLAIMS
