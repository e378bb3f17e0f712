"""The built-in IdP as configured by the service settings: files under the IdP directory, URLs under /idp."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette

from ..config import Settings
from ..files import prepare_data_dir
from ..forwarding import ForwardingWatch
from .directory import write_yaml
from .service import IdentityProvider
from .state import STATE_FILE
from .web import SESSION_SECRET_FILE, IdpApp

CONFIG_FILE = "idp.yaml"


def config_path(idp_dir: Path) -> Path:
    return idp_dir / CONFIG_FILE


def secret_files(idp_dir: Path) -> list[Path]:
    """The IdP's files that must stay owner-only: its signing keys, the key of its session cookies, and the
    directory (password hashes, TOTP secrets) and state (sign-in attempts) files."""
    keys = idp_dir / "keys"
    return [config_path(idp_dir), idp_dir / STATE_FILE, *sorted(keys.glob("*.key.pem")), keys / SESSION_SECRET_FILE]


def identity_provider(settings: Settings) -> IdentityProvider:
    """The IdP of these settings; a missing configuration file is created empty (no users, no applications)."""
    directory = settings.idp_directory()
    if settings.idp_dir is None:  # DATA_DIR/idp: a data directory made here is as owner-only as `serve` makes it
        directory.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    prepare_data_dir(directory)  # a file there is "not a directory", not mkdir's "File exists", which reads as no refusal
    path = config_path(directory)
    if not path.exists():
        write_yaml(path, {"idp": {}, "service_providers": {}, "users": {}})
    return IdentityProvider(path, directory / "keys", f"{settings.base_url}/idp")


def idp_app(settings: Settings, forwarding: ForwardingWatch | None = None) -> Starlette:
    """The IdP's app; `forwarding` is the server's own watch when the IdP shares its workers (one warning per peer)."""
    return IdpApp(identity_provider(settings), forwarding or ForwardingWatch(settings.forwarded_allow_ips)).app()
