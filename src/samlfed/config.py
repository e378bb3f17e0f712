"""One typed settings object: command-line options over `SAMLFED_*` environment variables over a TOML file.

The file is named by `--config` or `SAMLFED_CONFIG`; its keys are the option names (`data_dir`, `port`, …).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields
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
    identity_cache_seconds: float = 1.0
    """How long a node may sign users in with its copy of a provider or role (0: read the store every time)."""
    with_idp: bool = False
    """Also serve the built-in identity provider at /idp."""
    idp_dir: Path | None = None
    """The built-in IdP's configuration and keys; default: <data_dir>/idp."""
    sp_entity_id: str = "urn:amazon:webservices"
    """Our SAML service-provider entity ID (AWS's, so that IdP gallery apps work unchanged)."""
    console_provider: str | None = None
    """ARN of the SAML provider whose IdP signs users in to the console (SP-initiated); default: the built-in IdP."""
    require_sp_initiated: bool = False
    """Refuse console sign-in responses that do not answer a request this service sent."""
    console_auto_sign_in: bool = True
    sign_authn_requests: bool = True
    """Sign console AuthnRequests with the SP key published in /saml/metadata."""
    """With exactly one role, the chooser submits itself in browsers (scrapers still see the markup)."""

    @classmethod
    def from_env(cls, *, config: Path | None = None, **overrides: object) -> Settings:
        env = os.environ
        values: dict[str, object] = _file_values(config or (Path(env["SAMLFED_CONFIG"]) if env.get("SAMLFED_CONFIG") else None))
        from_env: dict[str, object] = {
            "data_dir": Path(env["SAMLFED_DATA_DIR"]) if env.get("SAMLFED_DATA_DIR") else None,
            "database_url": env.get("SAMLFED_DATABASE_URL") or None,
            "host": env.get("SAMLFED_HOST") or None,
            "port": int(env["SAMLFED_PORT"]) if env.get("SAMLFED_PORT") else None,
            "workers": int(env["SAMLFED_WORKERS"]) if env.get("SAMLFED_WORKERS") else None,
            "public_url": env.get("SAMLFED_PUBLIC_URL") or None,
            "strict_replay": _flag(env.get("SAMLFED_STRICT_REPLAY")),
            "identity_cache_seconds": float(env["SAMLFED_IDENTITY_CACHE_SECONDS"]) if env.get("SAMLFED_IDENTITY_CACHE_SECONDS") else None,
            "with_idp": _flag(env.get("SAMLFED_WITH_IDP")),
            "idp_dir": Path(env["SAMLFED_IDP_DIR"]) if env.get("SAMLFED_IDP_DIR") else None,
            "sp_entity_id": env.get("SAMLFED_SP_ENTITY_ID") or None,
            "console_provider": env.get("SAMLFED_CONSOLE_PROVIDER") or None,
            "require_sp_initiated": _flag(env.get("SAMLFED_REQUIRE_SP_INITIATED")),
            "console_auto_sign_in": _flag(env.get("SAMLFED_CONSOLE_AUTO_SIGN_IN")),
            "sign_authn_requests": _flag(env.get("SAMLFED_SIGN_AUTHN_REQUESTS")),
        }
        values.update({k: v for k, v in from_env.items() if v is not None})
        values.update({k: v for k, v in overrides.items() if v is not None})
        settings = cls(**values)  # type: ignore[arg-type]
        if settings.data_dir is None and settings.database_url is None:
            settings = cls(**{**values, "data_dir": DEFAULT_DATA_DIR})  # type: ignore[arg-type]
        return settings

    def __post_init__(self) -> None:
        for name in ("data_dir", "idp_dir"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                object.__setattr__(self, name, Path(value))
        try:
            seconds = float(self.identity_cache_seconds)
        except (TypeError, ValueError):
            seconds = -1.0
        if not 0 <= seconds <= 60:
            raise ValueError(f"identity_cache_seconds must be a number of seconds from 0 to 60, not {self.identity_cache_seconds!r}")
        object.__setattr__(self, "identity_cache_seconds", seconds)

    @property
    def base_url(self) -> str:
        """Where clients reach this service: the public URL, else the bound address."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    def idp_directory(self) -> Path:
        if self.idp_dir is not None:
            return self.idp_dir
        return (self.data_dir or DEFAULT_DATA_DIR) / "idp"

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
        env["SAMLFED_IDENTITY_CACHE_SECONDS"] = str(self.identity_cache_seconds)
        if self.with_idp:
            env["SAMLFED_WITH_IDP"] = "1"
        if self.idp_dir is not None:
            env["SAMLFED_IDP_DIR"] = str(self.idp_dir)
        env["SAMLFED_SP_ENTITY_ID"] = self.sp_entity_id
        if self.console_provider:
            env["SAMLFED_CONSOLE_PROVIDER"] = self.console_provider
        env["SAMLFED_REQUIRE_SP_INITIATED"] = "1" if self.require_sp_initiated else "0"
        env["SAMLFED_CONSOLE_AUTO_SIGN_IN"] = "1" if self.console_auto_sign_in else "0"
        env["SAMLFED_SIGN_AUTHN_REQUESTS"] = "1" if self.sign_authn_requests else "0"
        return env


def _flag(value: str | None) -> bool | None:
    return value.lower() in ("1", "true", "yes", "on") if value else None


def _file_values(path: Path | None) -> dict[str, object]:
    if path is None:
        return {}
    with path.open("rb") as handle:
        values = tomllib.load(handle)
    known = {f.name for f in fields(Settings)}
    unknown = set(values) - known
    if unknown:
        raise ValueError(f"unknown settings in {path}: {', '.join(sorted(unknown))}")
    return values
