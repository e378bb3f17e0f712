"""The `samlfed` command line: a thin shell over the library and service functions."""

from __future__ import annotations

import atexit
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from . import __version__
from .cli_aws_policies import aws_policies_app
from .cli_backup import backup
from .cli_common import (
    DatabaseUrl,
    DataDir,
    ForwardedAllowIps,
    JsonOutput,
    LogFormat,
    ReaderMayLeave,
    check_port_free,
    context_or_exit,
    directory_path,
    idp_app_or_exit,
    instant_or_exit,
    print_secret_or_undo,
    require_output,
    settings_or_exit,
    sound_ring_or_exit,
    store_context,
    usage_error,
    warn_of_loose_modes,
)
from .cli_console import console_url
from .cli_doctor import JsonUsageErrors, doctor
from .cli_idp import demo_command, idp_cli
from .cli_login import configure, console, credential_process, login
from .errors import ServiceError
from .files import read_at_most
from .iam import ids
from .iam.accounts import NewAccessKey, check_new_account, create_access_key, create_account
from .iam.arns import parse_provider_arn
from .iam.provider_keys import MAX_PRIVATE_KEY_BITS, MIN_PRIVATE_KEY_BITS, EncryptionChange, private_key_id_of
from .iam.provider_options import (
    VALIDATION_OPTIONS,
    parse_attribute_mapping,
    provider_policy,
    set_attribute_mapping,
    set_validation_options,
)
from .iam.providers import get_saml_provider, update_saml_provider
from .masterkey import MasterKeyError
from .store import DatabaseUnavailable, NotFound
from .store.generation import SHARED_FILE_VARIABLE, create_shared_file
from .sts.ring_keys import RetireRefused, active_key_id, list_ring_keys, retire_ring_key
from .timestamps import aws_timestamp

if TYPE_CHECKING:
    from .context import ServiceContext

# A traceback's local variables may hold secrets (new admin keys, passwords read at a prompt): never print them,
# whatever the installed typer's default.
app = typer.Typer(
    no_args_is_help=True, add_completion=False, pretty_exceptions_show_locals=False,
    help="samlfed: AWS-compatible SAML 2.0 federation.",
)


def _print_version(wanted: bool) -> None:
    if wanted:
        typer.echo(f"samlfed {__version__}")
        raise typer.Exit()


@app.callback()
def _global_options(
    version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True, help="print samlfed's version and exit")] = False,
) -> None:
    pass


app.command("doctor", cls=JsonUsageErrors)(doctor)
app.command("backup")(backup)

SAMPLE_EARLIEST = datetime(1950, 1, 2, tzinfo=UTC)
"""The sample's certificate is valid from a day before --now, and X.509 validity starts in 1950 at the earliest."""
SAMPLE_LATEST = datetime.max.replace(year=9998, tzinfo=UTC)
"""... and for a year after it, within Python's calendar (which ends with 9999)."""


@app.command()
def sample(
    out: Annotated[Path, typer.Option(help="directory to write the sample into")],
    now: Annotated[str | None, typer.Option(help="issue instant (ISO 8601 with zone); default now")] = None,
) -> None:
    """Write a throw-away IdP's metadata, a signed AWS-shaped response and a tampered copy."""
    from .sample import write_sample

    moment = instant_or_exit(now, earliest=SAMPLE_EARLIEST, latest=SAMPLE_LATEST)
    try:
        files = write_sample(out, now=moment)
    except OSError as exc:
        raise usage_error(f"cannot write the sample into {out}: {exc.strerror or exc}") from None
    typer.echo(f"IdP metadata:       {files.metadata}")
    typer.echo(f"signed response:    {files.response}")
    typer.echo(f"tampered response:  {files.tampered}  (a Role value changed after signing)")
    typer.echo(f"check them with:    samlfed doctor {files.response} --metadata {files.metadata}")


accounts_app = typer.Typer(cls=ReaderMayLeave, no_args_is_help=True, help="Accounts and their administrator access keys.")
keys_app = typer.Typer(no_args_is_help=True, help="Administrator access keys of an account.")
accounts_app.add_typer(keys_app, name="keys")
app.add_typer(accounts_app, name="accounts")
authz_app = typer.Typer(cls=ReaderMayLeave, no_args_is_help=True, help="Keys of the services that call the authorization API (/authz/v1/authorize).")
app.add_typer(authz_app, name="authz-keys")
app.add_typer(aws_policies_app, name="aws-policies")


def _key_text(key: NewAccessKey, as_json: bool) -> str:
    if as_json:
        return json.dumps({"AccountId": key.account_id, "AccessKeyId": key.access_key_id, "SecretAccessKey": key.secret_access_key})
    return f"account:            {key.account_id}\naccess key id:      {key.access_key_id}\nsecret access key:  {key.secret_access_key}"


def _print_key_or_undo(ctx: ServiceContext, key: NewAccessKey, as_json: bool, *, new_account: bool) -> None:
    def undo() -> None:
        ctx.store.delete_access_key(key.access_key_id)
        if new_account:
            ctx.store.delete_empty_account(key.account_id)

    made = f"account {key.account_id} with access key {key.access_key_id}" if new_account else f"access key {key.access_key_id}"
    print_secret_or_undo(_key_text(key, as_json), made=made, undo=undo,
                         still_works=f"delete the key with: samlfed accounts keys delete {key.access_key_id}")


def _switch(on: bool, off: bool, on_name: str, off_name: str) -> bool | None:
    """A setting's value from its flag pair: None when neither is given (the environment or the file decides). The
    negatives are hidden options, named in their flag's help: typer's --x/--no-x form gives them a column of their
    own, which squeezed `serve --help` at 80 columns."""
    if on and off:
        raise usage_error(f"{on_name} and {off_name} contradict each other: give one")
    return True if on else False if off else None


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="address to bind (SAMLFED_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="port (SAMLFED_PORT)")] = None,
    # Named in the help as the other options name theirs: typer's envvar= would hand the variable over as if it were
    # the flag, and a bad value would be reported as --data-dir's rather than the variable's.
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="data directory (SQLite database and master key) (SAMLFED_DATA_DIR)", parser=directory_path, metavar="<path>")] = None,
    database_url: Annotated[str | None, typer.Option("--database-url", help="e.g. postgresql+psycopg://user@host/db (SAMLFED_DATABASE_URL)")] = None,
    workers: Annotated[int | None, typer.Option(help="worker processes (SAMLFED_WORKERS)")] = None,
    public_url: Annotated[str | None, typer.Option(help="the URL clients use (SAMLFED_PUBLIC_URL)")] = None,
    strict_replay: Annotated[bool, typer.Option("--strict-replay", help="each assertion usable once per role (SAMLFED_STRICT_REPLAY; off: --no-strict-replay)")] = False,
    no_strict_replay: Annotated[bool, typer.Option("--no-strict-replay", hidden=True)] = False,
    config: Annotated[Path | None, typer.Option(help="TOML settings file (SAMLFED_CONFIG)")] = None,
    with_idp: Annotated[bool, typer.Option("--with-idp", help="also serve the built-in IdP at /idp (SAMLFED_WITH_IDP; off: --without-idp)")] = False,
    without_idp: Annotated[bool, typer.Option("--without-idp", hidden=True)] = False,
    idp_dir: Annotated[Path | None, typer.Option("--idp-dir", help="the built-in IdP's files (default: DATA_DIR/idp; SAMLFED_IDP_DIR)", parser=directory_path, metavar="<path>")] = None,
    forwarded_allow_ips: ForwardedAllowIps = None,
    log_format: LogFormat = None,
    metrics: Annotated[bool, typer.Option("--metrics", help="serve Prometheus metrics at /metrics (SAMLFED_METRICS; off: --no-metrics)")] = False,
    no_metrics: Annotated[bool, typer.Option("--no-metrics", hidden=True)] = False,
    tls_certfile: Annotated[Path | None, typer.Option("--tls-certfile", help="PEM certificate (chain) to serve HTTPS, with --tls-keyfile (SAMLFED_TLS_CERTFILE)")] = None,
    tls_keyfile: Annotated[Path | None, typer.Option("--tls-keyfile", help="PEM private key of --tls-certfile (SAMLFED_TLS_KEYFILE)")] = None,
) -> None:
    """Run the IAM and STS query APIs (and, with --with-idp, the built-in identity provider)."""

    from . import supervisor
    from .server import TlsUnusable, configure_logging, http_options, proxy_options, tls_options, uvicorn_logging

    settings = settings_or_exit(
        config=config, host=host, port=port, data_dir=data_dir, database_url=database_url, workers=workers, public_url=public_url,
        strict_replay=_switch(strict_replay, no_strict_replay, "--strict-replay", "--no-strict-replay"),
        with_idp=_switch(with_idp, without_idp, "--with-idp", "--without-idp"), idp_dir=idp_dir, forwarded_allow_ips=forwarded_allow_ips,
        log_format=log_format, metrics=_switch(metrics, no_metrics, "--metrics", "--no-metrics"), tls_certfile=tls_certfile, tls_keyfile=tls_keyfile,
    )
    try:
        tls = tls_options(settings)
    except TlsUnusable as exc:
        raise usage_error(str(exc)) from None
    configure_logging(settings.log_format)
    check_port_free(settings.host, settings.port)
    sound_ring_or_exit(context_or_exit(settings))  # create the data directory, migrate the schema and the key ring once, before workers start
    if settings.with_idp:
        idp_app_or_exit(settings)  # the IdP's files too: unusable, one line here rather than a traceback in each worker
    warn_of_loose_modes(settings, idp=settings.with_idp)
    for unset in settings.unset_env():
        os.environ.pop(unset, None)
    os.environ.update(settings.to_env())
    if settings.workers > 1:  # the workers share the count of identity changes, so that each sees any one's at once

        shared = create_shared_file()
        atexit.register(shared.unlink, missing_ok=True)
        os.environ[SHARED_FILE_VARIABLE] = str(shared)
    if settings.metrics:
        from .metrics import prepare_directory

        prepare_directory(settings.data_dir)  # before any worker imports prometheus_client
    # No access log: a GET query string can carry a SAMLAssertion or a presigned session token.
    supervisor.run(
        "samlfed.server:create_app", factory=True, host=settings.host, port=settings.port, workers=settings.workers,
        log_level="info", access_log=False, **http_options(), **proxy_options(settings), **tls, **uvicorn_logging(settings.log_format),
    )


@accounts_app.command("create")
def accounts_create(
    account_id: Annotated[str | None, typer.Option("--id", help="12-digit account ID (default: random)")] = None,
    alias: Annotated[str | None, typer.Option(help="account alias")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object: AccountId, AccessKeyId, SecretAccessKey")] = False,
) -> None:
    """Create an account and print an administrator access key for it."""

    require_output()
    try:
        check_new_account(account_id, alias)  # before a data directory is made for an account that cannot be
        ctx = store_context(data_dir, database_url, create=True)
        key = create_account(ctx, account_id, alias)
    except ServiceError as exc:
        raise usage_error(exc.message) from None
    _print_key_or_undo(ctx, key, as_json, new_account=True)


@accounts_app.command("list")
def accounts_list(data_dir: DataDir = None, database_url: DatabaseUrl = None, as_json: JsonOutput = False) -> None:
    """List accounts."""
    accounts = store_context(data_dir, database_url).store.list_accounts()
    if as_json:
        typer.echo(json.dumps({"Accounts": [{"AccountId": a.account_id, "Alias": a.alias, "CreatedAt": _when(a.created_at)} for a in accounts]}))
        return
    for account in accounts:
        typer.echo(f"{account.account_id}  {account.alias or ''}".rstrip())


@authz_app.command("create")
def authz_keys_create(
    name: Annotated[str, typer.Option(help="the service's name (for logs), e.g. s3-gateway")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create an authorization key; it is printed once."""
    from .authz.keys import create_authz_key

    if not 1 <= len(name) <= 128 or not name.isprintable():  # printed one per line by `list`, and logged
        raise usage_error("--name must be 1 to 128 printable characters")
    require_output()
    ctx = store_context(data_dir, database_url, create=True)
    created = create_authz_key(ctx, name)
    print_secret_or_undo(created.key, made=f"authorization key {created.key_id}", undo=lambda: ctx.store.delete_authz_key(created.key_id),
                         still_works=f"delete it with: samlfed authz-keys delete {created.key_id}")


@authz_app.command("list")
def authz_keys_list(data_dir: DataDir = None, database_url: DatabaseUrl = None, as_json: JsonOutput = False) -> None:
    """List authorization keys (ids and names; secrets are never stored)."""
    keys = store_context(data_dir, database_url).store.list_authz_keys()
    if as_json:
        typer.echo(json.dumps({"Keys": [{"KeyId": key_id, "Name": name, "CreatedAt": _when(created)} for key_id, name, created in keys]}))
        return
    for key_id, name, created in keys:
        typer.echo(f"{key_id}  {name}  {_when(created)}")


# The secret of an authorization key is URL-safe base64, so one in 64 starts with '-': pasted alone, click would take
# it for an option and print it back ("No such option: --…"). Unknown options are handed to the id check instead.
@authz_app.command("delete", context_settings={"ignore_unknown_options": True})
def authz_keys_delete(key_id: Annotated[str, typer.Argument()], data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Delete an authorization key (its id, as `list` shows it): the service can no longer ask."""
    from .authz.keys import key_id_in

    # A whole key pasted by mistake names its key clearly, and deleting it is the answer to its secret having been
    # typed: its id part is taken. Anything else not shaped as an id may be a secret (the part after the id): it is
    # not repeated, since the message stays in scrollback and CI logs.
    named = key_id_in(key_id)
    if named is None:
        raise usage_error("that is not an authorization key id (16 hexadecimal digits, as `samlfed authz-keys list` shows them); "
                          "it is not repeated here, in case it holds a secret")
    try:
        store_context(data_dir, database_url).store.delete_authz_key(named)
    except NotFound:
        raise usage_error(f"no authorization key {named}") from None
    typer.echo(f"deleted {named}")


@keys_app.command("create")
def keys_create(
    account_id: Annotated[str, typer.Argument(help="12-digit account ID")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object: AccountId, AccessKeyId, SecretAccessKey")] = False,
) -> None:
    """Create another administrator access key for an account."""

    require_output()
    ctx = store_context(data_dir, database_url)
    try:
        key = create_access_key(ctx, account_id)
    except ServiceError as exc:
        raise usage_error(exc.message) from None
    _print_key_or_undo(ctx, key, as_json, new_account=False)


@keys_app.command("delete")
def keys_delete(
    access_key_id: Annotated[str, typer.Argument()],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Delete an administrator access key."""

    if not ids.ACCESS_KEY_ID.fullmatch(access_key_id):  # a secret access key pasted instead: the message must not repeat it
        raise usage_error("that is not an access key ID (AKIA and capital letters and digits, as `samlfed accounts keys list` shows them); "
                          "it is not repeated here, in case it is a secret access key")
    store = store_context(data_dir, database_url).store
    try:
        account_id = store.get_access_key(access_key_id).account_id
        store.delete_access_key(access_key_id)
    except NotFound:
        raise usage_error(f"no access key {access_key_id}") from None
    typer.echo(f"deleted {access_key_id}")
    if not store.list_access_keys(account_id):
        typer.echo(f"note: account {account_id} has no administrator key left; make one with: samlfed accounts keys create {account_id}", err=True)


@keys_app.command("list")
def keys_list_of_account(
    account_id: Annotated[str, typer.Argument(help="12-digit account ID")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object, as ListAccessKeys's AccessKeyMetadata")] = False,
) -> None:
    """List an account's administrator access keys: key ID, status and creation time (never the secret)."""

    store = store_context(data_dir, database_url).store
    try:
        store.get_account(account_id)
    except NotFound:
        raise usage_error(f"no account {account_id}") from None
    keys = store.list_access_keys(account_id)
    if as_json:
        metadata = [{"AccessKeyId": k.access_key_id, "Status": "Active" if k.active else "Inactive", "CreateDate": _when(k.created_at)} for k in keys]
        typer.echo(json.dumps({"AccessKeyMetadata": metadata}))
        return
    for key in keys:
        typer.echo(f"{key.access_key_id}  {'Active' if key.active else 'Inactive'}  {_when(key.created_at)}")


providers_app = typer.Typer(cls=ReaderMayLeave, no_args_is_help=True, help="SAML providers.")
mapping_app = typer.Typer(no_args_is_help=True, help="Assertion attributes that become session tags (samlfed extension).")
providers_app.add_typer(mapping_app, name="attribute-mapping")
app.add_typer(providers_app, name="providers")


def _provider_call(arn: str, data_dir: Path | None, database_url: str | None, call):  # type: ignore[no-untyped-def]

    parsed = parse_provider_arn(arn)
    if parsed is None:
        raise usage_error(f"{arn} is not a SAML provider ARN")
    try:
        return call(store_context(data_dir, database_url), parsed.account_id)
    except ServiceError as exc:
        if exc.code == "NoSuchEntity":  # the API's answer is AWS's "Manifest not found for arn …"
            raise usage_error(f"no SAML provider {arn} in this samlfed") from None
        raise usage_error(exc.message) from None


@mapping_app.command("set")
def mapping_set(
    arn: Annotated[str, typer.Argument(help="SAML provider ARN")],
    mapping: Annotated[str, typer.Argument(help='JSON, e.g. {"email": ["mail"], "department": ["dept"]}')],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Map assertion attributes to session tags for this provider; prints the mapping."""

    def apply(ctx, account: str) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
        parsed = parse_attribute_mapping(mapping)
        set_attribute_mapping(ctx, account, arn, parsed)
        return parsed

    typer.echo(json.dumps(_provider_call(arn, data_dir, database_url, apply), sort_keys=True))


@mapping_app.command("get")
def mapping_get(arn: Annotated[str, typer.Argument()], data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Print the provider's attribute mapping as JSON."""

    provider = _provider_call(arn, data_dir, database_url, lambda ctx, account: get_saml_provider(ctx, account, arn))
    typer.echo(json.dumps(provider.attribute_mapping or {}, sort_keys=True))


@mapping_app.command("clear")
def mapping_clear(arn: Annotated[str, typer.Argument()], data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Remove the provider's attribute mapping; prints the mapping left ({})."""

    _provider_call(arn, data_dir, database_url, lambda ctx, account: set_attribute_mapping(ctx, account, arn, None))
    typer.echo("{}")


options_app = typer.Typer(no_args_is_help=True, help="A provider's validation opt-ins (samlfed extension); every default is strict.")
providers_app.add_typer(options_app, name="validation-options")


def _options_json(policy) -> str:  # type: ignore[no-untyped-def]

    return json.dumps({name: getattr(policy, name) for name in VALIDATION_OPTIONS}, sort_keys=True)


@options_app.command("get")
def options_get(arn: Annotated[str, typer.Argument(help="SAML provider ARN")], data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Print the provider's validation options as JSON."""

    provider = _provider_call(arn, data_dir, database_url, lambda ctx, account: get_saml_provider(ctx, account, arn))
    typer.echo(_options_json(provider_policy(provider)))


@options_app.command("set")
def options_set(
    arn: Annotated[str, typer.Argument(help="SAML provider ARN")],
    allow_legacy_algorithms: Annotated[bool | None, typer.Option(help="accept RSA-SHA1, SHA-1 digests, inclusive c14n and RSA keys of 1024-2047 bits")] = None,
    allow_response_only_signature: Annotated[bool | None, typer.Option(help="accept a signed Response around an unsigned Assertion")] = None,
    require_condition_bounds: Annotated[bool | None, typer.Option(help="refuse assertions whose Conditions lack NotBefore or NotOnOrAfter")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Turn opt-ins on or off (those not named stay as they are); prints the options after the change.

    Try them first with `samlfed doctor --allow-legacy-algorithms` / `--allow-response-only-signature` /
    `--require-condition-bounds`."""

    given = {"allow_legacy_algorithms": allow_legacy_algorithms, "allow_response_only_signature": allow_response_only_signature,
             "require_condition_bounds": require_condition_bounds}
    changes = {name: value for name, value in given.items() if value is not None}
    if not changes:
        raise usage_error("name at least one option to change, e.g. --allow-response-only-signature")
    policy = _provider_call(arn, data_dir, database_url, lambda ctx, account: set_validation_options(ctx, account, arn, changes))
    typer.echo(_options_json(policy))


private_keys_app = typer.Typer(
    no_args_is_help=True, help="Private keys that decrypt a provider's encrypted assertions (at most 2; AddPrivateKey/RemovePrivateKey).",
)
providers_app.add_typer(private_keys_app, name="private-keys")
encryption_app = typer.Typer(no_args_is_help=True, help="A provider's assertion encryption mode: Allowed (plaintext or encrypted) or Required.")
providers_app.add_typer(encryption_app, name="encryption-mode")


@private_keys_app.command("add")
def private_keys_add(
    arn: Annotated[str, typer.Argument(help="SAML provider ARN")],
    pem_file: Annotated[Path, typer.Argument(help="the RSA private key (PEM, PKCS#8 or PKCS#1, unencrypted, 2048 to 4096 bits)")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Upload a private key (sealed under the master key; it is never shown again) and print its key ID."""

    try:
        pem = read_at_most(pem_file).decode("latin-1")
    except OSError as exc:
        raise usage_error(f"cannot read {pem_file}: {exc.strerror or exc}") from None
    try:
        key_id = private_key_id_of(pem)
    except ServiceError as exc:  # the API says only AWS's "Invalid private key."; the key's owner may hear what is wanted
        raise usage_error(
            f"{exc.message} The file must hold one unencrypted RSA private key of {MIN_PRIVATE_KEY_BITS} to "
            f"{MAX_PRIVATE_KEY_BITS} bits, PEM (PKCS#8 or PKCS#1), and nothing else."
        ) from None
    change = EncryptionChange(add_private_key=pem)
    _provider_call(arn, data_dir, database_url, lambda ctx, account: update_saml_provider(ctx, account, arn, encryption=change))
    typer.echo(key_id)


@private_keys_app.command("list")
def private_keys_list(
    arn: Annotated[str, typer.Argument(help="SAML provider ARN")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object, as GetSAMLProvider's PrivateKeyList")] = False,
) -> None:
    """List the provider's private keys: key ID and upload time (never the key)."""

    provider = _provider_call(arn, data_dir, database_url, lambda ctx, account: get_saml_provider(ctx, account, arn))
    if as_json:
        typer.echo(json.dumps({"PrivateKeyList": [{"KeyId": k.key_id, "Timestamp": _when(k.created_at)} for k in provider.private_keys]}))
        return
    for key in provider.private_keys:
        typer.echo(f"{key.key_id}  {_when(key.created_at)}")


@private_keys_app.command("remove")
def private_keys_remove(
    arn: Annotated[str, typer.Argument(help="SAML provider ARN")],
    key_id: Annotated[str, typer.Argument(help="the key ID, as `private-keys list` shows it")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Remove a private key: assertions encrypted for it are refused, on every node within identity_cache_seconds."""

    def remove(ctx, account: str) -> None:  # type: ignore[no-untyped-def]
        # The API's refusals speak of its parameters (removePrivateKey, setting the mode), which no one typed here.
        provider = get_saml_provider(ctx, account, arn)
        held = [key.key_id for key in provider.private_keys]
        if key_id not in held:
            raise usage_error(f"{arn} holds no private key {key_id} (it holds: {', '.join(held) or 'none'})")
        if held == [key_id] and provider.assertion_encryption_mode == "Required":
            raise usage_error(f"{key_id} is the only private key of {arn}, which requires encrypted assertions: add another key first, or set its encryption mode to Allowed")
        update_saml_provider(ctx, account, arn, encryption=EncryptionChange(remove_private_key=key_id))

    _provider_call(arn, data_dir, database_url, remove)  # one store opened, not one per call
    typer.echo(f"removed {key_id}")


@encryption_app.command("get")
def encryption_mode_get(arn: Annotated[str, typer.Argument(help="SAML provider ARN")], data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Print the provider's assertion encryption mode."""

    typer.echo(_provider_call(arn, data_dir, database_url, lambda ctx, account: get_saml_provider(ctx, account, arn)).assertion_encryption_mode)


@encryption_app.command("set")
def encryption_mode_set(
    arn: Annotated[str, typer.Argument(help="SAML provider ARN")],
    mode: Annotated[str, typer.Argument(help="Allowed or Required (Required needs a private key)")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Set the provider's assertion encryption mode; prints it."""

    change = EncryptionChange(mode=mode)
    provider = _provider_call(arn, data_dir, database_url, lambda ctx, account: update_saml_provider(ctx, account, arn, encryption=change))
    typer.echo(provider.assertion_encryption_mode)


keyring_app = typer.Typer(cls=ReaderMayLeave, no_args_is_help=True, help="The key ring that seals session tokens.")
app.add_typer(keyring_app, name="keys")


@keyring_app.command("rotate")
def keys_rotate(data_dir: DataDir = None, database_url: DatabaseUrl = None, as_json: JsonOutput = False) -> None:
    """Start sealing new sessions with a new key; sessions sealed with older keys stay valid. A stored key that no
    longer unseals (a damaged row) does not stop it: rotate, then retire that key."""
    ctx = store_context(data_dir, database_url)
    damaged: list[str] = []
    try:
        active = ctx.rotate_key_ring().active
    except MasterKeyError:  # the new key is stored and active; a damaged one stops the ring from being read
        active, damaged = active_key_id(ctx.store.list_server_keys()), ctx.damaged_ring_keys()
    held = len(ctx.store.list_server_keys())  # read again: another rotation may have added keys meanwhile
    if as_json:
        typer.echo(json.dumps({"ActiveKeyId": active, "KeyCount": held}))
    else:
        typer.echo(f"active key: {active} ({held} {'key' if held == 1 else 'keys'} in the ring)")
    for key_id in damaged:
        typer.echo(
            f"samlfed: server key {key_id} does not unseal (corrupted data): nothing sealed with it can be verified, and no "
            f"session token can be issued or checked while it is stored; remove it with: samlfed keys retire {key_id} --force",
            err=True,
        )


def _when(moment: datetime | None) -> str | None:
    return aws_timestamp(moment) if moment else None


@keyring_app.command("list")
def keys_list(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonOutput = False,
) -> None:
    """List the ring's keys (never their material): creation, the active one, from when each can be retired."""

    keys = list_ring_keys(store_context(data_dir, database_url))
    if as_json:
        rows = [{"KeyId": k.key_id, "CreatedAt": _when(k.created_at), "Active": k.active, "SupersededAt": _when(k.superseded_at), "RetirableAt": _when(k.retirable_at)} for k in keys]
        typer.echo(json.dumps({"Keys": rows}))
        return
    if not keys:
        typer.echo("no keys yet: the ring is created when the service first issues or checks a session token (or by samlfed keys rotate)")
    for k in keys:
        status = "active" if k.active else f"retirable from {_when(k.retirable_at)}" if k.retirable_at else "not replaced yet"
        typer.echo(f"{k.key_id}  created {_when(k.created_at)}  {status}")


@keyring_app.command("retire")
def keys_retire(
    key_id: Annotated[str, typer.Argument(help="the key id, as `samlfed keys list` shows it")],
    force: Annotated[bool, typer.Option("--force", help="retire it even though sessions sealed with it may still be valid")] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    as_json: JsonOutput = False,
) -> None:
    """Remove a key from the ring: everything sealed with it stops working, on every node within a minute."""
    ctx = store_context(data_dir, database_url)
    now = datetime.now(UTC)
    try:
        retired = retire_ring_key(ctx, key_id, force=force, now=now)
    except RetireRefused as exc:
        raise usage_error(str(exc)) from None
    breaks_until = retired.retirable_at if retired.retirable_at and retired.retirable_at > now else None
    everywhere = now + timedelta(seconds=ctx.ring_refresh_seconds)
    if as_json:
        typer.echo(json.dumps({"KeyId": key_id, "Retired": True, "BreaksSessionsValidUntil": _when(breaks_until), "AllNodesBy": _when(everywhere)}))
        return
    typer.echo(f"retired key {key_id}; every node stops accepting it by {_when(everywhere)} (a node that cannot read the database meanwhile keeps the ring it holds until it can)")
    if breaks_until:
        typer.echo(
            f"forced: credentials sealed with it (which may be valid until {_when(breaks_until)}), the console sessions and "
            "sign-in tokens made from them and the sessions chained from them stop working now",
        )


app.add_typer(idp_cli, name="idp")
app.command("demo")(demo_command)
app.command("console-url")(console_url)
app.command("login")(login)
app.command("credential-process")(credential_process)
app.command("console")(console)
app.command("configure")(configure)


def main() -> None:
    if sys.stdin is None:  # started with standard input closed (<&-): read it as empty, which every command handles
        sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115 - for the life of the process
    try:
        app()
    except DatabaseUnavailable as exc:  # a full disk, a read-only file, a lock held too long: one line, no traceback
        raise SystemExit(usage_error(f"the database refused the operation: {exc}").exit_code) from None
    except MasterKeyError as exc:  # a stored secret that does not unseal (a damaged row; the key was checked at open)
        raise SystemExit(usage_error(str(exc)).exit_code) from None
    except OSError as exc:  # the file system's refusal no command foresaw (read-only, full, no permission): one line
        where = f": {exc.filename}" if exc.filename else ""
        raise SystemExit(usage_error(f"cannot complete the command: {exc.strerror or exc}{where}").exit_code) from None
    except UnicodeEncodeError:  # an argument's bytes were not UTF-8 (a Latin-1 terminal): the store cannot take it
        raise SystemExit(usage_error("cannot complete the command: a value given is not UTF-8 text").exit_code) from None
