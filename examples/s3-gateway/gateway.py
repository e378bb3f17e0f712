"""A tiny S3-compatible object service that delegates every authorization decision to samlfed.

GetObject, HeadObject, PutObject and ListObjectsV2 (path-style) over files under a root directory. The gateway never
judges a request itself: it forwards what it received (method, raw path, query, headers and the payload's
SHA-256) to samlfed's authorization API with the S3 action and resource, and serves the request only when
samlfed says "allowed". A bucket policy, if `ROOT/<bucket>.policy.json` exists, goes along as the resource policy.

Each bucket belongs to an account, named in `ROOT/<bucket>.account` (12 digits), which goes along as
`aws:ResourceAccount`: samlfed then lets another account's sessions in only where the bucket policy grants it, as
S3 does. A bucket without an owner does not exist (NoSuchBucket): on a samlfed shared by several accounts, a bucket
nobody owns would be every account's.

    SAMLFED_URL=http://127.0.0.1:8080 SAMLFED_AUTHZ_KEY=sfk_… S3GW_ROOT=./objects \\
        uvicorn --factory gateway:create_app --port 9000
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, unquote
from xml.sax.saxutils import escape

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from samlfed.authz.client import AuthorizationClient, AuthorizationError

MAX_OBJECT_BYTES = 10 * 1024 * 1024
BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
ACCOUNT_ID = re.compile(r"[0-9]{12}")
S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
OBJECT_QUERY = frozenset({"x-id"})
"""What an object request may carry besides presigning's X-Amz-*; anything else (?acl, ?tagging, ?uploads,
?uploadId, ?versionId…) is another S3 operation with its own action, which this gateway does not serve."""
LIST_QUERY = frozenset({"x-id", "list-type", "prefix", "delimiter", "encoding-type"})
LIST_KEYS = {"prefix": "s3:prefix", "delimiter": "s3:delimiter"}
"""ListObjectsV2 parameters that are condition keys: present exactly when the request has them, empty if empty."""


def _joined(headers: Headers) -> dict[str, str]:
    """Each header once, a repeated one's values joined with commas, as the authorization API asks (and SigV4 signs
    them): dict(headers) would keep the first value only."""
    return {name: ",".join(headers.getlist(name)) for name in headers}


def _error(code: str, message: str, status: int, resource: str = "") -> Response:
    body = (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{escape(message)}</Message>'
            f"<Resource>{escape(resource)}</Resource><RequestId>{uuid.uuid4().hex}</RequestId></Error>")
    return Response(body, status_code=status, media_type="application/xml")


class Gateway:
    def __init__(self, root: Path, client: AuthorizationClient) -> None:
        self.root = root.resolve()
        self.client = client

    def object_path(self, bucket: str, key: str) -> Path | None:
        """The file of an object, or None if the key would leave the bucket's directory or no file can have its name."""
        if not key or "\x00" in key or key.startswith("/") or any(part in ("", ".", "..") for part in key.split("/")[:-1]) or key.split("/")[-1] in (".", ".."):
            return None
        path = (self.root / bucket / key).resolve()
        return path if path.is_relative_to(self.root / bucket) else None

    def bucket_owner(self, bucket: str) -> str | None:
        path = self.root / f"{bucket}.account"
        owner = path.read_text().strip() if path.is_file() else ""
        return owner if ACCOUNT_ID.fullmatch(owner) else None

    def bucket_policy(self, bucket: str) -> str | None:
        path = self.root / f"{bucket}.policy.json"
        return path.read_text() if path.exists() else None

    def operation(self, method: str, bucket: str, key: str, query: dict[str, str], headers: Mapping[str, str]) -> tuple[str, str, dict[str, str]] | None:
        """The S3 action, resource and condition keys of a request this gateway serves, else None (501)."""
        if any(not name.startswith("X-Amz-") and name not in (OBJECT_QUERY if key else LIST_QUERY) for name in query):
            return None
        if not key:
            if method != "GET" or query.get("list-type") != "2":
                return None
            return "s3:ListBucket", f"arn:aws:s3:::{bucket}", {k: query[name] for name, k in LIST_KEYS.items() if name in query}
        if method in ("GET", "HEAD"):  # HeadObject needs s3:GetObject
            return "s3:GetObject", f"arn:aws:s3:::{bucket}/{key}", {}
        if method == "PUT" and "x-amz-copy-source" not in headers:  # CopyObject would also need s3:GetObject on the source
            return "s3:PutObject", f"arn:aws:s3:::{bucket}/{key}", {}
        return None

    async def handle(self, request: Request) -> Response:
        raw_path = request.scope.get("raw_path", b"/").decode("latin-1").split("?", 1)[0]
        bucket, _, key = unquote(raw_path.lstrip("/")).partition("/")
        if not BUCKET.fullmatch(bucket):
            return _error("InvalidBucketName", "The specified bucket is not valid.", 400, bucket)
        query = dict(parse_qsl(request.url.query, keep_blank_values=True))
        body = b""
        if request.method == "PUT":
            async for chunk in request.stream():
                body += chunk
                if len(body) > MAX_OBJECT_BYTES:
                    return _error("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size", 400)
        payload_hash = hashlib.sha256(body).hexdigest()
        declared = request.headers.get("x-amz-content-sha256", "")
        if declared.startswith("STREAMING-"):
            return _error("NotImplemented", "aws-chunked uploads are not supported by this example gateway", 501)
        if declared and not declared.startswith("UNSIGNED") and declared != payload_hash:
            return _error("XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.", 400)

        operation = self.operation(request.method, bucket, key, query, request.headers)
        if operation is None:
            return _error("NotImplemented", "This example gateway implements GetObject, HeadObject, PutObject and ListObjectsV2", 501)
        action, resource, context = operation
        owner = self.bucket_owner(bucket)
        if owner is None:
            return _error("NoSuchBucket", "The specified bucket does not exist", 404, bucket)

        try:
            decision = self.client.authorize(
                request.method, raw_path, request.url.query, _joined(request.headers), payload_hash, action=action, resource=resource,
                context={**context, "aws:ResourceAccount": owner}, resource_policy=self.bucket_policy(bucket), source_ip=request.client.host if request.client else None,
                secure_transport=request.url.scheme == "https", service="s3",
            )
        except AuthorizationError:
            return _error("ServiceUnavailable", "Authorization is unavailable; try again later.", 503)  # fail closed
        if decision.error is not None:
            return _error(decision.error.get("code", "AccessDenied"), decision.error.get("message", "Access Denied"), int(decision.error.get("status", 403)))
        if not decision.allowed:
            return _error("AccessDenied", "Access Denied", 403, resource)

        if action == "s3:ListBucket":
            return self.list_objects(bucket, query)
        path = self.object_path(bucket, key)
        if path is None:
            return _error("InvalidArgument", "The object key is not supported by this gateway", 400, key)
        if action == "s3:GetObject":
            if not path.is_file():
                return _error("NoSuchKey", "The specified key does not exist.", 404, key)
            data = path.read_bytes()
            modified = datetime.fromtimestamp(path.stat().st_mtime, UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
            headers = {"ETag": f'"{hashlib.md5(data).hexdigest()}"', "Last-Modified": modified, "Content-Length": str(len(data))}  # noqa: S324 (S3's ETag is an MD5)
            return Response(b"" if request.method == "HEAD" else data, media_type="application/octet-stream", headers=headers)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        temporary.write_bytes(body)
        os.replace(temporary, path)
        return Response(b"", headers={"ETag": f'"{hashlib.md5(body).hexdigest()}"'})  # noqa: S324

    def list_objects(self, bucket: str, query: dict[str, str]) -> Response:
        prefix, delimiter = query.get("prefix", ""), query.get("delimiter", "")
        base = self.root / bucket
        keys = sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.is_file() and not p.name.startswith(".")) if base.is_dir() else []
        objects, common = [], []
        for k in (k for k in keys if k.startswith(prefix)):
            folded = k[: k.index(delimiter, len(prefix)) + len(delimiter)] if delimiter and delimiter in k[len(prefix):] else None
            if folded is None:
                objects.append(k)
            elif folded not in common:
                common.append(folded)
        contents = "".join(
            f"<Contents><Key>{escape(k)}</Key><Size>{(base / k).stat().st_size}</Size><StorageClass>STANDARD</StorageClass></Contents>" for k in objects
        ) + "".join(f"<CommonPrefixes><Prefix>{escape(c)}</Prefix></CommonPrefixes>" for c in common)
        body = (f'<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="{S3_NS}"><Name>{escape(bucket)}</Name>'
                f"<Prefix>{escape(prefix)}</Prefix><Delimiter>{escape(delimiter)}</Delimiter><KeyCount>{len(objects) + len(common)}</KeyCount>"
                f"<MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>{contents}</ListBucketResult>")
        return Response(body, media_type="application/xml")


def build_app(root: Path, client: AuthorizationClient) -> Starlette:
    gateway = Gateway(root, client)

    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(routes=[
        Route("/healthz", healthz, methods=["GET"]),
        Route("/{path:path}", gateway.handle, methods=["GET", "PUT", "POST", "DELETE", "HEAD"]),
    ])


def create_app() -> Starlette:
    client = AuthorizationClient(os.environ["SAMLFED_URL"], os.environ["SAMLFED_AUTHZ_KEY"])
    return build_app(Path(os.environ.get("S3GW_ROOT", "objects")), client)
