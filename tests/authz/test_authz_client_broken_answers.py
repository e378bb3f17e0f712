"""The client's contract (docs/authorization-api.md, its own docstring) is an AuthorizationError whenever samlfed cannot
answer, and the example gateway catches exactly that to fail closed with a 503. A peer that breaks HTTP itself
escaped it: an answer cut short before its Content-Length (samlfed or a proxy dying mid-answer) raised
http.client.IncompleteRead, and a reply that is no HTTP at all (a wrong port, a non-HTTP service) raised
http.client.BadStatusLine; both are http.client.HTTPException, which is neither OSError nor URLError. A gateway then
failed with its own 500 and a traceback instead of its 503. So did a refusal (401, 403…) whose body broke off while
it was read for the error's message. All are AuthorizationErrors now."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler

import pytest
from servers import handler_in_thread

from samlfed.authz.client import AuthorizationClient, AuthorizationError


def _cut_short(status: int, start: bytes) -> type[BaseHTTPRequestHandler]:
    """A handler answering `status` with a Content-Length longer than the `start` of a body it sends, then closing."""

    class CutShort(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            self.rfile.read(int(self.headers.get("content-length", "0")))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(start)
            self.close_connection = True

        def log_message(self, *args: object) -> None:
            pass

    return CutShort


class _NotHttp(BaseHTTPRequestHandler):
    """Something that answers, but not in HTTP."""

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("content-length", "0")))
        self.wfile.write(b"SSH-2.0-OpenSSH_9.6\r\n")
        self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


def _ask(url: str) -> None:
    AuthorizationClient(url, "sfk_0123456789abcdef_secret", timeout=5).authorize(
        "GET", "/b/k", "", {"host": "s3.example"}, None, action="s3:GetObject", resource="arn:aws:s3:::b/k")


@pytest.mark.parametrize("handler", [_cut_short(200, b'{"allowed": true, "decision": "allo'), _NotHttp], ids=["answer-cut-short", "not-http"])
def test_a_broken_answer_is_an_authorization_error(handler: type[BaseHTTPRequestHandler]) -> None:
    with handler_in_thread(handler) as url, pytest.raises(AuthorizationError, match="cannot ask samlfed at"):
        _ask(url)


def test_a_refusal_cut_short_is_still_the_refusal() -> None:
    with handler_in_thread(_cut_short(401, b'{"error": ')) as url, pytest.raises(
        AuthorizationError, match=r"samlfed refused the authorization request \(401\): \(the answer broke off\)",
    ):
        _ask(url)
