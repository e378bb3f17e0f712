"""Drive an ASGI app in process with one HTTP request, as a server would hand it over, and collect its answer."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from samlfed.api.app import AsgiApp


def asgi_call(
    app: AsgiApp, method: str, path: str, chunks: Sequence[bytes | None], headers: Sequence[tuple[bytes, bytes]] = (), *, client: str = "127.0.0.1",
) -> list[dict]:
    """One request from `client` whose body arrives in `chunks` (a None chunk is the client disconnecting); the messages sent."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http", "path": path,
             "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": list(headers),
             "client": (client, 1), "server": ("127.0.0.1", 8080)}
    pending = list(chunks)
    sent: list[dict] = []

    async def receive() -> dict:
        chunk = pending.pop(0) if pending else None
        if chunk is None:
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent
