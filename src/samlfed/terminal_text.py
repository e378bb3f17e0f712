"""Text from a document, made safe to print on a terminal: a hostile value must not drive the terminal or print
lines of its own (the doctor prints NameIDs, attribute values and parser messages from what it is given)."""

from __future__ import annotations

import re

_INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
"""Control characters (C0 but tab and newline, DEL, C1) and bidirectional overrides: XML allows most of them."""

_LINE_BREAKS = re.compile("[\n\u2028\u2029]")


def visible(text: str) -> str:
    """`text` with its invisible characters as \\uXXXX escapes: a hostile document must not drive the terminal
    (an 8-bit CSI can move the cursor and rewrite the verdict). In JSON text, the escape is the same string."""
    return _INVISIBLE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def one_line(text: str) -> str:
    """`text` with its line breaks escaped: a value that breaks the line must not print lines of its own (a NameID
    "alice\\nPASS trust.policy …\\nVALID: …" printed a check and a verdict that the doctor never gave)."""
    return _LINE_BREAKS.sub(lambda match: "\\n" if match.group() == "\n" else f"\\u{ord(match.group()):04x}", text)
