"""`--method browser`: the user signs in in their own browser; samlfed hands the response to a one-shot listener
on 127.0.0.1 (the loopback pattern of RFC 8252), which accepts it only with the state value it made. The browser
sends it only when the user presses Send after comparing the page's verification code with the one printed here.

The state is never on a command line (a browser's argv is readable by every local user in /proc/PID/cmdline): the
browser is opened on the listener's own /start, which redirects it once to samlfed with the state. A second fetch of
/start means someone else opened the link too, and ends the login rather than guess which of the two is the user."""

from __future__ import annotations

import binascii
import contextlib
import hmac
import secrets
import socket
import threading
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode

from ..console.handoff import verification_code
from ..decimal_text import decimal_at_most
from ..jsoninput import parse_json
from ..saml import constants as c
from ..saml.b64 import strict_b64decode
from ..saml.xmlparse import XmlRejected, parse_xml

MAX_BODY = 1_000_000
READ_TIMEOUT = 10
"""Seconds a connection may take to send its request; a browser sends the hand-off form at once."""
_DONE_PAGE = (b"<!doctype html><meta charset=utf-8><title>samlfed login</title>"
              b"<p>Signed in. You can close this window and return to the terminal.</p>")
_OPENED_TWICE = ("the sign-in link was opened a second time (someone else may have opened it), so no sign-in is accepted; "
                 "run samlfed login again")


class BrowserLoginError(Exception):
    pass


class _QuietServer(HTTPServer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lock = threading.Lock()
        self._serving: socket.socket | None = None
        self._closing = False

    def handle_error(self, request: object, client_address: object) -> None:
        """Any local program can connect: its broken request or dropped connection prints no traceback into the
        user's terminal (the default prints one), and the listener goes on waiting."""

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._lock:
            if self._closing:
                self.shutdown_request(request)
                return
            self._serving = request
        try:
            super().process_request(request, client_address)
        finally:
            with self._lock:
                self._serving = None

    def cut(self) -> None:
        """Serve no more: READ_TIMEOUT bounds each read, not a connection, so one sending a byte every few seconds
        would hold the thread that shutdown() waits for. Its blocked read ends at once; a later connection is closed."""
        with self._lock:
            self._closing = True
            if self._serving is not None:
                with contextlib.suppress(OSError):
                    self._serving.shutdown(socket.SHUT_RDWR)


@dataclass(frozen=True)
class BrowserResult:
    saml_response: str
    roles_accounts: dict[str, list[str]] | None


def browser_login(endpoint: str, *, open_browser: bool, tell: Callable[[str], None], timeout: float = 300) -> BrowserResult:
    """Open `endpoint`'s CLI sign-in page and wait (at most `timeout` seconds) for the response it hands back."""
    state = secrets.token_urlsafe(24)
    received: list[BrowserResult] = []
    aborted: list[str] = []
    arrived = threading.Event()  # a response, or the end of this login (aborted)
    redirect: list[str] = []  # the sign-in URL with the state, known once the port is
    started = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        timeout = READ_TIMEOUT  # the listener serves one connection at a time: a stalled one must not hold it

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            """/start: the redirect carrying the state, served once. One connection is handled at a time, so two
            fetches cannot both be the first."""
            if self.path != "/start" or arrived.is_set():
                self._answer(404, b"not found")
                return
            if started.is_set():  # someone else has, or will have, the state: neither of the two may finish
                aborted.append(_OPENED_TWICE)
                arrived.set()
                self._answer(409, b"This sign-in link was already opened; samlfed login was stopped. Run it again.")
                return
            started.set()
            self.send_response(303)
            self.send_header("Location", redirect[0])
            self.send_header("Cache-Control", "no-store")  # a cached redirect would replay the state
            self.send_header("Referrer-Policy", "no-referrer")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            declared = self.headers.get("Content-Length", "")  # any local program can connect: it may be anything
            length = decimal_at_most(declared, MAX_BODY)
            if arrived.is_set() or not length:
                self._answer(400, b"unexpected request")
                return
            form = dict(parse_qsl(self.rfile.read(length).decode("utf-8", "replace"), max_num_fields=10))
            if not hmac.compare_digest(form.get("state", "").encode(), state.encode()) or not form.get("SAMLResponse"):
                self._answer(400, b"this sign-in was not started by this samlfed login")
                return
            if not _answers_a_request(form["SAMLResponse"]):  # IdP-initiated: it cannot answer this login's request
                self._answer(400, b"this response answers no sign-in request")
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
    port = server.server_address[1]
    redirect.append(f"{endpoint.rstrip('/')}/saml/cli?" + urlencode({"port": port, "state": state}))  # before any fetch
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{port}/start"  # no secret: it goes on the browser's command line
        tell(f"Sign in in your browser: {url}")
        tell(f"Check that your browser shows the code {verification_code(state)}, then press Send.")
        if open_browser and not webbrowser.open(url):
            tell("(no browser could be opened: open the URL above yourself)")
        if not arrived.wait(timeout):
            server.cut()  # not on the other paths: the handler that set `arrived` is still writing the browser's page
            raise BrowserLoginError(f"no sign-in arrived within {int(timeout)} seconds")
        if aborted:
            raise BrowserLoginError(aborted[0])
        return received[0]
    finally:
        server.shutdown()
        server.server_close()


def _roles(encoded: str | None) -> dict[str, list[str]] | None:
    if not encoded:
        return None
    try:
        roles = parse_json(strict_b64decode(encoded))
    except (binascii.Error, ValueError):
        return None
    return roles if isinstance(roles, dict) else None


def _answers_a_request(saml_response: str) -> bool:
    """Whether the response is a samlp:Response naming the request it answers (InResponseTo). The server checked
    that it answers this listener's request; this refuses an unsolicited one whatever reached the port."""
    try:
        root = parse_xml(strict_b64decode(saml_response))
    except (binascii.Error, ValueError, XmlRejected):
        return False
    return root.tag == f"{{{c.NS_PROTOCOL}}}Response" and bool(root.get("InResponseTo"))
