"""SARIF 2.1.0 for GitHub code scanning; fingerprints survive lines moving.

What GitHub uses, and so what kb writes: `helpUri` per rule (the rule's page on the site),
`shortDescription` and `fullDescription` within GitHub's 1024 characters, artifact URIs
relative to the repository root (the KB may sit in a subfolder), and
`partialFingerprints.primaryLocationLineHash`, the one fingerprint key GitHub reads (it
ignores others and would compute this one from the line's text, so a finding would become
"new" whenever the line changed): kb sets it from the YAML path, not the line.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import quote

from kb import __version__
from kb.check.engine import CheckResult

_LEVELS = {"error": "error", "warning": "warning", "info": "note"}
SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
DESCRIPTION_LIMIT = 1024  # GitHub: shortDescription.text and fullDescription.text, at most 1024 characters


def fingerprint(path: str, code: str, loc: tuple, message: str) -> str:
    # the YAML path, not the line: a fix above the node must not make the alert "new"
    anchor = "/".join(str(p) for p in loc) if loc else message
    return hashlib.sha256(f"{code}\0{path}\0{anchor}".encode()).hexdigest()[:32]


def _within(text: str, limit: int = DESCRIPTION_LIMIT) -> str:
    text = " ".join(text.split()) if len(text) > limit else text
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _first_paragraph(doc: str) -> str:
    return doc.strip().split("\n\n", 1)[0].replace("\n", " ").strip()


def render(result: CheckResult, path_prefix: str = "", site_url: str = "") -> str:
    codes = sorted(result.rules)
    index = {code: i for i, code in enumerate(codes)}
    rules = []
    for code in codes:
        rule = result.rules[code]
        why = rule.doc().split("\n\n", 2)
        full = " ".join(part.replace("\n", " ").strip() for part in why[:2])
        descriptor = {
            "id": code,
            "name": rule.name,
            "shortDescription": {"text": _within(rule.summary())},
            "fullDescription": {"text": _within(full or _first_paragraph(rule.doc()))},
            "help": {"text": rule.doc(), "markdown": rule.doc()},
            "defaultConfiguration": {"level": _LEVELS[rule.level.value]},
        }
        if site_url:
            descriptor["helpUri"] = f"{site_url}rules/{code}/"
        rules.append(descriptor)
    results = []
    for d in result.diagnostics:
        path = path_prefix + d.path
        item: dict[str, Any] = {
            "ruleId": d.code,
            "level": _LEVELS[d.level.value],
            "message": {"text": d.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": quote(path, safe="/"), "uriBaseId": "%SRCROOT%"},
                        "region": {
                            "startLine": d.span.line,
                            "startColumn": d.span.column,
                            "endLine": d.span.end_line,
                            "endColumn": d.span.end_column,
                        },
                    }
                }
            ],
            "partialFingerprints": {"primaryLocationLineHash": fingerprint(path, d.code, d.loc, d.message)},
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
                "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "The repository root"}}},
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"
