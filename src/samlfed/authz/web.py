"""`POST /authz/v1/authorize`: JSON in, JSON out, authenticated by an authorization key (Bearer)."""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ..api.outage_log import OutageLog
from ..context import ServiceContext
from ..errors import service_unavailable
from ..pages import FormRefused, bounded_body
from ..store import DatabaseUnavailable
from .decide import BadAuthzRequest, decide, parse_body
from .keys import verify_authz_key

log = logging.getLogger("samlfed.authz")
MAX_BODY = 64_000


class AsciiJSONResponse(JSONResponse):
    """JSON escaped to ASCII: any text the body or a message carries (even a lone surrogate) encodes, so an
    answer can never fail to render."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode("ascii")


def authz_routes(ctx: ServiceContext, outages: OutageLog) -> list[BaseRoute]:
    """`outages`: the process's log of requests an unavailable database failed (gateways call once per request)."""

    async def authorize(request: Request) -> Response:
        try:
            return await answer(request)
        except DatabaseUnavailable as exc:  # temporary: the caller may retry, and must not read it as a decision
            outages.failed("POST /authz/v1/authorize", exc)
            error = service_unavailable()
            return AsciiJSONResponse({"error": {"code": error.code, "message": error.message}}, status_code=503, headers={"Retry-After": "5"})

    async def answer(request: Request) -> Response:
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        service = verify_authz_key(ctx, presented.strip()) if scheme.lower() == "bearer" else None
        if service is None:
            return AsciiJSONResponse({"error": {"code": "InvalidAuthorizationKey", "message": "A valid authorization key is required (Authorization: Bearer sfk_…)."}},
                                     status_code=401, headers={"WWW-Authenticate": "Bearer"})
        try:
            decision = decide(ctx, parse_body(await bounded_body(request, MAX_BODY)))
        except (BadAuthzRequest, FormRefused) as exc:
            return AsciiJSONResponse({"error": {"code": "BadRequest", "message": str(exc)}}, status_code=400)
        # %r: the principal ARN is the caller's text; repr keeps it on one line
        principal = decision.get("principal", {}).get("arn")
        log.info(
            "authz service=%r principal=%r decision=%s", service, principal, decision["decision"],
            extra={"action": "Authorize", "outcome": decision["decision"], "service": service, "principal": principal, "decision": decision["decision"]},
        )
        return AsciiJSONResponse(decision, headers={"Cache-Control": "no-store"})

    return [Route("/authz/v1/authorize", authorize, methods=["POST"])]
