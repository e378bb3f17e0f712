"""HTML pages and HTML forms, shared by the built-in IdP and the console.

Every page gets a fresh CSP nonce (inline styles and scripts carry it; nothing else may run), refuses framing and
caching, and is rendered by Jinja2 with autoescaping, so text from an assertion can never become markup. Pages of an
https deployment also carry HSTS.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl

import jinja2
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse

from .decimal_text import decimal_at_most

FORM_TYPE = "application/x-www-form-urlencoded"
HSTS = "max-age=31536000"
"""One year, without includeSubDomains: samlfed cannot know that every other host of its domain serves https."""


class FormRefused(ValueError):
    """The request body is not a bounded, well-formed urlencoded HTML form."""


class Pages:
    """The templates of one package (its `templates/` folder)."""

    def __init__(self, package: str, *, form_action: str | None = None, https: bool = False) -> None:
        self.env = jinja2.Environment(loader=jinja2.PackageLoader(package, "templates"), autoescape=True, undefined=jinja2.StrictUndefined)
        self.form_action = form_action
        """CSP form-action sources, when every form of the package posts to known places ('self')."""
        self.https = https
        """The public URL is https: pages send Strict-Transport-Security."""

    def render(self, name: str, status: int = 200, headers: dict[str, str] | None = None, *, form_action: str | None = None, **values: Any) -> HTMLResponse:
        """`form_action` overrides the package's form-action sources for this page."""
        nonce = secrets.token_urlsafe(16)
        html = self.env.get_template(name).render(nonce=nonce, **values)
        policy = f"default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; frame-ancestors 'none'; base-uri 'none'"
        if form_action or self.form_action:
            policy += f"; form-action {form_action or self.form_action}"
        page_headers = {
            "Content-Security-Policy": policy,
            "X-Frame-Options": "DENY",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
            **({"Strict-Transport-Security": HSTS} if self.https else {}),
            **(headers or {}),
        }
        # Text that is not Unicode (a lone surrogate from some JSON) becomes "?" rather than failing the response.
        return HTMLResponse(html.encode("utf-8", "replace"), status_code=status, headers=page_headers)


def tokens_match(presented: str, expected: str) -> bool:
    """Constant-time comparison of a submitted token with the expected one; an empty expectation never matches."""
    return bool(expected) and hmac.compare_digest(presented.encode(), expected.encode())


async def capped_body(chunks: AsyncIterator[bytes], content_length: str | None, max_bytes: int) -> bytes:
    """A request body from its chunks, refusing more than `max_bytes` (FormRefused): at once when Content-Length
    says so (or is not a number), and while reading whatever it claims (or chunked)."""
    if content_length is not None and decimal_at_most(content_length, max_bytes) is None:
        raise FormRefused("the request is too large")
    body = bytearray()
    async for chunk in chunks:
        body += chunk
        if len(body) > max_bytes:
            raise FormRefused("the request is too large")
    return bytes(body)


async def bounded_body(request: Request, max_bytes: int) -> bytes:
    """The body of a Starlette request, capped as `capped_body` says; FormRefused too when the client leaves before
    sending all of it (the refusal is never delivered, but it is an ordinary outcome, not an error with a traceback)."""
    try:
        return await capped_body(request.stream(), request.headers.get("content-length"), max_bytes)
    except ClientDisconnect:
        raise FormRefused("the client closed the connection before sending the whole request") from None


async def read_form(request: Request, *, max_bytes: int, max_fields: int = 50) -> dict[str, str]:
    """An urlencoded form body, bounded in bytes and fields (every form of samlfed is urlencoded)."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != FORM_TYPE:
        raise FormRefused("the request is not an HTML form post")
    body = await bounded_body(request, max_bytes)  # outside the try: its FormRefused (a ValueError) says why itself
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=max_fields))
    except (UnicodeDecodeError, ValueError):
        raise FormRefused("the form is not valid UTF-8 or has too many fields") from None
