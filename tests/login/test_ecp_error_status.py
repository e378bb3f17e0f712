"""An IdP that cannot issue an assertion may answer the ECP request with a samlp:Response whose Status says why
(RequestDenied, NoAuthnContext…; SAML Core §3.2.2.2) instead of a SOAP fault. The client passed it on as if it were a
sign-in, and login said "the SAML response grants no roles (no usable Role attribute)", which sent the user to the
IdP's attribute rules; it now says the IdP refused the sign-in, with the status and the IdP's message."""

from __future__ import annotations

from pathlib import Path

import pytest
from login_setup import samlfed, write_profile
from lxml import etree
from servers import app_in_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from samlfed.idp.ecp import request_from_envelope, response_envelope
from samlfed.saml import constants as c

ACS = "https://sts.example/saml"
"""Where the profile below asks the response to go (its endpoint's /saml)."""


def _refusal(in_response_to: str, message: str | None) -> bytes:
    response = etree.Element(c.qname(c.NS_PROTOCOL, "Response"), {"ID": "_r", "Version": "2.0", "IssueInstant": "2026-01-01T00:00:00Z",
                                                                  "InResponseTo": in_response_to, "Destination": ACS},
                             nsmap={"samlp": c.NS_PROTOCOL})
    status = etree.SubElement(response, c.STATUS)
    top = etree.SubElement(status, c.STATUS_CODE, {"Value": "urn:oasis:names:tc:SAML:2.0:status:Responder"})
    etree.SubElement(top, c.STATUS_CODE, {"Value": "urn:oasis:names:tc:SAML:2.0:status:RequestDenied"})
    if message is not None:
        etree.SubElement(status, c.STATUS_MESSAGE).text = message
    return etree.tostring(response)


async def _healthz(_: Request) -> Response:
    return PlainTextResponse("ok")


@pytest.mark.parametrize(("message", "said"), [
    ("alice may not use this service", "alice may not use this service (Responder, RequestDenied)"),
    (None, "the identity provider issued no assertion (Responder, RequestDenied)"),
])
def test_an_error_status_from_the_idp_is_a_refused_sign_in(tmp_path: Path, message: str | None, said: str) -> None:
    async def ecp(request: Request) -> Response:
        request_id = request_from_envelope(await request.body()).get("ID")
        return Response(response_envelope(_refusal(request_id, message), ACS), media_type="text/xml; charset=utf-8")

    app = Starlette(routes=[Route("/healthz", _healthz), Route("/ecp", ecp, methods=["POST"])])
    with app_in_thread(app) as idp:
        write_profile(tmp_path, "https://sts.example", ecp_url=f"{idp}/ecp", username="alice")
        done = samlfed(tmp_path, "login", "--profile", "demo", "--password-stdin", stdin="pw\n")
    assert done.returncode == 1 and done.stdout == "", done.stderr
    assert done.stderr == f"samlfed: the identity provider refused the sign-in: {said}\n"
