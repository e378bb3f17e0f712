"""The key ring is shared through the store: a rotation on one node reaches the others."""

from __future__ import annotations

from samlfed.context import ServiceContext
from samlfed.masterkey import MasterKey
from samlfed.store import SqlStore


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
