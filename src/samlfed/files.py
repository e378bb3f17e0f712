"""Writing files that hold secrets: atomically (a temporary file renamed over the old one) and owner-only."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_private(path: Path, data: bytes, *, parent_mode: int = 0o700) -> None:
    """Replace `path` with `data`, mode 0600; a reader sees the old file or the new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=parent_mode)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)  # created 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
