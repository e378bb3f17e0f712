"""Writing files that hold secrets: atomically (complete or not at all) and owner-only from the start; reading the
files an operator names without loading more than they can hold."""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path


def _private_temporary(path: Path, data: bytes, parent_mode: int, mode: int = 0o600) -> str:
    """A new file beside `path` holding `data`, mode 0600 from its creation (then `mode`); its name."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=parent_mode)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)  # created 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if mode != 0o600:
                os.fchmod(handle.fileno(), mode)
            # On disk before its name is: else a crash soon after the rename can leave the new name on an empty file
            # (ext4's delayed allocation, XFS), neither the old content nor the new.
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return temporary


def write_private(path: Path, data: bytes, *, parent_mode: int = 0o700, before_replace: Callable[[], None] | None = None) -> None:
    """Replace `path` with `data`; a reader sees the old file or the new one, never a part. `before_replace` is called
    once the new content is written, right before it replaces the old: what it raises leaves `path` as it was.

    A symbolic link is written through: its target is replaced (beside itself), so the link keeps working.
    The file is owner-only: 0600, or the old file's mode when it is stricter and still lets the owner read it
    (0400 stays 0400).
    """
    target = Path(os.path.realpath(path))
    try:
        mode = stat.S_IMODE(target.stat().st_mode) & 0o600
    except FileNotFoundError:
        mode = 0o600
    if not mode & stat.S_IRUSR:
        mode = 0o600
    temporary = _private_temporary(target, data, parent_mode, mode)
    try:
        if before_replace is not None:
            before_replace()
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def prepare_data_dir(path: Path) -> None:
    """A directory of samlfed's data (the database and master key; the IdP's files). One samlfed creates is owner-only; an existing
    one keeps its mode (it may be shared, e.g. 1777), since the files samlfed puts in it are 0600 themselves."""
    try:
        path.mkdir(parents=True)
    except FileExistsError:
        if not path.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "not a directory", str(path)) from None
        return
    os.chmod(path, 0o700)


def make_private_directories(directory: Path) -> None:
    """Make `directory` and every missing directory above it, each with mode 0700 (less the umask); directories that
    exist are left as they are, never chmod-ed. For the user's XDG base directories ($XDG_CACHE_HOME, ~/.config) the
    XDG Base Directory spec asks this of a missing one, where mkdir(parents=True) makes the parents with the umask's
    mode (0755 as a rule) whatever `mode` it is given."""
    missing = []
    current = directory
    while not current.exists() and current.parent != current:
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        path.mkdir(mode=0o700, exist_ok=True)  # exist_ok: another process may make it meanwhile (a file there still fails)


def read_or_create_private(path: Path, make: Callable[[], bytes], *, parent_mode: int = 0o700) -> bytes:
    """The content of `path`; when there is none yet, `make()` is put there first, mode 0600.

    The new content is written to a temporary file and linked into place, which fails if the file appeared
    meanwhile: processes starting together (several workers) all read the one that was first, and never a part.
    """
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    temporary = _private_temporary(path, make(), parent_mode)
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass  # another process was first: its content counts
    finally:
        Path(temporary).unlink(missing_ok=True)
    return path.read_bytes()


def open_to_others(paths: list[Path]) -> list[str]:
    """The files among `paths` that a group or other users may read or write, each as 'PATH (mode 0644)'; files that do
    not exist are skipped. samlfed makes its own 0600, but a restore, a copy or an operator's chmod can loosen them."""
    found = []
    for path in paths:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError:
            continue
        if mode & 0o066:
            found.append(f"{path} (mode {mode:04o})")
    return found


MAX_LINKS = 40
"""Symbolic links followed in one lookup before giving up, as Linux does (ELOOP)."""


def directories_on_the_way(path: Path) -> list[Path]:
    """The existing directories a lookup of `path` passes through, in order, as the kernel walks it: each link is
    followed where it stands (its target read from the directory that holds it, '..' taken after it), so every
    directory whose entries decide where `path` leads is listed, including those that only hold links on the way.
    The walk stops before `path` itself (or where its link leads) and at the first name that does not exist yet.
    OSError(ELOOP) past MAX_LINKS links."""
    pending = list(path.absolute().parts[1:])  # absolute() keeps '..', which depends on the links before it
    current = Path("/")
    passed = [current]
    links = 0
    while pending:
        name = pending.pop(0)
        if name == ".":
            continue
        if name == "..":
            current = current.parent
            continue
        candidate = current / name
        try:
            found = candidate.lstat()
        except FileNotFoundError:
            break
        if stat.S_ISLNK(found.st_mode):
            links += 1
            if links > MAX_LINKS:
                raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), str(path))
            target = Path(os.readlink(candidate))
            if target.is_absolute():
                current = Path("/")
            pending[:0] = [part for part in target.parts if part != target.anchor]
            continue
        if not pending or not stat.S_ISDIR(found.st_mode):
            break
        current = candidate
        if current not in passed:
            passed.append(current)
    return passed


SMALL_FILE_LIMIT = 1 << 20
"""1 MiB: far above any key, certificate chain, policy or settings file, far below what would strain the memory."""
LARGE_FILE_LIMIT = 16 << 20
"""16 MiB: above AWS's 10,000,000-character metadata documents and any development IdP's user file."""


def read_at_most(path: Path, limit: int = SMALL_FILE_LIMIT) -> bytes:
    """The bytes of `path`, or OSError (EFBIG) when it holds more than `limit`: read so that an endless file
    (/dev/zero, a FIFO) or a huge one named by mistake is never loaded whole."""
    with path.open("rb") as stream:
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise OSError(errno.EFBIG, f"larger than {limit:,} bytes", str(path))
    return data
