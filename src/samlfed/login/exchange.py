"""Every HTTP exchange of the login client ends in bounded time with a bounded answer.

A socket timeout bounds each read, not the whole: a server that sends one byte every few seconds would hold the
CLI forever. Here each socket operation (connect, TLS handshake, send, every read) may only wait for what is left of
the exchange's deadline, and open() returns only once the answer, body included, has been read in full within that
deadline and size cap: callers never read from the network themselves, and every failure is an OSError
(a TransportError when the deadline or the cap was hit, or the answer was not HTTP), which callers already catch.
"""

from __future__ import annotations

import functools
import http.client
import io
import socket
import time
import urllib.error
import urllib.request
import urllib.response
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

DEFAULT_DEADLINE = 60
"""Seconds one exchange (redirects included) may take in all, unless the profile's `timeout` says otherwise."""
MAX_ANSWER_BYTES = 2_000_000
"""The largest answer body read by default; IdP metadata, chooser pages and STS answers are far smaller."""


class TransportError(OSError):
    """An exchange that did not complete as it must; the message is for the user and names no secret."""


class DeadlineExceeded(TransportError):
    pass


class AnswerTooLarge(TransportError):
    pass


class BadAnswer(TransportError):
    pass


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    def exceeded(self) -> DeadlineExceeded:
        return DeadlineExceeded(f"no complete answer within {self.seconds:g} seconds")

    def timeout(self, per_operation: object) -> float:
        """The socket timeout for the next operation: the caller's per-operation timeout, capped by what is left."""
        left = self._end - time.monotonic()
        if left <= 0:
            raise self.exceeded()
        if isinstance(per_operation, int | float) and not isinstance(per_operation, bool):
            return min(float(per_operation), left)
        return left  # urllib's "no timeout given" sentinel

    @contextmanager
    def guard(self) -> Iterator[None]:
        """A socket timeout that came from the deadline becomes DeadlineExceeded (a per-read timeout stays itself)."""
        try:
            yield
        except TimeoutError:
            if time.monotonic() >= self._end:
                raise self.exceeded() from None
            raise


class _InTimeReader(io.RawIOBase):
    """The response's socket file, each read (one recv at most) waiting no longer than the deadline allows."""

    def __init__(self, inner: io.BufferedReader, sock: socket.socket, deadline: Deadline, per_read: object) -> None:
        super().__init__()
        self._inner, self._sock, self._deadline, self._per_read = inner, sock, deadline, per_read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self._sock.settimeout(self._deadline.timeout(self._per_read))
        with self._deadline.guard():
            return self._inner.readinto1(buffer)

    def close(self) -> None:
        self._inner.close()
        super().close()


class _InTimeResponse(http.client.HTTPResponse):
    def __init__(self, sock: socket.socket, debuglevel: int = 0, method: str | None = None, url: str | None = None, *,
                 deadline: Deadline, per_read: object) -> None:
        super().__init__(sock, debuglevel, method, url)
        # The status line and headers are read through it too: a trickle there is bounded as well.
        self.fp = io.BufferedReader(_InTimeReader(self.fp, sock, deadline, per_read))


class _InTime(http.client.HTTPConnection):
    """Connect, TLS handshake, send and the answer (a proxy's CONNECT answer too) within the deadline."""

    def __init__(self, *args: Any, deadline: Deadline, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline = deadline
        self._create_connection = self._connect_in_time
        self.response_class = functools.partial(_InTimeResponse, deadline=deadline, per_read=self.timeout)  # type: ignore[assignment]

    def _connect_in_time(self, address: tuple[str, int], timeout: object, source_address: Any = None) -> socket.socket:
        sock = socket.create_connection(address, self._deadline.timeout(timeout), source_address)
        sock.settimeout(self._deadline.timeout(timeout))  # what the TLS handshake may take in all (CPython bounds it whole)
        return sock

    def connect(self) -> None:
        with self._deadline.guard():
            super().connect()

    def send(self, data: Any) -> None:
        if self.sock is not None:
            self.sock.settimeout(self._deadline.timeout(self.timeout))
        with self._deadline.guard():
            super().send(data)


class _InTimeHTTPS(_InTime, http.client.HTTPSConnection):
    pass


_TIMED: dict[Callable[..., http.client.HTTPConnection], type[_InTime]] = {
    http.client.HTTPConnection: _InTime, http.client.HTTPSConnection: _InTimeHTTPS,
}


class _TimedOpen(urllib.request.AbstractHTTPHandler):
    """Mixed into urllib's HTTP(S) handlers: their connections keep the exchange's deadline."""

    parent: Exchange

    def do_open(
        self, http_class: Callable[..., http.client.HTTPConnection], req: urllib.request.Request, **kwargs: Any,
    ) -> http.client.HTTPResponse:
        deadline = self.parent.deadline
        assert deadline is not None, "opened outside Exchange.open"
        timed = functools.partial(_TIMED[http_class], deadline=deadline)
        return super().do_open(timed, req, **kwargs)


class TimedHTTPHandler(_TimedOpen, urllib.request.HTTPHandler):
    pass


class TimedHTTPSHandler(_TimedOpen, urllib.request.HTTPSHandler):
    pass


class ReadWhole(urllib.request.BaseHandler):
    """Reads every answer (errors and redirects too) whole, within the cap, before urllib or the caller sees it."""

    handler_order = 900  # before HTTPErrorProcessor (1000), which turns error answers into HTTPError

    parent: Exchange

    def http_response(self, request: urllib.request.Request, response: http.client.HTTPResponse) -> urllib.response.addinfourl:
        cap = self.parent.max_bytes
        with response:
            if response.length is not None and response.length > cap:  # declared too large: not read at all
                raise AnswerTooLarge(f"the answer is larger than {cap} bytes")
            body = response.read() if response.length is not None else response.read(cap + 1)
        if len(body) > cap:
            raise AnswerTooLarge(f"the answer is larger than {cap} bytes")
        whole = urllib.response.addinfourl(io.BytesIO(body), response.headers, response.url, response.status)
        whole.msg = response.reason  # type: ignore[attr-defined]  # what HTTPErrorProcessor reads
        return whole

    https_response = http_response


class Exchange(urllib.request.OpenerDirector):
    """An opener whose open(), redirects included, completes within `seconds` and reads at most `max_bytes`."""

    def __init__(self, seconds: float, max_bytes: int) -> None:
        super().__init__()
        self.seconds, self.max_bytes = seconds, max_bytes
        self.deadline: Deadline | None = None

    def open(self, *args: Any, **kwargs: Any) -> Any:  # urllib's signature
        if self.deadline is not None:  # a redirect of the exchange under way: the same deadline
            return super().open(*args, **kwargs)
        self.deadline = Deadline(self.seconds)
        try:
            return super().open(*args, **kwargs)
        except urllib.error.HTTPError:
            raise
        except urllib.error.URLError as exc:  # urllib wraps what failed while connecting or sending
            if isinstance(exc.reason, TransportError):
                raise exc.reason from None
            raise
        except http.client.HTTPException as exc:  # not an OSError: callers would let it escape as a traceback
            raise BadAnswer(f"the answer is not well-formed HTTP ({type(exc).__name__})") from None
        finally:
            self.deadline = None
