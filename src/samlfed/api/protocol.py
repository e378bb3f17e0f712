"""AWS query protocol requests: `Action` + `Version` + form-encoded parameters (POST body or GET query string).

Hand-written because no maintained Python library implements the server side of AWS's query protocol; the
rules follow botocore's `query` serializer (lists as `Name.member.N`, structures as `Name.member.N.Field`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from ..errors import ServiceError

MAX_BODY_BYTES = 1024 * 1024
"""Enough for the largest request the API's limits allow, URL-encoded: a 131,072-character policy document whose
characters are all in U+0080–U+00FF (AWS's policy alphabet) takes 6 bytes each (`%C3%A9`), 786,432 bytes, and
CreatePolicy adds a description, a path and 50 tags. A 100,000-character SAMLAssertion needs under 140,000."""
MAX_FIELDS = 10_000
"""Form fields (`&`-separated, empty ones too) a request may hold, body and query string together: far more than any
operation takes (a simulation of hundreds of actions against hundreds of resources), while a 1 MiB body of `&` alone
held a worker for 150 ms before any check could refuse it."""
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


@dataclass(slots=True)  # read-only by convention: frozen fields cost object.__setattr__ each, on every request
class QueryRequest:
    action: str
    version: str
    params: dict[str, str]
    source_ip: str | None = None
    """The client's address (after trusted proxies): aws:SourceIp."""
    secure_transport: bool | None = None
    """Whether the client used HTTPS (after trusted proxies): aws:SecureTransport."""

    def member_list(self, name: str) -> list[str]:
        """`Name.member.1`, `Name.member.2`, … in the order of their numbers."""
        return [self.params[key] for key in self._members(name, None)]

    def member_structs(self, name: str, fields: Iterable[str]) -> list[dict[str, str]]:
        """`Name.member.N.Field` structures, e.g. Tags.member.1.Key / Tags.member.1.Value, in the order of N."""
        fields = tuple(fields)
        structs = []
        for prefix in self._members(name, fields):
            struct = {f: self.params[prefix + f] for f in fields if prefix + f in self.params}
            if struct:
                structs.append(struct)
        return structs

    def _members(self, name: str, fields: tuple[str, ...] | None) -> list[str]:
        """`Name.member.N.` (a structure's) or `Name.member.N` (a list's) for every N the request numbers, in the
        order of N. botocore numbers members 1, 2, 3…; a hand-made request that skips one (PolicyArns.member.2
        without .1) must not lose the others. Any other key under `Name.member.` (`.member.0`, `.member.01`, a field
        that is not one of `fields`, such as `.arn` spelt `.Arn`) is refused: ignored, it would silently drop what
        it meant to ask for, a session policy among them, and the session would get more than it asked."""
        start = f"{name}.member."
        numbers = set()
        for key in self.params:
            if key.startswith(start):
                number, dot, field = key[len(start):].partition(".")
                if not is_member_number(number) or (field not in fields if fields is not None else dot):
                    raise ServiceError("ValidationError", _NOT_A_MEMBER.format(key=key, name=name, shape=_member_shape(name, fields)))
                numbers.add(number)
        # Without leading zeros, shorter is smaller: ordered without int(), which raises on over 4,300 digits.
        suffix = "." if fields is not None else ""
        return [f"{start}{n}{suffix}" for n in sorted(numbers, key=lambda n: (len(n), n))]


_NOT_A_MEMBER = "Parameter {key} is not a member of {name}: members are {shape}, with N from 1 and no leading zeros"


def _member_shape(name: str, fields: tuple[str, ...] | None) -> str:
    start = f"{name}.member.N"
    return start if fields is None else " and ".join(f"{start}.{field}" for field in fields)


def is_member_number(text: str) -> bool:
    return text.isascii() and text.isdigit() and not text.startswith("0")


_SHORT_VALUE = 256
"""Values up to this long (ARNs, names, numbers) try `_unquote_arn` first; in a longer one (the SAMLAssertion)
each replace scans all of it, and unquote_to_bytes's loop costs less."""


def _unquote_arn(text: str) -> str | None:
    """`text` decoded when its only escapes are %3A and %2F, as urlencode and botocore send an ARN; else None.

    unquote_to_bytes's loop cost 3,000 instructions per escape, 20,000 per ARN. Equal to it: each replace takes
    out one `%` and puts in a character that is neither `%` nor a hex digit, so no new escape can form, and no
    `%` left means every one began an escape that decodes to the same character."""
    decoded = text.replace("%3A", ":").replace("%2F", "/")
    return None if "%" in decoded else decoded


def _unquote_form(text: str) -> str:
    """One name or value as parse_qsl decodes it ('+' is a space, then %XX escapes, UTF-8, strict).

    Through unquote_to_bytes: twice as fast as unquote on a long base64 SAMLAssertion. unquote first splits the
    text into ASCII and non-ASCII runs; decoding the UTF-8 bytes whole gives the same answer.
    """
    text = text.replace("+", " ")
    if "%" not in text:
        return text
    if len(text) <= _SHORT_VALUE and (decoded := _unquote_arn(text)) is not None:
        return decoded
    return unquote_to_bytes(text).decode("utf-8")


class TooManyFields(Exception):
    """A form with more `&`-separated fields than form_pairs was allowed to read; `pairs`: those read before."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        super().__init__()
        self.pairs = pairs


class TooManyParameters(ServiceError):
    """A request with more than MAX_FIELDS fields. `action` and `version`: what the fields read before the limit
    named (empty when they did not), which says the service to answer for without reading the rest."""

    def __init__(self, read: dict[str, str]) -> None:
        super().__init__("ValidationError", f"The request has more than {MAX_FIELDS} parameters", 400)
        self.action = read.get("Action", "")
        self.version = read.get("Version", "")


def form_pairs(source: str, max_fields: int = MAX_FIELDS) -> list[tuple[str, str]]:
    """`parse_qsl(source, keep_blank_values=True, errors="strict")` for text decoded from UTF-8, faster on long
    base64 values. Fields are found with find (a memchr) rather than split, which scans byte by byte: 40,000
    instructions on a 7 KB body; they are counted on the way (a count("&") first was another pass, 36,000
    instructions per request), empty ones too, and past `max_fields` TooManyFields stops the loop. (A lone surrogate
    next to an escape may raise ValueError here; decoded UTF-8 never holds one.)"""
    pairs: list[tuple[str, str]] = []
    start = 0
    while start <= len(source):
        max_fields -= 1
        if max_fields < 0:
            raise TooManyFields(pairs)
        end = source.find("&", start)
        if end < 0:
            end = len(source)
        if end > start:
            name, _, value = source[start:end].partition("=")
            pairs.append((_unquote_form(name), _unquote_form(value)))
        start = end + 1
    return pairs


def parse_query(
    body: bytes, query_string: str, content_type: str | None, *, source_ip: str | None = None, secure_transport: bool | None = None,
) -> QueryRequest:
    """Parse a query-protocol request from its body (POST) and query string (GET or presigned); the connection's
    `source_ip` and `secure_transport` ride along for the policies that condition on them."""
    if len(body) > MAX_BODY_BYTES:
        raise ServiceError("ValidationError", "Request body is too large", 413)
    params: dict[str, str] = {}
    sources = [query_string] if query_string else []  # a POST's empty query string holds no pairs
    if body:
        # The media type exactly (parameters such as charset aside): "…urlencodedXYZ", or two Content-Type headers
        # (which arrive joined by a comma), are not a form.
        if content_type is not None and content_type.split(";", 1)[0].strip().lower() != FORM_CONTENT_TYPE:
            raise ServiceError("InvalidParameterValue", f"Unsupported content type {content_type.split(';')[0]!r}")
        try:
            sources.append(body.decode("utf-8"))
        except UnicodeDecodeError:
            raise ServiceError("MalformedQueryString", "The request body is not UTF-8 form data", 400) from None
    fields_left = MAX_FIELDS
    for source in sources:
        try:
            pairs = form_pairs(source, fields_left)
        except TooManyFields as refused:
            raise TooManyParameters({**params, **dict(refused.pairs)}) from None
        except (UnicodeDecodeError, ValueError):
            raise ServiceError("MalformedQueryString", "The query string contains a syntax error", 400) from None
        fields_left -= len(pairs)
        for key, value in pairs:
            if key in params and params[key] != value:
                raise ServiceError("InvalidParameterValue", f"Parameter {key} is given more than once")
            params[key] = value
    action = params.pop("Action", "")
    version = params.pop("Version", "")
    if not action:
        raise ServiceError("MissingAction", "Missing Action", 400)
    return QueryRequest(action, version, params, source_ip, secure_transport)
