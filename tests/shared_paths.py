"""Where the shared reference material lives: `shared/` beside the repository (as on every CI machine)."""

from pathlib import Path


def shared_dir() -> Path:
    path = Path(__file__).resolve().parents[2] / "shared"
    assert (path / "fixtures" / "saml").is_dir(), f"the shared material is missing at {path}"
    return path
