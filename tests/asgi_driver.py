"""Drive an ASGI app in process with one HTTP request, as a server would hand it over, and collect its answer."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from urllib.parse import quote, urlencode, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from samlfed.api import handlers
from samlfed.api.app import AsgiApp


def asgi_call(
    app: AsgiApp, method: str, path: str, chunks: Sequence[bytes | None], headers: Sequence[tuple[bytes, bytes]] = (), *, client: str = "127.0.0.1",
    query_string: bytes = b"",
) -> list[dict]:
    """One request from `client` whose body arrives in `chunks` (a None chunk is the client disconnecting); the messages sent."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http", "path": path,
             "raw_path": path.encode(), "query_string": query_string, "root_path": "", "headers": list(headers),
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


def signed_query(
    app: AsgiApp, credentials: Credentials, action: str, parameters: dict[str, str], *, overrides: dict[bytes, bytes] | None = None,
    added: Sequence[tuple[bytes, bytes]] = (), method: str = "POST", region: str = "us-east-1",
) -> tuple[int, bytes]:
    """One query-API request signed by botocore with `credentials` for `region`, its parameters in the body of a
    POST or else in the query string; after signing, `overrides` replace (or add) headers and `added` headers are
    sent besides them. Its status and body."""
    service_name = "sts" if action in handlers.STS else "iam"
    version = "2011-06-15" if service_name == "sts" else "2010-05-08"
    # Spaces as %20, as botocore writes a query: its header signer signs a GET's query as it stands, and a "+" there
    # is a space to the server, which signs it as %20.
    form = urlencode({"Action": action, "Version": version, **parameters}, quote_via=quote)
    body = form.encode() if method == "POST" else b""
    url = "http://127.0.0.1:8080/" + ("" if method == "POST" else f"?{form}")
    request = AWSRequest(method=method, url=url, data=body, headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    SigV4Auth(credentials, service_name, region).add_auth(request)
    prepared = request.prepare()
    headers = [(k.lower().encode(), v.encode() if isinstance(v, str) else v) for k, v in prepared.headers.items()]
    headers.append((b"host", urlsplit(prepared.url).netloc.encode()))
    if overrides:
        headers = [(name, value) for name, value in headers if name not in overrides] + list(overrides.items())
    sent = asgi_call(app, method, "/", [body], [*headers, *added], query_string=urlsplit(prepared.url).query.encode())
    return sent[0]["status"], sent[1]["body"]
