"""What every service call needs, built once at start-up and passed down (no module-level globals)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError

from .forwarding import ForwardingWatch
from .masterkey import MasterKey
from .saml import ValidationSettings
from .store import DatabaseUnavailable, ServerKey, SqlStore, StoreUnavailable, failure_reason
from .store.read_cache import ReadCache
from .sts.credentials import KeyRing, OpenedSession, UnknownRingKey, open_session
from .sts.decryption_guard import DecryptionGuard
from .sts.ring_keys import active_key_id
from .sts.role_use import RoleUseRecorder

log = logging.getLogger("samlfed.context")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class ServiceContext:
    store: SqlStore
    master: MasterKey
    settings: ValidationSettings = field(default_factory=ValidationSettings)
    clock: Callable[[], datetime] = utc_now
    strict_replay: bool = False
    """Each (issuer, assertion ID, role) is usable once, across every node sharing the store."""
    ring_refresh_seconds: float = 60.0
    """How often a node re-reads the key ring, so that a rotation reaches every node without a restart."""
    ring_reread_seconds: float = 1.0
    """The least time between two re-reads forced by tokens naming a key this node lacks: anyone can send such a
    token, and each re-read is a store read. A token sealed by a key rotated in within that second waits for it."""
    identity_cache_seconds: float = 1.0
    """How long sign-ins may use this node's copy of a provider or role row (0: read the store every time)."""
    forwarding: ForwardingWatch = field(default_factory=lambda: ForwardingWatch(()))
    """Notices X-Forwarded-For from peers that forwarded_allow_ips does not name."""
    decryption_guard: DecryptionGuard = field(default_factory=DecryptionGuard)
    """Rate limits on rejections that followed a decryption (sts/decryption_guard.py)."""
    _reads: ReadCache | None = None
    _role_uses: RoleUseRecorder | None = None
    _ring: KeyRing | None = None
    _ring_loaded: float = 0.0
    _ring_lock: threading.Lock = field(default_factory=threading.Lock)
    _ring_failing: bool = False
    """The last periodic re-read of the ring failed (so the next failure logs nothing)."""

    @property
    def reads(self) -> ReadCache:
        """The provider and role reads of sign-ins, through the short-lived cache (store/read_cache.py)."""
        if self._reads is None:
            self._reads = ReadCache(self.store, self.identity_cache_seconds)
        return self._reads

    @property
    def role_uses(self) -> RoleUseRecorder:
        """Where successful assumptions of a role are recorded, throttled per role (sts/role_use.py)."""
        if self._role_uses is None:
            self._role_uses = RoleUseRecorder(self.store)
        return self._role_uses

    def key_ring(self, *, reload: bool = False) -> KeyRing:
        """The session-token key ring, created on first start; re-read periodically, and on `reload` (a token names
        an unknown key) unless it was read less than `ring_reread_seconds` ago.

        A periodic re-read that fails keeps the ring already held (requests are verified without the database, and an
        outage must not turn every signed request into an error); it is tried again `ring_reread_seconds` later, and
        one warning is logged per outage. A first read, or a `reload`, that fails raises (the store's error)."""
        with self._ring_lock:
            age = time.monotonic() - self._ring_loaded
            if self._ring is None or (reload and age >= self.ring_reread_seconds):
                self._ring_loaded = time.monotonic()  # also when it fails: tokens naming unknown keys do not each retry
                self._ring = self._load_ring()
                self._ring_failing = False
            elif age > self.ring_refresh_seconds:
                try:
                    self._ring = self._load_ring()
                except (SQLAlchemyError, StoreUnavailable, DatabaseUnavailable) as exc:
                    if not self._ring_failing:
                        log.warning("cannot re-read the session key ring, still using the one read before: %s", failure_reason(exc))
                    self._ring_failing = True
                    self._ring_loaded = time.monotonic() - self.ring_refresh_seconds + self.ring_reread_seconds
                else:
                    if self._ring_failing:
                        log.info("the session key ring is read again")
                    self._ring_failing = False
                    self._ring_loaded = time.monotonic()
            return self._ring

    def open_session(self, access_key_id: str, session_token: str) -> OpenedSession:
        """Unseal a session token; when it names a key this node's ring lacks, re-read the ring once (another node
        may have rotated it) before raising InvalidSessionToken. Any other invalid token costs no store read."""
        try:
            return open_session(self.key_ring(), access_key_id, session_token)
        except UnknownRingKey as unknown:
            try:
                ring = self.key_ring(reload=True)
            except (SQLAlchemyError, StoreUnavailable, DatabaseUnavailable):  # the database is away: the key stays unknown, a client error
                raise unknown from None
            return open_session(ring, access_key_id, session_token)

    def _load_ring(self) -> KeyRing:
        stored = self.store.list_server_keys()
        if not stored:
            # First start: only one node's ring may be stored; every node, the first too, uses what was stored.
            ring = KeyRing.generate()
            self.store.add_first_server_key(self._sealed(ring, ring.active))
            stored = self.store.list_server_keys()
        keys = {k.key_id: self.master.unseal(k.sealed_key, context=f"server key {k.key_id}") for k in stored}
        return KeyRing(keys, active_key_id(stored))

    def rotate_key_ring(self) -> KeyRing:
        with self._ring_lock:
            if self._ring is None and not self.store.list_server_keys():  # no ring yet: starting it is the rotation
                self._ring = self._load_ring()
                self._ring_loaded = time.monotonic()
                return self._ring
            ring = (self._ring or self._load_ring()).rotated()
            self._save(ring, ring.active)
            self._ring = ring
            return ring

    def _save(self, ring: KeyRing, key_id: str) -> None:
        self.store.add_server_key(self._sealed(ring, key_id))

    def _sealed(self, ring: KeyRing, key_id: str) -> ServerKey:
        sealed = self.master.seal(ring.keys[key_id], context=f"server key {key_id}")
        return ServerKey(key_id, sealed, key_id == ring.active, self.clock())
