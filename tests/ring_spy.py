"""Counting a real store's key-ring reads (the store itself, wrapped): what proves a request did or did not read it."""

from __future__ import annotations

from samlfed.store import SqlStore


def count_ring_reads(store: SqlStore) -> list[int]:
    """A one-element list holding the number of `list_server_keys` calls made on `store` from now on."""
    reads = [0]
    original = store.list_server_keys

    def counted():  # type: ignore[no-untyped-def]
        reads[0] += 1
        return original()

    store.list_server_keys = counted  # type: ignore[method-assign]
    return reads
