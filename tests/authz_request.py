"""The `request` member of an authorization API body: what a gateway forwards of a request botocore signed."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from botocore.auth import BaseSigner
from botocore.awsrequest import AWSRequest


def signed_request(signer: BaseSigner, method: str, url: str, body: bytes = b"", headers: dict[str, str] | None = None) -> dict[str, Any]:
    """`method url` with `body` and `headers`, signed by `signer` (S3SigV4Auth(credentials, "s3", region), say); the
    caller adds the payload hash, if any."""
    request = AWSRequest(method=method, url=url, data=body, headers=headers or {})
    signer.add_auth(request)
    parts = urlsplit(request.prepare().url)
    headers = {**{k.lower(): v for k, v in request.headers.items()}, "host": parts.netloc}
    return {"method": method, "path": parts.path, "query": parts.query, "headers": headers}
