"""AWS query-protocol responses: `<{Op}Response><{Op}Result>…</{Op}Result><ResponseMetadata>…`, and error XML.

Results are plain Python values: a dict becomes child elements in insertion order, a list becomes `<member>`
elements, a datetime becomes ISO 8601 UTC without fractional seconds (as AWS emits), a bool becomes
`true`/`false`, None is omitted.

Written as text rather than built as an lxml tree: these answers are a few flat elements, and building a tree
to serialize it cost 27 µs of every AssumeRoleWithSAML; joining escaped strings costs a fifth of that. The
output is byte for byte what lxml serialized (a test compares them on generated results).
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from typing import Any

from ..errors import ServiceError
from ..timestamps import aws_timestamp, aws_timestamp_of_second, epoch_second

NAMESPACES = {
    "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
    "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
}


_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""Characters XML 1.0 cannot carry (controls, lone surrogates, U+FFFE/U+FFFF); they become U+FFFD."""


def _escaped(text: str) -> str:
    """Character data as lxml writes it: &, <, > and CR escaped; what XML cannot carry replaced, never a 500
    (a control character from the request can be echoed in a message)."""
    plain = text.isascii() and text.isprintable()  # printable ASCII holds nothing to replace and no CR
    if not plain:
        text = _NOT_XML.sub("\ufffd", text)
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if not plain and "\r" in text:
        text = text.replace("\r", "&#13;")
    return text


class Verbatim(str):
    """Text of our own making that XML carries as it is (base32 and base64 of random and sealed bytes: no &, <, >,
    CR or control character), written without `_escaped`'s checks: str.isprintable alone cost 18,000
    instructions on a session token, on every sign-in. Never for text that came from a request or a document."""

    __slots__ = ()


def _timestamp(moment: datetime) -> str:
    """aws_timestamp(moment), kept per second for UTC instants (the text has no fractions): every sign-in writes
    its Expiration."""
    second = epoch_second(moment)
    return aws_timestamp(moment) if second is None else aws_timestamp_of_second(second)


def _element(out: list[str], name: str, value: Any) -> None:
    """Append `<name>value</name>` to `out` (nothing for None; `<name/>` when it has no content)."""
    if value is None:
        return
    if value.__class__ is str:  # most values
        out.append(f"<{name}>{_escaped(value)}</{name}>")
        return
    if value.__class__ is Verbatim:
        out.append(f"<{name}>{value}</{name}>")
        return
    if isinstance(value, (dict, list, tuple)):
        out.append(f"<{name}>")
        mark = len(out)
        if isinstance(value, dict):
            _children(out, value)
        else:
            for item in value:
                _element(out, "member", item)
        if len(out) == mark:
            out[-1] = f"<{name}/>"
        else:
            out.append(f"</{name}>")
        return
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, datetime):
        text = _timestamp(value)
    else:
        text = _escaped(str(value))
    out.append(f"<{name}>{text}</{name}>")


def _children(out: list[str], mapping: dict[str, Any]) -> None:
    """`_element` for each item of `mapping`, in order; strings (most values) written here, without a call each."""
    for name, value in mapping.items():
        if value.__class__ is str:
            out.append(f"<{name}>{_escaped(value)}</{name}>")
        elif value.__class__ is Verbatim:
            out.append(f"<{name}>{value}</{name}>")
        elif value is not None:
            _element(out, name, value)


def _document(service: str, root: str, children: dict[str, Any]) -> bytes:
    out = [f'<{root} xmlns="{NAMESPACES[service]}">']
    _children(out, children)
    out.append(f"</{root}>")
    return "".join(out).encode()


@lru_cache(maxsize=256)
def _result_frame(service: str, action: str) -> tuple[str, str]:
    """What surrounds a result's elements: the opening of the answer and of its Result, and their closing up to the
    request id (the same for every answer to an action)."""
    return (
        f'<{action}Response xmlns="{NAMESPACES[service]}"><{action}Result>',
        f"</{action}Result><ResponseMetadata><RequestId>",
    )


def render_result(service: str, action: str, result: dict[str, Any] | None, request_id: str) -> bytes:
    """The answer to an action. A result with elements is written between its frame, kept per action (building
    the frame's names and the generic renderer's two dicts cost a quarter of an AssumeRoleWithSAML answer)."""
    if result.__class__ is dict:
        opening, closing = _result_frame(service, action)
        out = [opening]
        _children(out, result)
        if len(out) > 1:
            out.append(f"{closing}{_escaped(request_id)}</RequestId></ResponseMetadata></{action}Response>")
            return "".join(out).encode()
    # None, a result whose values are all None (<…Result/>), and any other value, as the generic renderer writes them
    return _document(service, f"{action}Response", {f"{action}Result": result, "ResponseMetadata": {"RequestId": request_id}})


def render_error(service: str, error: ServiceError, request_id: str) -> bytes:
    """AWS's error document; an error without a message (MalformedInput) has no Message element, as AWS sends it."""
    fields = {"Type": error.fault, "Code": error.code, "Message": error.message or None}
    return _document(service, "ErrorResponse", {"Error": fields, "RequestId": request_id})
