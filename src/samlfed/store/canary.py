"""The master key check: a value sealed once under the master key and kept in the database, unsealed on every
open. A node with another key refuses to start instead of sealing new secrets under it (one database, two keys).
"""

from __future__ import annotations

from datetime import datetime

from ..masterkey import MasterKey, MasterKeyError
from .records import MasterKeyMismatch, StoreUnavailable
from .sql import SqlStore

CANARY_NAME = "samlfed:master-key-check"  # an instance key name no other user of instance_keys takes
_CONTEXT = "samlfed master key check"
_PLAINTEXT = b"samlfed master key check v1"

MISMATCH = (
    "the master key does not unseal this database's secrets: SAMLFED_MASTER_KEY (or the data directory's "
    "master.key) is not the key this database was created with"
)


def _unseals(master: MasterKey, sealed: bytes, context: str) -> bool:
    try:
        master.unseal(sealed, context=context)
    except MasterKeyError:
        return False
    return True


def _unseals_existing(store: SqlStore, master: MasterKey) -> bool:
    """For a database from before the check: the key must unseal the key ring, the first admin secret and the
    instance keys, whichever exist (the contexts are the ones context.py, iam/accounts.py, iam/provider_keys.py and console/sp.py seal
    under). The first admin secret, not every one: a database that the missing check let mix keys still opens
    with the key it was created with."""
    if not all(_unseals(master, k.sealed_key, f"server key {k.key_id}") for k in store.list_server_keys()):
        return False
    oldest = store.oldest_access_key()
    if oldest is not None and not _unseals(master, oldest.sealed_secret, f"access key {oldest.access_key_id}"):
        return False
    instance = [(name, sealed) for name, sealed in store.list_instance_keys() if name != CANARY_NAME]
    return all(_unseals(master, sealed, f"samlfed instance key {name}") for name, sealed in instance)


def check_master_key(store: SqlStore, master: MasterKey, *, now: datetime) -> None:
    """Raise MasterKeyMismatch unless `master` is the database's key; the first open writes the check value."""
    sealed = store.get_instance_key(CANARY_NAME)
    if sealed is None:
        if not _unseals_existing(store, master):
            raise MasterKeyMismatch(MISMATCH)
        if store.add_first_instance_key(CANARY_NAME, master.seal(_PLAINTEXT, context=_CONTEXT), now=now):
            return
        sealed = store.get_instance_key(CANARY_NAME)  # another node wrote it first: it must be our key too
        if sealed is None:
            raise StoreUnavailable("the master key check value vanished while the store was opening")
    try:
        plaintext = master.unseal(sealed, context=_CONTEXT)
    except MasterKeyError:
        raise MasterKeyMismatch(MISMATCH) from None
    if plaintext != _PLAINTEXT:
        raise MasterKeyMismatch(MISMATCH)
