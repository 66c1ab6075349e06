"""The files exported from other systems that a KB keeps (schedules/, memberships/, and any
file a rotation's `schedule` or a group's `members_from` names), and the credentials in them.

A paging tool's feed carries its subscription token in URLs (`webcal://.../ical?token=...`), a
DESCRIPTION may hold a webhook, a SCIM export a bearer token someone pasted: the KB keeps and
publishes these files (kb check quotes their text, the site's dashboard shows shifts). Their
text is scanned line by line as written, and also as their format reads it: an iCalendar
line is folded at 75 octets (RFC 5545 3.1), so a token in a DESCRIPTION is split across lines
and only the unfolded line shows it; a JSON string may escape `/` as `\\/`, so only the decoded
string shows a URL's credential.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from kb.core import safefile
from kb.core.paths import inside
from kb.load.knowledge_base import KnowledgeBase
from kb.load.secrets import SecretHit, scan

FOLDERS = ("schedules", "memberships")
MAX_BYTES = 50_000_000  # the schedule reader's own limit: a year of hourly shifts is 1.6 MB
MAX_FILES = 10_000
FOLD = re.compile(r"\r?\n[ \t]")  # RFC 5545 3.1: a line break followed by one space or tab continues the line


def export_files(kb: KnowledgeBase) -> list[str]:
    """Every regular file under schedules/ and memberships/, and every file oncall.yaml names
    as a schedule or a membership source, as KB-relative POSIX paths, sorted."""
    found: set[str] = set()
    root = kb.root
    for folder in FOLDERS:
        base = root / folder
        if base.is_symlink() or not base.is_dir():
            continue
        for path in sorted(base.rglob("*"))[:MAX_FILES]:
            if path.is_file() and not path.is_symlink():
                found.add(path.relative_to(root).as_posix())
    model = kb.oncall.model if kb.oncall is not None else None
    if model is not None:
        for rotation in model.rotations.values():
            if rotation.schedule:
                found.add(rotation.schedule)
        for group in model.groups.values():
            if group.members_from:
                found.add(group.members_from.split("#", 1)[0])
    return sorted(rel for rel in found if inside(root, rel) is not None)


def read_export(root: Path, rel: str) -> bytes | None:
    raw, _problem = safefile.read_named(root, rel, MAX_BYTES)  # unreadable: KB311/KB318 say why
    return raw


def scan_export(raw: bytes, rel: str) -> list[SecretHit]:
    """Credentials in an exported file, at the line where the text holding them starts."""
    hits = {(h.line, h.value): h for h in scan(raw, rel)}
    text = raw.decode("utf-8", errors="replace").lstrip("\ufeff")
    for hit, last in _unfolded(text, rel) + _json_strings(text, rel):
        inside = {key: h for key, h in hits.items() if hit.line <= key[0] <= last}
        if any(hit.value in h.value for h in inside.values()):
            continue  # already found whole on one of its physical lines
        parts = [key for key, h in inside.items() if h.value in hit.value]
        for key in parts:  # a folded line's first part: found where it starts, redacted whole
            hits[key] = SecretHit(key[0], hits[key].column, hits[key].end_column, hit.kind, hit.value, hit.keys)
        if not parts:
            hits[(hit.line, hit.value)] = hit
    return sorted(hits.values(), key=lambda h: (h.line, h.column, h.kind))


def _unfolded(text: str, rel: str) -> list[tuple[SecretHit, int]]:
    """Hits only the unfolded iCalendar lines show, placed on the first physical line of each."""
    if not FOLD.search(text):
        return []
    found = []
    line = 1
    for logical in re.split(r"\r?\n(?![ \t])", text):
        physical = logical.count("\n") + 1
        if physical > 1:
            for hit in scan(FOLD.sub("", logical), rel):
                found.append((_at(hit, line), line + physical - 1))
        line += physical
    return found


def _json_strings(text: str, rel: str) -> list[tuple[SecretHit, int]]:
    """Hits only a JSON document's decoded strings show (`\\/`, `\\u` escapes)."""
    if not rel.lower().endswith(".json") or "\\" not in text:
        return []
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return []
    found = []
    for value in _strings(data):
        if len(value) >= 8 and value not in text:
            for hit in scan(value, rel):
                line = _line_of(text, hit.value)
                found.append((_at(hit, line), line))
    return found


def _strings(value: object, depth: int = 0):
    if depth > 200:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, depth + 1)


def _line_of(text: str, value: str) -> int:
    """The line of the raw text where the longest escape-free piece of `value` is."""
    piece = max(re.split(r"[/\\\"]", value), key=len)
    index = text.find(piece) if piece else -1
    return text.count("\n", 0, index) + 1 if index >= 0 else 1


def _at(hit: SecretHit, line: int) -> SecretHit:
    return SecretHit(line, 1, 1, hit.kind, hit.value, hit.keys)
