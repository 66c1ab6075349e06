"""`kb emit`: postmortem reinforcements as the mechanisms themselves.

From every postmortem's `alert`, `gate`, `test` and `eval` reinforcements (those not
`wont_do`), kb writes four files under rules/ that it owns whole:

- kb.rules.yml: Prometheus alerting rules, one group per postmortem (`kb:PM-2026-004`), so
  an alert's provenance is its group and editing one postmortem changes one group;
- kb.rules.test.yml: promtool unit tests replaying each alert's incident: silent at
  `silent_at` (default fires_at - for - interval), firing with every label and annotation
  at `fires_at`;
- gates.yml: the release gates, and the tests a release waits for;
- evals.jsonl: eval cases, one JSON object a line, after a header record.

Output is sorted and byte-stable. A file under rules/ without kb's header is never written.
"""

from __future__ import annotations

import difflib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from kb.core import safefile
from kb.core.atomic import write_set
from kb.core.durations import format_seconds, seconds
from kb.core.paths import OutsideKB, confine
from kb.load.knowledge_base import Document, KnowledgeBase
from kb.load.rulefiles import JSONL_HEADER_ID, MARKER, is_owned
from kb.load.secrets import Allowlist
from kb.model import Postmortem
from kb.model.common import PRIORITY_ACTIONS
from kb.model.postmortem import Reinforcement

RULES, TESTS, GATES, EVALS = "kb.rules.yml", "kb.rules.test.yml", "gates.yml", "evals.jsonl"
OWNED = (RULES, TESTS, GATES, EVALS)


class EmitProblem(Exception):
    pass


@dataclass
class AlertSource:
    group: str
    index: int  # the rule's position in its group
    name: str
    path: str  # the postmortem file
    loc: tuple  # YAML path of the reinforcement's alert


@dataclass
class Emitted:
    files: dict[str, str]  # file name under rules/ -> content
    alerts: list[AlertSource] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    # file name -> the `PM/R` of every reinforcement it holds (what reading it back would give)
    ids: dict[str, list[str]] = field(default_factory=dict)


_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's emitter; the same bytes every run


def _dump(data) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=4096)


def _header(sources: list[str], comment: str = "#") -> str:
    lines = [
        f"{MARKER}. Do not edit: change the postmortems and run `kb emit`.",
        f"{comment} Sources: {', '.join(sources) if sources else 'none'}",
    ]
    return "\n".join(lines) + "\n"


def _postmortems(kb: KnowledgeBase) -> list[Document[Postmortem]]:
    docs = [d for d in kb.postmortems if d.model is not None]
    return sorted(docs, key=lambda d: d.model.id if d.model else "")


def _items(pm: Postmortem) -> list[tuple[int, Reinforcement]]:
    indexed = [(i, r) for i, r in enumerate(pm.reinforcements) if r.status != "wont_do"]
    return sorted(indexed, key=lambda pair: (pair[1].id, pair[0]))


def alert_labels(kb: KnowledgeBase, pm: Postmortem, item) -> dict[str, str]:
    alert = item.alert
    labels = {
        **alert.labels,
        "priority": alert.priority,
        "severity": kb.settings.severity[alert.priority],
        "postmortem": pm.id,
        "reinforcement": item.id,
    }
    return dict(sorted(labels.items()))


def alert_annotations(kb: KnowledgeBase, pm: Postmortem, item) -> dict[str, str]:
    alert = item.alert
    site = kb.config.site_url
    return {
        "summary": alert.summary,
        "description": alert.description or f"From {pm.id} {item.id}: {pm.title}",
        "runbook_url": f"{site}cards/{alert.card}/",
        "action": f"{alert.priority}: {PRIORITY_ACTIONS[alert.priority]}",
        "postmortem_url": f"{site}postmortems/{pm.id}/",
    }


def build(kb: KnowledgeBase) -> Emitted:
    groups, tests, gates, required_tests, evals = [], [], [], [], []
    alerts: list[AlertSource] = []
    sources: list[str] = []
    for doc in _postmortems(kb):
        pm = doc.model
        assert pm is not None  # _postmortems keeps only the documents that loaded
        rules: list[dict[str, object]] = []
        used = False
        for index, item in _items(pm):
            source = f"{pm.id}/{item.id}"
            if item.kind == "alert" and item.alert:
                used = True
                alert = item.alert
                labels = alert_labels(kb, pm, item)
                annotations = alert_annotations(kb, pm, item)
                alerts.append(
                    AlertSource(f"kb:{pm.id}", len(rules), alert.name, doc.path, ("reinforcements", index, "alert"))
                )
                rules.append(
                    {
                        "alert": alert.name,
                        "expr": alert.expr,
                        "for": alert.for_,
                        "labels": labels,
                        "annotations": annotations,
                    }
                )
                if alert.replay is not None:
                    tests.append(_replay_test(source, alert, labels, annotations))
            elif item.kind == "gate" and item.gate:
                used = True
                gates.append(
                    {
                        "name": item.gate.name,
                        "source": source,
                        "applies_to": list(item.gate.applies_to),
                        "check": item.gate.check,
                        "blocking": item.gate.blocking,
                    }
                )
            elif item.kind == "test" and item.test:
                used = True
                required_tests.append(
                    {"name": item.test.name, "source": source, "path": item.test.path, "asserts": item.test.asserts}
                )
            elif item.kind == "eval" and item.eval:
                used = True
                record = {
                    "id": source,
                    "source": doc.path,
                    "input": item.eval.input,
                    "expected": item.eval.expected,
                    "forbidden": item.eval.forbidden,
                }
                if pm.model_inference and pm.model_inference.involved:
                    record["failure_mode"] = pm.model_inference.failure_mode
                    if pm.model_inference.failure_modes:  # several (format v2): all of them, in order
                        record["failure_modes"] = pm.model_inference.all_failure_modes
                evals.append(record)
        if rules:
            groups.append({"name": f"kb:{pm.id}", "rules": rules})
        if used:
            sources.append(doc.path)
    header = _header(sources)
    files = {
        RULES: header + _dump({"groups": groups}),
        TESTS: header + _dump({"rule_files": [RULES], "evaluation_interval": "1m", "tests": tests}),
        GATES: header + _dump({"gates": gates, "tests": required_tests}),
        EVALS: "".join(
            json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n"
            for r in [
                {
                    "id": JSONL_HEADER_ID,
                    "note": f"{MARKER[2:]}. Do not edit: change the postmortems and run `kb emit`.",
                    "sources": sources,
                },
                *evals,
            ]
        ),
    }
    ids = {
        RULES: [
            f"{rule['labels']['postmortem']}/{rule['labels']['reinforcement']}" for g in groups for rule in g["rules"]
        ],
        GATES: [item["source"] for item in [*gates, *required_tests]],
        EVALS: [record["id"] for record in evals],
    }
    return Emitted(files, alerts, sources, ids)


def _replay_test(source: str, alert, labels: dict[str, str], annotations: dict[str, str]) -> dict:
    replay = alert.replay
    fires = seconds(replay.fires_at)
    silent = (
        seconds(replay.silent_at)
        if replay.silent_at
        else max(0.0, fires - seconds(alert.for_) - seconds(replay.interval))
    )
    expected_labels = dict(sorted({**replay.expect_labels, **labels}.items()))
    return {
        "name": f"{source} {alert.name}",
        "interval": replay.interval,
        "input_series": [{"series": s.series, "values": s.values} for s in replay.series],
        "alert_rule_test": [
            {"eval_time": format_seconds(silent), "alertname": alert.name, "exp_alerts": []},
            {
                "eval_time": replay.fires_at,
                "alertname": alert.name,
                "exp_alerts": [{"exp_labels": expected_labels, "exp_annotations": annotations}],
            },
        ],
    }


def rules_dir(kb: KnowledgeBase) -> Path:
    """The rules folder, confined to the KB (kb.core.paths.OutsideKB when it leads out)."""
    try:
        return confine(kb.root, kb.settings.rules_dir)
    except OutsideKB as exc:
        raise EmitProblem(f"{exc}: kb emit writes only inside the knowledge base") from None


def changes(kb: KnowledgeBase, emitted: Emitted) -> dict[str, tuple[str, str]]:
    """Files whose content on disk differs: name -> (old, new)."""
    out = {}
    for name, text in emitted.files.items():
        path = rules_dir(kb) / name
        try:
            old = safefile.read_text(path) if os.path.lexists(path) else ""
        except OSError as exc:
            raise EmitProblem(f"{kb.settings.rules_dir}/{name}: {safefile.describe(exc)}") from None
        if old != text:
            out[name] = (old, text)
    return out


def unified_diff(kb: KnowledgeBase, changed: dict[str, tuple[str, str]]) -> str:
    base = kb.settings.rules_dir.strip("/")
    chunks: list[str] = []
    for name, (old, new) in sorted(changed.items()):
        chunks.extend(
            difflib.unified_diff(
                old.splitlines(keepends=True),
                new.splitlines(keepends=True),
                fromfile=f"a/{base}/{name}",
                tofile=f"b/{base}/{name}",
            )
        )
    return "".join(chunks)


def refuse_unowned(kb: KnowledgeBase) -> None:
    for name in OWNED:
        path = rules_dir(kb) / name
        if os.path.lexists(path) and not is_owned(path):
            raise EmitProblem(
                f"{kb.settings.rules_dir}/{name} exists and was not written by kb emit (no header); "
                "kb never overwrites it: rename or move it, then run kb emit"
            )


def refuse_secrets(kb: KnowledgeBase, emitted: Emitted, allowlist: Allowlist) -> None:
    """A credential in a postmortem is never written to rules/, whatever the check ignores."""
    for doc in kb.postmortems:
        for value in doc.secret_values(allowlist.keys):
            for name, text in emitted.files.items():
                if value in text:
                    raise EmitProblem(
                        f"{doc.path} holds a credential that would be written to "
                        f"{kb.settings.rules_dir}/{name}; run `kb check --select {allowlist.code}` for the line, "
                        f"remove it and rotate it (a false positive: `# kb: ignore[{allowlist.code}]` on its line)"
                    )


def write(kb: KnowledgeBase, emitted: Emitted, allowlist: Allowlist) -> list[str]:
    refuse_unowned(kb)
    refuse_secrets(kb, emitted, allowlist)
    base = rules_dir(kb)
    rels = {os.path.relpath(base / name, kb.root): name for name in emitted.files}
    try:  # the four files as one set: a kill or a failure leaves the old set or the new one
        changed = write_set(kb.root, {rel: emitted.files[name] for rel, name in rels.items()})
    except OutsideKB as exc:
        raise EmitProblem(f"{exc}: kb emit writes only inside the knowledge base") from None
    except OSError as exc:
        where = os.path.relpath(exc.filename, kb.root) if exc.filename else kb.settings.rules_dir
        raise EmitProblem(f"{where}: {safefile.describe(exc)}; nothing was changed") from None
    return [rels[rel] for rel in changed]
