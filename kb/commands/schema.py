"""`kb schema`: write the JSON Schemas of cards, postmortems and oncall.yaml (from the models)."""

from __future__ import annotations

from pathlib import Path

from kb.commands.common import echo, kb_root, verb
from kb.model.schema import SCHEMA_DIR, stale_schemas, write_schemas


@verb
def run(check_only: bool = False, root: Path | None = None) -> int:
    folder = kb_root(root) / SCHEMA_DIR
    if check_only:
        stale = stale_schemas(folder)
        for name in stale:
            echo(f"{SCHEMA_DIR}/{name} is out of date; run `kb schema`")
        return 1 if stale else 0
    changed = write_schemas(folder)
    echo(f"{len(changed)} schema file(s) written to {SCHEMA_DIR}/" if changed else "schemas are up to date")
    return 0
