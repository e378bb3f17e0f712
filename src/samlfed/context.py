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
    _ring_refresh: threading.Thread | None = None
    """The periodic re-read in progress, off the request path."""
    _ring_version: int = 0
    """Counts the rings this node took in: a re-read begun before another was taken in must not replace it."""

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

        The periodic re-read runs in a thread of its own while requests go on with the ring held: a database that is
        slow or locked must not stall requests that need none. One that fails keeps the ring already held (requests
        are verified without the database, and an outage must not turn every signed request into an error); it is
        tried again `ring_reread_seconds` later, and one warning is logged per outage. A first read, or a `reload`,
        that fails raises (the store's error)."""
        with self._ring_lock:
            age = time.monotonic() - self._ring_loaded
            if self._ring is None or (reload and age >= self.ring_reread_seconds):
                self._ring_loaded = time.monotonic()  # also when it fails: tokens naming unknown keys do not each retry
                self._take_ring(self._load_ring())
                self._ring_failing = False
            elif age > self.ring_refresh_seconds and self._ring_refresh is None:
                self._ring_refresh = threading.Thread(target=self._refresh_ring, args=(self._ring_version,), name="samlfed-ring-refresh", daemon=True)
                self._ring_refresh.start()
            return self._ring

    def settle_ring_refresh(self, timeout: float = 30.0) -> None:
        """Wait for a periodic re-read in progress to end (for a caller that must see its outcome, as tests do)."""
        refresh = self._ring_refresh
        if refresh is not None:
            refresh.join(timeout)

    def _take_ring(self, ring: KeyRing) -> None:
        """Under _ring_lock."""
        self._ring = ring
        self._ring_version += 1

    def _refresh_ring(self, version: int) -> None:
        """The periodic re-read (in its own thread). Anything that goes wrong keeps the ring held: a failure here
        must never reach a request, nor end the thread without the next re-read being planned."""
        try:
            ring: KeyRing | None = self._load_ring()
            error = None
        except Exception as exc:  # noqa: BLE001 - a database error, or a key the master key does not unseal
            ring, error = None, exc
        with self._ring_lock:
            self._ring_refresh = None
            if ring is None:
                if not self._ring_failing:
                    reason = failure_reason(error) if isinstance(error, (SQLAlchemyError, StoreUnavailable, DatabaseUnavailable)) else type(error).__name__
                    log.warning("cannot re-read the session key ring, still using the one read before: %s", reason)
                self._ring_failing = True
                self._ring_loaded = time.monotonic() - self.ring_refresh_seconds + self.ring_reread_seconds
                return
            if version == self._ring_version:  # else a forced re-read or a rotation took in a ring meanwhile
                self._take_ring(ring)
            if self._ring_failing:
                log.info("the session key ring is read again")
            self._ring_failing = False
            self._ring_loaded = time.monotonic()

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
                self._take_ring(self._load_ring())
                self._ring_loaded = time.monotonic()
                assert self._ring is not None
                return self._ring
            ring = (self._ring or self._load_ring()).rotated()
            self._save(ring, ring.active)
            self._take_ring(ring)
            return ring

    def _save(self, ring: KeyRing, key_id: str) -> None:
        self.store.add_server_key(self._sealed(ring, key_id))

    def _sealed(self, ring: KeyRing, key_id: str) -> ServerKey:
        sealed = self.master.seal(ring.keys[key_id], context=f"server key {key_id}")
        return ServerKey(key_id, sealed, key_id == ring.active, self.clock())
