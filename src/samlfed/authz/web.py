"""`POST /authz/v1/authorize`: JSON in, JSON out, authenticated by an authorization key (Bearer)."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ..context import ServiceContext
from ..pages import FormRefused, bounded_body
from .decide import BadAuthzRequest, decide, parse_body
from .keys import verify_authz_key

log = logging.getLogger("samlfed.authz")
MAX_BODY = 64_000


def authz_routes(ctx: ServiceContext) -> list[BaseRoute]:
    async def authorize(request: Request) -> Response:
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        service = verify_authz_key(ctx, presented.strip()) if scheme.lower() == "bearer" else None
        if service is None:
            return JSONResponse({"error": {"code": "InvalidAuthorizationKey", "message": "A valid authorization key is required (Authorization: Bearer sfk_…)."}},
                                status_code=401, headers={"WWW-Authenticate": "Bearer"})
        try:
            answer = decide(ctx, parse_body(await bounded_body(request, MAX_BODY)))
        except (BadAuthzRequest, FormRefused) as exc:
            return JSONResponse({"error": {"code": "BadRequest", "message": str(exc)}}, status_code=400)
        log.info("authz service=%s principal=%s decision=%s", service, answer.get("principal", {}).get("arn"), answer["decision"])
        return JSONResponse(answer, headers={"Cache-Control": "no-store"})

    return [Route("/authz/v1/authorize", authorize, methods=["POST"])]
