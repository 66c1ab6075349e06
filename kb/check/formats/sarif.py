"""SARIF 2.1.0 for code-scanning dashboards; fingerprints survive lines moving."""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import quote

from kb import __version__
from kb.check.engine import CheckResult

_LEVELS = {"error": "error", "warning": "warning", "info": "note"}
SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def fingerprint(path: str, code: str, loc: tuple, message: str) -> str:
    # the YAML path, not the line: a fix above the node must not make the alert "new"
    anchor = "/".join(str(p) for p in loc) if loc else message
    return hashlib.sha256(f"{code}\0{path}\0{anchor}".encode()).hexdigest()[:32]


def render(result: CheckResult) -> str:
    codes = sorted(result.rules)
    index = {code: i for i, code in enumerate(codes)}
    rules = []
    for code in codes:
        rule = result.rules[code]
        rules.append(
            {
                "id": code,
                "name": rule.name,
                "shortDescription": {"text": rule.summary()},
                "fullDescription": {"text": rule.doc()},
                "help": {"text": rule.doc(), "markdown": rule.doc()},
                "defaultConfiguration": {"level": _LEVELS[rule.level.value]},
            }
        )
    results = []
    for d in result.diagnostics:
        item: dict[str, Any] = {
            "ruleId": d.code,
            "level": _LEVELS[d.level.value],
            "message": {"text": d.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": quote(d.path, safe="/"), "uriBaseId": "%SRCROOT%"},
                        "region": {
                            "startLine": d.span.line,
                            "startColumn": d.span.column,
                            "endLine": d.span.end_line,
                            "endColumn": d.span.end_column,
                        },
                    }
                }
            ],
            "partialFingerprints": {"kbFinding/v1": fingerprint(d.path, d.code, d.loc, d.message)},
        }
        if d.code in index:
            item["ruleIndex"] = index[d.code]
        results.append(item)
    log = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "kb", "version": __version__, "rules": rules}},
                "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "The knowledge base root (mkdocs.yml)"}}},
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"
