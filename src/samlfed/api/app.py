"""The HTTP edge: the AWS query protocol on `POST /` (and GET), STS and IAM on one port, plus `/healthz` and
`/readyz`.

`QueryApi` is a bare ASGI app rather than a Starlette route: every AssumeRoleWithSAML comes through here, and
Starlette's middleware stack, Request and Response objects cost more per request than all of the protocol
parsing. Everything that is not the query endpoint goes to the Starlette app behind it.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

from anyio import CapacityLimiter, to_thread
from anyio.lowlevel import RunVar
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from ..context import ServiceContext
from ..decimal_text import decimal_at_most
from ..errors import ServiceError, service_unavailable
from ..pages import FormRefused, capped_body
from ..store import DatabaseUnavailable
from ..sts.decryption_guard import hold_until
from . import handlers
from .audit import audit_target, changes_state, record_iam_change
from .auth import Caller, Session, authenticate
from .handlers.parameters import Handler
from .iam_access import authorize_iam_call
from .outage_log import OutageLog
from .protocol import MAX_BODY_BYTES, QueryRequest, TooManyFields, TooManyParameters, form_pairs, parse_query
from .readiness import Readiness, readiness_route
from .sigv4 import HttpRequest
from .xml import render_error, render_result

log = logging.getLogger("samlfed.api")
VERSIONS = {"2011-06-15": "sts", "2010-05-08": "iam"}

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]


_Signed = tuple[Scope, str, dict[str, str], bytes]
"""What a request's signature is checked against: its ASGI scope, query string, headers and body."""

IAM_THREADS = 4
"""IAM calls running at once in a worker's threads. Fewer than the database pool's 5 connections (SQLAlchemy's
QueuePool), so that IAM calls waiting behind a lock never hold every connection: sign-ins on the event loop would
then wait for one (up to the pool's 30 s), as they would for the lock itself. Further IAM calls queue for a thread."""
_iam_thread_limit: RunVar[CapacityLimiter] = RunVar("samlfed_iam_threads")


def _iam_threads() -> CapacityLimiter:
    """This event loop's IAM_THREADS limiter (a limiter belongs to the loop that made it)."""
    try:
        return _iam_thread_limit.get()
    except LookupError:
        limiter = CapacityLimiter(IAM_THREADS)
        _iam_thread_limit.set(limiter)
        return limiter


class ClientGone(Exception):
    """The client disconnected before its request body arrived: there is no one to answer."""


def _service(query: QueryRequest) -> str:
    service = VERSIONS.get(query.version)
    if service is None and not query.version:
        service = "sts" if query.action in handlers.STS else "iam"
    if service is None:
        raise ServiceError("InvalidAction", f"Could not find operation {query.action} for version {query.version}", 400)
    return service


def _named_service(action: str, version: str) -> str | None:
    """The service a Version names, else the one an Action belongs to; None when neither says."""
    return VERSIONS.get(version) or ("iam" if action in handlers.IAM else "sts" if action in handlers.STS else None)


def _named_before_parsing(scope: Scope, error: ServiceError) -> str | None:
    """The service a request refused before its parameters were all read names where that costs little: in the
    fields read before the field limit stopped the reading, else in its query string (a body over the size cap is
    never read)."""
    if isinstance(error, TooManyParameters):
        return _named_service(error.action, error.version)
    return _named_in_query_string(scope)


def _named_in_query_string(scope: Scope) -> str | None:
    """The service a request's query string names by its Action or Version; None when it names none."""
    try:
        named = dict(form_pairs(scope["query_string"].decode("utf-8")))
    except (TooManyFields, ValueError):  # a query string that does not parse names nothing
        return None
    return _named_service(named.get("Action", ""), named.get("Version", ""))


def _named_without_body(scope: Scope) -> str:
    """The service a request names without its body (which may never have arrived): its signature's credential
    scope, else its query string, else STS, as for a request refused before its parameters were read."""
    return _signed_for(_headers(scope)) or _named_in_query_string(scope) or "sts"


def _signed_for(headers: dict[str, str]) -> str | None:
    """The service a SigV4 Authorization header's credential scope names ("…/us-east-1/iam/aws4_request"), when it
    names one of ours: what the request is for before its Action and Version are read."""
    scope = headers.get("authorization", "").partition("Credential=")[2].split(",", 1)[0].split("/")
    return scope[3] if len(scope) == 5 and scope[3] in ("iam", "sts") else None


def _headers(scope: Scope) -> dict[str, str]:
    """Header names as ASGI servers give them (lower case); a repeated header's values joined with commas, as
    SigV4 canonicalizes them."""
    headers: dict[str, str] = {}
    repeated: dict[str, list[str]] | None = None  # made only when needed: most requests repeat no header
    for name, value in scope["headers"]:
        key, text = name.decode("latin-1"), value.decode("latin-1")
        if key in headers:
            # Joined once at the end: joining at each repeat made a head of one header repeated 20,000 times cost
            # ~40 ms of quadratic copying before anything was authenticated.
            if repeated is None:
                repeated = {}
            repeated.setdefault(key, [headers[key].strip()]).append(text.strip())
        else:
            headers[key] = text
    if repeated:
        headers.update((key, ",".join(values)) for key, values in repeated.items())
    return headers


async def _chunks(receive: Receive, message: MutableMapping[str, Any] | None = None) -> AsyncIterator[bytes]:
    """The body chunks of an ASGI request, from `message` (already received) on; ClientGone if the client leaves first."""
    while True:
        if message is None:
            message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        yield message.get("body", b"")
        if not message.get("more_body", False):
            return
        message = None


def _length_allowed(length: str | None) -> bool:
    """Whether capped_body accepts this Content-Length before reading (a number, at most MAX_BODY_BYTES)."""
    return decimal_at_most(length, MAX_BODY_BYTES) is not None


async def _body(headers: dict[str, str], receive: Receive) -> bytes:
    length = headers.get("content-length")
    message = None
    if _length_allowed(length):
        # The usual request: one message holding the whole body, which is the answer as it is; capped_body's
        # async iteration and copies cost 18,000 instructions, this 10,000. Anything else goes on below.
        message = await receive()
        body = message.get("body", b"")
        if message["type"] == "http.request" and not message.get("more_body", False) and body.__class__ is bytes and len(body) <= MAX_BODY_BYTES:
            return body
    try:
        return await capped_body(_chunks(receive, message), length, MAX_BODY_BYTES)
    except FormRefused:
        raise ServiceError("ValidationError", "Request body is too large", 413) from None


def _query_string(scope: Scope) -> str:
    try:
        return scope["query_string"].decode("utf-8")
    except UnicodeDecodeError:
        raise ServiceError("MalformedQueryString", "The query string is not UTF-8", 400) from None


async def _send(send: Send, status: int, body: bytes, content_type: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode()), (b"content-type", content_type)]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _request_id() -> str:
    """A random (version 4) UUID as str(uuid.uuid4()) writes it, from the same 16 random bytes with the same bits
    set: uuid.UUID's argument checks and conversions cost two thirds of it, on every request."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # the RFC 4122 variant
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


class QueryApi:
    """`GET /` and `POST /`: parse, authenticate (when the action needs it), authorize, run, render."""

    def __init__(self, ctx: ServiceContext, fallback: AsgiApp, outages: OutageLog) -> None:
        self.ctx = ctx
        self.fallback = fallback
        self.outages = outages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != scope.get("root_path", "") + "/":
            await self.fallback(scope, receive, send)
            return
        if scope["method"] not in ("GET", "POST"):
            # Not HEAD either: every action runs on GET, so a HEAD would run one (a signed HEAD CreateRole created the
            # role) and then lose its answer. No SDK sends one; health probes have /healthz and /readyz.
            await _send(send, 405, b"Method Not Allowed", b"text/plain; charset=utf-8", [(b"allow", b"GET, POST")])
            return
        request_id = _request_id()
        try:
            payload, status = await self._answer(scope, receive, request_id)
        except ClientGone:
            return
        except asyncio.CancelledError:
            # The server's shutdown grace ended with this request unfinished (a body still arriving, say): the
            # retryable 503 every SDK knows, rather than the server's plain-text 500 once this task ends.
            payload = render_error(_named_without_body(scope), service_unavailable(), request_id)
            await _send(send, 503, payload, b"text/xml; charset=utf-8", [(b"x-amzn-requestid", request_id.encode())])
            raise
        await _send(send, status, payload, b"text/xml; charset=utf-8", [(b"x-amzn-requestid", request_id.encode())])

    async def _answer(self, scope: Scope, receive: Receive, request_id: str) -> tuple[bytes, int]:
        service = "sts"
        signed_for: str | None = None
        parsed: QueryRequest | None = None
        try:
            headers = _headers(scope)
            signed_for = _signed_for(headers)
            service = signed_for or service  # errors before the parameters are read (a body too large)
            body = await _body(headers, receive)
            query_string = _query_string(scope)
            client = scope.get("client")
            source_ip = client[0] if client else None
            if "x-forwarded-for" in headers:
                self.ctx.forwarding.saw(source_ip, headers["x-forwarded-for"])
            parsed = parse_query(body, query_string, headers.get("content-type"), source_ip=source_ip, secure_transport=scope.get("scheme") == "https")
            service = _service(parsed)
            handler = (handlers.STS if service == "sts" else handlers.IAM).get(parsed.action)
            if handler is None:
                raise ServiceError("InvalidAction", f"Could not find operation {parsed.action} for version {parsed.version}", 400)
            signed = (scope, query_string, headers, body)
            if service == "iam":
                # IAM calls read the store 1-3 times each (the signer's key, the resource's tags, the change itself),
                # and a write waits up to 5 s behind another process's lock (a CLI command, a backup): on the event
                # loop that held every request of the worker, sign-ins and health probes too. So they run in a thread,
                # for ~0.13 ms each. STS stays inline: a sign-in with warm caches makes ~0.01 store transactions, and
                # handing it to a thread cost 15-30 % of its throughput (the loop and the thread fighting over the GIL).
                result = await to_thread.run_sync(self._run, signed, parsed, service, handler, request_id, limiter=_iam_threads())
            else:
                result = self._run(signed, parsed, service, handler, request_id)
            return render_result(service, parsed.action, result, request_id), 200
        except ClientGone:
            raise
        except ServiceError as error:
            if parsed is None and signed_for is None:  # an IAM request's refusal comes in IAM's namespace
                service = _named_before_parsing(scope, error) or service
            await hold_until(error.answer_not_before)
            return render_error(service, error, request_id), error.status
        except DatabaseUnavailable as exc:  # the database's trouble, not the request's: a WARNING, not a traceback
            self.outages.failed(f"request {request_id}", exc)
            return render_error(service, service_unavailable(), request_id), 503
        except Exception:  # never a traceback to the client; the log keeps it
            log.exception("internal error in request %s", request_id)
            internal = ServiceError("InternalFailure", "The request processing has failed because of an unknown error.", 500)
            return render_error(service, internal, request_id), 500


    def _run(self, signed: _Signed, parsed: QueryRequest, service: str, handler: Handler, request_id: str) -> dict[str, Any] | None:
        """Authenticate, authorize, run and audit one call; in a worker thread for IAM (see _answer), so it must touch
        only what is safe across threads: the store (a connection per call from the engine's pool), the key ring
        (under its lock), the master key, the clock and logging. ServiceContext's lazily made caches (reads,
        role_uses) are sign-in's, on the event loop only."""
        caller = None
        if parsed.action not in handlers.UNAUTHENTICATED:  # AssumeRoleWithSAML: any signature is ignored (AWS)
            scope, query_string, headers, body = signed
            raw_path = scope.get("raw_path", b"/").decode("latin-1").split("?", 1)[0]
            caller = authenticate(self.ctx, HttpRequest(scope["method"], raw_path, query_string, headers, body), service=service)
        resource = None
        if service == "iam" and isinstance(caller, Session):
            resource = authorize_iam_call(self.ctx, caller, parsed)
        audited = service == "iam" and changes_state(parsed.action)
        if audited and resource is None:
            resource = audit_target(self.ctx, caller, parsed)  # before the change (see audit_target)
        result = handler(self.ctx, caller, parsed)
        if audited:
            self._audit(caller, parsed, request_id, resource)
        return result

    def _audit(self, caller: Caller | None, parsed: QueryRequest, request_id: str, resource: str | None) -> None:
        """The change is made: a failure to record it is logged as such, and the caller still gets the answer."""
        try:
            record_iam_change(caller, parsed, request_id, resource)
        except Exception:  # noqa: BLE001 - an audit failure must not turn a done change into an error answer
            log.exception("could not record the IAM change %s of request %s", parsed.action, request_id)


def health_routes(ctx: ServiceContext) -> list[BaseRoute]:
    """Liveness (`/healthz`, no database) and readiness (`/readyz`, one query)."""

    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok")

    return [Route("/healthz", healthz, methods=["GET"]), readiness_route(Readiness(ctx.store.ping))]


def build_app(ctx: ServiceContext, routes: list[BaseRoute] | None = None, outages: OutageLog | None = None) -> QueryApi:
    """The query API in front of a Starlette app for `/healthz`, `/readyz` and `routes` (the server adds the
    console, the authorization API and the IdP there); `outages`: the log the routes share, if they have one."""
    outages = outages or OutageLog(log)

    async def database_unavailable(request: Request, exc: Exception) -> Response:
        """A page or API route whose database statement failed (the query API answers such a failure itself)."""
        outages.failed(f"{request.method} {request.url.path}", exc)
        return PlainTextResponse("The service is temporarily unavailable. Try again in a moment.", status_code=503, headers={"Retry-After": "5"})

    fallback = Starlette(routes=[*health_routes(ctx), *(routes or [])], exception_handlers={DatabaseUnavailable: database_unavailable})
    return QueryApi(ctx, fallback, outages)
