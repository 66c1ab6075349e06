"""A JSON list of diagnostics, one object each, for scripts and editors."""

from __future__ import annotations

import json

from kb.check.engine import CheckResult


def render(result: CheckResult) -> str:
    items = [
        {
            "path": d.path,
            "line": d.span.line,
            "column": d.span.column,
            "end_line": d.span.end_line,
            "end_column": d.span.end_column,
            "code": d.code,
            "name": d.name,
            "level": d.level.value,
            "message": d.message,
            "help_url": d.help_url,
            "yaml_path": [str(p) for p in d.loc],
        }
        for d in result.diagnostics
    ]
    return json.dumps(items, indent=2, ensure_ascii=False) + "\n"
