"""What the built-in IdP must remember across requests and worker processes: each user's session generation
(sign-out, and disabling the user, end every session issued before it), the version of idp.yaml last seen and the
session epoch that ends when the file changes behind samlfed's back, the last TOTP time step accepted (a code works
once) and the recent sign-in attempts the login throttle counts (throttle.py).

A small SQLite file beside the IdP's configuration: every worker of one deployment shares the IdP directory
already (configuration, keys, session secret), and SQLite makes each update atomic between processes.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

STATE_FILE = "idp-state.db"
BUSY_SECONDS = 10.0
"""How long a statement waits for another process's lock on the state file before the file counts as unavailable."""
T = TypeVar("T")
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS session_generation (username TEXT PRIMARY KEY, generation INTEGER NOT NULL)",
    # One row: the version (file_version) of the idp.yaml samlfed last read or wrote, and the epoch every IdP session carries.
    "CREATE TABLE IF NOT EXISTS config_version (id INTEGER PRIMARY KEY CHECK (id = 1), version TEXT NOT NULL, epoch INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS totp_step (username TEXT PRIMARY KEY, last_step INTEGER NOT NULL)",
    # AUTOINCREMENT: an id is never reused, so a reservation's ids name its own rows even after old rows went.
    "CREATE TABLE IF NOT EXISTS login_attempt (id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL, at REAL NOT NULL, "
    "pending INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS login_attempt_key ON login_attempt (key, at)",
    "CREATE INDEX IF NOT EXISTS login_attempt_at ON login_attempt (at)",
)


class StateUnavailable(Exception):
    """The state file refused a read or a write for a reason of its own (a full disk, a damaged or unreadable
    file, a lock held too long): the IdP's trouble, not the request's, and over once the file is usable again."""


class StateLocked(StateUnavailable):
    """Another process held the state file's lock for longer than BUSY_SECONDS: the file is sound, and usable again
    once that process lets go of it (nothing to free or repair)."""


class IdpState:
    """Opened lazily, so that commands that only read the configuration create no file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._ready = False

    def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Do `work` on a connection to the state file; what it returns. A file that lost the IdP's tables while it
        serves (removed, or replaced by an empty file) gets them again, and `work` is done once more: its first
        statement on a missing table fails before anything changed. Each worker finds this out on its own, since it
        makes the tables on its first use only. Any other trouble with the file (the tables missing again too) is
        StateUnavailable, and a state file made anew ends the old one's sessions (witness_config)."""
        try:
            try:
                return self._once(work)
            except sqlite3.OperationalError as exc:
                if not str(exc).startswith("no such table"):
                    raise
                self._ready = False
                return self._once(work)
        except (sqlite3.IntegrityError, sqlite3.ProgrammingError):
            raise  # a mistake of the IdP's own statements, not the file's
        except (OSError, sqlite3.DatabaseError) as exc:
            self._ready = False  # the file may have been replaced meanwhile: make sure of its tables again
            if _locked(exc):
                raise StateLocked(
                    f"The IdP's state file {self.path.name} is locked by another process (held for over {BUSY_SECONDS:g} s: "
                    "another program writing to it, or a copy of it being made)"
                ) from None
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise StateUnavailable(f"The IdP's state file {self.path.name} cannot be used: {reason}") from None

    def _once(self, work: Callable[[sqlite3.Connection], T]) -> T:
        db = self._connect()
        try:
            return work(db)
        finally:
            db.close()

    def _connect(self) -> sqlite3.Connection:
        if not self._ready:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Every time, not only the first: a file removed while the IdP serves is made again owner-only, where SQLite
        # would make it with the process's umask.
        os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))
        # A connection per use: cheap next to the work of a sign-in, and safe in any thread or forked worker.
        db = sqlite3.connect(self.path, timeout=BUSY_SECONDS, isolation_level=None)
        try:
            if not self._ready:
                for statement in _SCHEMA:
                    db.execute(statement)
                self._ready = True
        except BaseException:
            db.close()
            raise
        return db

    def session_stamp(self, username: str) -> tuple[int, int | None]:
        """(the generation, the epoch) a session of `username` must carry to be valid: the generation is 0 until the
        first sign-out; the epoch is None until the serving IdP first read its configuration (`witness_config`), and
        no session is valid then."""
        row = self._run(
            lambda db: db.execute(
                "SELECT (SELECT generation FROM session_generation WHERE username = ?), (SELECT epoch FROM config_version)", (username,)
            ).fetchone()
        )
        return int(row[0] or 0), None if row[1] is None else int(row[1])

    def witness_config(self, version: str) -> None:
        """The serving IdP read idp.yaml at `version` (file_version). Another version than the last one recorded was
        written by something other than samlfed (an editor, a deployment tool, a restore), maybe over versions no
        request saw (a user disabled, then enabled again): which sessions those ended cannot be known, so all end.

        One statement, so that of several workers reading the same new file only one ends the epoch. The first
        epoch is random: a state file made anew (removed, or lost) ends the sessions of the old one as well."""
        self._run(
            lambda db: db.execute(
                "INSERT INTO config_version (id, version, epoch) VALUES (1, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET version = excluded.version, epoch = epoch + 1 WHERE version != excluded.version",
                (version, secrets.randbelow(2**31)),
            )
        )

    def advance_config(self, before: str, after: str) -> None:
        """samlfed itself replaced idp.yaml at version `before` by `after` (`samlfed idp users ...`), ending the
        sessions its change ends: the serving IdP need not end them all when it reads it. Nothing is recorded when
        `before` is not the version last seen, an edit no one saw: the IdP's next read ends every session then."""
        self._run(lambda db: db.execute("UPDATE config_version SET version = ? WHERE version = ?", (after, before)))

    def end_sessions(self, *usernames: str) -> None:
        """Invalidate every session of each of `usernames` issued so far, in every worker."""
        if not usernames:
            return
        self._run(
            lambda db: db.executemany(
                "INSERT INTO session_generation (username, generation) VALUES (?, 1) "
                "ON CONFLICT (username) DO UPDATE SET generation = generation + 1",
                [(username,) for username in usernames],
            )
        )

    def accept_totp_step(self, username: str, step: int) -> bool:
        """Record `step` as used by `username`; False (nothing recorded) if it is not later than the last one
        accepted (RFC 6238 §5.2). One statement, so two workers cannot both accept the same step."""
        cursor = self._run(
            lambda db: db.execute(
                "INSERT INTO totp_step (username, last_step) VALUES (?, ?) "
                "ON CONFLICT (username) DO UPDATE SET last_step = excluded.last_step WHERE last_step < excluded.last_step",
                (username, step),
            )
        )
        return cursor.rowcount == 1

    def reserve_attempt(self, limits: Sequence[tuple[str, int]], *, now: float, window: float, max_rows: int) -> tuple[int, ...] | None:
        """Count one attempt against each (key, limit), pending, and return the new rows' ids; None (nothing
        counted) when a key already has `limit` attempts within `window` seconds of `now`.

        One write transaction (BEGIN IMMEDIATE takes the lock before counting), so concurrent attempts in any
        worker cannot all see room under the limit. Attempts older than the window are dropped, and only the
        newest `max_rows` are kept, so that the table stays small whatever names and addresses are tried."""

        def reserve(db: sqlite3.Connection) -> tuple[int, ...] | None:
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute("DELETE FROM login_attempt WHERE at <= ?", (now - window,))
                if any(
                    db.execute("SELECT count(*) FROM login_attempt WHERE key = ?", (key,)).fetchone()[0] >= limit for key, limit in limits
                ):
                    db.execute("COMMIT")
                    return None
                ids = tuple(
                    int(db.execute("INSERT INTO login_attempt (key, at, pending) VALUES (?, ?, 1)", (key, now)).lastrowid or 0)
                    for key, _ in limits
                )
                db.execute("DELETE FROM login_attempt WHERE id <= ?", (max(ids) - max_rows,))
                db.execute("COMMIT")
            except BaseException:
                _rollback(db)
                raise
            return ids

        return self._run(reserve)

    def confirm_attempt(self, ids: Sequence[int]) -> None:
        """The reserved attempt failed: it stays counted, and a success of the user no longer gives it back."""
        self._run(lambda db: db.executemany("UPDATE login_attempt SET pending = 0 WHERE id = ?", [(i,) for i in ids]))

    def release_attempt(self, ids: Sequence[int], *, forget_failures_of: str | None = None) -> None:
        """Uncount a reserved attempt; with `forget_failures_of`, also that key's failed attempts (not the ones
        still in flight elsewhere: those are counted as they end)."""

        def release(db: sqlite3.Connection) -> None:
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany("DELETE FROM login_attempt WHERE id = ?", [(i,) for i in ids])
                if forget_failures_of is not None:
                    db.execute("DELETE FROM login_attempt WHERE key = ? AND pending = 0", (forget_failures_of,))
                db.execute("COMMIT")
            except BaseException:
                _rollback(db)
                raise

        self._run(release)


def file_version(path: Path) -> str:
    """Names one version of a file without reading it: any write, replacement, restore or chmod changes its inode,
    size, modification or change time (ctime, which no one sets back)."""
    try:
        found = path.stat()
    except FileNotFoundError:
        return "absent"
    except OSError as exc:  # reading the file fails as well, and says why (directory.read_yaml): no version of it is used
        return f"unusable: {exc.errno}"
    return f"{found.st_ino}:{found.st_size}:{found.st_mtime_ns}:{found.st_ctime_ns}"


def _locked(exc: BaseException) -> bool:
    """Whether SQLite gave up waiting for another connection's lock (SQLITE_BUSY or SQLITE_LOCKED, "database is locked")."""
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    return code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _rollback(db: sqlite3.Connection) -> None:
    """Roll back what is left: SQLite may already have rolled back by itself (a full disk does), and a ROLLBACK
    then would fail and hide the reason."""
    if db.in_transaction:
        db.execute("ROLLBACK")
