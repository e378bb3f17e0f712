"""AWS query-protocol responses: `<{Op}Response><{Op}Result>…</{Op}Result><ResponseMetadata>…`, and error XML.

Results are plain Python values: a dict becomes child elements in insertion order, a list becomes `<member>`
elements, a datetime becomes ISO 8601 UTC without fractional seconds (as AWS emits), a bool becomes
`true`/`false`, None is omitted.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from lxml import etree

from ..errors import ServiceError

NAMESPACES = {
    "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
    "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
}


_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""Characters XML 1.0 cannot carry (controls, lone surrogates, U+FFFE/U+FFFF); they become U+FFFD."""


def aws_timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _append(parent: etree._Element, namespace: str, name: str, value: Any) -> None:
    """Children stay in the document's default namespace."""
    if value is None:
        return
    _fill(etree.SubElement(parent, f"{{{namespace}}}{name}"), namespace, value)


def _fill(element: etree._Element, namespace: str, value: Any) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _append(element, namespace, key, item)
    elif isinstance(value, list | tuple):
        for item in value:
            _append(element, namespace, "member", item)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif isinstance(value, datetime):
        element.text = aws_timestamp(value)
    else:
        text = str(value)
        try:
            element.text = text
        except ValueError:  # a control character from the request, echoed in a message: never a 500
            element.text = _NOT_XML.sub("\ufffd", text)


def render_result(service: str, action: str, result: dict[str, Any] | None, request_id: str) -> bytes:
    ns = NAMESPACES[service]
    response = etree.Element(f"{{{ns}}}{action}Response", nsmap={None: ns})
    if result is not None:
        _fill(etree.SubElement(response, f"{{{ns}}}{action}Result"), ns, result)
    _append(response, ns, "ResponseMetadata", {"RequestId": request_id})
    return etree.tostring(response, encoding="UTF-8")


def render_error(service: str, error: ServiceError, request_id: str) -> bytes:
    ns = NAMESPACES[service]
    response = etree.Element(f"{{{ns}}}ErrorResponse", nsmap={None: ns})
    _append(response, ns, "Error", {"Type": error.fault, "Code": error.code, "Message": error.message})
    _append(response, ns, "RequestId", request_id)
    return etree.tostring(response, encoding="UTF-8")
