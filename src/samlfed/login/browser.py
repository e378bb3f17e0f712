"""`--method browser`: the user signs in in their own browser; samlfed hands the response to a one-shot listener
on 127.0.0.1 (the loopback pattern of RFC 8252), which accepts it only with the state value it made. The browser
sends it only when the user presses Send after comparing the page's verification code with the one printed here."""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import threading
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qsl, urlencode

from ..console.handoff import verification_code
from ..jsoninput import parse_json

MAX_BODY = 1_000_000
READ_TIMEOUT = 10
"""Seconds a connection may take to send its request; a browser sends the hand-off form at once."""
_DONE_PAGE = (b"<!doctype html><meta charset=utf-8><title>samlfed login</title>"
              b"<p>Signed in. You can close this window and return to the terminal.</p>")


class BrowserLoginError(Exception):
    pass


class _QuietServer(HTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """Any local program can connect: its broken request or dropped connection prints no traceback into the
        user's terminal (the default prints one), and the listener goes on waiting."""


@dataclass(frozen=True)
class BrowserResult:
    saml_response: str
    roles_accounts: dict[str, list[str]] | None


def browser_login(endpoint: str, *, open_browser: bool, tell: Callable[[str], None], timeout: float = 300) -> BrowserResult:
    """Open `endpoint`'s CLI sign-in page and wait (at most `timeout` seconds) for the response it hands back."""
    state = secrets.token_urlsafe(24)
    received: list[BrowserResult] = []
    arrived = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        timeout = READ_TIMEOUT  # the listener serves one connection at a time: a stalled one must not hold it

        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            declared = self.headers.get("Content-Length", "")  # any local program can connect: it may be anything
            length = int(declared) if declared.isascii() and declared.isdigit() else 0
            if arrived.is_set() or not 0 < length <= MAX_BODY:
                self._answer(400, b"unexpected request")
                return
            form = dict(parse_qsl(self.rfile.read(length).decode("utf-8", "replace"), max_num_fields=10))
            if not hmac.compare_digest(form.get("state", "").encode(), state.encode()) or not form.get("SAMLResponse"):
                self._answer(400, b"this sign-in was not started by this samlfed login")
                return
            received.append(BrowserResult(form["SAMLResponse"], _roles(form.get("RolesAccounts"))))
            arrived.set()
            self._answer(200, _DONE_PAGE)

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:  # the request line would carry nothing useful; stay quiet
            pass

    server = _QuietServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"{endpoint.rstrip('/')}/saml/cli?" + urlencode({"port": server.server_address[1], "state": state})
        tell(f"Sign in in your browser: {url}")
        tell(f"Check that your browser shows the code {verification_code(state)}, then press Send.")
        if open_browser and not webbrowser.open(url):
            tell("(no browser could be opened: open the URL above yourself)")
        if not arrived.wait(timeout):
            raise BrowserLoginError(f"no sign-in arrived within {int(timeout)} seconds")
        return received[0]
    finally:
        server.shutdown()
        server.server_close()


def _roles(encoded: str | None) -> dict[str, list[str]] | None:
    if not encoded:
        return None
    try:
        roles = parse_json(base64.b64decode(encoded))
    except (binascii.Error, ValueError):
        return None
    return roles if isinstance(roles, dict) else None
