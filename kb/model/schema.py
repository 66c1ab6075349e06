"""JSON Schemas for editors, generated from the pydantic models (never written by hand)."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from kb.core import safefile
from kb.core.atomic import write_atomic
from kb.model import Card, Oncall, Postmortem
from kb.model.run import RunEvent

SCHEMAS: dict[str, type[BaseModel]] = {
    "card": Card,
    "postmortem": Postmortem,
    "oncall": Oncall,
    "run": RunEvent,  # one line of runs/*.jsonl
}
SCHEMA_DIR = "schemas"


def schema_text(kind: str) -> str:
    model = SCHEMAS[kind]
    schema = model.model_json_schema(by_alias=True)
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{kind}.schema.json",
        **schema,
    }
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def schema_files() -> dict[str, str]:
    return {f"{kind}.schema.json": schema_text(kind) for kind in SCHEMAS}


def write_schemas(folder: Path) -> list[Path]:
    """Write every schema; returns the files whose content changed."""
    changed = []
    for name, text in schema_files().items():
        if write_atomic(folder / name, text):
            changed.append(folder / name)
    return changed


def stale_schemas(folder: Path) -> list[str]:
    stale = []
    for name, text in schema_files().items():
        path = folder / name
        try:  # a schema of the wrong kind or size is out of date, never read whole
            current = safefile.read_text(path, limit=max(len(text.encode("utf-8")) * 2, 1 << 20))
        except OSError:
            current = None
        if current != text:
            stale.append(name)
    return stale
