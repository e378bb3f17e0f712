"""The IdP's HTTP face, mounted at /idp: metadata, login, portal (IdP-initiated), SSO (SP-initiated), ECP, logout."""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote_plus, urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from ..files import read_or_create_private
from ..forwarding import ForwardingWatch
from ..pages import FormRefused, Pages, bounded_body, read_form, tokens_match
from .authn_request import AuthnRequest, RequestRefused, check_authn_request, parse_authn_request, redirect_parameters
from .claims import role_values
from .directory import DirectoryError, User
from .ecp import SOAP_CONTENT_TYPE, fault_envelope, request_from_envelope, response_envelope
from .keys import KeysUnavailable
from .service import IdentityProvider
from .state import StateLocked, StateUnavailable

log = logging.getLogger("samlfed.idp")
MAX_RELAY_STATE = 2048
MAX_FORM_BYTES = 200_000
SESSION_SECONDS = 8 * 3600
GENERIC_LOGIN_ERROR = "The user name, password or one-time code is not right, or the account is disabled."
THROTTLED = "Too many failed sign-ins. Wait a few minutes and try again."
RETRY_AFTER = "5"
"""Seconds a client should wait after a 503, as the rest of the service says."""

SESSION_COOKIE = "samlfed_idp"
BOUNCED = "bounced"
"""The field of the IdP's own re-post of an SP's HTTP-POST AuthnRequest (IdpApp.sso): posted once, never again."""

SESSION_SECRET_FILE = "session.secret"
"""In the IdP's keys directory: the key its session cookies are signed with."""
MIN_SESSION_SECRET_BYTES = 32


def _session_secret(key_dir: Path) -> str:
    """The key of the session cookies, made on first use. One that is empty or short is refused, never used: with
    an empty HMAC key anyone can sign a session. Nor is it remade: samlfed writes the file whole (linked into place
    when complete), so a short one is someone's doing (a truncation, a restore, a deployment tool, maybe for several
    nodes at once), and the operator decides; removing it makes a new one and signs everyone out of the IdP."""
    path = key_dir / SESSION_SECRET_FILE
    remedy = (f"remove the file for a new one (signing everyone out of the IdP), or put a random secret of at least "
              f"{MIN_SESSION_SECRET_BYTES} characters in it")
    try:
        secret = read_or_create_private(path, lambda: secrets.token_urlsafe(48).encode()).decode("utf-8").strip()
    except OSError as exc:
        raise KeysUnavailable(f"The IdP's session secret {path} cannot be read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise KeysUnavailable(f"The IdP's session secret {path} is not text; {remedy}") from None
    if len(secret.encode()) < MIN_SESSION_SECRET_BYTES:
        size = "is empty" if not secret else f"holds {len(secret.encode())} bytes, under the {MIN_SESSION_SECRET_BYTES} it needs"
        raise KeysUnavailable(f"The IdP's session secret {path} {size}; {remedy}")
    return secret


class IdpApp:
    """The built-in IdP's web pages and SAML endpoints: sign-in, portal, SSO (HTTP-Redirect) and ECP, over one IdentityProvider."""

    def __init__(self, idp: IdentityProvider, forwarding: ForwardingWatch) -> None:
        self.idp = idp
        self.forwarding = forwarding
        self.base = idp.base_url
        self.mount_path = urlsplit(self.base).path.rstrip("/")
        self.pages = Pages("samlfed.idp", https=self.base.startswith("https://"))
        self.session_secret = _session_secret(idp.keys.directory)
        idp.ends_sessions_of_disabled = True

    def credential_mark(self, user: User) -> str:
        """Changes when the user's password or TOTP secret does: a session signed in with old credentials ends."""
        material = f"{user.password_hash}\0{user.totp_secret or ''}".encode()
        return hmac.new(self.session_secret.encode(), material, "sha256").hexdigest()[:32]

    def csrf(self, request: Request) -> str:
        token = request.session.get("csrf")
        if not token:
            token = request.session["csrf"] = secrets.token_urlsafe(24)
        return token

    def csrf_ok(self, request: Request, form: Any) -> bool:
        return tokens_match(str(form.get("csrf", "")), str(request.session.get("csrf", "")))

    def current_user(self, request: Request) -> User | None:
        """The signed-in user. The cookie alone is not enough: its generation must still be current (sign-out,
        and a disabling of the user, end it on every worker), its epoch too (an edit of idp.yaml not made by samlfed
        ends every session) and the user's credentials unchanged since it was made."""
        username = request.session.get("user")
        if not username:
            return None
        user = self.idp.config.directory.get(username)  # first: reading a changed file may end the epoch
        if user is None or user.disabled:
            return None
        generation, epoch = self.idp.session_stamp(user.username)
        if epoch is None or request.session.get("generation") != generation or request.session.get("epoch") != epoch:
            return None
        if not tokens_match(str(request.session.get("mark", "")), self.credential_mark(user)):
            return None
        return user

    def refused(self, message: str, status: int = 400) -> HTMLResponse:
        return self.pages.render("error.html", status, message=message)

    def pending_name(self, request: Request) -> str | None:
        """The name of the service provider whose request waits for this sign-in, if any."""
        pending = request.session.get("pending")
        sp = self.idp.config.service_providers.get(pending["sp"]) if pending else None
        return sp.display_name if sp else None

    def autopost(self, user: User, pending: dict[str, Any], address: str | None) -> HTMLResponse:
        sp = self.idp.config.service_providers.get(pending["sp"])
        if sp is None or pending["acs"] not in sp.acs_urls:
            return self.refused("The application is no longer configured.")
        saml_response = self.idp.issue(user, sp, pending["acs"], in_response_to=pending.get("request_id"))
        log.info(
            "issued response user=%s sp=%r acs=%r", user.username, sp.key, pending["acs"],
            extra={"action": "IdpIssue", "outcome": "issued", "user": user.username, "source_ip": address, "sp": sp.key, "acs": pending["acs"]},
        )
        return self.pages.render("autopost.html", sp_name=sp.display_name, acs_url=pending["acs"], saml_response=saml_response, relay_state=pending.get("relay"))

    def no_passive(self, request_info: AuthnRequest, relay: str | None, address: str | None) -> HTMLResponse:
        sp, acs = request_info.sp, request_info.acs_url
        saml_response = self.idp.no_passive(sp, acs, in_response_to=request_info.id)
        log.info("answered NoPassive sp=%r acs=%r", sp.key, acs, extra={"action": "IdpIssue", "outcome": "no_passive", "user": None, "source_ip": address, "sp": sp.key, "acs": acs})
        return self.pages.render("autopost.html", sp_name=sp.display_name, acs_url=acs, saml_response=saml_response, relay_state=relay)

    async def form_of(self, request: Request) -> dict[str, str]:
        try:
            return await read_form(request, max_bytes=MAX_FORM_BYTES)
        except FormRefused as exc:
            raise RequestRefused(str(exc)) from None

    async def metadata(self, _: Request) -> Response:
        return Response(self.idp.metadata(), media_type="application/samlmetadata+xml")

    async def login_form(self, request: Request) -> Response:
        return self.pages.render("login.html", base=self.base, csrf=self.csrf(request), error=None, pending=self.pending_name(request), entity_id=self.idp.entity_id)

    async def login(self, request: Request) -> Response:
        form = await self.form_of(request)
        if not self.csrf_ok(request, form):
            return self.refused("The sign-in form expired. Reload the page and try again.", 403)
        username = str(form.get("username", ""))[:128]
        address = self.forwarding.client_of(request) or "unknown"

        def again(message: str, status: int) -> Response:
            # the request waiting for this sign-in still waits: say so again, as the first page did
            return self.pages.render("login.html", status, base=self.base, csrf=self.csrf(request), error=message, pending=self.pending_name(request), entity_id=self.idp.entity_id)

        directory = self.idp.config.directory  # before the attempt is counted: a broken idp.yaml must not count it
        # Counted before the password check (given back on success): concurrent guesses past the limit are
        # refused unchecked, in every worker.
        attempt = self.idp.throttle.reserve(username, address)
        if attempt is None:
            log.info("login throttled user=%r address=%r", username, address, extra=_login("IdpLogin", "throttled", username, address))
            return again(THROTTLED, 429)
        # argon2 takes tens of milliseconds by design: in a thread, so that guesses do not stall every other request
        user = await run_in_threadpool(directory.authenticate, username, str(form.get("password", "")), str(form.get("otp", "")) or None)
        if user is None:
            self.idp.throttle.failed(attempt)
            log.info("login failed user=%r address=%r", username, address, extra=_login("IdpLogin", "failed", username, address))
            return again(GENERIC_LOGIN_ERROR, 401)
        self.idp.throttle.succeeded(attempt)
        pending = request.session.pop("pending", None)
        request.session.clear()
        generation, epoch = self.idp.session_stamp(user.username)
        request.session.update(user=user.username, generation=generation, epoch=epoch, mark=self.credential_mark(user))
        log.info("login user=%s address=%r", user.username, address, extra=_login("IdpLogin", "allowed", user.username, address, pending))
        if pending:
            return self.autopost(user, pending, address)
        return RedirectResponse(f"{self.mount_path}/", status_code=303)

    async def logout(self, request: Request) -> Response:
        form = await self.form_of(request)
        if self.csrf_ok(request, form):
            user = self.current_user(request)
            if user is not None:  # end it server-side too: a copy of the cookie must not outlive the sign-out
                self.idp.state.end_sessions(user.username)
                log.info("logout user=%s", user.username, extra={
                    "action": "IdpLogout", "outcome": "allowed", "user": user.username,
                    "source_ip": self.forwarding.client_of(request), "sp": None, "acs": None,
                })
            request.session.clear()
        return RedirectResponse(f"{self.mount_path}/login", status_code=303)

    async def portal(self, request: Request) -> Response:
        user = self.current_user(request)
        if user is None:
            return RedirectResponse(f"{self.mount_path}/login", status_code=303)
        apps = [
            {"key": sp.key, "launch": f"{self.base}/launch/{quote(sp.key, safe='')}", "display_name": sp.display_name,
             "entity_id": sp.entity_id, "roles": role_values(user, sp)}
            for sp in self.idp.config.service_providers.values()
        ]
        return self.pages.render("portal.html", base=self.base, csrf=self.csrf(request), user=user, apps=apps)

    async def launch(self, request: Request) -> Response:
        """IdP-initiated SSO: POST from the portal (CSRF-checked), so no other site can sign the user in anywhere."""
        user = self.current_user(request)
        if user is None:
            return RedirectResponse(f"{self.mount_path}/login", status_code=303)
        form = await self.form_of(request)
        if not self.csrf_ok(request, form):
            return self.refused("The page expired. Go back to the portal and try again.", 403)
        sp = self.idp.config.service_providers.get(request.path_params["sp"])
        if sp is None:
            return self.refused("No such application.", 404)
        relay = str(form.get("RelayState", ""))[:MAX_RELAY_STATE] or None
        return self.autopost(user, {"sp": sp.key, "acs": sp.acs_urls[0], "relay": relay}, self.forwarding.client_of(request))

    async def sso(self, request: Request) -> Response:
        """SP-initiated SSO, HTTP-Redirect (GET) or HTTP-POST binding."""
        try:
            if request.method == "GET":  # read as the signature check reads them: each parameter once
                params: Any = {name: unquote_plus(value) for name, value in redirect_parameters(request.url.query).items()}
                binding = "redirect"
            else:
                params = await self.form_of(request)
                binding = "post"
            saml_request = params.get("SAMLRequest")
            if not saml_request:
                raise RequestRefused("the request carries no SAMLRequest")
            relay = params.get("RelayState")
            if relay is not None and len(relay) > MAX_RELAY_STATE:
                raise RequestRefused("RelayState is too long")
            request_info: AuthnRequest = parse_authn_request(
                self.idp.config, str(saml_request), binding=binding, location=f"{self.base}/sso", raw_query=request.url.query
            )
        except RequestRefused as exc:
            log.info("AuthnRequest refused: %r", str(exc))  # %r: the reason quotes the request's own text
            return self.refused(str(exc))
        if binding == "post" and SESSION_COOKIE not in request.cookies and params.get(BOUNCED) != "1":
            # Most likely the SP's cross-site form POST, which the SameSite=Lax session cookie does not come with: a
            # signed-in user would be asked to sign in again, and the pending request's cookie would replace their
            # session. Posted again (once) from this site's own page, the request comes with the cookie, if any.
            return self.pages.render("continue.html", action=f"{self.base}/sso", saml_request=saml_request, relay_state=relay, bounced=BOUNCED)
        pending = {"sp": request_info.sp.key, "acs": request_info.acs_url, "request_id": request_info.id, "relay": relay}
        user = self.current_user(request)
        if user is None or request_info.force_authn:
            if request_info.is_passive:  # a sign-in page is just what the SP asked us not to show
                return self.no_passive(request_info, relay, self.forwarding.client_of(request))
            request.session["pending"] = pending
            return RedirectResponse(f"{self.mount_path}/login", status_code=303)
        return self.autopost(user, pending, self.forwarding.client_of(request))

    async def ecp(self, request: Request) -> Response:
        def fault(code: str, message: str, status: int, *, otp: bool = False) -> Response:
            headers = {"WWW-Authenticate": 'Basic realm="samlfed"'} if status == 401 else {}
            if otp:
                headers["X-Samlfed-OTP"] = "required"
            return Response(fault_envelope(code, message), status_code=status, media_type=SOAP_CONTENT_TYPE, headers=headers)

        username, password = _basic_credentials(request.headers.get("authorization", ""))
        if not username:  # the challenge of clients that send credentials only when asked: no guess, nothing counted
            return fault("Client", "Sign-in required: send the user name and password with HTTP Basic authentication.", 401)
        address = self.forwarding.client_of(request) or "unknown"
        config = self.idp.config  # before the attempt is counted: a broken idp.yaml must not count it
        attempt = self.idp.throttle.reserve(username, address)  # counted before the password check, as at /login
        if attempt is None:
            log.info("ECP login throttled user=%r address=%r", username, address, extra=_login("IdpEcpLogin", "throttled", username, address))
            return fault("Client", THROTTLED, 429)
        try:
            request_info = check_authn_request(
                config, request_from_envelope(await _body(request)), binding="post", location=f"{self.base}/ecp", ecp=True
            )
        except RequestRefused as exc:
            self.idp.throttle.give_back(attempt)  # no password was checked
            return fault("Client", str(exc), 400)
        user, otp_missing = (
            await run_in_threadpool(config.directory.sign_in, username, password, request.headers.get("x-samlfed-otp"))
        )
        if otp_missing:  # the password was right: ask for the second factor (not a failure)
            self.idp.throttle.give_back(attempt)
            return fault("Client", "A one-time code is required: send it in the X-Samlfed-OTP header.", 401, otp=True)
        if user is None:
            self.idp.throttle.failed(attempt)
            log.info("ECP login failed user=%r address=%r", username, address, extra=_login("IdpEcpLogin", "failed", username, address,
                                                                                                 {"sp": request_info.sp.key, "acs": request_info.acs_url}))
            return fault("Client", GENERIC_LOGIN_ERROR, 401)
        self.idp.throttle.succeeded(attempt)
        xml = self.idp.issue_xml(user, request_info.sp, request_info.acs_url, in_response_to=request_info.id)
        log.info(
            "issued ECP response user=%s sp=%r", user.username, request_info.sp.key,
            extra={"action": "IdpEcpLogin", "outcome": "issued", "user": user.username, "sp": request_info.sp.key, "source_ip": address,
                   "acs": request_info.acs_url},
        )
        # no-store: the answer carries a signed assertion, usable by whoever a shared cache hands it to (as the pages)
        return Response(response_envelope(xml, request_info.acs_url), media_type=SOAP_CONTENT_TYPE, headers={"Cache-Control": "no-store"})

    async def on_refused(self, _: Request, exc: Exception) -> Response:
        return self.refused(str(exc))

    async def on_unavailable(self, request: Request, exc: Exception) -> Response:
        """The IdP's own files failed it: a retryable 503 saying which file (no traceback; the file is the
        operator's to fix, and the IdP uses it again as soon as it can), and one WARNING line in the log saying why."""
        message = _unavailable_message(self.idp, exc)
        log.warning("%s %s failed: %s", request.method, request.url.path, message)
        if isinstance(exc, DirectoryError):  # its reasons name users and quote settings: for the operator only
            message = f"The IdP cannot use its directory file {self.idp.config_path.name}; its log says why."
        headers = {"Retry-After": RETRY_AFTER, "Cache-Control": "no-store"}
        endpoint = request.scope.get("endpoint")
        if endpoint == self.metadata:  # ==, not is: each access makes a new bound method
            return PlainTextResponse(message, status_code=503, headers=headers)
        if endpoint == self.ecp:
            return Response(fault_envelope("Server", message), status_code=503, media_type=SOAP_CONTENT_TYPE, headers=headers)
        return self.pages.render("unavailable.html", 503, headers, message=message)

    def app(self) -> Starlette:
        """The IdP's Starlette app: its routes, the session middleware and the answers to refused or unavailable requests."""
        routes = [
            Route("/metadata", self.metadata, methods=["GET"]),
            Route("/login", self.login_form, methods=["GET"]),
            Route("/login", self.login, methods=["POST"]),
            Route("/logout", self.logout, methods=["POST"]),
            Route("/", self.portal, methods=["GET"]),
            Route("/launch/{sp:path}", self.launch, methods=["POST"]),  # :path: a key may hold a "/" (sent as %2F, read decoded)
            Route("/sso", self.sso, methods=["GET", "POST"]),
            Route("/ecp", self.ecp, methods=["POST"]),
        ]
        session = Middleware(
            SessionMiddleware,
            secret_key=self.session_secret,
            session_cookie=SESSION_COOKIE,
            max_age=SESSION_SECONDS,
            path=self.mount_path or "/",
            same_site="lax",
            https_only=self.base.startswith("https://"),
        )
        handlers = {RequestRefused: self.on_refused, DirectoryError: self.on_unavailable, StateUnavailable: self.on_unavailable}
        return Starlette(routes=routes, middleware=[session], exception_handlers=handlers)


def _unavailable_message(idp: IdentityProvider, exc: Exception) -> str:
    """One line for the log (and, for the state file, the page): no traceback, no excerpt of the file (see
    directory.yaml_problem)."""
    if isinstance(exc, DirectoryError):  # raised by a request only when idp.yaml is read
        name = idp.config_path.name
        where = "" if str(exc).startswith(name) else f" {name}"  # read_yaml's reasons name the file already
        message = f"The IdP cannot use its directory file{where}: {exc}; fix it, and the IdP picks it up again."
    elif isinstance(exc, StateLocked):
        message = f"{exc}; the IdP uses it again once that process lets go of it."
    else:
        message = f"{exc}; free disk space or repair the file, and the IdP uses it again."
    return " ".join(message.split())


async def _body(request: Request) -> bytes:
    try:
        return await bounded_body(request, MAX_FORM_BYTES)
    except FormRefused as exc:
        raise RequestRefused(str(exc)) from None


def _login(action: str, outcome: str, user: str, address: str, pending: dict[str, Any] | None = None) -> dict[str, str | None]:
    """The fields of a sign-in's log line (--log-format json); `pending`: the application's request it answers."""
    return {"action": action, "outcome": outcome, "user": user, "source_ip": address,
            "sp": pending["sp"] if pending else None, "acs": pending["acs"] if pending else None}


def _basic_credentials(header: str) -> tuple[str, str]:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return "", ""
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):  # ValueError: a header holding non-ASCII text (UnicodeDecodeError is one too)
        return "", ""
    username, _, password = decoded.partition(":")
    return username[:128], password
