"""How many writes to providers and roles a node has made: what voids the read cache's copies (read_cache.py).

One count per process, unless the process was told a file to share it through: `samlfed serve --workers N` makes
one for its workers, so that a change made through any worker voids every worker's copies at once. Reading it is a
load from a shared mapping (no system call: every sign-in reads it twice); a write bumps it under a lock (a thread
lock, and an exclusive file lock across the workers), so that two writers' bumps never collapse into one value a
cache could have seen between them: IAM calls write from a worker's threads (api/app.py).
"""

from __future__ import annotations

import fcntl
import mmap
import os
import struct
import threading
from pathlib import Path

from ..processes import running

SHARED_FILE_VARIABLE = "SAMLFED_IDENTITY_GENERATION_FILE"
"""Set by `samlfed serve` for its workers; not a setting."""
_COUNT = struct.Struct("<Q")


class IdentityGeneration:
    """A count that only moves: copies read at one value are stale once it differs."""

    def __init__(self) -> None:
        self._value = 0
        self._bumping = threading.Lock()  # `+=` on an attribute is a read and a write, which threads can interleave

    @property
    def value(self) -> int:
        return self._value

    def bump(self) -> None:
        with self._bumping:
            self._value += 1


class SharedIdentityGeneration(IdentityGeneration):
    """The count in an 8-byte file that the node's worker processes map."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self._fd = os.open(path, os.O_RDWR)
        if os.fstat(self._fd).st_size < _COUNT.size:
            os.ftruncate(self._fd, _COUNT.size)
        self._map = mmap.mmap(self._fd, _COUNT.size)

    @property
    def value(self) -> int:
        return _COUNT.unpack_from(self._map)[0]

    def bump(self) -> None:
        # flock keeps other processes out, not this one's other threads: they share the open file's lock.
        with self._bumping:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                _COUNT.pack_into(self._map, 0, _COUNT.unpack_from(self._map)[0] + 1)
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)


_FILE_PREFIX = "samlfed-identity-generation-"


def create_shared_file(directory: Path | None = None) -> Path:
    """A new zeroed count file (0600) for a run's workers, named after this process; the caller removes it when the
    run ends. The files of this user's runs that were killed outright (no process has their PID) go first."""
    import tempfile

    base = Path(directory or tempfile.gettempdir())
    for old in base.glob(f"{_FILE_PREFIX}*-*"):
        pid = old.name.removeprefix(_FILE_PREFIX).split("-", 1)[0]
        try:
            if pid.isdigit() and not running(int(pid)) and old.stat().st_uid == os.getuid():
                old.unlink()
        except OSError:  # gone meanwhile, or not ours to remove
            continue
    fd, name = tempfile.mkstemp(prefix=f"{_FILE_PREFIX}{os.getpid()}-", dir=base)
    try:
        os.write(fd, bytes(_COUNT.size))
    finally:
        os.close(fd)
    return Path(name)


def identity_generation_from_env() -> IdentityGeneration:
    """The shared count when this process is one of `serve`'s workers, else one of its own."""
    path = os.environ.get(SHARED_FILE_VARIABLE)
    return SharedIdentityGeneration(Path(path)) if path else IdentityGeneration()
