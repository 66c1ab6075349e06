"""In-place edits that keep every comment and the file's own formatting (ruamel round-trip).

The edit is verified before it is written: only the lines of the edited values may change.
If ruamel would reformat anything else, kb refuses and says which line to edit by hand,
rather than rewrite a person's file.
"""

from __future__ import annotations

import difflib
import io
import re
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.representer import RoundTripRepresenter
from ruamel.yaml.util import load_yaml_guess_indent

from kb.core import safefile, yamlio
from kb.core.atomic import write_atomic


class EditProblem(Exception):
    pass


def _mapping_indent(text: str) -> int:
    indents = [
        len(line) - len(line.lstrip(" "))
        for line in text.split("\n")
        if line.strip() and not line.lstrip().startswith(("#", "- ")) and line.startswith(" ")
    ]
    return min(indents) if indents else 2


def _null_spelling(text: str) -> str:
    """How this file writes a null: kb new's templates write `key: null`, others `key: ~` or nothing.

    ruamel reads all three as None and writes its own choice back, which changed every other
    null line of a file straight from `kb new`; writing the file's own spelling keeps them."""
    words = len(re.findall(r"(?m)(?::|^\s*-)\s+null\s*(?:#.*)?$|[:,\[]\s*null\s*[,}\]]", text))
    tildes = len(re.findall(r"(?m)(?::|^\s*-)\s+~\s*(?:#.*)?$|[:,\[]\s*~\s*[,}\]]", text))
    if words == 0 and tildes == 0:
        return ""
    return "null" if words >= tildes else "~"


def _yaml(text: str) -> YAML:
    # ruamel guesses the sequence indent and the dash offset; the mapping indent is the
    # smallest indentation of a line that is not a list item
    _, sequence, offset = load_yaml_guess_indent(text)
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096
    mapping = _mapping_indent(text)
    offset = offset or 0
    yaml.indent(mapping=mapping, sequence=sequence or mapping + offset, offset=offset)
    spelling = _null_spelling(text)
    if spelling:
        # a subclass per call: add_representer on ruamel's own class would change every later dump

        class Representer(RoundTripRepresenter):
            pass

        Representer.add_representer(
            type(None), lambda rep, _data: rep.represent_scalar("tag:yaml.org,2002:null", spelling)
        )
        yaml.Representer = Representer
    return yaml


def private_representers(yaml: Any, representers: dict[type, Any]) -> None:
    """Give `yaml` its own representers. ruamel's add_representer writes into the class
    that every YAML instance shares, so one caller's `null` spelling would change every
    later dump in the process (a stamp after a prefill wrote `a:` as `a: null`)."""
    from ruamel.yaml.representer import RoundTripRepresenter

    class Representer(RoundTripRepresenter):
        pass

    for kind, function in representers.items():
        Representer.add_representer(kind, function)
    yaml.Representer = Representer


def set_values(path: Path, updates: list[tuple[tuple, Any]]) -> bool:
    """Set each YAML path to a value (the last key is added when absent); False when unchanged."""
    raw = safefile.read_bytes(path)
    try:
        text = yamlio.decode(raw)
        yamlio.load_mapping(raw)  # refuse to edit a file kb itself cannot read
    except yamlio.YamlProblem as problem:
        raise EditProblem(f"{path.name}:{problem.span.line}:{problem.span.column}: {problem.message}") from None
    newline = "\r\n" if "\r\n" in text else "\n"
    text = text.replace("\r\n", "\n")
    yaml = _yaml(text)
    data = yaml.load(text)
    touched_lines: set[int] = set()
    for loc, value in updates:
        parent = data
        for part in loc[:-1]:
            try:
                parent = parent[part]
            except (KeyError, IndexError, TypeError):
                raise EditProblem(f"{path.name} has no {'.'.join(map(str, loc[:-1]))}") from None
        key = loc[-1]
        if isinstance(parent, dict) and key in parent:
            line = parent.lc.key(key)[0] if hasattr(parent, "lc") else None
            if line is not None:
                touched_lines.add(line)
        parent[key] = value
    out = io.StringIO()
    yaml.dump(data, out)
    new_text = out.getvalue()
    if new_text == text:
        return False
    _verify_only_touched(text, new_text, touched_lines, path)
    bom = "\ufeff" if raw.startswith(b"\xef\xbb\xbf") else ""  # decode drops it; the file keeps it
    write_atomic(path, bom + new_text.replace("\n", newline))
    return True


def _verify_only_touched(old: str, new: str, touched: set[int], path: Path) -> None:
    old_lines, new_lines = old.split("\n"), new.split("\n")
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in ("equal", "insert"):
            continue  # an insert is a key that was absent and is now added
        if tag == "replace" and all(i in touched for i in range(i1, i2)):
            continue
        untouched = next((i for i in range(i1, i2) if i not in touched), i1)
        became = new_lines[j1 + (untouched - i1)] if tag == "replace" and j1 + (untouched - i1) < j2 else None
        cause = (
            f"{old_lines[untouched].strip()!r} would become {became.strip()!r}"
            if became is not None
            else (f"{old_lines[untouched].strip()!r} would be dropped")
        )
        raise EditProblem(
            f"editing {path.name} would also reformat line {untouched + 1} ({cause}); nothing was written. "
            "Edit the value by hand."
        )
