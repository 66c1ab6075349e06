"""Ids typed on the command line: checked before they touch the file system.

A card id is a file name and part of a URL, so only lowercase ASCII letters, digits and
`-` are allowed. An id pasted from chat or a PDF often carries a look-alike (a Unicode
hyphen, a Cyrillic letter, a zero-width space, a trailing newline): the error names the
character, so the reader sees why `queue‐stuck` is not `queue-stuck`.
"""

from __future__ import annotations

import re
import unicodedata

CARD_ID = re.compile(r"[a-z0-9][a-z0-9-]*")
PM_ID = re.compile(r"PM-[0-9]{4}-[0-9]{3,}")
MAX_LENGTH = 120


def card_id_problem(text: str) -> str | None:
    """Why `text` is not a card id, or None when it is one."""
    return _problem(text, CARD_ID, "a card id", "lowercase ASCII letters, digits and '-'")


def postmortem_id_problem(text: str) -> str | None:
    return _problem(text, PM_ID, "a postmortem id", "PM-YYYY-NNN")


def _problem(text: str, pattern: re.Pattern[str], what: str, allowed: str) -> str | None:
    if pattern.fullmatch(text) and len(text) <= MAX_LENGTH:
        return None
    shown = ascii(text)
    if len(text) > MAX_LENGTH:
        return f"{shown[:60]}... is not {what}: longer than {MAX_LENGTH} characters"
    for position, char in enumerate(text, start=1):
        if not char.isascii() or not char.isprintable():
            return f"{shown} is not {what}: character {position} is {_describe(char)}, not ASCII ({allowed})"
    if "/" in text or "\\" in text or text.startswith("."):
        return f"{shown} is not {what}: an id, not a path ({allowed})"
    return f"{shown} is not {what} ({allowed})"


def _describe(char: str) -> str:
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" {name}" if name else "")
