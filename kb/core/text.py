"""Text from YAML values and file names, made safe for a terminal and a CI log.

A value must not be able to start a line of its own (a GitHub Actions workflow command such
as `::error` or `::add-mask::` is any log line that starts with `::`), move the cursor,
clear the screen, set a window title or write the clipboard (OSC 52), or reorder what the
reader sees (bidi overrides). `one_line` is for a value placed inside kb's own output: every
control character, line or paragraph separator and bidi control becomes a visible escape
(`\\n`, `\\x1b`, `\\u2028`). `terminal_safe` is the last filter on everything kb prints: it
keeps newlines, tabs and kb's own colour codes, and escapes every other control.
"""

from __future__ import annotations

import re
from typing import Any

# C0 and C1 controls, DEL, line/paragraph/next-line separators, bidi embeddings, overrides
# and isolates, and the zero-width marks that can hide or reorder text
_OTHERS = "\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff"
_UNSAFE_VALUE = re.compile(f"[\x00-\x1f{_OTHERS}]")
_UNSAFE_OUTPUT = re.compile(f"\x1b\\[[0-9;]*m|[\x00-\x08\x0b-\x1f{_OTHERS}]")  # \t and \n are kb's own
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _visible(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def one_line(value: object) -> str:
    """`value` as text that stays on its line and cannot drive a terminal."""
    text = "" if value is None else str(value)
    return _UNSAFE_VALUE.sub(lambda m: _visible(m.group()), text) if _UNSAFE_VALUE.search(text) else text


def terminal_safe(text: str, colour: bool = True) -> str:
    """Everything kb prints: newlines and tabs kept, kb's SGR colour codes kept when
    `colour`, every other control escaped."""

    def replace(match: re.Match[str]) -> str:
        token = match.group()
        if colour and token.startswith("\x1b["):
            return token
        return "".join(f"\\u{ord(c):04x}" for c in token)  # `\\uXXXX`: valid inside a JSON string too

    return _UNSAFE_OUTPUT.sub(replace, text)


def neutral(value: Any) -> Any:
    """`value` with every string in it (dict keys and values, list items) through one_line:
    for data a verb builds and then renders as text."""
    if isinstance(value, str):
        return one_line(value)
    if isinstance(value, dict):
        return {neutral(k): neutral(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(neutral(v) for v in value)
    return value
