"""Where the shared reference material lives: `shared/` beside the repository, as on every CI machine.

`SAMLFED_SHARED` overrides the location (a checkout elsewhere).
"""

import os
from pathlib import Path


def shared_dir() -> Path:
    path = Path(os.environ.get("SAMLFED_SHARED") or Path(__file__).resolve().parents[2] / "shared")
    assert (path / "fixtures" / "saml").is_dir(), f"the shared material is missing at {path} (set SAMLFED_SHARED)"
    return path
