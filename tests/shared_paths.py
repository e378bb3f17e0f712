"""Where the shared reference material lives: `shared/` beside the repository, as on every CI machine.

`SAMLFED_SHARED` overrides the location (a checkout elsewhere). A clone of a local checkout (a scratch clone to
run CI in) also finds the material beside the checkout it was cloned from.
"""

import os
import subprocess
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]


def _beside_origin() -> Path | None:
    """`shared/` beside the repository this one was cloned from, when that is a directory on this machine."""
    try:
        url = subprocess.run(
            ["git", "-C", str(REPOSITORY), "config", "--get", "remote.origin.url"], capture_output=True, text=True, timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    origin = Path(url.removeprefix("file://")) if url and "://" not in url.removeprefix("file://") else None
    return origin.resolve().parent / "shared" if origin is not None and origin.is_dir() else None


def shared_dir() -> Path:
    if os.environ.get("SAMLFED_SHARED"):
        candidates = [Path(os.environ["SAMLFED_SHARED"])]
    else:
        candidates = [REPOSITORY.parent / "shared", *filter(None, [_beside_origin()])]
    for path in candidates:
        if (path / "fixtures" / "saml").is_dir():
            return path
    raise AssertionError(f"the shared material is missing at {' and '.join(map(str, candidates))} (set SAMLFED_SHARED)")
