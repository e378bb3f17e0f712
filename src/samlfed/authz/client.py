"""A small client for the authorization API, for the services that delegate their decisions to samlfed.

    client = AuthorizationClient("https://samlfed.example.com", "sfk_…")
    decision = client.authorize(method, raw_path, query, headers, payload_hash, action="s3:GetObject",
                                resource="arn:aws:s3:::bucket/key")
    if not decision.allowed: ...
"""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


class AuthorizationError(RuntimeError):
    """samlfed could not be asked (unreachable, bad key, malformed request): fail closed."""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    decision: str
    """allowed, explicitDeny, implicitDeny or unauthenticated."""
    principal: dict[str, Any] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    """For unauthenticated requests: the AWS error (code, message, status) to give the client."""
    matched_statements: list[dict[str, Any]] = field(default_factory=list)
    scope: dict[str, Any] | None = None
    """For authenticated requests: the signature's {"service", "region"}."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an error, not followed: urllib would send the Bearer key on to wherever it points (another host
    included) and read that place's answer to a GET as the decision."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class AuthorizationClient:
    def __init__(self, base_url: str, key: str, *, timeout: float = 5.0) -> None:
        self.url = base_url.rstrip("/") + "/authz/v1/authorize"
        self.key = key
        self.timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirects)

    def authorize(
        self, method: str, path: str, query: str, headers: Mapping[str, str], payload_hash: str | None, *,
        action: str, resource: str, context: Mapping[str, str | Sequence[str]] | None = None, resource_policy: str | None = None,
        source_ip: str | None = None, secure_transport: bool | None = None, region: str | None = None, service: str | None = None,
    ) -> Decision:
        """`service`/`region`: the SigV4 service name and region this service answers as; a signature scoped to
        another is refused (a presigned URL for one service must not open another)."""
        body: dict[str, Any] = {
            "request": {"method": method, "path": path, "query": query, "headers": dict(headers), "payload_hash": payload_hash},
            "action": action, "resource": resource,
        }
        optional = {"context": dict(context) if context else None, "resource_policy": resource_policy, "source_ip": source_ip,
                    "secure_transport": secure_transport, "region": region, "service": service}
        body.update({k: v for k, v in optional.items() if v is not None})
        request = urllib.request.Request(self.url, data=json.dumps(body).encode(), method="POST",
                                         headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.key}"})
        try:
            with self._opener.open(request, timeout=self.timeout) as answer:  # the configured samlfed
                data = json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            raise AuthorizationError(f"samlfed refused the authorization request ({exc.code}): {_refusal_text(exc)}") from None
        # http.client.HTTPException: an answer cut short (IncompleteRead) or no HTTP at all (BadStatusLine), neither
        # an OSError nor a URLError
        except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
            raise AuthorizationError(f"cannot ask samlfed at {self.url}: {exc}") from None
        return _decision(data)


def _refusal_text(error: urllib.error.HTTPError) -> str:
    """The start of a refusal's body, for the message; a note instead when the body breaks off while it is read."""
    try:
        return error.read()[:300].decode(errors="replace")
    except (OSError, http.client.HTTPException):
        return "(the answer broke off)"


def _decision(data: Any) -> Decision:
    """samlfed's answer read strictly (fail closed): only `"allowed": true` with the decision `allowed` allows, and a
    body that is no decision object (what a proxy or a wrong URL may send with a 200) is an AuthorizationError."""
    if not isinstance(data, dict):
        raise AuthorizationError(f"samlfed's answer is not a decision: {json.dumps(data)[:300]}")

    def member(key: str, kind: type) -> Any:
        value = data.get(key)
        return value if isinstance(value, kind) else None

    return Decision(
        data.get("allowed") is True and data.get("decision") == "allowed", str(data.get("decision")), member("principal", dict) or {},
        member("error", dict), member("matched_statements", list) or [], member("scope", dict),
    )
