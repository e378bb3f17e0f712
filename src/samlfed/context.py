"""What every service call needs, built once at start-up and passed down (no module-level globals)."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError

from .forwarding import ForwardingWatch
from .masterkey import MasterKey, MasterKeyError
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
    """The oldest ring a node uses: a rotation, or a retirement, reaches every node within this time (a database
    that cannot be read aside), without a restart."""
    ring_refresh_lead: float = 10.0
    """How long before its ring turns ring_refresh_seconds old a node re-reads it in the background."""
    ring_reread_seconds: float = 1.0
    """The least time between two re-reads forced by tokens naming a key this node lacks: anyone can send such a
    token, and each re-read is a store read. Other reads of the ring (the first, the periodic ones) do not count:
    a token sealed by a key rotated in just after one of them is read for at once."""
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
    _ring_forced: float = -math.inf
    """When a token naming an unknown key last forced a re-read (time.monotonic)."""
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
        an unknown key) unless such a re-read happened less than `ring_reread_seconds` ago.

        A busy node re-reads its ring in a thread of its own from `ring_refresh_lead` seconds before it turns
        `ring_refresh_seconds` old, while requests go on with the ring held: a database that is slow or locked must
        not stall requests that need none. A ring older than that (a node that was idle) is re-read before it is
        used, so that a retired key never opens a token past its time. A periodic re-read that fails keeps the ring
        held (requests are verified without the database, and an outage must not turn every signed request into an
        error); it is tried again in the background `ring_reread_seconds` later, and one warning is logged per
        outage. A first read, or a `reload`, that fails raises (the store's error)."""
        with self._ring_lock:
            now = time.monotonic()
            age = now - self._ring_loaded
            forced = reload and now - self._ring_forced >= self.ring_reread_seconds
            if self._ring is None or forced:
                if forced:  # also when it fails: tokens naming unknown keys do not each retry
                    self._ring_forced = now
                self._ring_loaded = now
                ring = self._load_ring()
                self._take_ring(ring)
                self._ring_failing = False
                return ring
            if age > self.ring_refresh_seconds:
                self._reread(self._ring_version)
            elif age > self.ring_refresh_seconds - self.ring_refresh_lead and self._ring_refresh is None:
                self._ring_refresh = threading.Thread(target=self._refresh_ring, args=(self._ring_version,), name="samlfed-ring-refresh", daemon=True)
                self._ring_refresh.start()
            return self._ring

    def settle_ring_refresh(self, timeout: float = 30.0) -> None:
        """Wait for a background re-read in progress to end (for a caller that must see its outcome, as tests do)."""
        refresh = self._ring_refresh
        if refresh is not None:
            refresh.join(timeout)

    def _take_ring(self, ring: KeyRing) -> None:
        """Under _ring_lock."""
        self._ring = ring
        self._ring_version += 1

    def _refresh_ring(self, version: int) -> None:
        """The background re-read, in its own thread: the store read happens outside the lock."""
        outcome = self._read_ring()
        with self._ring_lock:
            self._ring_refresh = None
            self._took(outcome, version)

    def _reread(self, version: int) -> None:
        """The periodic re-read of a stale ring, under _ring_lock."""
        self._took(self._read_ring(), version)

    def _read_ring(self) -> KeyRing | Exception:
        try:
            return self._load_ring()
        except Exception as exc:  # noqa: BLE001 - a database error, or a key the master key does not unseal: keep the ring held
            return exc

    def _took(self, outcome: KeyRing | Exception, version: int) -> None:
        """Under _ring_lock: take in a periodic re-read's ring, or plan the next try after its failure."""
        if isinstance(outcome, Exception):
            if not self._ring_failing:
                known = (SQLAlchemyError, StoreUnavailable, DatabaseUnavailable)
                reason = failure_reason(outcome) if isinstance(outcome, known) else type(outcome).__name__
                log.warning("cannot re-read the session key ring, still using the one read before: %s", reason)
            self._ring_failing = True
            # Tried again in the background once ring_reread_seconds have passed, never on a request's path.
            self._ring_loaded = time.monotonic() - self.ring_refresh_seconds + self.ring_refresh_lead + self.ring_reread_seconds
            return
        if version == self._ring_version:  # else a forced re-read or a rotation took in a ring meanwhile
            self._take_ring(outcome)
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
            except (SQLAlchemyError, StoreUnavailable, DatabaseUnavailable, MasterKeyError):
                # The database is away, or holds a key that no longer unseals (the periodic re-read warns of it): the
                # key stays unknown, a client error, and the ring held goes on opening the tokens it opened.
                raise unknown from None
            return open_session(ring, access_key_id, session_token)

    def _load_ring(self) -> KeyRing:
        stored = self.store.list_server_keys()
        if not stored:
            # First start: only one node's ring may be stored; every node, the first too, uses what was stored.
            ring = KeyRing.generate()
            self.store.add_first_server_key(self._sealed(ring, ring.active))
            stored = self.store.list_server_keys()
        return KeyRing({k.key_id: self._unsealed(k) for k in stored}, active_key_id(stored))

    def _unsealed(self, stored: ServerKey) -> bytes:
        return self.master.unseal(stored.sealed_key, context=f"server key {stored.key_id}")

    def rotate_key_ring(self) -> KeyRing:
        """A new active key, stored. A node that holds no ring yet (the command line) stores it before reading the
        others, which adding it does not need: a stored key that does not unseal (a damaged row) must not stop its
        own replacement. The read after it then raises that key's MasterKeyError, with the new key in place."""
        with self._ring_lock:
            if self._ring is None and not self.store.list_server_keys():  # no ring yet: starting it is the rotation
                self._take_ring(self._load_ring())
                self._ring_loaded = time.monotonic()
                assert self._ring is not None
                return self._ring
            if self._ring is None:
                added = KeyRing.generate()
                self._save(added, added.active)
                ring = self._load_ring()
                self._ring_loaded = time.monotonic()
            else:
                ring = self._ring.rotated()
                self._save(ring, ring.active)
            self._take_ring(ring)
            return ring

    def damaged_ring_keys(self) -> list[str]:
        """The ids of the stored ring keys that the master key does not unseal (damaged rows)."""
        damaged = []
        for stored in self.store.list_server_keys():
            try:
                self._unsealed(stored)
            except MasterKeyError:
                damaged.append(stored.key_id)
        return damaged

    def _save(self, ring: KeyRing, key_id: str) -> None:
        self.store.add_server_key(self._sealed(ring, key_id))

    def _sealed(self, ring: KeyRing, key_id: str) -> ServerKey:
        sealed = self.master.seal(ring.keys[key_id], context=f"server key {key_id}")
        return ServerKey(key_id, sealed, key_id == ring.active, self.clock())
