"""What the built-in IdP must remember across requests and worker processes: each user's session generation
(sign-out ends every session issued before it) and the last TOTP time step accepted (a code works once).

A small SQLite file beside the IdP's configuration: every worker of one deployment shares the IdP directory
already (configuration, keys, session secret), and SQLite makes each update atomic between processes.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

STATE_FILE = "idp-state.db"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS session_generation (username TEXT PRIMARY KEY, generation INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS totp_step (username TEXT PRIMARY KEY, last_step INTEGER NOT NULL)",
)


class IdpState:
    """Opened lazily, so that commands that only read the configuration create no file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._ready = False

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        if not self._ready:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))  # owner-only from its creation
        # A connection per use: cheap next to the work of a sign-in, and safe in any thread or forked worker.
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            if not self._ready:
                for statement in _SCHEMA:
                    db.execute(statement)
                self._ready = True
            yield db
        finally:
            db.close()

    def session_generation(self, username: str) -> int:
        """The generation a session of `username` must carry to be valid (0 until the first sign-out)."""
        with self._db() as db:
            row = db.execute("SELECT generation FROM session_generation WHERE username = ?", (username,)).fetchone()
        return int(row[0]) if row else 0

    def end_sessions(self, username: str) -> None:
        """Invalidate every session of `username` issued so far, in every worker."""
        with self._db() as db:
            db.execute(
                "INSERT INTO session_generation (username, generation) VALUES (?, 1) "
                "ON CONFLICT (username) DO UPDATE SET generation = generation + 1",
                (username,),
            )

    def accept_totp_step(self, username: str, step: int) -> bool:
        """Record `step` as used by `username`; False (nothing recorded) if it is not later than the last one
        accepted (RFC 6238 §5.2). One statement, so two workers cannot both accept the same step."""
        with self._db() as db:
            cursor = db.execute(
                "INSERT INTO totp_step (username, last_step) VALUES (?, ?) "
                "ON CONFLICT (username) DO UPDATE SET last_step = excluded.last_step WHERE last_step < excluded.last_step",
                (username, step),
            )
            return cursor.rowcount == 1
