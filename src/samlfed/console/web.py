"""The console's HTTP face: `/saml` (ACS and role chooser), `/console`, `/federation` and our SP metadata."""

from __future__ import annotations

import base64
import hmac
import json
import logging
import re
import secrets
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from ..api.auth import Session
from ..api.iam_access import iam_call_decisions
from ..api.protocol import QueryRequest
from ..config import Settings
from ..context import ServiceContext
from ..iam.permissions import role_policy_documents
from ..masterkey import MasterKeyError
from ..pages import FormRefused, Pages, read_form, tokens_match
from ..saml.constants import BINDING_HTTP_REDIRECT
from ..saml.errors import MetadataError
from ..saml.metadata import parse_metadata
from ..store import AlreadyRedeemed, NotFound, Redemption
from ..sts.credentials import InvalidSessionToken, OpenedSession
from ..sts.decryption_guard import hold_until
from ..timestamps import aws_timestamp
from .destinations import CONSOLE_HOME, console_destination, console_region, issuer_link
from .federation import MAX_SESSION_JSON, FederationError, forget_signin_token, get_signin_token, open_signin_token, signin_token_refused
from .handoff import CLI_RELAY, verification_code
from .sessions import ConsoleState, create_session, end_replaced_session, end_session, load_session, session_cookie_name
from .signin import (
    INVALID_RESPONSE,
    ConsoleGrant,
    SignInOffer,
    SignInRefused,
    already_used,
    make_offer,
    provider_arn_by_uuid,
    record_sign_in,
    sign_in,
    use_request_once,
)
from .sp import (
    REQUEST_LIFETIME,
    authn_request_url,
    new_request_id,
    provider_encryption_certificates,
    relay_state_admitted,
    service_provider_key,
    sp_metadata,
)

log = logging.getLogger("samlfed.console")
MAX_ACS_FORM_BYTES = 400_000
"""A 100,000-character SAMLResponse, percent-encoded, fits with room to spare."""
MAX_RELAY_STATE = 2048
ISSUER_CONTEXT = "samlfed console issuer link"
ISSUER_KEPT_SECONDS = 24 * 3600
"""How long after its session a federation sign-in's Issuer link is still offered."""
NO_STORE = {"Cache-Control": "no-store"}
"""Every answer of /federation: its tokens and sessions are one person's, and its refusals must not be cached either."""
PAGE_EXPIRED = "The page expired. Go back to the console and try again."
SIGNIN_NONCE = re.compile(r"[A-Za-z0-9_-]{43}")
"""The sign-in cookie's value: secrets.token_urlsafe(32)."""


class ConsoleRoutes:
    """The console and the federation endpoint of one service: the sign-in cookies, pages and keys its routes share."""

    def __init__(self, ctx: ServiceContext, settings: Settings) -> None:
        self.ctx = ctx
        self.settings = settings
        self.base = settings.base_url
        self.acs_url = f"{self.base}/saml"
        self.secure = self.base.startswith("https://")
        self.pages = Pages("samlfed.console", form_action="'self'", https=self.secure)
        self.csrf_key = ctx.master.derive("console chooser csrf")
        self.signing = service_provider_key(ctx) if settings.sign_authn_requests else None
        # The sign-in cookie binds an SP-initiated sign-in to the browser that started it (its nonce's digest is sealed
        # into the request ID). SameSite=Lax like the console cookie, not None: None needs Secure, which plain-http
        # deployments cannot set, and would also hand the nonce to every cross-site request. A Lax cookie is withheld
        # from the IdP's cross-site form POST, so the ACS then re-posts the form from a page of its own (same-site:
        # the cookie comes along); see acs. __Host- on https: no sibling subdomain can plant a nonce of its choosing.
        self.signin_cookie = "__Host-samlfed_signin" if self.secure else "samlfed_signin"
        self.session_cookie = session_cookie_name(self.secure)
        # A federation sign-in's Issuer is the "session expired, sign in again" link (contract §8), needed when the
        # session row is gone: it outlives the session in a cookie of its own, sealed so that no one can plant a link.
        self.issuer_cookie = "__Host-samlfed_issuer" if self.secure else "samlfed_issuer"

    def chooser_csrf(self, assertion_id: str, action: str) -> str:
        """Bound to the assertion ID and the ACS path: a chooser page only signs in with the response it was built
        from, at the endpoint (and so with the provider restriction) it was served from."""
        return hmac.new(self.csrf_key, f"{action}\0{assertion_id}".encode(), "sha256").hexdigest()[:32]

    def refused(self, exc: SignInRefused | FederationError | FormRefused, status: int | None = None) -> Response:
        if isinstance(exc, SignInRefused):
            return self.pages.render(
                "error.html", exc.status, heading="Sign-in failed",
                message=exc.message, check=exc.check, hint=exc.hint, show_logout=exc.message == INVALID_RESPONSE,
            )
        default = exc.status if isinstance(exc, FederationError) else 400
        return self.pages.render("error.html", status or default, heading="Request refused", message=str(exc), check=None, hint=None, show_logout=False)

    def start_session(
        self, state: ConsoleState, destination: str, status: int = 303, redeeming: Sequence[Redemption] = (), *, replacing: str | None,
    ) -> Response:
        """Store the session (with the uses of `redeeming`, all or nothing: AlreadyRedeemed) and set its cookie; end the
        session of `replacing` (the session cookie the request came with), whose cookie this one overwrites."""
        cookie = create_session(self.ctx, state, redeeming)
        if replacing:
            end_replaced_session(self.ctx, replacing)
        # no-store: a cached redirect would hand the next visitor of a shared cache this session's cookie.
        response = RedirectResponse(destination, status_code=status, headers={"Cache-Control": "no-store"})
        lifetime = max(state.expires_at - int(self.ctx.clock().timestamp()), 1)
        response.set_cookie(self.session_cookie, cookie, max_age=lifetime, path="/", httponly=True, samesite="lax", secure=self.secure)
        if state.issuer_link:
            sealed = base64.urlsafe_b64encode(self.ctx.master.seal(state.issuer_link.encode(), context=ISSUER_CONTEXT)).decode()
            response.set_cookie(self.issuer_cookie, sealed, max_age=lifetime + ISSUER_KEPT_SECONDS, path="/", httponly=True, samesite="lax", secure=self.secure)
        else:  # a sign-in through the IdP: an earlier broker's link would no longer be where this user signs in
            response.delete_cookie(self.issuer_cookie, path="/", httponly=True, samesite="lax", secure=self.secure)
        return response

    def issuer_of(self, request: Request) -> str | None:
        """The Issuer link of the federation sign-in this browser last made, if its cookie unseals."""
        sealed = request.cookies.get(self.issuer_cookie)
        if not sealed or len(sealed) > 4096:
            return None
        try:
            return self.ctx.master.unseal(base64.urlsafe_b64decode(sealed), context=ISSUER_CONTEXT).decode()
        except (MasterKeyError, ValueError):
            return None

    def session_ended(self, request: Request) -> Response:
        """A console page without a live session: a federation sign-in's Issuer link, else an SP-initiated sign-in."""
        issuer = self.issuer_of(request)
        if issuer is None:
            return self.start_sign_in(request)
        return self.pages.render("signin.html", 401, heading="Your console session has ended", message="Sign in again where you signed in.", link=issuer)

    def chooser(self, offer: SignInOffer, relay_state: str, *, action: str, csrf: str, auto_submit: bool) -> Response:
        accounts = offer.accounts()
        data = {
            "roles_accounts": {label: [choice.role_arn for choice in roles] for label, roles in accounts.items()},
            "RelayState": relay_state, "SAMLResponse": offer.saml_response, "name": "", "region": "", "portal": "",
            "invalid_accounts": [], "foreign_accounts": [], "problems": list(offer.problems), "policy": "",
            "refused_roles": sorted(offer.refused),  # samlfed's: listed as AWS lists them, refused when chosen (samlfed login skips them)
        }
        encoded = base64.b64encode(json.dumps(data).encode()).decode()
        return self.pages.render(
            "chooser.html", accounts=accounts, problems=offer.problems, saml_response=offer.saml_response,
            relay_state=relay_state, csrf=csrf, action=action, data=encoded, auto_submit=auto_submit and len(offer.choices) == 1 and not offer.problems,  # problems are to be read
        )

    async def acs(self, request: Request) -> Response:
        try:
            form = await read_form(request, max_bytes=MAX_ACS_FORM_BYTES, max_fields=20)
        except FormRefused as exc:
            return self.refused(exc)
        saml_response = form.get("SAMLResponse", "")
        relay_state = form.get("RelayState", "")
        if len(relay_state) > MAX_RELAY_STATE:  # refused, not shortened: a cut deep link is not the one asked for
            relay_state = ""
        uuid = request.path_params.get("uuid")
        action = "/saml" if uuid is None else f"/saml/acs/{uuid}"  # the chooser posts back where it came from
        if not saml_response:
            return self.refused(SignInRefused(INVALID_RESPONSE, hint="The post carries no SAMLResponse."))
        browser_nonce = request.cookies.get(self.signin_cookie)
        if self.settings.require_sp_initiated and browser_nonce is None and form.get("bounced") != "1":
            # Most likely the IdP's cross-site POST, which a SameSite=Lax cookie does not come with: post it again
            # from this site (once), so that the browser shows whether it started the sign-in. Nothing is checked
            # or granted here; the re-post is checked in full.
            return self.pages.render("continue.html", action=action, saml_response=saml_response, relay_state=relay_state)
        now = self.ctx.clock()
        try:
            offer = make_offer(
                self.ctx, saml_response, now, require_sp_initiated=self.settings.require_sp_initiated,
                only_provider_uuid=uuid, browser_nonce=browser_nonce, **_origin(self.ctx, request),
            )
            # A request made for a command-line sign-in carries its RelayState sealed in its ID: only that one
            # comes back with its answer, and a CLI RelayState comes back only with such an answer.
            cli = CLI_RELAY.fullmatch(relay_state)
            if not relay_state_admitted(self.ctx.master, offer.request_id, relay_state, cli=cli is not None):
                raise SignInRefused(
                    "A command-line sign-in must start at the samlfed login command.", hint="Run samlfed login --method browser again.",
                )
            if cli:
                return self.hand_to_cli(offer, int(cli.group("port")), cli.group("state"), now)
            role_arn = form.get("roleIndex")
            csrf = self.chooser_csrf(offer.assertion_id, action)
            if not role_arn:
                return self.chooser(offer, relay_state, action=action, csrf=csrf, auto_submit=self.settings.console_auto_sign_in)
            if not tokens_match(form.get("csrf", ""), csrf):
                return self.refused(SignInRefused("The role chooser expired or did not come from this site.", status=403, hint="Sign in again from your identity provider."))
            grant = sign_in(self.ctx, offer, role_arn, now)
        except SignInRefused as exc:
            await hold_until(exc.answer_not_before)
            return self.refused(exc)
        state = _granted(grant, saml_response, int(grant.verified.response.redeem_by.timestamp()), uuid)
        try:
            started = self.start_session(
                state, console_destination(relay_state, self.base) or CONSOLE_HOME, redeeming=grant.redemptions,
                replacing=request.cookies.get(self.session_cookie),
            )
        except AlreadyRedeemed as spent:  # another post of this response got its session first
            return self.refused(already_used(grant, spent.use))
        record_sign_in(self.ctx, grant)
        return started

    def hand_to_cli(self, offer: SignInOffer, port: int, state: str, now: datetime) -> Response:
        """Offer the verified response to `samlfed login` on this computer (RFC 8252-style loopback).

        Only for answers to our own requests made at /saml/cli for this very RelayState, used once. The page never
        submits by itself: anyone can make a /saml/cli link naming a port of theirs, so the user sends the response
        only after checking that the page's verification code is the one their `samlfed login` printed."""
        if offer.request_id is None or not 1024 <= port <= 65535:
            return self.refused(SignInRefused("A command-line sign-in must start at the samlfed login command.", hint="Run samlfed login --method browser again."))
        use_request_once(self.ctx, offer, now)
        target = f"http://127.0.0.1:{port}/"
        admitted = {label: [c.role_arn for c in choices if c.role_arn in offer.admitted] for label, choices in offer.accounts().items()}
        roles = {label: arns for label, arns in admitted.items() if arns}  # samlfed login's own page: the roles it may assume
        return self.pages.render(
            "handoff.html", form_action=target, target=target, port=port, code=verification_code(state),
            saml_response=offer.saml_response, state=state, roles_accounts=base64.b64encode(json.dumps(roles).encode()).decode(),
        )

    async def cli_sign_in(self, request: Request) -> Response:
        """Start a browser sign-in for `samlfed login`: SP-initiated, RelayState naming its loopback listener and
        sealed into the request's ID."""
        relay = f"samlfed-cli:{request.query_params.get('port', '')}:{request.query_params.get('state', '')}"
        match = CLI_RELAY.fullmatch(relay)
        if not match or not 1024 <= int(match.group("port")) <= 65535:
            return self.refused(FederationError("port (1024-65535) and state (16-64 URL-safe characters) are required."))
        return self.start_sign_in(request, relay_state=relay, bind_relay_state=True)

    def sign_in_target(self) -> tuple[str | None, str]:
        """The IdP's SSO URL (None: none configured) and the ACS URL the AuthnRequest asks the answer at: the console
        provider's own when it holds private keys (as on AWS: an encrypted assertion's roles cannot name the provider
        that decrypts it at /saml), else /saml."""
        if self.settings.console_provider:
            try:
                provider = self.ctx.store.get_provider(self.settings.console_provider, with_tags=False)
            except NotFound:
                log.warning("console_provider %s does not exist", self.settings.console_provider)
                return None, self.acs_url
            own = f"{self.acs_url}/acs/{provider.uuid}" if provider.private_keys else self.acs_url
            try:
                return parse_metadata(provider.metadata_document).sso_url(BINDING_HTTP_REDIRECT), own
            except MetadataError as exc:  # stored under an older, laxer parser: as if there were no such provider
                log.warning("console_provider %s: its registered metadata no longer parses (%s); update it with UpdateSAMLProvider",
                            self.settings.console_provider, exc.reason)
                return None, self.acs_url
        return (f"{self.base}/idp/sso" if self.settings.with_idp else None), self.acs_url

    async def console(self, request: Request) -> Response:
        state = load_session(self.ctx, request.cookies.get(self.session_cookie))
        if state is None:
            return self.session_ended(request)
        opened = _open(self.ctx, state)
        if opened is None:
            return self.session_ended(request)
        return self.pages.render("console.html", **_console_view(self.ctx, state, opened, request))

    def start_sign_in(self, request: Request, *, relay_state: str | None = None, bind_relay_state: bool = False) -> Response:
        """SP-initiated sign-in: an AuthnRequest to the configured IdP, answered at /saml (or the provider's own ACS URL)."""
        url, answer_at = self.sign_in_target()
        if url is None:
            return self.pages.render(
                "signin.html", 401, heading="Sign in through your identity provider",
                message="No identity provider is configured for console sign-in here. Open the AWS application in your identity provider's portal.",
                link=None,
            )
        now = self.ctx.clock()
        if relay_state is None:
            wanted = console_destination(request.url.path + (f"?{request.url.query}" if request.url.query else ""), self.base)
            relay_state = wanted if wanted and wanted != CONSOLE_HOME else None
        # One nonce per browser, kept while sign-ins start: sign-ins started in two tabs both stay valid.
        nonce = request.cookies.get(self.signin_cookie, "")
        if not SIGNIN_NONCE.fullmatch(nonce):
            nonce = secrets.token_urlsafe(32)
        request_id = new_request_id(
            self.ctx.master, now, bound_relay_state=relay_state if bind_relay_state else None, browser_nonce=nonce,
        )
        location = authn_request_url(
            url, entity_id=self.settings.sp_entity_id, acs_url=answer_at, request_id=request_id, now=now,
            relay_state=relay_state, signing=self.signing,
        )
        response = RedirectResponse(location, status_code=303, headers={"Cache-Control": "no-store"})
        response.set_cookie(self.signin_cookie, nonce, max_age=int(REQUEST_LIFETIME.total_seconds()), path="/", httponly=True,
                            samesite="lax", secure=self.secure)
        return response

    async def session_form(self, request: Request, max_bytes: int = 16_384) -> tuple[str | None, ConsoleState | None, dict[str, str]] | Response:
        """(cookie, session, form) of a console form post; a refusal page when the form is unreadable, or when
        there is a session and the form does not carry its CSRF token."""
        cookie = request.cookies.get(self.session_cookie)
        state = load_session(self.ctx, cookie)
        try:
            form = await read_form(request, max_bytes=max_bytes)
        except FormRefused as exc:
            return self.refused(exc)
        if state is not None and not tokens_match(form.get("csrf", ""), state.csrf):
            return self.refused(FormRefused(PAGE_EXPIRED), 403)
        return cookie, state, form

    async def switch(self, request: Request) -> Response:
        posted = await self.session_form(request, MAX_ACS_FORM_BYTES)  # its chooser posts the SAMLResponse back, as at the ACS
        if isinstance(posted, Response):
            return posted
        cookie, state, form = posted
        if state is None:
            return self.refused(FormRefused(PAGE_EXPIRED), 403)
        now = self.ctx.clock()
        if not state.saml_response or state.switch_until <= now.timestamp():
            return self.pages.render(
                "signin.html", heading="Sign in again to switch roles",
                message="The sign-in response of this session can no longer be used (responses are valid for 5 minutes).",
                link=CONSOLE_HOME if state.signed_in_via == "saml" else state.issuer_link,
            )
        try:
            offer = make_offer(
                self.ctx, state.saml_response, now, require_sp_initiated=self.settings.require_sp_initiated, resumed=True,
                only_provider_uuid=state.provider_uuid, **_origin(self.ctx, request),
            )
            role_arn = form.get("roleIndex")
            if not role_arn:
                return self.chooser(offer, "", action="/console/switch", csrf=state.csrf, auto_submit=False)
            grant = sign_in(self.ctx, offer, role_arn, now, resumed=True)
        except SignInRefused as exc:
            await hold_until(exc.answer_not_before)
            return self.refused(exc)
        try:
            started = self.start_session(
                _granted(grant, state.saml_response, state.switch_until, state.provider_uuid), CONSOLE_HOME, redeeming=grant.redemptions,
                replacing=cookie,
            )
        except AlreadyRedeemed as spent:  # the current session stays
            return self.refused(already_used(grant, spent.use))
        record_sign_in(self.ctx, grant)
        return started

    async def sign_out_page(self, request: Request) -> Response:
        cookie = request.cookies.get(self.session_cookie)
        state = load_session(self.ctx, cookie)
        if state is None:
            return self.signed_out(cookie, None)
        return self.pages.render("signout.html", csrf=state.csrf)

    def signed_out(self, cookie: str | None, issuer_link: str | None) -> Response:
        if cookie is None:
            # No session cookie came: nothing to end. Most likely another site's form, which a SameSite=Lax cookie does
            # not come with: deleting the cookie from here would sign the user out of a session that stays valid.
            return self.pages.render("signin.html", heading="You are not signed in", message="This browser sent no console session.", link=CONSOLE_HOME)
        response = self.pages.render(
            "signin.html", heading="You have signed out", message="Your console session has ended on this service.",
            link=issuer_link or CONSOLE_HOME,
        )
        response.delete_cookie(self.session_cookie, path="/", httponly=True, samesite="lax", secure=self.secure)
        response.delete_cookie(self.issuer_cookie, path="/", httponly=True, samesite="lax", secure=self.secure)
        return response

    async def sign_out(self, request: Request) -> Response:
        posted = await self.session_form(request)
        if isinstance(posted, Response):
            return posted
        cookie, state, _ = posted
        if state is not None:
            end_session(self.ctx, cookie)
        return self.signed_out(cookie, state.issuer_link if state else None)

    async def federation(self, request: Request) -> Response:
        if request.method == "HEAD":  # link checkers and previews send HEAD: it must not burn a single-use token
            return Response(status_code=405, headers={"Allow": "GET, POST", **NO_STORE})
        if request.method == "POST":
            try:
                params: dict[str, str] = await read_form(request, max_bytes=MAX_SESSION_JSON + 4096)  # room for the other fields and the encoding
            except FormRefused as exc:
                return PlainTextResponse(str(exc), status_code=400, headers=NO_STORE)
        else:
            params = dict(request.query_params)
        action = params.get("Action", "")
        now = self.ctx.clock()
        if action == "getSigninToken":
            try:
                token = get_signin_token(self.ctx, params.get("Session", ""), params.get("SessionDuration"), now)
            except FederationError as exc:
                return PlainTextResponse(exc.message, status_code=exc.status, headers=NO_STORE)
            return JSONResponse({"SigninToken": token}, headers=NO_STORE)
        if action == "login":
            destination = console_destination(params.get("Destination"), self.base)
            if destination is None:
                return self.refused(FederationError("The Destination is missing or is not a console page of this service."))
            try:
                grant = open_signin_token(self.ctx, params.get("SigninToken", ""), now)
            except FederationError as exc:
                return self.refused(exc)
            state = ConsoleState.new(
                access_key_id=grant.access_key_id, session_token=grant.session_token, expires_at=grant.console_expires_at,
                name_id=grant.claims.saml.get("saml:sub"), signed_in_via="federation",
                issuer_link=issuer_link(params.get("Issuer", "")),
            )
            try:
                started = self.start_session(state, destination, status=302, redeeming=(grant.use,), replacing=request.cookies.get(self.session_cookie))
            except AlreadyRedeemed:  # another login with this token got its session first
                return self.refused(signin_token_refused())
            forget_signin_token(self.ctx, grant)
            return started
        return PlainTextResponse("Action must be getSigninToken or login.", status_code=400, headers=NO_STORE)

    async def metadata(self, _: Request) -> Response:
        return Response(sp_metadata(self.settings.sp_entity_id, self.acs_url, self.signing), media_type="application/samlmetadata+xml")

    async def provider_metadata(self, request: Request) -> Response:
        """A provider's own SP metadata, as AWS serves it for providers with encryption (contract §6.4, §9): the ACS
        URL that names the provider and the certificates of its uploaded private keys, for IdPs that import SP
        metadata. The UUID is no secret to guard (the IdP admin is given this URL); unknown ones are 404."""
        arn = provider_arn_by_uuid(self.ctx, request.path_params["uuid"])
        try:
            provider = self.ctx.reads.provider(arn) if arn is not None else None
        except NotFound:  # deleted since
            provider = None
        if provider is None:
            return PlainTextResponse("No SAML provider has this UUID.", status_code=404)
        certificates = provider_encryption_certificates(provider, self.ctx.master)
        document = sp_metadata(self.settings.sp_entity_id, f"{self.acs_url}/acs/{provider.uuid}", self.signing, certificates)
        return Response(document, media_type="application/samlmetadata+xml")

    def routes(self) -> list[BaseRoute]:
        """Sign-in (/saml), the console, switching roles, signing out, the federation endpoint and the SP metadata."""
        return [
            Route("/saml", self.acs, methods=["POST"]),
            Route("/saml/acs/{uuid}", self.acs, methods=["POST"]),
            Route("/saml/metadata", self.metadata, methods=["GET"]),
            Route("/saml/cli", self.cli_sign_in, methods=["GET"]),
            Route("/static/saml-metadata.xml", self.metadata, methods=["GET"]),
            Route("/static/saml/{uuid}/saml-metadata.xml", self.provider_metadata, methods=["GET"]),
            Route("/console", self.console, methods=["GET"]),
            Route("/console/switch", self.switch, methods=["POST"]),
            Route("/console/signout", self.sign_out_page, methods=["GET"]),
            Route("/console/signout", self.sign_out, methods=["POST"]),
            Route("/federation", self.federation, methods=["GET", "POST"]),
        ]


def _origin(ctx: ServiceContext, request: Request) -> dict[str, Any]:
    """The browser's aws:SourceIp and aws:SecureTransport (after the trusted proxies, which uvicorn applies)."""
    return {"source_ip": ctx.forwarding.client_of(request), "secure_transport": request.url.scheme == "https"}


def _granted(grant: ConsoleGrant, saml_response: str, switch_until: int, provider_uuid: str | None) -> ConsoleState:
    """The console session for a sign-in; the response (and the provider its ACS path named) is kept so that the
    user can switch roles with it."""
    return ConsoleState.new(
        access_key_id=grant.credentials.access_key_id, session_token=grant.credentials.session_token,
        expires_at=grant.console_expires_at, name_id=grant.verified.response.name_id,
        saml_response=saml_response, switch_until=switch_until, provider_uuid=provider_uuid,
    )


def _open(ctx: ServiceContext, state: ConsoleState) -> OpenedSession | None:
    try:
        return ctx.open_session(state.access_key_id, state.session_token)
    except InvalidSessionToken:
        return None


def _console_view(ctx: ServiceContext, state: ConsoleState, opened: OpenedSession, request: Request) -> dict[str, Any]:
    claims = opened.claims
    now = int(ctx.clock().timestamp())
    role_name = claims.role_arn.rsplit("/", 1)[-1]
    try:
        alias = ctx.store.get_account(claims.account_id).alias
    except NotFound:
        alias = None
    credentials_live = claims.expires_at > now
    # From a RelayState or Destination deep link, which keep only a region's name; anyone can link to /console with
    # any other text, which must not show on the page as the region.
    region = console_region(request.query_params.get("region"))
    return {
        "csrf": state.csrf,
        "role_name": role_name,
        "session_name": claims.session_name,
        "account_label": f"{alias} ({claims.account_id})" if alias else claims.account_id,
        "assumed_role_arn": claims.assumed_role_arn,
        "name_id": None if state.name_id is None else _visible(state.name_id, keep=""),  # the IdP's free text
        "source_identity": claims.source_identity,
        "region": region,
        "expires_at": state.expires_at,
        "ends_iso": _iso(state.expires_at),
        "time_left": _duration_text(state.expires_at - now),
        "credentials_iso": _iso(claims.expires_at),
        "tags": claims.tags,
        "transitive": set(claims.transitive_tag_keys),
        **_readable_role_policies(ctx, Session(claims, state.access_key_id, IAM_REGION), role_name, _origin(ctx, request)),
        "credentials": _credential_blocks(state.access_key_id, opened.secret_access_key, state.session_token, claims.expiration) if credentials_live else [],
        "can_switch": bool(state.saml_response) and state.switch_until > now,
    }


IAM_VERSION = "2010-05-08"
IAM_REGION = "us-east-1"
"""The region of IAM calls (a global service, signed for us-east-1): the console's reads are judged as such calls."""


def _readable_role_policies(ctx: ServiceContext, session: Session, role_name: str, origin: dict[str, Any]) -> dict[str, Any]:
    """The session's role's policies as the session may see them over the IAM API: the inline ones listed only with
    iam:ListRolePolicies and the managed ones with iam:ListAttachedRolePolicies (`unlisted`: the actions refused),
    each document shown only with iam:GetRolePolicy or iam:GetPolicyVersion. A role another account lets one assume
    must not show that account's policies to a session its policies deny them."""
    try:
        documents = role_policy_documents(ctx, session.claims.account_id, role_name, session.claims.role_id)
    except NotFound:  # the role was deleted (or deleted and created again) after sign-in
        return {"policies": [], "unlisted": []}
    lists = {kind: QueryRequest(action, IAM_VERSION, {"RoleName": role_name}, **origin)
             for kind, action in (("inline", "ListRolePolicies"), ("managed", "ListAttachedRolePolicies"))}
    reads = [
        QueryRequest("GetRolePolicy", IAM_VERSION, {"RoleName": role_name, "PolicyName": policy_id}, **origin) if kind == "role"
        else QueryRequest("GetPolicyVersion", IAM_VERSION, {"PolicyArn": policy_id}, **origin)
        for policy_id, kind, _ in documents
    ]
    decisions = [decision.decision == "allowed" for decision, _ in iam_call_decisions(ctx, session, [*lists.values(), *reads])]
    listed = dict(zip(lists, decisions, strict=False))
    shown = [
        {
            "name": policy_id.rsplit("/", 1)[-1], "kind": "inline policy" if kind == "role" else f"managed policy {policy_id}",
            "document": _pretty(text) if readable else None, "needs": f"iam:{read.action}",
        }
        for (policy_id, kind, text), read, readable in zip(documents, reads, decisions[len(lists):], strict=True)
        if listed["inline" if kind == "role" else "managed"]
    ]
    return {"policies": shown, "unlisted": [f"iam:{lists[kind].action}" for kind, allowed in listed.items() if not allowed]}


def _pretty(document: str) -> str:
    """The policy laid out for reading, its letters as written ("Équipe", not "\\u00c9quipe"; the page escapes markup)
    but its invisible characters (controls, bidirectional overrides, zero-width ones) as \\u escapes: a condition
    value must not show as something it is not."""
    try:
        laid_out = json.dumps(json.loads(document), indent=2, ensure_ascii=False)
    except ValueError:
        laid_out = document
    return _visible(laid_out, keep="\n")


def _visible(text: str, *, keep: str) -> str:
    """`text` with its invisible characters (controls, bidirectional overrides, zero-width ones), but those in
    `keep`, as \\u escapes: a value must not show as something it is not ("admin\\u202e…" read backwards)."""
    return "".join(f"\\u{ord(ch):04x}" if unicodedata.category(ch) in ("Cc", "Cf") and ch not in keep else ch for ch in text)


def _credential_blocks(access_key_id: str, secret: str, token: str, expiration: datetime) -> list[dict[str, str]]:
    return [
        {"id": "shell", "title": "Bash / zsh", "text": f"export AWS_ACCESS_KEY_ID={access_key_id}\nexport AWS_SECRET_ACCESS_KEY={secret}\nexport AWS_SESSION_TOKEN={token}"},
        {"id": "powershell", "title": "PowerShell", "text": f'$Env:AWS_ACCESS_KEY_ID="{access_key_id}"\n$Env:AWS_SECRET_ACCESS_KEY="{secret}"\n$Env:AWS_SESSION_TOKEN="{token}"'},
        {"id": "file", "title": "~/.aws/credentials", "text": (
            f"[samlfed]\naws_access_key_id = {access_key_id}\naws_secret_access_key = {secret}\naws_session_token = {token}\n"
            f"# expires {expiration.strftime('%Y-%m-%dT%H:%M:%SZ')}"
        )},
    ]


def _iso(seconds: int) -> str:
    return aws_timestamp(datetime.fromtimestamp(seconds, UTC))


def _duration_text(seconds: int) -> str:
    seconds = max(seconds, 0)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
