"""`samlfed doctor`: its options, checked, then the report (the logic is in doctor.py and doctor_trust.py)."""

from __future__ import annotations

import contextlib
import io
import ipaddress
import json
import os
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from typer.core import TyperCommand

from . import doctor as doctor_mod
from . import doctor_report
from .cli_common import (
    EXIT_INVALID,
    EXIT_USAGE,
    EXIT_VALID,
    JsonOutput,
    UsageExit,
    directory_path,
    instant_or_exit,
    store_context,
    usage_error,
)
from .context import ServiceContext
from .errors import ServiceError
from .files import read_at_most
from .iam import arns
from .saml import MetadataError, ProviderPolicy, RolePair, ValidationSettings
from .saml.aws_endpoints import AWS_ACS_URLS

try:  # typer 0.2x reads options with a copy of click of its own, whose UsageError `except click.UsageError` misses
    from typer._click.exceptions import UsageError as ParserUsageError
except ImportError:  # older typer reads them with click itself
    from click import UsageError as ParserUsageError  # type: ignore[assignment]


class JsonUsageErrors(TyperCommand):
    """The command of `doctor`: with --json, a usage error (exit 2) is also said on standard output, as one JSON object
    {"error": {"message": …}} (as `aws-policies import --json` does): a script reading the report there would otherwise
    get nothing to parse. The stderr lines and the exit code stay. Both kinds: the doctor's own refusals (an unreadable
    file, a bad --now), and click's, met while it reads the arguments (an unknown option, a missing value, an empty
    --data-dir): --json has no value yet then, so the arguments say whether it was given."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # typer's own copy of click.Context, as ReaderMayLeave's
        # Copied before click's parser consumes `args`; a "--json" after `--` is the file's name.
        given = args[:args.index("--")] if "--" in args else list(args)
        try:
            return super().parse_args(ctx, args)
        except ParserUsageError as exc:
            if "--json" in given:
                _say_in_json(exc.format_message())
            raise

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except UsageExit as exc:
            if ctx.params.get("as_json"):
                _say_in_json(exc.message)
            raise


def _say_in_json(message: str) -> None:
    with contextlib.suppress(OSError):  # a reader gone away: the stderr line and the exit code remain
        typer.echo(json.dumps({"error": {"message": message}}))


def doctor(
    file: Annotated[str, typer.Argument(help="SAMLResponse: base64, XML, a form body, a browser's HAR file or a saved HTML page that posts one; '-' reads standard input")] = "-",
    metadata: Annotated[list[Path] | None, typer.Option("--metadata", help="IdP metadata file (repeatable)")] = None,
    cert: Annotated[list[Path] | None, typer.Option("--cert", help="trusted signing certificate or public key, PEM (repeatable)")] = None,
    private_key: Annotated[
        list[Path] | None, typer.Option("--private-key", help="the provider's private key, PEM, to decrypt encrypted assertions (repeatable)"),
    ] = None,
    now: Annotated[str | None, typer.Option(help="evaluate at this instant (ISO 8601 with zone)")] = None,
    audience: Annotated[list[str] | None, typer.Option("--audience", help="also accept this Audience (repeatable)")] = None,
    acs: Annotated[list[str] | None, typer.Option("--acs", help="also accept this ACS URL as Recipient/Destination (repeatable)")] = None,
    role_arn: Annotated[str | None, typer.Option(help="check that this role is granted (with --principal-arn)")] = None,
    principal_arn: Annotated[str | None, typer.Option(help="the saml-provider ARN of --role-arn")] = None,
    trust_policy: Annotated[Path | None, typer.Option(help="the role's trust policy (JSON): also check that it admits the sign-in, and say why not")] = None,
    source_ip: Annotated[str | None, typer.Option(help="when a trust policy is checked: the client's address as the server sees it (aws:SourceIp)")] = None,
    secure_transport: Annotated[bool | None, typer.Option(help="when a trust policy is checked: whether the client used HTTPS (aws:SecureTransport)")] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="check against the provider (and role) registered in this samlfed data directory", parser=directory_path, metavar="<path>")] = None,
    database_url: Annotated[str | None, typer.Option("--database-url", help="check against the provider (and role) registered in this samlfed database")] = None,
    config: Annotated[Path | None, typer.Option(help="with --data-dir/--database-url: the server's TOML settings file (SAMLFED_CONFIG), for its accepted URLs")] = None,
    public_url: Annotated[str | None, typer.Option(help="with --data-dir/--database-url: the server's public URL (SAMLFED_PUBLIC_URL), for its accepted URLs")] = None,
    allow_legacy_algorithms: Annotated[
        bool | None, typer.Option(help="allow RSA-SHA1, SHA-1 digests, inclusive c14n and RSA keys of 1024-2047 bits (--no-…: try without, though the provider has it)"),
    ] = None,
    allow_response_only_signature: Annotated[
        bool | None, typer.Option(help="accept a signed Response around an unsigned Assertion (--no-…: try without, though the provider has it)"),
    ] = None,
    require_condition_bounds: Annotated[
        bool | None, typer.Option(help="refuse assertions whose Conditions lack NotBefore or NotOnOrAfter (--no-…: try without, though the provider has it)"),
    ] = None,
    as_json: JsonOutput = False,
) -> None:
    """Explain, check by check, why a SAML response is accepted or rejected."""
    _check_arns(role_arn, principal_arn)
    # None: not given, so the registered provider's stored choice stands (standalone: the strict default).
    tried: _Tried = {
        "allow_legacy_algorithms": allow_legacy_algorithms, "allow_response_only_signature": allow_response_only_signature,
        "require_condition_bounds": require_condition_bounds,
    }
    explicit_trust = _read_trust_policy(trust_policy) if trust_policy is not None else None
    registered: doctor_mod.RegisteredProvider | None = None
    stored_policy: ProviderPolicy | None = None
    settings = ValidationSettings()
    mapping = None
    trust_text = explicit_trust
    if data_dir is not None or database_url is not None:
        if metadata or cert or private_key:
            raise usage_error(
                "with --data-dir or --database-url the registered provider's metadata and private keys are used: leave out --metadata, --cert and --private-key"
            )
        if principal_arn is None:
            raise usage_error("--data-dir and --database-url need --principal-arn: the registered provider to check against")
        ctx = store_context(data_dir, database_url, config=config, public_url=public_url)
        registered, stored_policy, mapping, stored_trust = _registered(ctx, principal_arn, role_arn)
        settings = ctx.settings  # the server's accepted audiences and ACS URLs
        trust_text = explicit_trust if explicit_trust is not None else stored_trust
    else:
        if config is not None or public_url is not None:
            raise usage_error("--config and --public-url describe the server of --data-dir/--database-url; without them, use --acs and --audience")
        if (role_arn is None) != (principal_arn is None):
            raise usage_error(
                "--role-arn and --principal-arn go together (with --data-dir or --database-url, --principal-arn alone names the registered provider)"
            )
        if explicit_trust is not None and role_arn is None:
            raise usage_error("--trust-policy needs --role-arn and --principal-arn (the role it belongs to and the provider)")
    if source_ip is not None:
        _check_ip(source_ip)
    if trust_text is None and (source_ip is not None or secure_transport is not None):
        raise usage_error("--source-ip and --secure-transport only matter when a trust policy is checked (--trust-policy, or --role-arn with --data-dir)")
    moment = instant_or_exit(now, earliest=doctor_mod.EARLIEST_NOW, latest=doctor_mod.LATEST_NOW)

    read: bytes | None = None  # the input, once read: checked again without an option, it is not read again (stdin)

    def examined(options: _Tried, *, given_urls: bool = True) -> doctor_mod.Diagnosis:
        nonlocal read
        policy = _merged(stored_policy, options)
        try:
            diagnosis = doctor_mod.examine(
                file,
                metadata=metadata or [],
                certs=cert or [],
                private_keys=private_key or [],
                now=moment,
                policy=policy,
                settings=settings.accepting(audiences=audience or [], acs_urls=acs or []) if given_urls else settings,
                requested_role=RolePair(role_arn, principal_arn) if role_arn is not None and principal_arn is not None else None,
                role_trust=(
                    doctor_mod.RoleTrust(trust_text, source_ip=source_ip, secure_transport=secure_transport, attribute_mapping=mapping)
                    if trust_text is not None else None
                ),
                registered=replace(registered, policy=policy) if registered is not None else None,
                given=read,
            )
        except doctor_mod.DoctorUsageError as exc:
            raise usage_error(str(exc)) from None
        read = diagnosis.input
        return diagnosis

    diagnosis = examined(tried)
    if diagnosis.valid:
        diagnosis.caveats.extend(_opt_ins_relied_on(tried, stored_policy, principal_arn, examined))
        if registered is not None and (acs or audience):
            diagnosis.caveats.extend(_urls_relied_on(examined(tried, given_urls=False)))
        if trust_text is None:
            diagnosis.caveats.append(doctor_mod.trust_not_checked(diagnosis, mapping))
        unchecked_uuid = doctor_mod.uuid_not_checked(diagnosis) if registered is None else None
        if unchecked_uuid is not None:
            diagnosis.caveats.append(unchecked_uuid)
        if private_key and registered is None and doctor_mod.was_decrypted(diagnosis):
            diagnosis.caveats.append(
                "decrypted with --private-key: STS decrypts only with keys uploaded to the provider "
                f"(samlfed providers private-keys add {principal_arn or 'PROVIDER_ARN'} KEY.pem)"
            )
    if registered is None:
        doctor_mod.add_url_option_hints(diagnosis, acs_given=bool(acs), audience_given=bool(audience))
    if registered is not None and diagnosis.error is not None and diagnosis.error.check_id in _URL_CHECKS:
        own = ", ".join(sorted(settings.accepted_acs_urls - AWS_ACS_URLS)) or "none"
        diagnosis.notes.append(
            f"the server's own accepted URLs, from its settings as the doctor read them: {own}; if the server runs with another "
            "port, public URL or settings file, give the doctor the same (--public-url, --config, or the SAMLFED_* variables)"
        )
    _report(diagnosis, as_json)


_RELAXING = {"allow_legacy_algorithms": True, "allow_response_only_signature": True, "require_condition_bounds": False}
"""The validation options, each with its value that lets more responses through."""


_Tried = dict[str, bool | None]
"""The validation options given on the command line, by ProviderPolicy field name: True (--allow-…), False (--no-…) or
None (not given)."""


def _merged(stored: ProviderPolicy | None, tried: _Tried) -> ProviderPolicy:
    """The options the doctor is asked to try, over the registered provider's stored ones (`stored`; standalone, None:
    the strict defaults) for those not given: --no-… tries without an opt-in the provider has."""
    base = stored if stored is not None else ProviderPolicy()
    return ProviderPolicy(**{name: getattr(base, name) if choice is None else choice for name, choice in tried.items()})


def _opt_ins_relied_on(
    tried: _Tried, stored: ProviderPolicy | None, principal_arn: str | None, examined: Callable[[_Tried], doctor_mod.Diagnosis],
) -> list[str]:
    """A caveat for each option given on the command line that lets the response through (an opt-in, or
    --no-require-condition-bounds), which the provider (the registered one, `stored`, or the one STS will check it
    against) must then have too: else "VALID" claims what STS refuses."""
    notes = []
    for name, relaxed in _RELAXING.items():
        if tried[name] is not relaxed or getattr(stored or ProviderPolicy(), name) is relaxed:
            continue
        without = examined({**tried, name: not relaxed})
        if without.valid:
            continue
        answer = without.error.aws if without.error is not None else without.trust.answer if without.trust is not None else None
        refusal = f", STS answers {answer.code} {answer.message!r}" if answer is not None else ""
        arn = principal_arn or "PROVIDER_ARN"
        if not relaxed:  # a requirement is not to be dropped for one IdP: the IdP should meet it
            notes.append(f"valid only with --no-require-condition-bounds: {arn} requires condition bounds{refusal}; have the IdP "
                         "send NotBefore and NotOnOrAfter in the assertion's Conditions")
            continue
        flag = "--" + name.replace("_", "-")
        where = f"{arn} does not have it" if stored is not None else "the provider STS checks it against needs it too"
        notes.append(f"valid only with {flag}: {where}; until `samlfed providers validation-options set {arn} {flag}`{refusal}")
    return notes


def _urls_relied_on(without: doctor_mod.Diagnosis) -> list[str]:
    """A caveat when a response checked against a registered provider is valid only with the --acs or --audience URLs
    given: the server accepts only the URLs of its settings, so "VALID" would claim what STS refuses."""
    if without.valid or without.error is None or without.error.check_id not in _URL_CHECKS:
        return []
    answer = without.error.aws
    return [
        f"valid only with the --acs/--audience URLs given: the server's settings (as the doctor read them) do not accept them, "
        f"so STS answers {answer.code} {answer.message!r} at {without.error.check_id}; the server accepts its own URLs from "
        "public_url and sp_entity_id: if it runs with others than the doctor read, give the doctor the same (--public-url, --config)"
    ]


_URL_CHECKS = frozenset({"destination", "subject_confirmation", "audience"})
"""Checks whose verdict depends on the URLs the server accepts, which its settings decide, not its data directory."""


def _check_arns(role_arn: str | None, principal_arn: str | None) -> None:
    if role_arn is not None and arns.parse_role_arn(role_arn) is None:
        raise usage_error(f"--role-arn {role_arn!r} is not a role ARN (arn:aws:iam::ACCOUNT:role/NAME)")
    provider = arns.parse_provider_arn(principal_arn) if principal_arn is not None else None
    if principal_arn is not None and provider is None:
        raise usage_error(f"--principal-arn {principal_arn!r} is not a SAML provider ARN (arn:aws:iam::ACCOUNT:saml-provider/NAME)")
    role = arns.parse_role_arn(role_arn) if role_arn is not None else None
    if role is not None and provider is not None and role.account_id != provider.account_id:
        raise usage_error(  # STS's check 4 (contract §3.4), before any of the assertion's
            "--role-arn and --principal-arn are in different accounts: STS refuses that pair with ValidationError "
            "\"Principal exists outside the account of the Role being assumed.\""
        )


def _check_ip(source_ip: str) -> None:
    try:
        ipaddress.ip_address(source_ip)
    except ValueError:
        raise usage_error(f"--source-ip {source_ip!r} is not an IP address") from None


def _read_trust_policy(path: Path) -> str:
    try:
        return read_at_most(path).decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise usage_error(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None


def _registered(
    ctx: ServiceContext, principal_arn: str, role_arn: str | None,
) -> tuple[doctor_mod.RegisteredProvider, ProviderPolicy, dict[str, list[str]] | None, str | None]:
    """The registered provider (with its stored opt-ins: each examination puts the ones being tried over them), its
    stored opt-ins alone, its attribute mapping, and the stored trust policy of `role_arn` (None without a role)."""
    from .iam.provider_options import provider_policy
    from .iam.providers import get_saml_provider
    from .iam.roles import get_role

    provider_name = arns.parse_provider_arn(principal_arn)
    assert provider_name is not None  # _check_arns
    try:
        provider = get_saml_provider(ctx, provider_name.account_id, principal_arn)
    except ServiceError as exc:  # the API's NoSuchEntity is AWS's "Manifest not found for arn …"
        raise usage_error(f"no SAML provider {principal_arn} in this samlfed" if exc.code == "NoSuchEntity" else exc.message) from None
    try:
        trust = None
        if role_arn is not None:
            role_name = arns.parse_role_arn(role_arn)
            assert role_name is not None
            role = get_role(ctx, role_name.account_id, role_name.name)
            if role.arn != role_arn:  # the server compares role ARNs exactly
                why = "role names are unique regardless of case" if role.arn.lower() == role_arn.lower() else "the path is part of the ARN"
                raise usage_error(f"no role {role_arn} is registered ({why}: there is {role.arn})")
            trust = role.trust_policy
    except ServiceError as exc:
        raise usage_error(exc.message) from None
    from .sts.assume import provider_trust

    stored = provider_policy(provider)
    try:
        server_trust = provider_trust(provider, ctx.master)  # its private keys, opened as the server opens them
    except MetadataError:  # the stored metadata no longer parses: registered_choice says so
        server_trust = None
    registered = doctor_mod.RegisteredProvider(
        provider.arn, provider.uuid, provider.metadata_document, stored,
        decryption_keys=server_trust.decryption_keys if server_trust else (),
        encryption_required=server_trust.encryption_required if server_trust else False, attribute_mapping=provider.attribute_mapping,
    )
    return registered, stored, provider.attribute_mapping, trust


def _report(diagnosis: doctor_mod.Diagnosis, as_json: bool) -> None:
    verdict = EXIT_VALID if diagnosis.valid else EXIT_INVALID
    try:
        if as_json:
            typer.echo(doctor_report.to_json(diagnosis))  # as UTF-8 bytes, whatever the terminal encoding
        else:
            if isinstance(sys.stdout, io.TextIOWrapper):  # an ASCII-only output (a legacy code page) gets \xfc, not a traceback
                sys.stdout.reconfigure(errors="backslashreplace")
            doctor_report.render_text(diagnosis, _ReportConsole(soft_wrap=True))
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader stopped early (`doctor ... | head`): the verdict stands. stdout goes to /dev/null so that the
        # interpreter's last flush at exit does not fail on the closed pipe again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except OSError as exc:  # a full disk, a closed descriptor: the report is lost, which the verdict must not hide
        usage_error(f"cannot write the report: {exc.strerror or exc}")
        raise typer.Exit(EXIT_USAGE) from None  # not a UsageExit: standard output, where --json would say it, failed
    raise typer.Exit(verdict)


class _ReportConsole(Console):
    """rich's Console ends the process with exit 1 on a broken pipe ("invalid" for the doctor); this one lets
    the caller decide."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError
