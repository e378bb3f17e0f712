"""`samlfed backup`: a consistent copy of an SQLite data directory, taken while samlfed serves, that opens as one.

In WAL mode the latest writes live in samlfed.db-wal until a checkpoint moves them into samlfed.db, so a copy of
samlfed.db alone (cp, rsync, a snapshot of one file) can miss them, or catch a page half-written. SQLite's online
backup API copies the database as one read transaction sees it, without stopping writers. The built-in IdP's
idp-state.db, which the IdP writes while it serves, is copied the same way; its other files as they are. The master key goes
along: the database holds its secrets sealed under it, and either one without the other restores nothing.

The copy is then opened as samlfed opens a data directory (master key check), so a backup that would not start is
an error now rather than on the day it is needed. Only a copy at this release's schema is opened: opening upgrades
the schema, and a copy taken with a newer samlfed before an upgrade must stay as the older release can open it.

The database is copied under another name and takes its own last: a copy stopped at any point (even by SIGKILL, which
leaves no chance to clean up) is never a data directory that starts, since samlfed refuses a master key without its
database.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .files import directories_on_the_way
from .idp.state import STATE_FILE as IDP_STATE_FILE
from .masterkey import ENV as MASTER_KEY_VARIABLE
from .masterkey import MasterKey, MasterKeyError
from .store import StoreUnavailable
from .store.migrate import head_revision
from .store.opening import open_store

DATABASE, MASTER_KEY, IDP = "samlfed.db", "master.key", "idp"
PARTIAL = DATABASE + ".partial"
"""The database's name in the copy until everything else is in place and the copy opened."""
SQLITE_HEADER = b"SQLite format 3\x00"
JOURNALS = ("-journal", "-wal", "-shm")
"""What SQLite keeps beside a database while it is written."""
BUSY_SECONDS = 30
"""How long the copy waits for a lock (a checkpoint in progress); readers are not blocked by writers in WAL mode."""


class BackupError(Exception):
    """Why no backup was made; the message is for the operator."""


class BackupInterrupted(BaseException):
    """A signal (SIGTERM from `timeout`, cron or systemd; SIGHUP) stopped the copy: as Ctrl-C does, it leaves nothing."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@dataclass(frozen=True)
class Backup:
    destination: Path
    schema_version: str
    database_bytes: int
    master_key_copied: bool
    """False when the master key comes from SAMLFED_MASTER_KEY: it must then be kept with the backup by hand."""
    idp_copied: bool
    opened: bool
    """Whether the copy was opened with its master key (only when its schema is this release's: see above)."""


def back_up(data_dir: Path, destination: Path, *, now: datetime) -> Backup:
    """Copy `data_dir`'s database, master key and built-in IdP files into `destination` (a new or empty
    directory, made 0700), and check that the copy opens. BackupError says why not; nothing is left half-made."""
    database = data_dir / DATABASE
    if not database.is_file():
        raise BackupError(f"no samlfed data in {data_dir} (it holds no {DATABASE})")
    key_file = data_dir / MASTER_KEY
    from_environment = bool(os.environ.get(MASTER_KEY_VARIABLE))
    if not key_file.is_file() and not from_environment:
        raise BackupError(f"{data_dir} holds no {MASTER_KEY} and {MASTER_KEY_VARIABLE} is not set: without the master key a backup restores nothing")
    if destination.resolve().is_relative_to(data_dir.resolve()):
        raise BackupError(f"{destination} is inside {data_dir}: a backup there is lost with what it copies; make it elsewhere")
    _check_the_way(destination)
    created = _make_destination(destination)
    written: list[Path] = []
    try:
        with _writing(destination / PARTIAL, written):
            os.close(os.open(destination / PARTIAL, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # owner-only before SQLite writes it
        version = _copy_database(database, destination / PARTIAL)
        if key_file.is_file():
            with _writing(destination / MASTER_KEY, written):
                _write_new_private(destination / MASTER_KEY, key_file.read_bytes())
        idp = data_dir / IDP
        if idp.is_dir():
            with _writing(destination / IDP, written):
                (destination / IDP).mkdir(mode=0o700)
            _copy_idp(idp, destination / IDP)
        opened = version == head_revision()
        if opened:
            _check_opens(destination, now)
        os.replace(destination / PARTIAL, destination / DATABASE)
        written.append(destination / DATABASE)  # from here on, signals are ignored (cli_backup.py)
        _sync_directory(destination)
    except BaseException as exc:
        _undo(destination, created, written)
        if isinstance(exc, OSError):  # shutil.Error (a file of idp/ that cannot be copied) is one too
            raise BackupError(f"cannot write the copy into {destination}: {exc.strerror or exc}") from None
        raise
    size = (destination / DATABASE).stat().st_size
    return Backup(destination, version, size, key_file.is_file(), (destination / IDP).is_dir(), opened)


def _make_destination(destination: Path) -> bool:
    """A new directory (True), or an empty one the operator made (False), mode 0700 either way."""
    try:
        # The directories made on the way are the operator's and, whatever the umask, writable by no one else: the
        # way checked before stays safe to its end.
        umask = os.umask(0o022)
        os.umask(umask | 0o022)
        try:
            destination.mkdir(mode=0o700, parents=True)
        finally:
            os.umask(umask)
        return True
    except FileExistsError:
        if not destination.is_dir() or any(destination.iterdir()):
            raise BackupError(f"{destination} exists and is not an empty directory") from None
        # Another user's directory stays theirs whatever its mode: they could plant links in it (a root backup would
        # write the master key through them) or swap the copy for their own before it is restored. So does their
        # link to a directory of ours: they could point it elsewhere between this check and the writes.
        if any(found.st_uid != os.geteuid() for found in (destination.lstat(), destination.stat())):
            raise BackupError(f"{destination} belongs to another user: back up into a directory of your own") from None
    except OSError as exc:
        raise BackupError(f"cannot create {destination}: {exc.strerror or exc}") from None
    try:
        destination.chmod(0o700)
    except OSError as exc:
        raise BackupError(f"cannot make {destination} private (mode 0700): {exc.strerror or exc}") from None
    return False


def _check_the_way(destination: Path) -> None:
    """Refuse a destination reached through a directory that others may change, before anything is made: whoever may
    rename the entries of a directory on the way (one holding a link on the way too) could swap the backup directory,
    or a link to it, for one of their own between the checks and the writes, and receive the master key. A directory
    is safe when root or the operator owns it and neither its group nor others may write to it, or only with the
    sticky bit (as /tmp), which keeps them from renaming what is not theirs. Owners and mode bits are all that is
    read: ACLs, and file systems whose modes say nothing (CIFS), are not."""
    try:
        way = [(directory, directory.stat()) for directory in directories_on_the_way(destination)]
    except OSError as exc:
        raise BackupError(f"cannot look up {destination}: {exc.strerror or exc}") from None
    for directory, found in way:
        if found.st_uid not in (0, os.geteuid()):
            raise BackupError(f"{directory} belongs to another user, who could swap the backup directory for one of their own: back up under directories only you or root own")
        if found.st_mode & 0o022 and not found.st_mode & stat.S_ISVTX:
            raise BackupError(
                f"{directory} can be changed by other users (mode {stat.S_IMODE(found.st_mode):04o}), who could swap the backup directory for one of "
                f"their own: back up under directories only you or root can change (chmod go-w {directory})"
            )


def _write_new_private(path: Path, data: bytes) -> None:
    """Write a new owner-only file at `path`: never through a link, never over a file already there."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())


@contextmanager
def _writing(path: Path, written: list[Path]) -> Iterator[None]:
    """Count `path` among the copy's own from before it is made (a signal may come at any point), unless it was
    there already: then it is another backup's, made into the same directory since it was found empty."""
    written.append(path)
    try:
        yield
    except FileExistsError:
        written.remove(path)
        raise


def _undo(destination: Path, created: bool, written: list[Path]) -> None:
    """Leave no part of a copy: remove what it wrote, and the directory when it was made for it; the one the
    operator gave (a mount point, a directory made for backups, one reached through a symbolic link) stays. Only
    what it wrote: a backup started at the same moment into the same directory may have written there too, and
    emptying the directory deleted that one's copy, even after it was reported made."""
    for path in written:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        if path.name == PARTIAL:  # what SQLite made beside the copy while writing it
            for suffix in ("-journal", "-wal", "-shm"):
                path.with_name(PARTIAL + suffix).unlink(missing_ok=True)
    if created:
        with suppress(OSError):  # not empty: another backup writes into it
            destination.rmdir()


def _copy_database(source_path: Path, target_path: Path) -> str:
    """Copy the database into the empty file `target_path`; its schema version."""
    with _copied(source_path, target_path) as copy:
        version = copy.execute("SELECT version_num FROM alembic_version").fetchone()
    if version is None:
        raise BackupError(f"{source_path} holds no samlfed schema version")
    return str(version[0])


@contextmanager
def _copied(source_path: Path, target_path: Path) -> Iterator[sqlite3.Connection]:
    """Copy the SQLite database at `source_path` into the empty file `target_path` with the online backup API, and
    check the copy's integrity; the copy, open."""
    try:
        with closing(sqlite3.connect(source_path, timeout=BUSY_SECONDS)) as source, closing(sqlite3.connect(target_path)) as target:
            source.backup(target)  # one step: one read transaction's view of the whole database
            problems = [row[0] for row in target.execute("PRAGMA integrity_check")]
            if problems != ["ok"]:
                raise BackupError(f"the copy of {source_path} fails SQLite's integrity check: {'; '.join(problems[:5])}")
            yield target
    except sqlite3.Error as exc:
        raise BackupError(f"cannot copy {source_path}: {exc}") from None


def _copy_idp(source: Path, target: Path) -> None:
    """Copy the built-in IdP's directory, modes included. Its SQLite databases (idp-state.db, which the IdP writes
    while it serves) are copied as the main one is, without their journals: a file copy could catch one half-written,
    or fail when a sign-in's commit removes the journal it listed, and a journal beside a consistent copy would be
    replayed over it."""
    shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True, ignore=_journals, copy_function=_copy_idp_file)


def _journals(_directory: str, names: list[str]) -> set[str]:
    """The journals, among `names`, of the files beside them."""
    present = set(names)
    return {name for name in names for suffix in JOURNALS if name.endswith(suffix) and name.removesuffix(suffix) in present}


def _copy_idp_file(source: str, target: str) -> None:
    if not _is_sqlite(Path(source)):
        shutil.copy2(source, target)
        return
    os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))  # owner-only before SQLite writes it
    with _copied(Path(source), Path(target)) as copy:
        if Path(source).name == IDP_STATE_FILE:
            _end_idp_sessions(copy)
    shutil.copymode(source, target)


def _end_idp_sessions(state: sqlite3.Connection) -> None:
    """The copy of idp-state.db forgets the session epoch (idp/state.py), so the IdP, restored from it, begins a new
    one and ends every IdP session: else the sessions live when the copy was made would come back, those signed out
    since among them (the copy holds the older session generations), whenever idp.yaml is restored unchanged (rsync
    skips a file of the same size and time)."""
    with suppress(sqlite3.OperationalError):  # a state file older than the epoch has no such table, nor sessions to keep
        with state:  # committed
            state.execute("DELETE FROM config_version")


def _is_sqlite(path: Path) -> bool:
    """Whether `path` is a regular file holding an SQLite database (a FIFO is not opened: that would block)."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            return False
        with path.open("rb") as file:
            return file.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return False  # copying it as a file says why it cannot be read


def _sync_directory(directory: Path) -> None:
    """Make the database's rename durable before the copy is reported made."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _check_opens(destination: Path, now: datetime) -> None:
    """Open the copy with its master key as `serve` would (schema version, master key check)."""
    try:
        master = MasterKey.load(destination)
        store = open_store(f"sqlite:///{destination / PARTIAL}", master, now=now)
    except (MasterKeyError, StoreUnavailable) as exc:
        raise BackupError(f"the copy does not open: {exc}") from None
    store.engine.dispose()
