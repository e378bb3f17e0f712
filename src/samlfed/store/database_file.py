"""The SQLite database file a store opened, watched for what happens to it behind samlfed's back.

SQLite keeps using the file it opened: removed (by hand, or a restore that unpacked a new directory over the old
one), its open connections go on reading and writing a file that is gone at the next start, so every change made
since is lost; replaced, they go on with the old one; emptied, reads fail now and then. Each is noticed before a
transaction and by readiness probes, and refused as the database being unavailable, rather than served.

A file overwritten in place (`cp` over it) or cut part-way is not noticed: it is the same file, and what SQLite has
cached hides the change until a restart. Hence a restore stops samlfed first (docs/operations.md).
"""

from __future__ import annotations

import os

from sqlalchemy import Engine


class DatabaseFile:
    def __init__(self, path: str) -> None:
        self.path = os.path.abspath(path)
        found = os.stat(self.path)
        self._identity = (found.st_dev, found.st_ino)

    @classmethod
    def of(cls, engine: Engine) -> DatabaseFile | None:
        """The file of an SQLite engine; None for PostgreSQL, an in-memory database or a file that cannot be looked at."""
        path = engine.url.database
        if engine.dialect.name != "sqlite" or not path or path == ":memory:" or path.startswith("file:"):
            return None
        try:
            return cls(path)
        except OSError:
            return None

    def problem(self) -> str | None:
        """What happened to the file since the store opened it, or None when it is still the same, non-empty file."""
        try:
            found = os.stat(self.path)
        except FileNotFoundError:
            return f"the database file {self.path} was removed while samlfed ran: stop samlfed, restore the file from a backup, start again"
        except OSError as exc:
            return f"cannot look at the database file {self.path}: {exc.strerror or exc}"
        if (found.st_dev, found.st_ino) != self._identity:
            return f"the database file {self.path} was replaced while samlfed ran: restart samlfed to open the new file"
        if found.st_size == 0:
            return f"the database file {self.path} was emptied while samlfed ran: stop samlfed, restore the file from a backup, start again"
        return None
