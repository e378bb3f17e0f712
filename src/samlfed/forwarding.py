"""A warning for the reverse proxy nobody told samlfed about.

Behind a proxy that forwarded_allow_ips does not name, samlfed rightly ignores X-Forwarded-For and
X-Forwarded-Proto: aws:SourceIp is then the proxy's own address, and every trust policy conditioned on the
client's network refuses everyone. That reads like a policy bug; this says what it is, once per peer and worker.
"""

from __future__ import annotations

import logging

from starlette.requests import Request

log = logging.getLogger("samlfed.api")

MAX_PEERS = 64
"""Peers warned about per worker; past that, one last line says the rest go unreported (bounded memory)."""


class ForwardingWatch:
    """Per worker: which peers were told about (at most MAX_PEERS), and the trusted proxies to tell them from."""

    def __init__(self, trusted: tuple[str, ...]) -> None:
        self.trusted = trusted
        self._warned: set[str] = set()
        self._full = False

    def client_of(self, request: Request) -> str | None:
        """The request's client address as uvicorn gives it (after the trusted proxies), None when the server knows
        none; an X-Forwarded-For it carried is noted."""
        client = request.client.host if request.client else None
        forwarded_for = request.headers.get("x-forwarded-for")
        if forwarded_for is not None:
            self.saw(client, forwarded_for)
        return client

    def saw(self, client: str | None, forwarded_for: str) -> None:
        """A request carried X-Forwarded-For; `client` is its client address as uvicorn left it (the peer, unless
        a trusted proxy forwarded it, when it is one of the forwarded addresses)."""
        if client is None or self._full or client in self._warned:
            return
        if self.trusted and client in {forwarded_host(part) for part in forwarded_for.split(",")}:
            return  # uvicorn took the client from the header: the peer is a trusted proxy
        if len(self._warned) == MAX_PEERS:
            self._full = True
            log.warning("X-Forwarded-For from more untrusted peers is ignored; they are not reported one by one")
            return
        self._warned.add(client)
        log.warning(
            "X-Forwarded-For from %s is ignored: forwarded_allow_ips does not name that peer. If it is your reverse "
            "proxy, name it there; until then aws:SourceIp is the proxy's own address.", client,
            extra={"event": "untrusted_forwarding", "peer": client},
        )


def forwarded_host(value: str) -> str:
    """The address of one X-Forwarded-For entry as uvicorn reads it (uvicorn.middleware.proxy_headers): `host:port`
    and `[v6]:port` lose their port, `[v6]` its brackets; anything else stays as written."""
    value = value.strip()
    if value.startswith("["):
        end = value.find("]")
        rest = value[end + 1:] if end != -1 else ""
        return value[1:end] if end != -1 and (not rest or rest.startswith(":")) else value
    if value.count(":") == 1:
        host, port = value.split(":")
        return host if port.isdigit() else value
    return value
