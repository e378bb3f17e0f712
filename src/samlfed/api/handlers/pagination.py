"""Pagination of IAM's list operations (Marker / MaxItems): the pages, and the Markers handed out and taken back.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ...errors import ServiceError, ValidationFailed
from ...iam import constraints as iam_constraints
from ..protocol import QueryRequest
from .parameters import default, integer

_MARKER_CHARACTERS = re.compile("[\x20-\xff]+")
_MARKER_LENGTH = 320
"""The model's markerType: a Marker handed out must fit it, or the client cannot send it back."""
_MARKER = re.compile(r"samlfed:(?P<action>[A-Za-z]+)(?:#(?P<digest>[0-9a-f]{16}))?:(?P<after>.*)", re.DOTALL)
"""A pagination marker as `paginate` hands it out (base64 of this): its operation and the last item's sort key; for a
key too long to fit (a tag key of 128 non-ASCII letters), the key's digest and as much of its start as fits."""


@dataclass(frozen=True, slots=True)
class _Resume:
    """Where the page a Marker asks for starts: after the item whose sort key is `after`, or, when `digest` is set,
    after the item whose key starts with `after` and has that digest (see `marker`)."""
    after: str
    digest: str | None = None


def _marker_key(request: QueryRequest) -> _Resume | None:
    """Where a page starts; only markers this operation handed out ("samlfed:-5", a position, or another List call's
    marker would page from odd places)."""
    marker = request.params.get("Marker")
    if marker is None:
        return None
    violations = iam_constraints.name_violations(marker, "marker", _MARKER_LENGTH, _MARKER_CHARACTERS, "[\\u0020-\\u00FF]+")  # the model's markerType
    if violations:
        raise ValidationFailed(violations)
    try:
        found = _MARKER.fullmatch(base64.urlsafe_b64decode(marker.encode()).decode())
    except ValueError:
        found = None
    # No name or key holds a NUL; the lists paged by the database would put it in a query PostgreSQL refuses.
    if found is None or found["action"] != request.action or "\x00" in found["after"]:
        raise ServiceError("ValidationError", "Invalid Marker")
    return _Resume(found["after"], found["digest"])


def page_request(request: QueryRequest) -> tuple[int, str | None]:
    """`_page_bounds` for the lists whose keys always fit a Marker whole (names of at most 128 ASCII characters,
    numbers): the key the page starts after."""
    max_items, resume = _page_bounds(request)
    if resume is not None and resume.digest is not None:  # only `paginate` hands these out
        raise ServiceError("ValidationError", "Invalid Marker")
    return max_items, None if resume is None else resume.after


def _page_bounds(request: QueryRequest) -> tuple[int, _Resume | None]:
    """MaxItems (1-1000, default 100) and where the Marker says the page starts, held to the model."""
    max_items = default(integer(request, "MaxItems"), 100)
    if not 1 <= max_items <= 1000:
        bound = "greater than or equal to 1" if max_items < 1 else "less than or equal to 1000"
        raise ValidationFailed([f"Value '{max_items}' at 'maxItems' failed to satisfy constraint: Member must have value {bound}"])
    return max_items, _marker_key(request)


def paginate(request: QueryRequest, items: list[Any], key: Callable[[Any], str]) -> tuple[list[Any], dict[str, Any]]:
    """One page of `items` in `key` order. The marker holds the last key returned, not a position: an item
    deleted between two calls (a loop that deletes what it lists) does not make the next page skip another."""
    max_items, resume = _page_bounds(request)
    ordered = sorted(items, key=key)  # in Python: the same order whatever the database's collation
    start = 0 if resume is None else _start_after([key(item) for item in ordered], resume)
    page = ordered[start : start + max_items]
    more = start + max_items < len(ordered)
    return page, page_end(request, page, more, key)


def _start_after(keys: list[str], resume: _Resume) -> int:
    """The index of the first key after the one the Marker names. A key abridged in its Marker is found by its
    digest; when that item is gone, the page starts at the first key after the kept start, which may show again
    items sharing that start: shown twice rather than skipped."""
    if resume.digest is not None:
        for index, key in enumerate(keys):
            if key.startswith(resume.after) and _key_digest(key) == resume.digest:
                return index + 1
    return bisect.bisect_right(keys, resume.after)


def page_end(request: QueryRequest, page: list[Any], more: bool, key: Callable[[Any], str]) -> dict[str, Any]:
    """IsTruncated, and the Marker of the next page when more follow: the sort key of this page's last item."""
    return {"IsTruncated": more, "Marker": marker(request, key(page[-1])) if more else None}


def marker(request: QueryRequest, last_key: str) -> str:
    """The Marker of a page whose last item has sort key `last_key` (see _marker_key). A key too long for the
    model's 320 characters (a tag key may be 128 letters of four UTF-8 bytes) is abridged: its digest and as much of
    its start as fits, whole characters only."""
    marker = base64.urlsafe_b64encode(f"samlfed:{request.action}:{last_key}".encode()).decode()
    if len(marker) <= _MARKER_LENGTH:
        return marker
    head = f"samlfed:{request.action}#{_key_digest(last_key)}:".encode()
    room = _MARKER_LENGTH // 4 * 3 - len(head)  # base64: 4 characters for every 3 bytes
    start = last_key.encode()[:room].decode(errors="ignore")  # a character cut in two is left out
    return base64.urlsafe_b64encode(head + start.encode()).decode()


def _key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:16]
