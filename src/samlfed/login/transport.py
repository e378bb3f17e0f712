"""Where the login client may send the IdP password, SAML assertions and STS requests, and how.

https:// always, with the certificate verified (against the system's CAs, or only the `ca_bundle` the user names);
plain http:// only to this machine (loopback), or to another host when the user opts in (`allow_insecure_http`),
with a warning each time. The same rule holds for every redirect the client follows. Every exchange ends within a
deadline and reads a bounded answer (exchange.py).
"""

from __future__ import annotations

import ipaddress
import os
import ssl
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .exchange import DEFAULT_DEADLINE, MAX_ANSWER_BYTES, Exchange, ReadWhole, TimedHTTPHandler, TimedHTTPSHandler

MAX_DEADLINE = 3600
OPT_IN = "--allow-insecure-http (allow_insecure_http = true in the profile)"


class InsecureUrl(ValueError):
    """A URL the client refuses to use; the message is for the user."""


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or `localhost`: traffic that never leaves this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _scheme_and_host(url: str) -> tuple[str, str | None]:
    try:
        parts = urllib.parse.urlsplit(url)
        return parts.scheme, parts.hostname
    except ValueError:  # a bad port or IPv6 literal
        return "", None


def _ignore(_: str) -> None:
    pass


def redacted(url: str) -> str:
    """`url` without a user:password@ part, for messages."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "(a URL that does not parse)"
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2])) if "@" in parts.netloc else url


@dataclass(frozen=True)
class Transport:
    allow_insecure_http: bool = False
    ca_bundle: str | None = None
    """A PEM file of the only CAs to trust instead of the system's; None: the system's defaults."""
    deadline: float = DEFAULT_DEADLINE
    """Seconds each HTTP exchange (connect, send, the whole answer, redirects) may take in all."""
    warn: Callable[[str], None] = field(default=_ignore, compare=False)

    def check(self, url: str, what: str) -> None:
        """Raise InsecureUrl unless `url` is https://, or http:// to loopback, or http:// with the opt-in (warned)."""
        scheme, host = _scheme_and_host(url)
        if scheme not in ("http", "https") or not host:
            raise InsecureUrl(f"{what} {redacted(url)!r} is not an http:// or https:// URL")
        if scheme == "https" or is_loopback(host):
            return
        if not self.allow_insecure_http:
            raise InsecureUrl(
                f"{what} {redacted(url)!r} is plain http:// to another machine: passwords, SAML assertions and credentials "
                f"would cross the network unencrypted; use https://, or accept that risk with {OPT_IN}"
            )
        # One message per host, whatever is sent there: the CLI prints each message once.
        where = urllib.parse.urlsplit(url).netloc.rpartition("@")[2]  # never a user:password@ part
        self.warn(f"warning: plain http:// to {where} (allow_insecure_http): anyone on the network "
                  "can read and change the password, SAML assertions and credentials sent there")

    def ssl_context(self) -> ssl.SSLContext:
        """Verification always on, whatever a library may have set as urllib's default context."""
        context = ssl.create_default_context(cafile=self.ca_bundle)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context

    def opener(self, *, follow_redirects: bool, max_bytes: int = MAX_ANSWER_BYTES) -> urllib.request.OpenerDirector:
        """HTTP(S) only (no file:, ftp: or data: handlers), TLS verified, each redirect checked like the first URL;
        open() returns the whole answer (at most `max_bytes`) within the deadline, or raises an OSError."""
        opener = Exchange(self.deadline, max_bytes)
        redirects = _CheckedRedirect(self) if follow_redirects else _NoRedirect()
        for handler in (_DirectToLoopback(), TimedHTTPHandler(), TimedHTTPSHandler(context=self.ssl_context()), ReadWhole(),
                        urllib.request.HTTPDefaultErrorHandler(), redirects, urllib.request.HTTPErrorProcessor()):
            opener.add_handler(handler)
        return opener


def cli_transport(*, allow_insecure_http: bool, ca_bundle: str | None, warn: Callable[[str], None], deadline: int | None = None) -> Transport:
    """A command's transport: the CA bundle it names, else AWS_CA_BUNDLE as every AWS tool reads it (a private CA the
    AWS CLI already uses for this endpoint; REQUESTS_CA_BUNDLE and the like are not read), `~` expanded, and
    loaded now: ValueError with a message for the user when it is not a readable file of PEM CA certificates.
    `deadline`: the profile's `timeout` in seconds (default DEFAULT_DEADLINE)."""
    if deadline is not None and not 1 <= deadline <= MAX_DEADLINE:
        raise ValueError(f"the timeout must be from 1 to {MAX_DEADLINE} seconds")
    chosen = ca_bundle or os.environ.get("AWS_CA_BUNDLE") or None
    bundle = str(Path(chosen).expanduser()) if chosen else None
    transport = Transport(allow_insecure_http=allow_insecure_http, ca_bundle=bundle, deadline=deadline or DEFAULT_DEADLINE, warn=warn)
    if bundle:
        try:
            transport.ssl_context()
        except OSError as exc:  # ssl.SSLError included: not PEM certificates
            raise ValueError(f"the CA bundle {bundle!r} is not a readable file of PEM CA certificates: {exc.strerror or exc}") from None
    return transport


class _DirectToLoopback(urllib.request.ProxyHandler):
    """The environment's proxies (http_proxy…), except for this machine: plain http:// to loopback is allowed only
    because it never leaves the machine, and a proxy elsewhere would carry the password across the network."""

    def proxy_open(self, req: urllib.request.Request, proxy: str, type: str) -> Any:  # noqa: A002 - urllib's name
        host = urllib.parse.urlsplit(req.full_url).hostname
        if host and is_loopback(host):
            return None  # the next handler connects directly
        return super().proxy_open(req, proxy, type)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects become HTTP errors: urllib would repeat the Authorization (and one-time code) header to wherever
    a redirect points, another host included."""

    def redirect_request(self, *_: Any) -> None:
        return None


class _CheckedRedirect(urllib.request.HTTPRedirectHandler):
    """Follows redirects (urllib bounds their number) only to URLs the transport accepts: no https → http downgrade."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def redirect_request(self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> urllib.request.Request | None:
        self.transport.check(newurl, f"the redirect from {redacted(req.full_url)} to")
        return super().redirect_request(req, fp, code, msg, headers, newurl)
