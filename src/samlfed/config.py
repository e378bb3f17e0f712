"""One typed settings object, from `SAMLFED_*` environment variables and command-line options."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATA_DIR = Path("samlfed-data")


@dataclass(frozen=True)
class Settings:
    data_dir: Path | None = None
    database_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    public_url: str | None = None
    """Where clients reach this service; its /saml URL and itself are accepted as Recipient and Audience."""
    strict_replay: bool = False

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        env = os.environ
        values: dict[str, object] = {
            "data_dir": Path(env["SAMLFED_DATA_DIR"]) if env.get("SAMLFED_DATA_DIR") else None,
            "database_url": env.get("SAMLFED_DATABASE_URL") or None,
            "host": env.get("SAMLFED_HOST", "127.0.0.1"),
            "port": int(env.get("SAMLFED_PORT", "8080")),
            "workers": int(env.get("SAMLFED_WORKERS", "1")),
            "public_url": env.get("SAMLFED_PUBLIC_URL") or None,
            "strict_replay": env.get("SAMLFED_STRICT_REPLAY", "").lower() in ("1", "true", "yes"),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)  # type: ignore[arg-type]
        if settings.data_dir is None and settings.database_url is None:
            settings = cls(**{**values, "data_dir": DEFAULT_DATA_DIR})  # type: ignore[arg-type]
        return settings

    def store_url(self) -> str:
        if self.database_url:
            return self.database_url
        assert self.data_dir is not None
        return f"sqlite:///{self.data_dir / 'samlfed.db'}"

    def to_env(self) -> dict[str, str]:
        """The same settings as environment variables (for worker processes)."""
        env = {"SAMLFED_HOST": self.host, "SAMLFED_PORT": str(self.port), "SAMLFED_WORKERS": str(self.workers)}
        if self.data_dir is not None:
            env["SAMLFED_DATA_DIR"] = str(self.data_dir)
        if self.database_url:
            env["SAMLFED_DATABASE_URL"] = self.database_url
        if self.public_url:
            env["SAMLFED_PUBLIC_URL"] = self.public_url
        if self.strict_replay:
            env["SAMLFED_STRICT_REPLAY"] = "1"
        return env
