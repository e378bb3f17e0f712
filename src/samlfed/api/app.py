"""The HTTP edge: the AWS query protocol on `POST /` (and GET), STS and IAM on one port, plus `/healthz`."""

from __future__ import annotations

import logging
import uuid

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from ..context import ServiceContext
from ..errors import ServiceError
from ..pages import FormRefused, bounded_body
from . import handlers
from .auth import Session, authenticate
from .iam_access import authorize_iam_call
from .protocol import MAX_BODY_BYTES, QueryRequest, parse_query
from .sigv4 import HttpRequest
from .xml import render_error, render_result

log = logging.getLogger("samlfed.api")
VERSIONS = {"2011-06-15": "sts", "2010-05-08": "iam"}


def _service(query: QueryRequest) -> str:
    service = VERSIONS.get(query.version)
    if service is None and not query.version:
        service = "sts" if query.action in handlers.STS else "iam"
    if service is None:
        raise ServiceError("InvalidAction", f"Could not find operation {query.action} for version {query.version}", 400)
    return service


async def _body(request: Request) -> bytes:
    try:
        return await bounded_body(request, MAX_BODY_BYTES)
    except FormRefused:
        raise ServiceError("ValidationError", "Request body is too large", 413) from None


def _query_string(request: Request) -> str:
    """The raw query string (request.url would parse the whole URL for it)."""
    try:
        return request.scope["query_string"].decode("utf-8")
    except UnicodeDecodeError:
        raise ServiceError("MalformedQueryString", "The query string is not UTF-8", 400) from None


def _call(ctx: ServiceContext, service: str, handler: handlers.Handler, http: HttpRequest | None, parsed: QueryRequest, request: Request):  # type: ignore[no-untyped-def]
    """Authenticate (when the action needs it), authorize a session's IAM calls, and run the operation."""
    caller = authenticate(ctx, http) if http is not None else None
    if service == "iam" and isinstance(caller, Session):
        source_ip = request.client.host if request.client else None
        authorize_iam_call(ctx, caller, parsed, source_ip=source_ip, secure_transport=request.scope.get("scheme") == "https")
    return handler(ctx, caller, parsed)


def api_routes(ctx: ServiceContext) -> list[Route]:
    """`POST /` (and GET) and `/healthz`: exact paths, so the server can list them first among its routes."""

    async def query(request: Request) -> Response:
        request_id = str(uuid.uuid4())
        service = "sts"
        try:
            body = await _body(request)
            query_string = _query_string(request)
            parsed = parse_query(body, query_string, request.headers.get("content-type"))
            service = _service(parsed)
            handler = (handlers.STS if service == "sts" else handlers.IAM).get(parsed.action)
            if handler is None:
                raise ServiceError("InvalidAction", f"Could not find operation {parsed.action} for version {parsed.version}", 400)
            http = None
            if parsed.action not in handlers.UNAUTHENTICATED:  # AssumeRoleWithSAML: any signature is ignored (AWS)
                raw_path = request.scope.get("raw_path", b"/").decode("latin-1").split("?", 1)[0]
                http = HttpRequest(request.method, raw_path, query_string, {k.lower(): v for k, v in request.headers.items()}, body)
            # Inline, not in a worker thread: the work is CPU-bound (~1 ms), and handing it to a thread made the
            # event loop and the thread fight over the GIL (measured: 248 → 507 req/s on one worker). Each
            # worker process serves one request at a time either way; add workers for parallelism.
            result = _call(ctx, service, handler, http, parsed, request)
            payload, status = render_result(service, parsed.action, result, request_id), 200
        except ServiceError as error:
            payload, status = render_error(service, error, request_id), error.status
        except Exception:  # never a traceback to the client; the log keeps it
            log.exception("internal error in request %s", request_id)
            error = ServiceError("InternalFailure", "The request processing has failed because of an unknown error.", 500)
            payload, status = render_error(service, error, request_id), 500
        return Response(payload, status_code=status, media_type="text/xml", headers={"x-amzn-RequestId": request_id})

    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok")

    return [Route("/", query, methods=["GET", "POST"]), Route("/healthz", healthz, methods=["GET"])]


def build_app(ctx: ServiceContext) -> Starlette:
    """The API alone (the server adds the console, the authorization API and the IdP beside it)."""
    return Starlette(routes=api_routes(ctx))
