"""The login client's configuration: `~/.config/samlfed/config.toml` (or `$SAMLFED_LOGIN_CONFIG`).

```toml
[profiles.work]
endpoint = "https://samlfed.example.com"        # samlfed: STS, /saml chooser data, /federation
idp_metadata_url = "https://samlfed.example.com/idp/metadata"   # or ecp_url directly
username = "alice"
role = "arn:aws:iam::111111111111:role/Developer"
duration = 3600
method = "ecp"                                   # ecp or browser
remember_password = false                        # keep the password in the OS keyring (never in a file)
# allow_insecure_http = false                    # plain http:// to a host other than this machine (warned)
# ca_bundle = "/path/to/ca.pem"                  # trust only these CAs (instead of the system's) for https://
# timeout = 60                                   # seconds each HTTP exchange may take in all (1-3600)
```
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import tomli_w

from ..files import make_private_directories, read_at_most, write_private
from .toml_edit import replace_table
from .transport import redacted

DEFAULT_PROFILE = "default"
DEFAULT_SP_ENTITY_ID = "urn:amazon:webservices"


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class LoginProfile:
    name: str = DEFAULT_PROFILE
    endpoint: str = "http://127.0.0.1:8080"
    idp_metadata_url: str | None = None
    ecp_url: str | None = None
    username: str | None = None
    role: str | None = None
    duration: int | None = None
    method: str | None = None
    remember_password: bool = False
    sp_entity_id: str = DEFAULT_SP_ENTITY_ID
    acs_url: str | None = None
    """Where the IdP addresses the response; default `<endpoint>/saml`."""
    allow_insecure_http: bool = False
    """Accept plain http:// to hosts other than this machine (loopback http:// needs no opt-in)."""
    ca_bundle: str | None = None
    """A PEM file of the only CAs trusted for https:// (instead of the system's), for the IdP and samlfed alike."""
    timeout: int | None = None
    """Seconds each HTTP exchange (metadata, ECP, chooser, STS) may take in all; default 60 (transport.DEFAULT_DEADLINE)."""

    @property
    def acs(self) -> str:
        # Never the endpoint's user:password@ part: the ACS URL travels in the AuthnRequest to the IdP, which may
        # log it and quotes it back in its refusal (no IdP registers an ACS URL holding one).
        return self.acs_url or f"{redacted(self.endpoint).rstrip('/')}/saml"


_TYPES: dict[str, type] = {
    "endpoint": str, "idp_metadata_url": str, "ecp_url": str, "username": str, "role": str,
    "duration": int, "method": str, "remember_password": bool, "sp_entity_id": str, "acs_url": str,
    "allow_insecure_http": bool, "ca_bundle": str, "timeout": int,
}
_KINDS = {str: "a string", int: "an integer", bool: "true or false"}
assert set(_TYPES) == {f.name for f in fields(LoginProfile)} - {"name"}


def config_path() -> Path:
    if os.environ.get("SAMLFED_LOGIN_CONFIG"):
        return Path(os.environ["SAMLFED_LOGIN_CONFIG"])
    return _xdg_config_path()


def _xdg_config_path() -> Path:
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "samlfed" / "config.toml"


def _read_text(path: Path) -> str | None:
    """The file's text, or None when there is no file."""
    try:
        return read_at_most(path).decode("utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text (TOML files are UTF-8)") from None
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror or exc}") from None


def _parse(path: Path, text: str | None) -> dict[str, Any]:
    if text is None:
        return {}
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    if not isinstance(data.get("profiles", {}), dict):
        raise ConfigError(f"{path}: profiles must be a table of profiles ([profiles.NAME])")
    return data


def _read(path: Path) -> dict[str, Any]:
    return _parse(path, _read_text(path))


def profile_names(path: Path | None = None) -> list[str]:
    """The names of the profiles the file defines (none when there is no file)."""
    return sorted(_read(path or config_path()).get("profiles", {}))


def load_profile(name: str | None, path: Path | None = None) -> LoginProfile:
    """The named profile (or `default`); a missing file or profile gives the defaults, unknown keys are errors."""
    path = path or config_path()
    name = name or DEFAULT_PROFILE
    section = _read(path).get("profiles", {}).get(name)
    if section is None:
        return LoginProfile(name=name)
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: profiles.{name} is not a table")
    unknown = set(section) - set(_TYPES)
    if unknown:
        raise ConfigError(f"{path}: profile {name!r} has unknown keys: {', '.join(sorted(unknown))}")
    for key, value in section.items():
        if not isinstance(value, _TYPES[key]) or (_TYPES[key] is int and isinstance(value, bool)):
            raise ConfigError(f"{path}: profiles.{name}.{key} must be {_KINDS[_TYPES[key]]}")
    return LoginProfile(name=name, **section)


def save_profile(profile: LoginProfile, path: Path | None = None) -> Path:
    """Write one profile, keeping the others and every comment; atomic, owner-only.

    Only the text of `[profiles.NAME]` is replaced (toml_edit). When the profile is written some other way
    (an inline table, dotted keys) that cannot be done safely; the whole file is then written again with
    tomli_w, which drops comments, so that is done only for a file without any `#`; otherwise ConfigError.
    """
    path = path or config_path()
    text = _read_text(path)
    data = _parse(path, text)
    # An unsafe opt-in is written only when it is on: `configure` never adds it by itself.
    values = {k: v for k, v in asdict(profile).items() if k != "name" and v is not None and not (k == "allow_insecure_http" and v is False)}
    updated = replace_table(text or "", data, ("profiles", profile.name), values)
    if updated is None:
        if text is not None and "#" in text:
            raise ConfigError(
                f"{path}: profile {profile.name} is not a plain [profiles.{profile.name}] table, and rewriting the whole "
                "file would drop its comments; edit it by hand (it was left as it is)"
            )
        data.setdefault("profiles", {})[profile.name] = values
        updated = tomli_w.dumps(data)
    if path == _xdg_config_path():  # $XDG_CONFIG_HOME (~/.config) too, when missing, 0700 as the XDG spec asks
        make_private_directories(path.parent)
    write_private(path, updated.encode("utf-8"))
    return path
