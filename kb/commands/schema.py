"""`kb schema`: write the JSON Schemas of cards, postmortems and oncall.yaml (from the models)."""

from __future__ import annotations

from pathlib import Path

from kb.commands.common import CommandError, echo, kb_root, verb
from kb.core.paths import OutsideKB, confine
from kb.model.schema import SCHEMA_DIR, stale_schemas, write_schemas


@verb
def run(check_only: bool = False, root: Path | None = None) -> int:
    base = kb_root(root)
    try:
        # a schemas/ link out of the KB would have kb write there (outside review)
        folder = confine(base, SCHEMA_DIR)  # (a link in it is replaced by the rename, never written through)
    except OutsideKB as exc:
        raise CommandError(f"{exc}: kb schema writes only inside the knowledge base", 2) from None
    if check_only:
        stale = stale_schemas(folder)
        for name in stale:
            echo(f"{SCHEMA_DIR}/{name} is out of date; run `kb schema`")
        return 1 if stale else 0
    changed = write_schemas(folder)
    echo(f"{len(changed)} schema file(s) written to {SCHEMA_DIR}/" if changed else "schemas are up to date")
    return 0
