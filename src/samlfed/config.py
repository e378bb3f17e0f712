"""One typed settings object: command-line options over `SAMLFED_*` environment variables over a TOML file.

The file is named by `--config` or `SAMLFED_CONFIG`; its keys are the option names (`data_dir`, `port`, …).
Each value is checked where it comes from, so that an error names the file, the variable or the option.
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import urlsplit

from .files import read_at_most
from .unicode_text import has_surrogate

DEFAULT_DATA_DIR = Path("samlfed-data")


class SettingsError(ValueError):
    """A setting is missing, of the wrong type or out of range; the message names it and its source."""


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
    """With exactly one role, the chooser submits itself in browsers (scrapers still see the markup)."""
    sign_authn_requests: bool = True
    """Sign console AuthnRequests with the SP key published in /saml/metadata."""
    forwarded_allow_ips: tuple[str, ...] = ()
    """The reverse proxies (addresses, CIDR networks) whose X-Forwarded-For and X-Forwarded-Proto are believed; with
    none, the TCP peer is the client and the connection's scheme the scheme (aws:SourceIp, aws:SecureTransport)."""
    log_format: str = "text"
    """`text`: one line per record; `json`: one JSON object per line, with each decision's fields as keys (for a SIEM)."""
    metrics: bool = False
    """Serve Prometheus metrics at /metrics (decisions by kind, request durations)."""
    tls_certfile: Path | None = None
    """PEM certificate chain for serving HTTPS directly (with tls_keyfile); without, plain HTTP (behind a proxy)."""
    tls_keyfile: Path | None = None
    """The PEM private key of tls_certfile."""

    @classmethod
    def from_env(cls, *, config: Path | None = None, **overrides: object) -> Settings:
        env = os.environ
        if config is None and env.get("SAMLFED_CONFIG"):
            config = Path(env["SAMLFED_CONFIG"])
        values: dict[str, object] = _file_values(config)
        values.update(_environment_values(_KINDS))
        if overrides.get("data_dir") is not None and overrides.get("database_url") is None:
            # The command line named where the store is: a database URL from a variable or the file, which rank
            # below it, must not silently put the store elsewhere (--database-url too keeps both).
            values.pop("database_url", None)
        return cls._with_options(values, overrides)

    @classmethod
    def from_options(cls, *, environment: Iterable[str] = (), **overrides: object) -> Settings:
        """Settings of the command line alone, but for the `environment` settings named (their SAMLFED_* variables):
        no settings file, and no other variable. For commands that make their own store (`samlfed demo`): a
        SAMLFED_DATABASE_URL meant for `serve` must not have them write into that database."""
        return cls._with_options(_environment_values(environment), overrides)

    @classmethod
    def _with_options(cls, values: dict[str, object], overrides: dict[str, object]) -> Settings:
        for name, value in overrides.items():
            if value is not None:
                values[name] = _checked(name, value, f"--{name.replace('_', '-')}")
        settings = cls(**values)  # type: ignore[arg-type]
        if settings.data_dir is None and settings.database_url is None:
            settings = cls(**{**values, "data_dir": DEFAULT_DATA_DIR})  # type: ignore[arg-type]
        return settings

    def __post_init__(self) -> None:
        for name in _KINDS:
            value = getattr(self, name)
            if value is not None or name not in _OPTIONAL:
                object.__setattr__(self, name, _checked(name, value, "Settings"))
        if (self.tls_certfile is None) != (self.tls_keyfile is None):
            raise SettingsError("tls_certfile and tls_keyfile go together: give both to serve HTTPS, or neither")
        if self.tls_certfile is not None and self.public_url is not None and self.public_url.startswith("http://"):
            # Cookies would lose Secure, pages HSTS, and the IdP's metadata would name URLs this port does not serve.
            raise SettingsError(f"public_url {self.public_url} is http://, but with tls_certfile samlfed serves HTTPS: give its https:// URL")

    @property
    def base_url(self) -> str:
        """Where clients reach this service: the public URL, else the bound address."""
        host = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 address: the port follows the brackets
        scheme = "https" if self.tls_certfile is not None else "http"
        return (self.public_url or f"{scheme}://{host}:{self.port}").rstrip("/")

    def idp_directory(self) -> Path:
        if self.idp_dir is not None:
            return self.idp_dir
        return (self.data_dir or DEFAULT_DATA_DIR) / "idp"

    def store_url(self) -> str:
        if self.database_url:
            return self.database_url
        assert self.data_dir is not None
        from sqlalchemy.engine import URL, make_url

        # Built, not pasted: a '?' or '#' in the directory must stay part of the path, not start a query.
        path = str(self.data_dir / "samlfed.db")
        url = URL.create("sqlite", database=path).render_as_string(hide_password=False)
        if make_url(url).database != path:  # a SQLAlchemy that does not escape the database part
            raise SettingsError(f"data_dir {str(self.data_dir)!r} cannot be written into a SQLite URL; choose another directory")
        return url

    def unset_env(self) -> list[str]:
        """The variables of the optional settings these settings leave unset, which the workers must not read from
        the environment either (a database URL a --data-dir set aside, say)."""
        return [f"SAMLFED_{name.upper()}" for name in sorted(_OPTIONAL) if getattr(self, name) is None]

    def to_env(self) -> dict[str, str]:
        """The same settings as environment variables (for worker processes). Every one of them: the workers read
        no settings file, since one named by SAMLFED_CONFIG may be what --config overrode."""
        env = {"SAMLFED_CONFIG": "", "SAMLFED_HOST": self.host, "SAMLFED_PORT": str(self.port), "SAMLFED_WORKERS": str(self.workers)}
        if self.data_dir is not None:
            env["SAMLFED_DATA_DIR"] = str(self.data_dir)
        if self.database_url:
            env["SAMLFED_DATABASE_URL"] = self.database_url
        if self.public_url:
            env["SAMLFED_PUBLIC_URL"] = self.public_url
        env["SAMLFED_STRICT_REPLAY"] = "1" if self.strict_replay else "0"
        env["SAMLFED_IDENTITY_CACHE_SECONDS"] = str(self.identity_cache_seconds)
        env["SAMLFED_WITH_IDP"] = "1" if self.with_idp else "0"
        if self.idp_dir is not None:
            env["SAMLFED_IDP_DIR"] = str(self.idp_dir)
        env["SAMLFED_SP_ENTITY_ID"] = self.sp_entity_id
        if self.console_provider:
            env["SAMLFED_CONSOLE_PROVIDER"] = self.console_provider
        env["SAMLFED_REQUIRE_SP_INITIATED"] = "1" if self.require_sp_initiated else "0"
        env["SAMLFED_CONSOLE_AUTO_SIGN_IN"] = "1" if self.console_auto_sign_in else "0"
        env["SAMLFED_SIGN_AUTHN_REQUESTS"] = "1" if self.sign_authn_requests else "0"
        env["SAMLFED_FORWARDED_ALLOW_IPS"] = ",".join(self.forwarded_allow_ips)
        env["SAMLFED_LOG_FORMAT"] = self.log_format
        env["SAMLFED_METRICS"] = "1" if self.metrics else "0"
        if self.tls_certfile is not None and self.tls_keyfile is not None:
            env["SAMLFED_TLS_CERTFILE"], env["SAMLFED_TLS_KEYFILE"] = str(self.tls_certfile), str(self.tls_keyfile)
        return env


_KINDS: dict[str, str] = {
    "data_dir": "path", "database_url": "database_url", "host": "host", "port": "port", "workers": "count", "public_url": "url",
    "strict_replay": "flag", "identity_cache_seconds": "seconds", "with_idp": "flag", "idp_dir": "path",
    "sp_entity_id": "entity_id", "console_provider": "text", "require_sp_initiated": "flag", "console_auto_sign_in": "flag",
    "sign_authn_requests": "flag", "forwarded_allow_ips": "proxies", "log_format": "log_format",
    "metrics": "flag", "tls_certfile": "path", "tls_keyfile": "path",
}
_OPTIONAL = {"data_dir", "database_url", "public_url", "idp_dir", "console_provider", "tls_certfile", "tls_keyfile"}
_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")
MAX_WORKERS = 512
"""One worker a core is the most that helps (each serves one request at a time, CPU-bound), and each holds about
100 MB: a mistyped count (10000) would fork until the machine runs out of memory."""
_EXPECTED = {
    "path": "a non-empty path (a string)", "text": "a string", "entity_id": "a non-empty SAML entity ID (UTF-8 text)", "flag": "true or false", "port": "a port number from 1 to 65535",
    "count": f"a whole number from 1 to {MAX_WORKERS}", "seconds": "a number of seconds from 0 to 60",
    "host": "a host name or address (an empty one would listen on every interface)",
    "url": "an http:// or https:// URL, in lower case, with a host and no path, query or fragment",
    "proxies": "IP addresses or CIDR networks separated by commas, such as 10.0.0.5,192.168.10.0/24 (empty: none)",
    "log_format": "text or json",
    "database_url": "a PostgreSQL or SQLite database URL, such as postgresql+psycopg://user@host/db or sqlite:////var/lib/samlfed/samlfed.db",
}
LOG_FORMATS = ("text", "json")
_DATABASE_SCHEME = re.compile(r"(?:postgresql|sqlite)(?:\+\w+)?://", re.ASCII)
"""The two databases samlfed runs on (a driver may be named after the +)."""
assert set(_KINDS) == {f.name for f in fields(Settings)}


def _checked(name: str, value: object, source: str) -> object:
    """`value` for setting `name` in its Python type, or SettingsError naming the setting and `source`."""
    kind = _KINDS.get(name)
    if kind is None:
        raise SettingsError(f"{source}: unknown setting {name}")
    if kind == "path" and isinstance(value, (str, os.PathLike)) and str(value):
        return Path(value)
    if kind == "text" and isinstance(value, str):
        return value
    # Environment bytes that are not UTF-8 arrive as surrogates, which no XML (SP metadata, an Issuer) can hold.
    if kind == "entity_id" and isinstance(value, str) and value.strip() and not has_surrogate(value):
        return value
    if kind == "database_url" and isinstance(value, str) and _DATABASE_SCHEME.match(value):
        if _sqlite_in_memory(value):
            shown = _shown(kind, value) if "@" in value else value  # as written (rendering encodes ':memory:'), unless it holds a password
            raise SettingsError(
                f"{source}: {name} names an SQLite database held in memory ({shown!r}), which every samlfed process gets "
                "empty and loses when it ends: name its file, such as sqlite:////var/lib/samlfed/samlfed.db"
            )
        return value
    if kind == "host" and isinstance(value, str) and value:
        return value
    if kind == "url" and isinstance(value, str) and _is_root_url(value):
        return value
    if kind == "flag" and isinstance(value, bool):
        return value
    if kind == "proxies" and (proxies := _proxies(value)) is not None:
        return proxies
    if kind == "log_format" and value in LOG_FORMATS:
        return value
    if isinstance(value, bool):
        pass  # a bool is an int to Python, never a number here
    elif kind == "port" and isinstance(value, int) and 1 <= value <= 65535:
        return value
    elif kind == "count" and isinstance(value, int) and 1 <= value <= MAX_WORKERS:
        return value
    # A node may sign users in with its cached copy of a provider or role for this long: at most a minute, so that
    # a deleted role or a rotated IdP certificate stops working everywhere soon.
    elif kind == "seconds" and isinstance(value, (int, float)) and math.isfinite(value) and 0 <= value <= 60:
        return float(value)
    raise SettingsError(f"{source}: {name} must be {_EXPECTED[kind]}, not {_shown(kind, value)!r}")


def _sqlite_in_memory(url: str) -> bool:
    """Whether `url` names an SQLite database without a file (none named, `:memory:`, or a `mode=memory` URI): an
    account created there by the command line was gone when it printed its key, and each worker of `serve` wrote
    to a database of its own that no restart kept."""
    if not url.startswith("sqlite"):
        return False
    from sqlalchemy.engine import make_url  # SQLAlchemy, on this path only
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # opening it says why it does not parse
        return False
    database = parsed.database or ""
    return database in ("", ":memory:") or database.startswith("file::memory:") or parsed.query.get("mode") == "memory"


def _shown(kind: str, value: object) -> object:
    """A refused value as a message may quote it: a database URL without its passwords."""
    if kind != "database_url" or not isinstance(value, str):
        return value
    from .store.sql import shown_url  # SQLAlchemy, on this path only

    return shown_url(value)


def _is_root_url(text: str) -> bool:
    """Whether `text` is a service root such as https://samlfed.example.com[:8443][/]. The console and the IdP
    mark their cookies Secure and send HSTS when it starts with "https://" (so HTTPS:// would turn both off), and
    they link from "/", so a path, query or fragment would make URLs that lead nowhere."""
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - ValueError when out of range
    except ValueError:
        return False
    plain = text.isascii() and text.isprintable() and not any(mark in text for mark in " ?#")
    return plain and text.startswith(("http://", "https://")) and bool(parts.hostname) and parts.username is None and parts.path in ("", "/")


def _proxies(value: object) -> tuple[str, ...] | None:
    """Trusted proxy addresses and networks, normalized, from "a, b/24" (or a TOML list); None unless every entry is
    one. uvicorn would take a mistyped entry for a literal host name that never matches, and "*" for every peer."""
    if isinstance(value, str):
        value = value.split(",") if value.strip() else []
    if not isinstance(value, (list, tuple)) or not all(isinstance(entry, str) for entry in value):
        return None
    try:
        return tuple(_proxy(entry.strip()) for entry in value)
    except ValueError:
        return None


def _proxy(entry: str) -> str:
    """One address or network in its canonical spelling; ValueError if it is neither (or a network has host bits)."""
    return str(ipaddress.ip_network(entry) if "/" in entry else ipaddress.ip_address(entry))


def _from_text(name: str, text: str, source: str) -> object:
    """An environment variable's text as setting `name`."""
    kind = _KINDS[name]
    value: object = text
    try:
        if kind in ("port", "count"):
            value = int(text)
        elif kind == "seconds":
            value = float(text)
    except ValueError:
        pass  # _checked names the setting and the variable
    if kind == "flag":
        value = True if text.lower() in _TRUE else False if text.lower() in _FALSE else text
    if kind == "database_url":  # its text is its value, and _checked's reason may be more than the expected form
        return _checked(name, value, source)
    try:
        return _checked(name, value, source)
    except SettingsError:
        spelled = f"{_EXPECTED[kind]} ({'/'.join(_TRUE)} or {'/'.join(_FALSE)})" if kind == "flag" else _EXPECTED[kind]
        raise SettingsError(f"{source}: {name} must be {spelled}, not {_shown(kind, text)!r}") from None


def _environment_values(names: Iterable[str]) -> dict[str, object]:
    env = os.environ
    values: dict[str, object] = {}
    for name in names:
        variable = f"SAMLFED_{name.upper()}"
        # An empty variable is unset, except the database URL: `SAMLFED_DATABASE_URL=$UNSET` must not quietly
        # fall back to a local SQLite store while the operator meant the shared database.
        if env.get(variable) or (name == "database_url" and variable in env):
            values[name] = _from_text(name, env[variable], variable)
    return values


def _file_values(path: Path | None) -> dict[str, object]:
    if path is None:
        return {}
    try:
        values = tomllib.loads(read_at_most(path).decode("utf-8"))
    except OSError as exc:
        raise SettingsError(f"cannot read the settings file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise SettingsError(f"the settings file {path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"the settings file {path} is not TOML: {exc}") from None
    unknown = set(values) - set(_KINDS)
    if unknown:
        raise SettingsError(f"unknown settings in {path}: {', '.join(sorted(unknown))}")
    return {name: _checked(name, value, str(path)) for name, value in values.items()}
