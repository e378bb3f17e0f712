"""The SAMLResponse in a browser capture: a HAR file (the network log a browser exports, which IdP vendors and AWS
support ask for) or a saved HTML page holding the IdP's auto-posting form. The doctor takes either as it is, so that
nobody has to dig the field out of a capture by hand.

What is returned is the posted field or body as captured; the doctor unwraps the form and URL encodings as it does
for any other input. The capture is only read: nothing in it is trusted, the validator decides. It may be hostile
(a file someone sent): its size is capped, and no parser failure or pathological input may crash or stall the doctor.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import urlsplit

from lxml import etree
from lxml.html.defs import tags as HTML_TAGS

from .saml import MAX_INPUT_CHARS

FIELD = "SAMLResponse"

MAX_CAPTURE_BYTES = 64 * 1024 * 1024
"""A HAR file of a whole sign-in, response bodies included; no capture is read past it."""
MAX_HAR_CONTAINERS = 4_000_000
"""'{' and '[' in a HAR file: each becomes a Python object of 60+ bytes, so 60 MB of "{}," took 1.6 GB."""
MAX_PAGE_BYTES = 1024 * 1024
"""A saved auto-posting page is a few KB around a response of at most MAX_INPUT_CHARS (100,000) characters."""
MAX_POSTED_BYTES = 4 * MAX_INPUT_CHARS
"""Base64, raw XML or a form body: the largest response the validator accepts, percent-encoded, fits (the console's
ACS form cap, MAX_ACS_FORM_BYTES, is the same); past it the validator would refuse it anyway."""

PROLOG_WINDOW = 64 * 1024
"""How far into the input its root element is looked for: past a saved page's comments ("saved from …") and DOCTYPE."""
_PROLOG = re.compile(rb"(?:\s|<\?.*?\?>|<!--.*?-->|<!doctype\b[^>]*>)*", re.IGNORECASE | re.DOTALL)
_ROOT = re.compile(rb"<([^\s/>]+)")
_HTML_PARSER = etree.HTMLParser(encoding="utf-8", no_network=True, collect_ids=False)
"""libxml2's parser: linear time on any input, where the stdlib's HTMLParser is quadratic on some (17 s on 160 KB)."""


class CaptureError(ValueError):
    """A capture that holds no SAMLResponse to check (the doctor's exit code 2)."""


@dataclass(frozen=True)
class Captured:
    posted: bytes
    """The posted body (a form) or the SAMLResponse field's value, still encoded as captured."""
    note: str
    """Where in the capture it was found, for the report."""


def read_capped(stream: BinaryIO) -> bytes:
    """At most MAX_CAPTURE_BYTES + 1 bytes of `stream` (/dev/zero ends too): `from_capture` refuses more than the cap."""
    return stream.read(MAX_CAPTURE_BYTES + 1)


def _too_large(what: str, cap: int) -> CaptureError:
    return CaptureError(f"{what} is over the limit of {cap:,} bytes")


def from_capture(text: bytes) -> Captured | None:
    """The SAMLResponse a HAR file or HTML page posts; None when `text` is neither (base64, XML, a form body)."""
    if len(text) > MAX_CAPTURE_BYTES:
        raise _too_large("the input", MAX_CAPTURE_BYTES)
    if text.startswith(b"{"):
        return _from_har(text)
    if _is_html(text):
        if len(text) > MAX_PAGE_BYTES:
            raise _too_large("the HTML page", MAX_PAGE_BYTES)
        return _from_html(text)
    if len(text) > MAX_POSTED_BYTES:
        raise _too_large("a SAMLResponse (base64, XML or a form body)", MAX_POSTED_BYTES)
    return None


def _is_html(text: bytes) -> bool:
    """Whether the root element (after any declaration, comments and DOCTYPE) is an HTML element: a SAML Response
    with an <input name="SAMLResponse"> inside is still the document to check, not a page posting another one."""
    head = text[:PROLOG_WINDOW]  # the regex keeps state for each item it skips: only a page's head is looked at
    prolog = _PROLOG.match(head)  # always a match, if only an empty one
    root = _ROOT.match(head, prolog.end() if prolog else 0)
    return root is not None and root.group(1).decode("latin-1").lower() in HTML_TAGS


def _utf8(value: str) -> bytes | None:
    """`value` in UTF-8; None for text JSON allows but Unicode does not (a lone surrogate, "\\ud800")."""
    try:
        return value.encode()
    except UnicodeEncodeError:
        return None


def _address(url: object) -> str:
    """Scheme, host[:port] and path of a captured URL, without what may hold secrets: the user:password@ before the
    host, path parameters (;jsessionid=...), the query and the fragment."""
    if not isinstance(url, str) or _utf8(url) is None:
        return "(no URL)"
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:  # a port that is not a number, a bracketed host that is not IPv6
        return "(no URL)"
    if not parts.scheme or not host:
        return "(no URL)"
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}{'' if port is None else f':{port}'}{parts.path.split(';', 1)[0]}"


def _from_har(text: bytes) -> Captured:
    containers = text.count(b"{") + text.count(b"[")  # an upper bound: also counts those inside strings
    if containers > MAX_HAR_CONTAINERS:
        raise CaptureError(f"the HAR file has more than {MAX_HAR_CONTAINERS:,} JSON objects and arrays ('{{' and '['): the doctor reads at most that many")
    try:
        har = json.loads(text)
    except ValueError:
        raise CaptureError("the input starts like JSON but is not JSON: a HAR file cut short?") from None
    except RecursionError:  # the decoder recurses once per level: no HAR file nests that deep
        raise CaptureError("the input is JSON nested deeper than any HAR file: the doctor cannot read it") from None
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
        return _valid(body)
    params = post.get("params")
    for param in params if isinstance(params, list) else ():
        if isinstance(param, dict) and param.get("name") == FIELD and isinstance(param.get("value"), str) and param["value"]:
            return _valid(param["value"])
    return None


def _valid(posted: str) -> bytes:
    encoded = _utf8(posted)
    if encoded is None:
        raise CaptureError(f"the {FIELD} posted in the HAR file holds an escape that is not a character (a lone surrogate, such as \\ud800)")
    return encoded


def _from_html(text: bytes) -> Captured:
    # Decoded first, so that libxml2 reads valid UTF-8 (bytes that are not are replaced, as a browser would).
    try:
        root = etree.fromstring(text.decode("utf-8", "replace").encode(), _HTML_PARSER)
    except (etree.LxmlError, ValueError):  # a page libxml2 cannot recover anything from: as one without the field
        root = None
    action: str | None = None
    found: list[tuple[str, str | None]] = []
    for element in root.iter("form", "input") if root is not None else ():
        if element.tag == "form":
            action = element.get("action")
        elif element.get("name") == FIELD and element.get("value"):
            found.append((element.get("value") or "", action))
    if not found:
        raise CaptureError(
            f"the HTML page has no form field named {FIELD}: save the page the IdP answers with just before the "
            "browser posts to the service provider (or export a HAR file of the sign-in)"
        )
    value, action = found[0]
    note = f"read from the {FIELD} field of the HTML form" + (f" that posts to {_address(action)}" if action else "")
    if len(found) > 1:
        note += f" (the first of {len(found)})"
    return Captured(value.encode(), note)
