"""Whether a process is still there: what tells the files of a run killed outright (SIGKILL, the OOM killer, a power
cut leaves no chance to remove them) from those of a run still going."""

from __future__ import annotations

import os


def running(pid: int) -> bool:
    """Whether a process with this PID exists (another user's counts: it may be a run of theirs)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
