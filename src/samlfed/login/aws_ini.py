"""Reading an AWS shared credentials file exactly as botocore does, and finding the line each profile starts on.

botocore reads the file with `configparser.RawConfigParser` (strict: a repeated section is an error; `#` and `;`
start whole-line comments only). A line is a section header when, stripped, it starts with `[` and has a `]`
later: `[prod] ; keys` is `prod`, `[ prod ]` is ` prod ` (another profile), and a line indented deeper than the
option before it is part of that option's value whatever it looks like. Rather than copy these rules, the parser
itself does the reading, and its documented `SECTCRE` hook notes the line of each header it accepts.
"""

from __future__ import annotations

import configparser
import re
from dataclasses import dataclass
from typing import Any

# Text mode's universal newlines: how botocore (configparser on a file opened as text) splits lines.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


class IniError(ValueError):
    """botocore could not read this text (or, after an edit, would read other profiles differently)."""


@dataclass(frozen=True)
class Parsed:
    profiles: dict[str, dict[str, str]]
    """Every section as botocore sees it (values of a `[DEFAULT]` section included)."""
    headers: list[tuple[int, str]]
    """(line index, section name) of each section header, in file order."""
    defaults: dict[str, str]
    """The values of a `[DEFAULT]` section: what botocore reads in a profile that does not set them itself."""


def lines_of(text: str) -> list[str]:
    """The lines of `text` with their own line endings; "".join gives `text` back."""
    return _LINE.findall(text)


class _NotingHeaders:
    """Stands in for `RawConfigParser.SECTCRE`: matches the same way and notes the current line of each header."""

    def __init__(self) -> None:
        self.line = -1
        self.headers: list[tuple[int, str]] = []

    def match(self, value: str) -> Any:
        found = configparser.RawConfigParser.SECTCRE.match(value)
        if found:
            self.headers.append((self.line, found.group("header")))
        return found


def parse(text: str, source: str) -> Parsed:
    """The sections of `text` and where their headers are; IniError when botocore would refuse the text."""
    lines = lines_of(text)
    noting = _NotingHeaders()
    parser = configparser.RawConfigParser()
    parser.SECTCRE = noting  # type: ignore[assignment]  # a documented customisation point of configparser

    def numbered() -> Any:
        for index, line in enumerate(lines):
            noting.line = index
            yield line

    try:
        parser.read_file(numbered(), source=source)
    except configparser.Error as exc:
        raise IniError(" ".join(str(exc).split())) from None
    profiles = {name: dict(parser.items(name)) for name in parser.sections()}
    return Parsed(profiles, noting.headers, dict(parser.defaults()))
