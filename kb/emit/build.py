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
A file that would grow past `max_file_bytes` is written in parts (kb.rules.yml,
kb.rules.2.yml, ...; the tests list every rules part), so kb's own output never trips KB100.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import NotRequired, TypedDict

import yaml

from kb.core import safefile
from kb.core.atomic import write_set
from kb.core.durations import format_seconds, seconds
from kb.core.paths import OutsideKB, confine
from kb.emit.labels import derived_labels
from kb.load.knowledge_base import Document, KnowledgeBase
from kb.load.rulefiles import JSONL_HEADER_ID, MARKER, is_owned
from kb.load.secrets import Allowlist
from kb.model import Postmortem
from kb.model.common import PRIORITY_ACTIONS
from kb.model.postmortem import Reinforcement

RULES, TESTS, GATES, EVALS = "kb.rules.yml", "kb.rules.test.yml", "gates.yml", "evals.jsonl"
OWNED = (RULES, TESTS, GATES, EVALS)


class EmitProblem(Exception):
    """`code` 2 when the environment is at fault (a disk, a permission), 1 when the KB is."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


class EvalRecord(TypedDict):
    """One line of evals.jsonl: a reinforcement of kind eval."""

    id: str  # <postmortem>/<reinforcement>
    source: str  # the postmortem file
    input: str
    expected: str
    forbidden: str | None
    failure_mode: NotRequired[str | None]  # when the postmortem's model was involved
    failure_modes: NotRequired[list[str]]  # several (format v2): all of them, in order


@dataclass
class AlertSource:
    group: str
    index: int  # the rule's position in its group
    name: str
    path: str  # the postmortem file
    loc: tuple  # YAML path of the reinforcement's alert
    test: str | None = None  # the name of its promtool test in kb.rules.test.yml, when it has a replay


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


# The header is the same on every branch: each item names its own source (the group
# `kb:PM-...`, the test name, a gate's or eval's `source`), so a list of sources at the top
# would conflict on every merge of two branches that each filed a postmortem.
HEADER = f"{MARKER}. Do not edit: change the postmortems and run `kb emit`.\n"
PART = re.compile(r"^(?:kb\.rules|kb\.rules\.test|gates)\.[0-9]+\.yml$|^evals\.[0-9]+\.jsonl$")
HEADROOM = 4096  # bytes left below max_file_bytes for the header and the top-level keys


def part_name(name: str, number: int) -> str:
    """kb.rules.yml, kb.rules.2.yml, ...: the first part keeps the plain name."""
    if number == 1:
        return name
    stem, dot, suffix = name.rpartition(".")
    return f"{stem}.{number}{dot}{suffix}"


def _chunks(items: list, size_of, budget: int) -> list[list]:
    """Consecutive runs of items, each within `budget` bytes (an item larger than the budget
    alone makes a part of its own; KB100 then names it). Always at least one, maybe empty, run."""
    chunks: list[list] = [[]]
    used = 0
    for item in items:
        size = size_of(item)
        if chunks[-1] and used + size > budget:
            chunks.append([])
            used = 0
        chunks[-1].append(item)
        used += size
    return chunks


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
    groups, tests, gates, required_tests = [], [], [], []
    evals: list[EvalRecord] = []
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
                    AlertSource(
                        f"kb:{pm.id}",
                        len(rules),
                        alert.name,
                        doc.path,
                        ("reinforcements", index, "alert"),
                        f"{source} {alert.name}" if alert.replay is not None else None,
                    )
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
                record: EvalRecord = {
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
    budget = max(kb.settings.max_file_bytes - HEADROOM, 1024)
    files: dict[str, str] = {}
    rule_chunks = _chunks(groups, lambda g: len(_dump([g])), budget)
    rule_names = [part_name(RULES, i) for i in range(1, len(rule_chunks) + 1)]
    ids: dict[str, list[str]] = {}  # what reading each file back gives (KB409 skips the read)
    for name, chunk in zip(rule_names, rule_chunks):
        files[name] = HEADER + _dump({"groups": chunk})
        ids[name] = [f"{r['labels']['postmortem']}/{r['labels']['reinforcement']}" for g in chunk for r in g["rules"]]
    for i, chunk in enumerate(_chunks(tests, lambda t: len(_dump([t])), budget), 1):
        files[part_name(TESTS, i)] = HEADER + _dump(
            {"rule_files": rule_names, "evaluation_interval": "1m", "tests": chunk}
        )
    entries = [("gates", g) for g in gates] + [("tests", t) for t in required_tests]
    for i, chunk in enumerate(_chunks(entries, lambda e: len(_dump([e[1]])), budget), 1):
        files[part_name(GATES, i)] = HEADER + _dump(
            {"gates": [e for k, e in chunk if k == "gates"], "tests": [e for k, e in chunk if k == "tests"]}
        )
        ids[part_name(GATES, i)] = [e["source"] for _, e in chunk]
    lines = [json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in evals]
    eval_ids = {line: record["id"] for line, record in zip(lines, evals)}
    header_record = (
        json.dumps(
            {"id": JSONL_HEADER_ID, "note": f"{MARKER[2:]}. Do not edit: change the postmortems and run `kb emit`."},
            ensure_ascii=False,
            sort_keys=True,
        )
        + "\n"
    )
    for i, chunk in enumerate(_chunks(lines, len, budget), 1):
        files[part_name(EVALS, i)] = header_record + "".join(chunk)
        ids[part_name(EVALS, i)] = [eval_ids[line] for line in chunk]
    return Emitted(files, alerts, sources, ids)


def _replay_test(source: str, alert, labels: dict[str, str], annotations: dict[str, str]) -> dict:
    replay = alert.replay
    fires = seconds(replay.fires_at)
    silent = (
        seconds(replay.silent_at)
        if replay.silent_at
        else max(0.0, fires - seconds(alert.for_) - seconds(replay.interval))
    )
    # labels the expression keeps (max by (agent) ...), when kb is certain of them; else KB605
    # runs the test and names what to add. The author's expect_labels win.
    derived = derived_labels(alert.expr, [s.series for s in replay.series])
    expected_labels = dict(sorted({**derived, **replay.expect_labels, **labels}.items()))
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


def rule_parts(emitted: Emitted) -> list[str]:
    """The names of the emitted Prometheus rule files: kb.rules.yml and its further parts."""
    return [n for n in emitted.files if n == RULES or (n.startswith("kb.rules.") and not n.startswith("kb.rules.test"))]


def test_parts(emitted: Emitted) -> list[str]:
    """The names of the emitted promtool test files."""
    return [n for n in emitted.files if n.startswith("kb.rules.test")]


def stale_parts(kb: KnowledgeBase, emitted: Emitted) -> list[str]:
    """Parts an earlier, larger emit wrote that this one does not (kb.rules.3.yml after shrinking)."""
    try:
        names = sorted(p.name for p in rules_dir(kb).iterdir())
    except OSError:
        return []
    return [n for n in names if PART.match(n) and n not in emitted.files and is_owned(rules_dir(kb) / n)]


def changes(kb: KnowledgeBase, emitted: Emitted) -> dict[str, tuple[str, str]]:
    """Files whose content on disk differs: name -> (old, new); new is "" for a part to remove."""
    out = {}
    for name, text in emitted.files.items():
        path = rules_dir(kb) / name
        try:
            old = safefile.read_text(path) if os.path.lexists(path) else ""
        except OSError as exc:
            raise EmitProblem(f"{kb.settings.rules_dir}/{name}: {safefile.describe(exc)}") from None
        if old != text:
            out[name] = (old, text)
    for name in stale_parts(kb, emitted):
        try:
            old = safefile.read_text(rules_dir(kb) / name)
        except OSError as exc:
            raise EmitProblem(f"{kb.settings.rules_dir}/{name}: {safefile.describe(exc)}") from None
        out[name] = (old, "")
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


def refuse_unowned(kb: KnowledgeBase, emitted: Emitted | None = None) -> None:
    for name in sorted(set(OWNED) | set(emitted.files if emitted else ())):
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
    refuse_unowned(kb, emitted)
    refuse_secrets(kb, emitted, allowlist)
    base = rules_dir(kb)
    stale = stale_parts(kb, emitted)
    rels = {os.path.relpath(base / name, kb.root): name for name in emitted.files}
    try:  # the files as one set: a kill or a failure leaves the old set or the new one
        changed = write_set(kb.root, {rel: emitted.files[name] for rel, name in rels.items()})
    except OutsideKB as exc:
        raise EmitProblem(f"{exc}: kb emit writes only inside the knowledge base") from None
    except OSError as exc:
        where = os.path.relpath(exc.filename, kb.root) if exc.filename else kb.settings.rules_dir
        raise EmitProblem(f"{where}: {safefile.describe(exc)}; nothing was changed", 2) from None
    for name in stale:  # parts a larger emit wrote: the new set no longer names them
        (base / name).unlink(missing_ok=True)
    return [rels[rel] for rel in changed] + stale
