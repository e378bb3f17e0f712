"""The SAMLResponse in a browser capture: a HAR file (the network log a browser exports, which IdP vendors and AWS
support ask for) or a saved HTML page holding the IdP's auto-posting form. The doctor takes either as it is, so that
nobody has to dig the field out of a capture by hand.

What is returned is the posted field or body as captured; the doctor unwraps the form and URL encodings as it does
for any other input. The capture is only read: nothing in it is trusted, the validator decides.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urlsplit

FIELD = "SAMLResponse"


class CaptureError(ValueError):
    """A capture that holds no SAMLResponse to check (the doctor's exit code 2)."""


@dataclass(frozen=True)
class Captured:
    posted: bytes
    """The posted body (a form) or the SAMLResponse field's value, still encoded as captured."""
    note: str
    """Where in the capture it was found, for the report."""


def from_capture(text: bytes) -> Captured | None:
    """The SAMLResponse a HAR file or HTML page posts; None when `text` is neither (base64, XML, a form body)."""
    if text.startswith(b"{"):
        return _from_har(text)
    head = text[:1024].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")) or (text.startswith(b"<") and b"<input" in text.lower()):
        return _from_html(text, is_page=head.startswith((b"<!doctype html", b"<html")))
    return None


def _address(url: object) -> str:
    """Scheme, host and path of a captured URL: its query may carry another application's secrets."""
    if not isinstance(url, str):
        return "(no URL)"
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.scheme and parts.netloc else "(no URL)"


def _from_har(text: bytes) -> Captured:
    try:
        har = json.loads(text)
    except ValueError:
        raise CaptureError("the input starts like JSON but is not JSON: a HAR file cut short?") from None
    log = har.get("log") if isinstance(har, dict) else None
    entries = log.get("entries") if isinstance(log, dict) else None
    if not isinstance(entries, list):
        raise CaptureError("the input is JSON but not a HAR file (it has no log.entries)")
    posts = [(number, entry["request"].get("url"), posted) for number, entry in enumerate(entries, 1) if (posted := _posted(entry)) is not None]
    if not posts:
        raise CaptureError(
            f"none of the {len(entries)} requests in the HAR file posts a {FIELD}: record the whole sign-in, from the IdP "
            "to the service provider, with the browser's 'Preserve log' on, then export the HAR again"
        )
    number, url, posted = posts[-1]
    note = f"read from the HAR file: request {number} of {len(entries)}, POST {_address(url)}"
    if len(posts) > 1:
        note += f" (the last of the {len(posts)} requests that post a {FIELD})"
    return Captured(posted, note)


def _posted(entry: object) -> bytes | None:
    """The form body (or the field's value) that a HAR entry posts, when it posts a SAMLResponse."""
    request = entry.get("request") if isinstance(entry, dict) else None
    if not isinstance(request, dict) or str(request.get("method", "")).upper() != "POST":
        return None
    post = request.get("postData")
    if not isinstance(post, dict):
        return None
    body = post.get("text")
    if isinstance(body, str) and f"{FIELD}=" in body:
        return body.encode()
    params = post.get("params")
    for param in params if isinstance(params, list) else ():
        if isinstance(param, dict) and param.get("name") == FIELD and isinstance(param.get("value"), str) and param["value"]:
            return param["value"].encode()
    return None


class _FormFields(HTMLParser):
    """The SAMLResponse inputs of a page, and the address of the form around each."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.action: str | None = None
        self.found: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "form":
            self.action = named.get("action")
        elif tag == "input" and named.get("name") == FIELD and named.get("value"):
            self.found.append((named["value"] or "", self.action))


def _from_html(text: bytes, *, is_page: bool) -> Captured | None:
    fields = _FormFields()
    fields.feed(text.decode("utf-8", "replace"))
    fields.close()
    if not fields.found:
        if is_page:
            raise CaptureError(
                f"the HTML page has no form field named {FIELD}: save the page the IdP answers with just before the "
                "browser posts to the service provider (or export a HAR file of the sign-in)"
            )
        return None  # XML that merely mentions an input element: the validator reads it as XML
    value, action = fields.found[0]
    note = f"read from the {FIELD} field of the HTML form" + (f" that posts to {_address(action)}" if action else "")
    if len(fields.found) > 1:
        note += f" (the first of {len(fields.found)})"
    return Captured(value.encode(), note)
