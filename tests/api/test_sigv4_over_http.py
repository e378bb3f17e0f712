"""SigV4 over HTTP: requests botocore signed (add_auth, as the SDK runs it) sent to an in-process samlfed."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from lxml import etree
from servers import app_in_thread, raw_exchange

from samlfed.api.app import build_app
from samlfed.config import Settings
from samlfed.iam.accounts import create_account
from samlfed.server import build_context

FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
CALLER_IDENTITY = b"Action=GetCallerIdentity&Version=2011-06-15"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    ctx = build_context(Settings(data_dir=tmp_path_factory.mktemp("sigv4")))
    admin = create_account(ctx, "111111111111")
    with app_in_thread(build_app(ctx)) as url:
        yield {"url": url, "credentials": Credentials(admin.access_key_id, admin.secret_access_key)}


def send(url: str, request: AWSRequest) -> tuple[int, str]:
    """`request`'s headers byte for byte (latin-1, as http.client writes them), after botocore signed it; the status
    and the error code (or the answer's root element)."""
    prepared = request.prepare()
    parts = urlsplit(prepared.url)
    body = prepared.body or b""
    head = [f"{prepared.method} {parts.path}{'?' + parts.query if parts.query else ''} HTTP/1.1", f"Host: {parts.netloc}",
            *(f"{name}: {value}" for name, value in prepared.headers.items() if name.lower() != "content-length"),
            f"Content-Length: {len(body)}", "Connection: close"]
    answer = raw_exchange(url, "\r\n".join(head).encode("latin-1") + b"\r\n\r\n" + body)
    status_line, _, rest = answer.partition(b"\r\n")
    root = etree.fromstring(rest.partition(b"\r\n\r\n")[2])
    code = root.findtext(".//{*}Code") or etree.QName(root).localname
    return int(status_line.split()[1]), code


def test_a_signature_dated_by_the_date_header_botocore_writes(server: dict) -> None:
    """Given a request with a Date header, botocore signs with it (dropping X-Amz-Date) and rewrites it with
    email.utils.formatdate: `Mon, 07 Dec 2026 11:25:59 -0000`, the zone every HTTP date means, spelt as RFC 5322's
    "UTC, local zone unknown"."""
    request = AWSRequest(method="POST", url=f"{server['url']}/", data=CALLER_IDENTITY, headers={**FORM, "Date": "now"})
    SigV4Auth(server["credentials"], "sts", "us-east-1").add_auth(request)
    assert request.headers["Date"].endswith(" -0000") and "X-Amz-Date" not in request.headers
    assert send(server["url"], request) == (200, "GetCallerIdentityResponse")
