"""`samlfed console-url`: a console sign-in URL for temporary credentials, through the federation endpoint."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Annotated
from urllib.parse import urlencode

import typer

from .cli_common import EXIT_INVALID, usage_error
from .login.console_page import open_signin_page
from .login.transport import cli_transport, redacted
from .terminal_text import one_line, visible

DEFAULT_ENDPOINT = "http://127.0.0.1:8080"
ENDPOINT_VARIABLE = "SAMLFED_URL"


def console_url(
    profile: Annotated[str | None, typer.Option(help="AWS profile holding temporary credentials (default: the SDK's chain)")] = None,
    endpoint_url: Annotated[str | None, typer.Option(
        "--endpoint-url", "--endpoint", envvar=ENDPOINT_VARIABLE, show_envvar=True, help=f"samlfed's URL (default {DEFAULT_ENDPOINT})")] = None,
    duration: Annotated[int | None, typer.Option(help="console session length in seconds, 900-43200 (not for chained sessions)")] = None,
    issuer: Annotated[str, typer.Option(help="where 'sign in again' leads when the console session ends")] = "samlfed",
    open_browser: Annotated[bool, typer.Option("--open", help="open the URL in a browser instead of printing it")] = False,
    allow_insecure_http: Annotated[bool, typer.Option("--allow-insecure-http", help="allow plain http:// to another host (credentials cross the network unencrypted)")] = False,
    ca_bundle: Annotated[str | None, typer.Option(help="PEM file of the only CAs to trust for https:// (default: AWS_CA_BUNDLE, else the system's)")] = None,
) -> None:
    """Print a one-time console sign-in URL (valid 15 minutes) for a profile's temporary credentials."""
    import botocore.session
    from botocore.exceptions import BotoCoreError

    base = (endpoint_url or os.environ.get(ENDPOINT_VARIABLE) or DEFAULT_ENDPOINT).rstrip("/")  # also when called as a function
    # The secret key and session token go to /federation: the login client's transport rules (https://, or http://
    # to loopback only unless the user opts in; certificates always verified; no redirects followed).
    try:
        transport = cli_transport(
            allow_insecure_http=allow_insecure_http, ca_bundle=ca_bundle, warn=lambda message: typer.echo(f"samlfed: {message}", err=True),
        )
        transport.check(base, "the samlfed endpoint")
    except ValueError as exc:  # InsecureUrl included
        raise usage_error(str(exc)) from None
    opener = transport.opener(follow_redirects=False)
    if duration is not None and not 900 <= duration <= 43200:
        raise usage_error("--duration must be from 900 to 43200 seconds")
    try:
        credentials = botocore.session.Session(profile=profile).get_credentials()
        frozen = credentials.get_frozen_credentials() if credentials else None
    except BotoCoreError as exc:
        raise usage_error(f"cannot load the credentials: {exc}") from None
    if frozen is None:
        raise usage_error(f"no credentials found{f' for profile {profile}' if profile else ''}")
    if not frozen.token:
        raise usage_error("these are long-term access keys; the console needs temporary credentials (samlfed login, or AssumeRoleWithSAML)")
    session = json.dumps({"sessionId": frozen.access_key, "sessionKey": frozen.secret_key, "sessionToken": frozen.token})
    form = {"Action": "getSigninToken", "Session": session, **({"SessionDuration": str(duration)} if duration else {})}
    request = urllib.request.Request(f"{base}/federation", data=urlencode(form).encode(), method="POST")
    try:
        with opener.open(request, timeout=30) as answer:
            token = json.loads(answer.read())["SigninToken"]
    except urllib.error.HTTPError as exc:
        body = exc.read().decode(errors="replace")[:300]  # the server's words, which must not drive the terminal
        typer.echo(f"samlfed: getSigninToken failed with {exc.code}: {one_line(visible(body))}", err=True)
        raise typer.Exit(EXIT_INVALID) from None
    except (urllib.error.URLError, OSError, ValueError, KeyError, TypeError) as exc:  # TypeError: JSON, but not an object
        typer.echo(f"samlfed: cannot reach {redacted(base)}/federation: {exc}", err=True)
        raise typer.Exit(EXIT_INVALID) from None
    # A path, not f"{base}/console": the server accepts only its own public origin, which --endpoint-url need not spell
    # the same way (localhost for 127.0.0.1, an internal name behind a proxy).
    login = {"Action": "login", "Issuer": issuer, "Destination": "/console", "SigninToken": token}
    if open_browser and _opened(f"{base}/federation", login):
        typer.echo("opened the console in your browser", err=True)
        return
    typer.echo(f"{base}/federation?" + urlencode(login))


def _opened(action: str, login: dict[str, str]) -> bool:
    """Whether a browser was started on a page that signs in (not on the login URL: the token would be in its argv)."""
    try:
        return open_signin_page(action, login)
    except OSError as exc:
        typer.echo(f"samlfed: cannot write the sign-in page for the browser: {exc}", err=True)
        return False
