"""`samlfed login`, `credential-process`, `console` and `configure`: the command-line federation client."""

from __future__ import annotations

import shlex
import string
import sys
import urllib.error
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Annotated, NamedTuple

import click
import typer

from .cli_common import EXIT_INVALID, password_from_stdin, prompting, usage_error
from .cli_console import DEFAULT_ENDPOINT, ENDPOINT_VARIABLE, console_url
from .login import cache
from .login.aws_ini import parse
from .login.browser import BrowserLoginError, browser_login
from .login.config import ConfigError, LoginProfile, config_path, load_profile, profile_names, save_profile
from .login.credentials_file import (
    AwsCredentials,
    CredentialsFileError,
    check_profile_name,
    check_replaceable,
    credentials_path,
    process_json,
    read_text,
    render,
    write_profiles,
)
from .login.ecp import CredentialsRefused, EcpError, EcpUnreachable, OtpRequired, ecp_login
from .login.roles import RoleOption, RolesError, chooser_data, grouped, pick, roles_in, session_limits, with_aliases
from .login.sts import AssumeFailed, assume
from .login.transport import InsecureUrl, Transport, cli_transport, redacted
from .saml import constants as c
from .terminal_text import one_line, visible

KEYRING_SERVICE = "samlfed"
PRINT_STYLES = ("env", "json", "powershell")
OTP_VARIABLE = "SAMLFED_OTP"
"""The one-time code for scripts: unlike --otp, the environment is not readable by other local users (ps, /proc)."""
CODE_USED = "; the one-time code was used by this sign-in, so the next attempt needs a new one"
_CODE_CHARACTERS = frozenset(string.ascii_letters + string.digits + string.punctuation)

Profile = Annotated[str | None, typer.Option("--profile", "-p", help="profile of ~/.config/samlfed/config.toml (default: default)")]


def _say(message: str) -> None:
    """Messages carry what servers said (the IdP's SOAP fault, STS's error Message, the chooser's account labels, role
    names): a hostile or broken one must not drive the terminal or print lines of its own, as usage errors must not."""
    typer.echo(one_line(visible(message)), err=True)


def _fail(message: str) -> typer.Exit:
    _say(f"samlfed: {message}")
    return typer.Exit(EXIT_INVALID)


def _profile(name: str | None, *, may_be_new: bool = False) -> LoginProfile:
    """The login profile. One named with --profile must be in the config file unless `may_be_new` (something else says
    where to go): a mistyped name would otherwise sign in with the defaults, the demo's URL, as if nothing were wrong."""
    if name == "":  # not "no --profile": read as `default`, configure saved that profile and login wrote its AWS profile
        raise usage_error("--profile: a profile name cannot be empty (leave --profile out for the default profile)")
    try:
        settings = load_profile(name)
        known = None if name is None or may_be_new else profile_names()
    except ConfigError as exc:
        raise usage_error(str(exc)) from None
    if known is not None and name not in known:
        raise usage_error(f"no login profile {name!r} in {config_path()} (it has: {', '.join(known) or 'none'}); "
                          f"create it with: samlfed configure --profile {name}")
    return settings


def _check_url(transport: Transport, url: str, what: str) -> None:
    """Refuse now, before any password prompt or request, a URL that is not http(s) or that the transport refuses."""
    try:
        transport.check(url, what)
    except InsecureUrl as exc:
        raise usage_error(str(exc)) from None


def _transport(settings: LoginProfile) -> Transport:
    """The profile's transport rules; each warning about plain http is printed once."""
    warned: set[str] = set()

    def warn(message: str) -> None:
        if message not in warned:
            warned.add(message)
            _say(f"samlfed: {message}")

    try:  # the profile's CA bundle, for the IdP and samlfed alike
        return cli_transport(allow_insecure_http=settings.allow_insecure_http, ca_bundle=settings.ca_bundle, warn=warn, deadline=settings.timeout)
    except ValueError as exc:
        raise usage_error(str(exc)) from None


def _keyring() -> ModuleType:
    import keyring

    return keyring


def _keyring_problem(exc: Exception) -> str:
    from keyring.errors import NoKeyringError

    return "no OS keyring is available" if isinstance(exc, NoKeyringError) else f"the OS keyring cannot be used ({exc})"


class KeptPasswords:
    """The OS keyring behind remember_password. One that cannot be used (none installed, locked, refusing) keeps no
    password: login asks for it as usual and credential-process answers as with nothing cached; said once, not a traceback."""

    def __init__(self, profile: LoginProfile) -> None:
        self.profile = profile
        self.told = False

    def _key(self, username: str) -> str:
        # Unambiguous although a profile name may hold ':' (`a:b`): a user name never does (_basic_auth_username), so the
        # user name is what follows the last ':'.
        return f"{self.profile.name}:{username}"

    def _unusable(self, exc: Exception) -> None:
        if not self.told:
            self.told = True
            _say(f"samlfed: remember_password: {_keyring_problem(exc)}, so no password is kept for profile {self.profile.name}")

    def get(self, username: str) -> str | None:
        keyring = _keyring()
        try:
            return keyring.get_password(KEYRING_SERVICE, self._key(username))
        except keyring.errors.KeyringError as exc:
            self._unusable(exc)
            return None

    def set(self, username: str, password: str) -> None:
        keyring = _keyring()
        try:
            keyring.set_password(KEYRING_SERVICE, self._key(username), password)
        except keyring.errors.KeyringError as exc:
            self._unusable(exc)

    def forget(self, username: str) -> None:
        """Drop a kept password the IdP refused (changed since?): sent again by every credential-process call, it
        would run into the IdP's sign-in throttle and lock the user out of their own sign-in too."""
        keyring = _keyring()
        try:
            keyring.delete_password(KEYRING_SERVICE, self._key(username))
        except keyring.errors.PasswordDeleteError:
            pass  # already gone
        except keyring.errors.KeyringError as exc:
            self._unusable(exc)


class MetadataUnavailable(Exception):
    """The IdP metadata that names the ECP endpoint could not be read; the message says where and why."""


def _ecp_url(profile: LoginProfile, transport: Transport) -> str | None:
    """The profile's ECP endpoint, or the one its IdP metadata names (MetadataUnavailable when that cannot be read)."""
    if profile.ecp_url:
        _check_url(transport, profile.ecp_url, f"ecp_url of profile {profile.name}")
        return profile.ecp_url
    if not profile.idp_metadata_url:
        return None
    from .saml.errors import MetadataError
    from .saml.metadata import parse_metadata

    # The metadata names where the password goes: read over plain http, anyone on the way could name their own host.
    _check_url(transport, profile.idp_metadata_url, f"idp_metadata_url of profile {profile.name}")
    try:  # the transport bounds the time (the profile's timeout) and the size (a larger document is refused)
        with transport.opener(follow_redirects=True).open(profile.idp_metadata_url, timeout=30) as answer:
            metadata = parse_metadata(answer.read())
    except (urllib.error.URLError, OSError, ValueError, MetadataError) as exc:  # ValueError: InsecureUrl from a redirect too
        raise MetadataUnavailable(f"cannot read the IdP metadata at {redacted(profile.idp_metadata_url)}: {exc}") from None
    url = metadata.sso_url(c.BINDING_SOAP)
    if url is not None:  # the password goes there: only over HTTP(S), never to a local file
        _check_url(transport, url, f"the ECP endpoint in the IdP metadata at {redacted(profile.idp_metadata_url)}")
    return url


def _read_assertion(source: str) -> str:
    """A captured SAMLResponse, read as the doctor reads one: base64, raw XML, or a form body."""
    from .doctor import DoctorUsageError, decode_input, read_source

    try:
        return "".join(decode_input(read_source(source)).split())
    except DoctorUsageError as exc:
        raise usage_error(str(exc)) from None


class SignIn(NamedTuple):
    saml_response: str
    roles_accounts: dict[str, list[str]] | None = None
    """The server's chooser data, from the browser hand-off."""
    code_used: bool = False
    """A one-time code went with the sign-in that succeeded: it cannot be sent again."""


def _one_time_code(text: str) -> str:
    """The code as it goes in the X-Samlfed-OTP header: without the spaces or line break around it (a code read with
    $(...) from a tool that ends its lines with CRLF keeps the CR; the IdP strips them too), and only of visible ASCII
    characters, which a header carries as they are (a line break made http.client raise a traceback, a letter
    outside Latin-1 a misleading "not UTF-8 text"). click.UsageError: a prompt asks again, the CLI ends with exit 2."""
    code = text.strip()
    if not set(code) <= _CODE_CHARACTERS:
        raise click.UsageError("the one-time code may hold only letters, digits and punctuation (ASCII)")
    return code


USERNAME_COLON = "a user name cannot hold ':' (ECP signs in with HTTP Basic authentication, whose user name ends at the first ':')"


def _basic_auth_username(text: str) -> str:
    """A user name HTTP Basic can carry, refused before any request otherwise: the IdP reads 'alice:x' with password p
    as user alice with password 'x:p', so each attempt would count against alice's sign-in throttle (RFC 7617).
    click.UsageError: a prompt asks again; the option and the profile's key are usage errors (_check_username), and
    credential-process does not sign in by itself with it (_refresh)."""
    if ":" in text:
        raise click.UsageError(USERNAME_COLON)
    return text


def _check_username(username: str | None, where: str) -> None:
    if username is not None:
        try:
            _basic_auth_username(username)
        except click.UsageError as exc:
            raise usage_error(f"{where}: {exc.message}") from None


def _ecp_response(profile: LoginProfile, transport: Transport, ecp_url: str, username: str | None, password_stdin: bool, otp: str | None) -> SignIn:
    username = username or profile.username
    if not username:
        if password_stdin:  # a prompt would read the password's line as the user name (and send it to the IdP)
            raise usage_error(f"--password-stdin: standard input holds the password, so give the user name with --username "
                              f"or username in profile {profile.name}")
        username = click.prompt("User name", err=True, value_proc=_basic_auth_username)
    kept = KeptPasswords(profile)
    password = None
    if password_stdin:
        password = password_from_stdin(_fail)
    elif profile.remember_password:
        password = kept.get(username)
    remembered = password is not None and not password_stdin
    interactive = sys.stdin.isatty()
    # With --password-stdin, standard input belongs to the password: the code is never read from it as well.
    may_ask_code = interactive and not password_stdin
    if password is None:
        if not interactive:
            raise _fail("no password: run interactively, pipe it with --password-stdin, or opt in to the keyring (remember_password)")
        password = click.prompt("Password", hide_input=True, err=True)
    try:
        try:
            response = ecp_login(ecp_url, sp_entity_id=profile.sp_entity_id, acs_url=profile.acs, username=username, password=password, otp=otp,
                                 transport=transport)
            code_used = bool(otp)
        except CredentialsRefused:
            if not remembered or otp:  # with a code sent, the password itself may be right
                raise
            kept.forget(username)
            raise _fail("the identity provider refused the password kept in the keyring; it was removed: run samlfed login again to type it") from None
        except OtpRequired:
            if not may_ask_code:
                raise _fail(f"the identity provider asks for a one-time code: set {OTP_VARIABLE} "
                            "(or pass --otp CODE, which other local users can see)") from None
            code = click.prompt("One-time code", hide_input=True, err=True, value_proc=_one_time_code)
            response = ecp_login(ecp_url, sp_entity_id=profile.sp_entity_id, acs_url=profile.acs, username=username, password=password, otp=code,
                                 transport=transport)
            code_used = True
    except EcpUnreachable as exc:
        raise _fail(str(exc)) from None
    except EcpError as exc:
        raise _fail(f"the identity provider refused the sign-in: {exc}") from None
    if profile.remember_password:  # only now: the IdP took it (a piped password as much as a typed one)
        kept.set(username, password)
    return SignIn(response, code_used=code_used)


def _choose_interactively(options: list[RoleOption]) -> RoleOption:
    numbered: list[RoleOption] = []
    for label, roles in grouped(options).items():
        _say(f"Account: {label}")
        for option in roles:
            numbered.append(option)
            _say(f"  [{len(numbered)}] {option.role_name}")
    choice = click.prompt("Role", type=click.IntRange(1, len(numbered)), err=True)
    return numbered[choice - 1]


DURATIONS = "from 900 to 43200 seconds"
"""What AssumeRoleWithSAML's DurationSeconds takes (the role's maximum may be less)."""


def _valid_duration(seconds: int) -> bool:
    return 900 <= seconds <= 43200


TEMPLATE_FIELDS = ("alias", "account", "role")


def _check_template(template: str) -> None:
    """Each field of `--profile-name` must be one of TEMPLATE_FIELDS itself: str.format also takes an attribute or an item
    of one ({role.upper}, {role[x]}), which gave odd profile names or a traceback."""
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
        if all(name in TEMPLATE_FIELDS for name in names):
            _profile_name(template, RoleOption("arn:aws:iam::111111111111:role/R", "arn:aws:iam::111111111111:saml-provider/P"))
            return
    except (ValueError, LookupError, AttributeError, TypeError):  # a lone brace, a specification the text does not take
        pass  # ({role:d}), or one with fields of its own ({role:{x}})
    raise usage_error("--profile-name may use {alias}, {account} and {role}")


def _profile_name(template: str, option: RoleOption) -> str:
    return template.format(alias=option.alias or option.account_id, account=option.account_id, role=option.role_name)


def login(
    profile: Profile = None,
    endpoint: Annotated[str | None, typer.Option(help="samlfed's URL (STS and role chooser)")] = None,
    method: Annotated[str | None, typer.Option(help="ecp or browser (default: ecp when the IdP offers it)")] = None,
    assertion_file: Annotated[str | None, typer.Option(help="a captured SAMLResponse (base64 or form body); '-' for stdin")] = None,
    username: Annotated[str | None, typer.Option(help="IdP user name (ECP)")] = None,
    password_stdin: Annotated[bool, typer.Option(help="read the IdP password from the first line of stdin")] = False,
    otp: Annotated[str | None, typer.Option(
        envvar=OTP_VARIABLE, show_envvar=True,
        help="one-time code, if the IdP asks for one; on the command line other local users can see it (ps): "
             f"prefer {OTP_VARIABLE}, or the hidden prompt at a terminal")] = None,
    role: Annotated[str | None, typer.Option(help="role ARN (or unique role name) to assume, without asking")] = None,
    all_roles: Annotated[bool, typer.Option("--all-roles", help="assume every role offered; one AWS profile each")] = False,
    profile_name: Annotated[str | None, typer.Option(help="AWS profile name; with --all-roles a template of {alias} {account} {role}")] = None,
    duration: Annotated[int | None, typer.Option(help="credential lifetime in seconds (900-43200)")] = None,
    print_style: Annotated[str | None, typer.Option("--print", help="print env, json or powershell instead of writing ~/.aws/credentials")] = None,
    no_browser: Annotated[bool, typer.Option("--no-browser", help="print the sign-in URL instead of opening a browser")] = False,
    allow_insecure_http: Annotated[bool, typer.Option(
        "--allow-insecure-http", help="accept plain http:// to other machines (password, assertion and credentials unencrypted)")] = False,
    ca_bundle: Annotated[str | None, typer.Option(help="PEM file of the only CAs to trust for https:// (default: AWS_CA_BUNDLE, else the system's)")] = None,
) -> None:
    """Sign in at the IdP (ECP or browser), choose roles and write temporary credentials."""
    if otp is not None:  # before any prompt or request
        try:
            otp = _one_time_code(otp) or None
        except click.UsageError as exc:
            raise usage_error(f"--otp ({OTP_VARIABLE}): {exc.message}") from None
    _check_username(username, "--username")
    settings = _profile(profile, may_be_new=endpoint is not None)  # --endpoint says where to go: a profile of flags only
    _check_username(settings.username, f"username of profile {settings.name} in {config_path()}")
    if endpoint:
        settings = replace(settings, endpoint=endpoint)
    if allow_insecure_http:
        settings = replace(settings, allow_insecure_http=True)
    if ca_bundle:
        settings = replace(settings, ca_bundle=ca_bundle)
    transport = _transport(settings)
    _check_url(transport, settings.endpoint, "--endpoint" if endpoint else f"the endpoint of profile {settings.name}")
    if duration is not None and not _valid_duration(duration):
        raise usage_error(f"--duration must be {DURATIONS}")
    if duration is None and settings.duration is not None and not _valid_duration(settings.duration):
        raise usage_error(f"duration = {settings.duration} of profile {settings.name} in {config_path()} must be {DURATIONS} "
                          f"(samlfed configure --profile {settings.name}, or --duration)")
    duration = duration if duration is not None else settings.duration
    if print_style is not None and print_style not in PRINT_STYLES:
        raise usage_error(f"--print must be one of {', '.join(PRINT_STYLES)}")
    if all_roles and print_style is not None:
        raise usage_error("--all-roles writes profiles; --print takes one role")

    # `is None`, not `or`: an empty --profile-name is refused as a name, not read as "the profile's own" ([default])
    template = "{alias}-{role}" if profile_name is None else profile_name
    single = settings.name if profile_name is None else profile_name
    if all_roles:
        _check_template(template)
    elif print_style is None:
        _check_aws_profile_name(single)
    if print_style is None:
        try:  # before the password prompt: a file that cannot be updated safely is found out now
            text = read_text(credentials_path())
            if not all_roles:  # the names of --all-roles are known only from the response
                check_replaceable(parse(text, str(credentials_path())), single, str(credentials_path()))
        except CredentialsFileError as exc:
            raise usage_error(str(exc)) from None

    with prompting():
        if assertion_file is not None:
            signed_in = SignIn(_read_assertion(assertion_file))
        else:
            signed_in = _sign_in(settings, transport, method, username, password_stdin, otp, no_browser)
        saml_response = signed_in.saml_response
        try:
            offered = _offered(settings, transport, signed_in)
            selected = _select(settings, offered, role, all_roles)
        except RolesError as exc:
            # Not found out before the sign-in: whether there is a role to choose at all is known only from the
            # response (one role needs no --role), and the IdP takes the code with the password, in one request.
            raise _fail(str(exc) + (CODE_USED if signed_in.code_used else "")) from None
    if all_roles:
        _check_distinct_names(template, selected)

    written: dict[str, AwsCredentials] = {}
    for option in selected:
        try:
            before = datetime.now(UTC)
            assumed = assume(settings.endpoint, option, saml_response, duration, transport)
        except AssumeFailed as exc:
            refused = "" if exc.unanswered else "the SAML response was refused: "
            why = "" if exc.unanswered else "; samlfed's log says which check or trust-policy statement refused it"  # AWS's message never does
            message = f"{option.role_arn}: {refused}{exc.message} ({exc.code}){why}"
            if not all_roles:
                raise _fail(message) from None
            _say(f"skipped {message}")
            continue
        if assumed.duration_note:
            _say(f"note: {assumed.duration_note}")
        credentials = assumed.credentials
        shorter = _shortened(option, saml_response, 3600 if assumed.duration_note else duration, credentials, before)
        if shorter:
            _say(f"note: {shorter}")
        if print_style is not None:
            typer.echo(render(credentials, print_style))
        written[_profile_name(template, option) if all_roles else single] = credentials
        # Each role's, --all-roles too: the cache keeps every role's apart, for credential-process --role.
        _cache(settings.name, option.role_arn, credentials, [o.role_arn for o in offered])
    if not written:
        raise _fail("no role could be assumed")
    if print_style is None:
        path = credentials_path()
        try:
            write_profiles(path, written)
        except CredentialsFileError as exc:
            raise _fail(str(exc)) from None
        for name, credentials in written.items():
            _say(f"wrote profile {name} to {path} (expires {credentials.expiration_text})")


SKEW = timedelta(minutes=5)
"""Clocks of this machine and the server's may differ this much before a lifetime looks shortened (as SAML allows)."""


def _shortened(option: RoleOption, saml_response: str, asked: int | None, credentials: AwsCredentials, before: datetime) -> str | None:
    """Why the credentials last less than asked, if they do. The server shortens them to the response's
    SessionDuration attribute and SessionNotOnOrAfter (an IdP may only ever shorten them), without saying so."""
    if asked is None:
        return None
    limits = session_limits(saml_response)
    lasts = max(0, (credentials.expiration - before).total_seconds())
    if limits.session_duration is not None and limits.session_duration < asked:
        why = f"the identity provider's SessionDuration attribute ({limits.session_duration} seconds) limits them"
    elif limits.session_not_on_or_after is not None and limits.session_not_on_or_after < before + timedelta(seconds=asked) - SKEW:
        # `before` is this computer's clock: a few minutes fast, it would blame an IdP session that ends just after
        why = f"the identity provider's session ends at {limits.session_not_on_or_after:%Y-%m-%d %H:%M:%S} UTC (SessionNotOnOrAfter)"
    elif lasts < asked - SKEW.total_seconds():  # shortened, but the response does not say why (encrypted?)
        why = "the server did not say why"
    else:
        return None
    return f"{option.role_name}: the credentials last about {round(lasts / 60)} minutes, less than the {asked} seconds asked: {why}"


def _check_aws_profile_name(name: str) -> None:
    try:
        check_profile_name(name)
    except CredentialsFileError as exc:
        raise usage_error(str(exc)) from None


def _check_distinct_names(template: str, selected: list[RoleOption]) -> None:
    """With --all-roles, each role needs its own profile, or all but the last would be assumed for nothing."""
    owners: dict[str, str] = {}
    for option in selected:
        name = _profile_name(template, option)
        _check_aws_profile_name(name)
        if name in owners:
            raise usage_error(
                f"--profile-name {template!r} names both {owners[name]} and {option.role_arn} {name!r}; "
                "use {alias}, {account} and {role} to tell them apart"
            )
        owners[name] = option.role_arn


def _cache(profile: str, role_arn: str, credentials: AwsCredentials, offered: list[str]) -> None:
    try:
        cache.store(profile, role_arn, credentials, offered)
    except OSError as exc:
        _say(f"note: could not cache the credentials for credential-process: {exc.strerror or exc}")


def _sign_in(
    settings: LoginProfile, transport: Transport, method: str | None, username: str | None, password_stdin: bool, otp: str | None, no_browser: bool,
) -> SignIn:
    """The SAMLResponse (and, from the browser hand-off, the server's chooser data)."""
    chosen = method or settings.method
    if chosen not in (None, "ecp", "browser"):
        raise usage_error("the method is ecp or browser")
    try:
        ecp_url = _ecp_url(settings, transport) if chosen in (None, "ecp") else None
    except MetadataUnavailable as exc:
        raise _fail(str(exc)) from None
    if chosen == "ecp" and ecp_url is None:
        raise usage_error("no ECP endpoint: set ecp_url or idp_metadata_url in the profile (samlfed configure)")
    if ecp_url:
        return _ecp_response(settings, transport, ecp_url, username, password_stdin, otp)
    given = [flag for flag, value in (("--password-stdin", password_stdin), ("--username", username), (f"--otp ({OTP_VARIABLE})", otp)) if value]
    if given:  # the browser would wait for a sign-in that the script meant to make by itself, up to its timeout
        if chosen == "browser":
            why = "--method browser signs in in the browser (use --method ecp)"
        elif settings.idp_metadata_url:
            why = "the IdP metadata names no ECP endpoint, so the sign-in is in the browser (set ecp_url in the profile if the IdP has one)"
        else:
            why = "no ECP endpoint is known, so the sign-in is in the browser (set ecp_url or idp_metadata_url in the profile: samlfed configure)"
        raise usage_error(f"{', '.join(given)}: only for ECP sign-in, but {why}")
    try:
        result = browser_login(settings.endpoint, open_browser=not no_browser, tell=_say)
    except BrowserLoginError as exc:
        raise _fail(str(exc)) from None
    return SignIn(result.saml_response, result.roles_accounts)


def _offered(settings: LoginProfile, transport: Transport, signed_in: SignIn) -> list[RoleOption]:
    """The response's roles that the server offers, with account aliases."""
    roles_accounts = signed_in.roles_accounts  # the browser handoff's: possibly none admitted ({}), which stands
    if roles_accounts is None:
        roles_accounts = chooser_data(settings.endpoint, signed_in.saml_response, transport)
    options = with_aliases(roles_in(signed_in.saml_response), roles_accounts)
    if not options:
        raise RolesError("the server offers none of the response's roles to you (trust policies, or the response is no longer valid)")
    return options


def _select(settings: LoginProfile, options: list[RoleOption], role: str | None, all_roles: bool) -> list[RoleOption]:
    if all_roles:
        return options
    wanted = role or settings.role
    if wanted:
        return [pick(options, wanted)]
    if len(options) == 1:
        return options
    if sys.stdin.isatty():
        return [_choose_interactively(options)]
    raise RolesError("several roles are offered; choose one with --role: " + ", ".join(o.role_arn for o in options))


def credential_process(
    profile: Profile = None,
    role: Annotated[str | None, typer.Option(help="role ARN, or a role name as login takes it (default: the profile's role)")] = None,
) -> None:
    """Print credential_process JSON for a profile: from the cache, refreshed shortly before expiry when possible."""
    import json

    # A profile that only the cache knows comes from `login --profile NAME --endpoint URL`, without a config entry.
    settings = _profile(profile, may_be_new=profile is not None and cache.exists(profile))
    wanted = role or settings.role
    cached = _cached(settings, wanted) if wanted else None
    served = cached.credentials if cached else None
    # Refreshed within botocore's refresh window when a kept password allows; otherwise what is cached is served
    # while it is valid, never refused early (cache.Cached.due, cache.SERVE_MARGIN).
    if wanted and (cached is None or cached.due()) and settings.remember_password and settings.username:
        try:
            with cache.refreshing(settings.name):
                cached = _cached(settings, wanted)  # another call may have refreshed while this one waited for the lock
                served = cached.credentials if cached else None
                if cached is None or cached.due():
                    served = _refresh(settings, wanted) or served
        except OSError as exc:  # no lock, no sign-in: unserialised calls could lock the user out at the IdP
            _say(f"samlfed: cannot refresh the credentials: the lock beside the cache cannot be taken ({exc.strerror or exc})")
    if served is None:
        # With the --role asked for: without it, login offers its choice (or takes the profile's role), not this one.
        again = f"samlfed login --profile {shlex.quote(settings.name)}" + (f" --role {shlex.quote(role)}" if role else "")
        raise _fail(f"no valid credentials for profile {settings.name}; run: {again}"
                    + ("" if wanted else " (and set its role, so that credential-process knows which one)"))
    typer.echo(json.dumps(process_json(served)))


def _cached(settings: LoginProfile, wanted: str) -> cache.Cached | None:
    try:
        return cache.valid(settings.name, wanted)
    except RolesError as exc:
        raise usage_error(f"{exc} (--role, or role in profile {settings.name})") from None


def _refresh(settings: LoginProfile, wanted: str) -> AwsCredentials | None:
    """A non-interactive ECP login with the password the user let the keyring keep; None when that is not possible."""
    if not settings.remember_password or not settings.username:
        return None
    try:
        _basic_auth_username(settings.username)  # never sent (nor a keyring entry looked up by it)
    except click.UsageError as exc:
        _say(f"samlfed: could not refresh the credentials without you: username of profile {settings.name}: {exc.message}")
        return None
    transport = _transport(settings)
    _check_url(transport, settings.endpoint, f"the endpoint of profile {settings.name}")
    kept = KeptPasswords(settings)
    password = kept.get(settings.username)
    if password is None:  # nothing kept: the IdP's metadata need not be read either
        return None
    try:
        ecp_url = _ecp_url(settings, transport)
    except MetadataUnavailable as exc:  # the cached credentials are still served while they are valid
        _say(f"samlfed: could not refresh the credentials without you: {exc}")
        return None
    if ecp_url is None:
        return None
    try:
        saml_response = ecp_login(ecp_url, sp_entity_id=settings.sp_entity_id, acs_url=settings.acs, username=settings.username, password=password,
                                  transport=transport)
        options = _offered(settings, transport, SignIn(saml_response))  # as login looks a name up: the roles offered
        option = pick(options, wanted)  # a name, as login takes it: the cache keeps the ARN it stands for
        credentials = assume(settings.endpoint, option, saml_response, settings.duration, transport).credentials
    except CredentialsRefused as exc:
        kept.forget(settings.username)
        _say(f"samlfed: the identity provider refused the password kept in the keyring ({exc}); it was removed from the keyring")
        return None
    except (EcpError, RolesError, AssumeFailed) as exc:
        _say(f"samlfed: could not refresh the credentials without you: {exc}")
        return None
    _cache(settings.name, option.role_arn, credentials, [o.role_arn for o in options])
    return credentials


def console(
    profile: Annotated[str | None, typer.Option("--profile", "-p", help="AWS profile holding temporary credentials")] = None,
    endpoint: Annotated[str | None, typer.Option(
        "--endpoint", "--endpoint-url", envvar=ENDPOINT_VARIABLE, show_envvar=True, help=f"samlfed's URL (default {DEFAULT_ENDPOINT})")] = None,
    duration: Annotated[int | None, typer.Option(help="console session length in seconds, 900-43200")] = None,
    allow_insecure_http: Annotated[bool, typer.Option("--allow-insecure-http", help="allow plain http:// to another host (credentials cross the network unencrypted)")] = False,
    ca_bundle: Annotated[str | None, typer.Option(help="PEM file of the only CAs to trust for https:// (default: AWS_CA_BUNDLE, else the system's)")] = None,
) -> None:
    """Open the console for a profile's temporary credentials (through the federation endpoint)."""
    console_url(
        profile=profile, endpoint_url=endpoint, duration=duration, issuer="samlfed", open_browser=True,
        allow_insecure_http=allow_insecure_http, ca_bundle=ca_bundle,
    )


def configure(profile: Profile = None) -> None:
    """Write a login profile into ~/.config/samlfed/config.toml, asking for each setting."""
    current = _profile(profile, may_be_new=True)
    with prompting():
        endpoint = click.prompt("samlfed URL", default=current.endpoint, err=True).rstrip("/")
        metadata = click.prompt("IdP metadata URL", default=current.idp_metadata_url or f"{endpoint}/idp/metadata", err=True)
        method = click.prompt("Sign-in method", type=click.Choice(["ecp", "browser"]), default=current.method or "ecp", err=True)
        username = click.prompt("IdP user name (empty: ask each time)", default=current.username or "", show_default=False, err=True,
                                value_proc=_basic_auth_username) or None
        role = click.prompt("Default role ARN (empty: choose each time)", default=current.role or "", show_default=False, err=True) or None
        duration_text = click.prompt("Duration in seconds (empty: 3600)", default=str(current.duration or ""), show_default=False, err=True)
        remember = click.confirm("Keep the password in the OS keyring for unattended refresh?", default=current.remember_password, err=True)
    if remember:
        _warn_without_keyring(replace(current, username=username))
    try:
        duration = int(duration_text) if duration_text else None
    except ValueError:
        raise usage_error("the duration must be a number of seconds") from None
    if duration is not None and not _valid_duration(duration):  # saved, every login would refuse it
        raise usage_error(f"the duration must be {DURATIONS}; nothing was saved")
    updated = replace(current, endpoint=endpoint, idp_metadata_url=metadata, method=method, username=username, role=role,
                      duration=duration, remember_password=remember)
    try:
        path = save_profile(updated, config_path())
    except ConfigError as exc:
        raise usage_error(str(exc)) from None
    except OSError as exc:
        raise _fail(f"cannot write {config_path()}: {exc.strerror or exc}") from None
    _say(f"saved profile {updated.name} in {path}")


def _warn_without_keyring(profile: LoginProfile) -> None:
    """A warning, not a refusal: the profile is right, the keyring may come later (installed, unlocked)."""
    keyring = _keyring()
    try:  # a read, as login makes one: what a backend that cannot be used refuses first
        keyring.get_password(KEYRING_SERVICE, f"{profile.name}:{profile.username or ''}")
    except keyring.errors.KeyringError as exc:
        _say(f"samlfed: warning: {_keyring_problem(exc)}: the password cannot be kept, so login will ask for it and "
             "credential-process cannot refresh by itself until one can be used")
