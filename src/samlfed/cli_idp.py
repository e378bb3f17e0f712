"""`samlfed idp ...` (the built-in identity provider) and `samlfed demo`."""

from __future__ import annotations

import fcntl
import getpass
import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import pyotp
import typer

from .cli_common import (
    ForwardedAllowIps,
    LogFormat,
    check_port_free,
    context_or_exit,
    directory_path,
    idp_app_or_exit,
    option_settings_or_exit,
    password_from_stdin,
    print_secret_or_undo,
    require_output,
    settings_or_exit,
    usage_error,
    warn_of_loose_modes,
)
from .idp.config import IdpConfig
from .idp.directory import DirectoryError, User, hash_password, holds_comments, read_yaml, user_from_yaml, write_yaml
from .masterkey import ENV as MASTER_KEY_VARIABLE

idp_cli = typer.Typer(no_args_is_help=True, help="The built-in SAML identity provider (for development, demos and tests).")
users_cli = typer.Typer(
    no_args_is_help=True,
    help="Users of the built-in IdP (stored in IDP_DIR/idp.yaml). add, passwd and delete rewrite the file: its comments are not kept.",
)
idp_cli.add_typer(users_cli, name="users")

IdpDir = Annotated[Path | None, typer.Option("--idp-dir", help="the IdP's files (default: DATA_DIR/idp; SAMLFED_IDP_DIR)", parser=directory_path, metavar="<path>")]
DataDir = Annotated[Path | None, typer.Option("--data-dir", help="data directory (default: samlfed-data; SAMLFED_DATA_DIR)", parser=directory_path, metavar="<path>")]
PublicUrl = Annotated[str | None, typer.Option("--public-url", help="where browsers reach samlfed (default: http://HOST:PORT)")]
# These commands have no --host or --port: the default is the URL `samlfed serve` has from the same settings.
ServedPublicUrl = Annotated[str | None, typer.Option(
    "--public-url",
    help="where browsers reach samlfed (SAMLFED_PUBLIC_URL); default: the address samlfed serve listens on, from the "
         "settings (SAMLFED_HOST and SAMLFED_PORT, or the SAMLFED_CONFIG file), else http://127.0.0.1:8080",
)]


def _idp(idp_dir: Path | None, data_dir: Path | None, public_url: str | None = None):  # type: ignore[no-untyped-def]
    """The IdP of these options, made where there is none yet (with signing keys of its own), said on stderr: a
    mistyped --data-dir must not pass for the IdP it meant, whose metadata a user is about to register."""
    from .idp.keys import KeysUnavailable
    from .idp.mount import config_path, identity_provider

    settings = settings_or_exit(idp_dir=idp_dir, data_dir=data_dir, public_url=public_url)
    new = not config_path(settings.idp_directory()).exists()
    try:
        idp = identity_provider(settings)
    except KeysUnavailable as exc:
        raise usage_error(str(exc)) from None
    if new:
        typer.echo(f"note: there was no built-in IdP in {settings.idp_directory()}: made a new, empty one there", err=True)
    return idp


def _config(idp) -> IdpConfig:  # type: ignore[no-untyped-def]
    """The IdP's configuration, or a usage error saying what is wrong in its file (which anyone may edit)."""
    try:
        return idp.config
    except DirectoryError as exc:
        raise usage_error(str(exc)) from None


MAX_ROTATION_GRACE = timedelta(days=365)
"""The longest wait `rotate-key` takes before the next key signs: a published key's certificate lasts five years
from when it was made, and dates far beyond that overflowed the calendar (a traceback, not a message)."""


def _duration(text: str) -> timedelta:
    match = re.fullmatch(r"(\d{1,20})([smhd])", text.strip(), re.ASCII)  # int() refuses over 4,300 digits: a traceback
    if not match:
        raise usage_error(f"{text!r} is not a duration such as 90s, 30m, 24h or 7d")
    try:
        return timedelta(seconds=int(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)])
    except OverflowError:  # past timedelta's 999,999,999 days: longer than any bound a caller sets
        return timedelta.max


def _edit_users(idp, change: Callable[[dict[Any, Any]], None]) -> None:  # type: ignore[no-untyped-def]
    """Apply `change` to the users of `idp` (_idp) in its idp.yaml, unless the file changed meanwhile: its version
    (file_version) is compared right before the new text replaces it. Only the moment between that comparison and
    the rename is left to a concurrent writer."""
    from .idp.state import StateUnavailable, file_version

    before = file_version(idp.config_path)
    try:
        data = read_yaml(idp.config_path)
        users = data.get("users") or {}
        if not isinstance(users, dict):
            raise DirectoryError("`users` must be a mapping of user name to user")
        data["users"] = users
        change(users)
        for name, entry in users.items():
            user_from_yaml(str(name), entry)  # refuse to write a file the IdP could not load
    except DirectoryError as exc:
        raise usage_error(str(exc)) from None
    commented = holds_comments(idp.config_path)

    def still_as_read() -> None:  # else the last writer would win, and the other change be lost without a word
        if file_version(idp.config_path) != before:
            raise usage_error(
                f"{idp.config_path.name} changed while this command ran (an edit, or another `samlfed idp users` command); "
                "nothing was written: run it again"
            )

    write_yaml(idp.config_path, data, before_replace=still_as_read)
    try:  # a version samlfed wrote: the serving IdP need not end every session when it reads it (none yet: no record)
        if idp.state.path.exists():
            idp.state.advance_config(before, file_version(idp.config_path))
    except StateUnavailable as exc:  # the change is made; the IdP merely signs everyone out, failing closed
        typer.echo(f"note: {exc}; the IdP will end every session when it reads {idp.config_path.name}", err=True)
    if commented:  # PyYAML keeps no comments; a round-trip library would be a dependency for a development IdP
        typer.echo(f"note: {idp.config_path} was rewritten without the comments it held", err=True)


PasswordStdin = Annotated[bool, typer.Option("--password-stdin", help="read the password from the first line of stdin")]


def _password(given: str | None, from_stdin: bool) -> str:
    """The password of --password or --password-stdin, else one typed twice without echo; piped in (a script), its
    first two lines."""
    if given is not None:
        if from_stdin:
            raise usage_error("give the password with --password or --password-stdin, not both")
        typer.echo("samlfed: warning: --password shows the password to other local users (ps) and leaves it in the shell history; "
                   "use --password-stdin", err=True)
        return given
    if from_stdin:
        return password_from_stdin(usage_error)
    if sys.stdin.isatty():
        first, again = getpass.getpass("Password: "), getpass.getpass("Again: ")
    else:  # nothing to hide from a pipe, and getpass would warn that it cannot turn echo off
        first, again = sys.stdin.readline().rstrip("\r\n"), sys.stdin.readline().rstrip("\r\n")
    if again != first:
        raise usage_error("the passwords differ")
    return first


@users_cli.command("add")
def users_add(
    username: Annotated[str, typer.Argument()],
    password: Annotated[str | None, typer.Option(help="the password; other local users can see it (ps): prefer --password-stdin, or the prompt")] = None,
    password_stdin: PasswordStdin = False,
    email: Annotated[str, typer.Option()] = "",
    display_name: Annotated[str, typer.Option("--display-name")] = "",
    department: Annotated[str, typer.Option()] = "",
    group: Annotated[list[str] | None, typer.Option("--group", help="a group (repeatable)")] = None,
    attribute: Annotated[list[str] | None, typer.Option("--attribute", help="NAME=VALUE (repeatable)")] = None,
    totp: Annotated[bool, typer.Option("--totp", help="require a TOTP code; prints the secret")] = False,
    disabled: Annotated[bool, typer.Option("--disabled")] = False,
    idp_dir: IdpDir = None,
    data_dir: DataDir = None,
) -> None:
    """Add a user. Rewrites idp.yaml: its comments and formatting are not kept."""
    attributes: dict[str, list[str]] = {}
    for item in attribute or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise usage_error(f"--attribute {item!r} is not NAME=VALUE")
        attributes.setdefault(name, []).append(value)
    secret = pyotp.random_base32() if totp else None
    try:
        user = User(username, hash_password(_password(password, password_stdin)), display_name, email, department, list(group or []), attributes, secret, disabled)
    except DirectoryError as exc:
        raise usage_error(str(exc)) from None

    def add(users: dict[Any, Any]) -> None:
        if username in users:
            raise DirectoryError(f"user {username!r} already exists")
        users[username] = user.to_yaml()

    if secret:
        require_output()
    idp = _idp(idp_dir, data_dir)
    _edit_users(idp, add)
    if not secret:
        typer.echo(f"added {username}")
        return
    uri = pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name="samlfed")
    print_secret_or_undo(
        f"added {username}\nTOTP secret: {secret}\nTOTP URI:    {uri}", made=f"user {username}",
        undo=lambda: _edit_users(idp, lambda users: users.pop(username)),
        still_works=f"remove it with: samlfed idp users delete {username}",
    )


@users_cli.command("list")
def users_list(as_json: Annotated[bool, typer.Option("--json", help="print a JSON list")] = False, idp_dir: IdpDir = None, data_dir: DataDir = None) -> None:
    """List users (never their password hashes or TOTP secrets)."""
    users = _config(_idp(idp_dir, data_dir)).directory.users.values()
    if as_json:
        rows = [
            {"username": u.username, "display_name": u.display_name, "email": u.email, "department": u.department, "groups": u.groups, "totp": bool(u.totp_secret), "disabled": u.disabled}
            for u in users
        ]
        typer.echo(json.dumps(rows, indent=2))
        return
    for u in users:
        flags = " ".join(f for f, on in (("totp", bool(u.totp_secret)), ("disabled", u.disabled)) if on)
        typer.echo(f"{u.username:16} {u.email:28} {u.department:14} {','.join(u.groups)} {flags}".rstrip())


@users_cli.command("passwd")
def users_passwd(
    username: Annotated[str, typer.Argument()],
    password: Annotated[str | None, typer.Option(help="the new password; other local users can see it (ps): prefer --password-stdin, or the prompt")] = None,
    password_stdin: PasswordStdin = False,
    idp_dir: IdpDir = None,
    data_dir: DataDir = None,
) -> None:
    """Set a user's password. Rewrites idp.yaml: its comments and formatting are not kept."""
    idp = _idp(idp_dir, data_dir)
    if _config(idp).directory.get(username) is None:  # before a password is asked for
        raise usage_error(f"no user {username!r}")
    try:
        new_hash = hash_password(_password(password, password_stdin))
    except DirectoryError as exc:
        raise usage_error(str(exc)) from None

    def change(users: dict[Any, Any]) -> None:
        if username not in users:
            raise DirectoryError(f"no user {username!r}")
        users[username]["password_hash"] = new_hash

    _edit_users(idp, change)
    typer.echo(f"password of {username} changed")


@users_cli.command("disable")
def users_disable(username: Annotated[str, typer.Argument()], idp_dir: IdpDir = None, data_dir: DataDir = None) -> None:
    """Disable a user: no sign-in, and the IdP sessions they have end for good (enabling them again brings none
    back). Rewrites idp.yaml: its comments and formatting are not kept."""
    _set_disabled(username, True, idp_dir, data_dir)
    typer.echo(f"disabled {username}; their IdP sessions have ended")


@users_cli.command("enable")
def users_enable(username: Annotated[str, typer.Argument()], idp_dir: IdpDir = None, data_dir: DataDir = None) -> None:
    """Let a disabled user sign in again. Rewrites idp.yaml: its comments and formatting are not kept."""
    _set_disabled(username, False, idp_dir, data_dir)
    typer.echo(f"enabled {username}")


def _set_disabled(username: str, disabled: bool, idp_dir: Path | None, data_dir: Path | None) -> None:
    from .idp.state import StateUnavailable

    idp = _idp(idp_dir, data_dir)
    if _config(idp).directory.get(username) is None:
        raise usage_error(f"no user {username!r}")
    if disabled:
        # Before the file says so: a serving IdP that does not read the file before the user is enabled again (no
        # request in between) would otherwise never end the sessions; if the file is not written after all, the user
        # merely signs in again.
        try:
            idp.state.end_sessions(username)
        except StateUnavailable as exc:
            raise usage_error(f"{exc}; {username} is not disabled") from None

    def change(users: dict[Any, Any]) -> None:
        if username not in users:
            raise DirectoryError(f"no user {username!r}")
        if disabled:
            users[username]["disabled"] = True
        else:
            users[username].pop("disabled", None)

    _edit_users(idp, change)


@users_cli.command("delete")
def users_delete(username: Annotated[str, typer.Argument()], idp_dir: IdpDir = None, data_dir: DataDir = None) -> None:
    """Delete a user. Rewrites idp.yaml: its comments and formatting are not kept."""

    def delete(users: dict[Any, Any]) -> None:
        if users.pop(username, None) is None:
            raise DirectoryError(f"no user {username!r}")

    _edit_users(_idp(idp_dir, data_dir), delete)
    typer.echo(f"deleted {username}")


@idp_cli.command("rotate-key")
def rotate_key(
    grace: Annotated[str, typer.Option(help="how long the new key is published before it signs")] = "24h",
    idp_dir: IdpDir = None,
    data_dir: DataDir = None,
) -> None:
    """Schedule the published next key to start signing after GRACE, and publish a new next key now."""
    wait = _duration(grace)
    if wait > MAX_ROTATION_GRACE:
        raise usage_error(f"--grace {grace} is longer than {MAX_ROTATION_GRACE.days} days; service providers read metadata far more often than that")
    scheduled = _idp(idp_dir, data_dir).keys.rotate(datetime.now(UTC), wait)
    assert scheduled.signs_from is not None
    typer.echo(f"key {scheduled.kid} signs from {scheduled.signs_from:%Y-%m-%dT%H:%M:%SZ}; a new next key is published in the metadata")


@idp_cli.command("metadata")
def metadata(idp_dir: IdpDir = None, data_dir: DataDir = None, public_url: ServedPublicUrl = None) -> None:
    """Print the IdP metadata (register it with `aws iam create-saml-provider`)."""
    idp = _idp(idp_dir, data_dir, public_url)
    _config(idp)  # the entity ID comes from it
    typer.echo(idp.metadata().decode(), nl=False)


@idp_cli.command("assertion")
def assertion(
    user: Annotated[str, typer.Option("--user", help="the user to assert")],
    sp: Annotated[str, typer.Option("--sp", help="the service provider key in idp.yaml")] = "aws",
    acs: Annotated[str | None, typer.Option("--acs", help="one of the SP's ACS URLs (default: its first)")] = None,
    idp_dir: IdpDir = None,
    data_dir: DataDir = None,
    public_url: ServedPublicUrl = None,
) -> None:
    """Print a signed SAMLResponse (base64) for a user, without a login: a local tool for whoever holds the IdP's keys."""
    idp = _idp(idp_dir, data_dir, public_url)
    config = _config(idp)
    person, provider = config.directory.get(user), config.service_providers.get(sp)
    if person is None or provider is None:
        raise usage_error(f"no user {user!r}" if person is None else f"no service provider {sp!r} (have: {', '.join(config.service_providers)})")
    try:
        typer.echo(idp.issue(person, provider, acs or provider.acs_urls[0]))
    except ValueError as exc:
        raise usage_error(str(exc)) from None


ENCRYPTION_KEY_FILE = "encryption-key.pem"
ENCRYPTION_CERT_FILE = "encryption-cert.pem"


@idp_cli.command("encryption-keypair")
def encryption_keypair(
    out_dir: Annotated[Path, typer.Argument(help="where to write encryption-key.pem (0600) and encryption-cert.pem")],
    sp: Annotated[str, typer.Option("--sp", help="the service provider key in idp.yaml the next steps name")] = "aws",
    key_size: Annotated[int, typer.Option("--key-size", help="RSA key size in bits: 2048, 3072 or 4096")] = 2048,
    days: Annotated[int, typer.Option("--days", help="days the self-signed certificate is valid")] = 365,
    force: Annotated[bool, typer.Option("--force", help="replace key and certificate files that exist")] = False,
) -> None:
    """Make an RSA key pair for encrypted assertions: the certificate goes into the SP's entry in idp.yaml
    (encryption_certificate), the private key to the samlfed provider (providers private-keys add)."""
    from .files import write_private
    from .saml.signing import IdpSigner

    if key_size not in (2048, 3072, 4096):
        raise usage_error("--key-size must be 2048, 3072 or 4096")
    if not 1 <= days <= 3650:
        raise usage_error("--days must be 1-3650")
    key_path, cert_path = out_dir / ENCRYPTION_KEY_FILE, out_dir / ENCRYPTION_CERT_FILE
    existing = [str(path) for path in (key_path, cert_path) if path.exists() or path.is_symlink()]
    if existing and not force:
        raise usage_error(f"{' and '.join(existing)} exist; pass --force to replace them (providers holding the old key keep it)")
    now = datetime.now(UTC)
    pair = IdpSigner.generate(f"samlfed SP encryption ({sp})", key_size=key_size, not_after=now + timedelta(days=days))
    try:
        write_private(key_path, pair.key_pem())
        cert_path.unlink(missing_ok=True)
        cert_path.write_bytes(pair.cert_pem())  # public: it goes to the IdP's administrator
    except OSError as exc:
        raise usage_error(f"cannot write to {out_dir}: {exc.strerror or exc}") from None
    typer.echo(f"wrote {key_path} (private key, 0600) and {cert_path}\n")
    typer.echo(f"1. In idp.yaml, give service provider {sp!r} the certificate (the IdP encrypts to it):\n")
    typer.echo(f"     {sp}:\n       encryption_certificate: |")
    typer.echo("".join(f"         {line}\n" for line in pair.cert_pem().decode().splitlines()), nl=False)
    typer.echo("\n   and put {public_url}/saml/acs/{SAMLProviderUUID} first in its acs_urls (for console sign-in;")
    typer.echo("   `aws iam get-saml-provider` shows the SAMLProviderUUID).\n")
    typer.echo("2. Upload the private key to the samlfed provider, which decrypts with it (`samlfed doctor --private-key` reads the file):\n")
    typer.echo(f"     samlfed providers private-keys add arn:aws:iam::ACCOUNT:saml-provider/NAME {key_path}")
    typer.echo(f"     aws iam update-saml-provider --saml-provider-arn ARN --add-private-key file://{key_path}")


@idp_cli.command("serve")
def idp_serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8081,
    idp_dir: IdpDir = None,
    data_dir: DataDir = None,
    public_url: PublicUrl = None,
    forwarded_allow_ips: ForwardedAllowIps = None,
    log_format: LogFormat = None,
) -> None:
    """Run only the identity provider (at /idp)."""
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from . import supervisor
    from .server import TlsUnusable, configure_logging, http_options, proxy_options, tls_options, uvicorn_logging

    settings = settings_or_exit(  # the environment as `idp users` reads it: the same IdP, at the same URL
        idp_dir=idp_dir, data_dir=data_dir, public_url=public_url, host=host, port=port, forwarded_allow_ips=forwarded_allow_ips, log_format=log_format,
    )
    # A certificate and key from SAMLFED_TLS_* or the settings file: the IdP's URLs, Secure cookies and HSTS
    # already follow them, so the port must speak HTTPS too (it served plain HTTP under https:// metadata).
    try:
        tls = tls_options(settings)
    except TlsUnusable as exc:
        raise usage_error(str(exc)) from None
    configure_logging(settings.log_format)
    check_port_free(host, port)
    app = Starlette(routes=[Mount("/idp", app=idp_app_or_exit(settings))])
    warn_of_loose_modes(settings, idp=True)
    typer.echo(f"IdP metadata: {settings.base_url}/idp/metadata\nIdP sign-in page: {settings.base_url}/idp/login")
    supervisor.run(  # log_level info, as `serve`: uvicorn's start-up lines say where it listens
        app, host=host, port=port, log_level="info", access_log=False, **http_options(), **proxy_options(settings), **tls,
        **uvicorn_logging(settings.log_format),
    )


@contextmanager
def _demo_lock(data_dir: Path) -> Iterator[None]:
    """An exclusive lock on the demo's data directory: a second demo on the same directory (on another port too)
    would re-seed it under the first one's users."""
    with (data_dir / "demo.lock").open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise usage_error(f"another samlfed demo is running on {data_dir}; stop it first, or give this one another --data-dir") from None
        yield


def demo_command(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8080,
    data_dir: Annotated[Path, typer.Option("--data-dir", parser=directory_path, metavar="<path>")] = Path("samlfed-demo"),
    no_serve: Annotated[bool, typer.Option("--no-serve", help="seed and print the next steps, then exit")] = False,
    forwarded_allow_ips: ForwardedAllowIps = None,
    log_format: LogFormat = None,
) -> None:
    """Run the whole federation on this machine: built-in IdP + IAM/STS, seeded with accounts, roles and users."""
    from . import supervisor
    from .idp.demo import seed
    from .idp.demo_text import next_steps
    from .idp.mount import identity_provider
    from .server import build_server_app, configure_logging, http_options, proxy_options, uvicorn_logging

    # Its own data directory's master key, too: SAMLFED_MASTER_KEY meant for `serve` would seal the demo's secrets
    # with the production key, and a later demo without the variable could not open them.
    os.environ.pop(MASTER_KEY_VARIABLE, None)
    settings = option_settings_or_exit(
        data_dir=data_dir, host=host, port=port, with_idp=True, forwarded_allow_ips=forwarded_allow_ips,  # base_url: the bound address
        log_format=log_format,
    )
    configure_logging(settings.log_format)
    if not no_serve:  # before anything is seeded: not first reset the passwords of a demo serving on that port
        check_port_free(host, port)
    ctx = context_or_exit(settings)
    with _demo_lock(data_dir):
        idp_app_or_exit(settings)  # before seeding: its signing keys and session secret are usable
        result = seed(ctx, identity_provider(settings), settings.base_url, data_dir)
        typer.echo(next_steps(result, settings.base_url, data_dir))
        if no_serve:
            return
        supervisor.run(
            build_server_app(settings, ctx), host=host, port=port, log_level="warning", access_log=False, **http_options(),
            **proxy_options(settings), **uvicorn_logging(settings.log_format),
        )
