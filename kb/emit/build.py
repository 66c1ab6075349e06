"""`kb emit`: postmortem reinforcements as the mechanisms themselves.

From every postmortem's `alert`, `gate`, `test` and `eval` reinforcements (those not
`wont_do`), kb writes files under rules/kb/ that it owns whole, one per postmortem and kind:

- kb/alerts/PM-2026-004.yml: Prometheus alerting rules, one group (`kb:PM-2026-004`);
- kb/tests/PM-2026-004.yml: promtool unit tests replaying each alert's incident: silent at
  `silent_at` (default fires_at - for - interval), firing with every label and annotation
  at `fires_at` (its rule_files: ../alerts/PM-2026-004.yml);
- kb/gates/PM-2026-004.yml: the release gates, and the tests a release waits for;
- kb/evals/PM-2026-004.jsonl: eval cases, one JSON object a line, after a header record.

One file per postmortem is what makes the output merge: two branches that each file, or
each edit, a different postmortem change different files, so git never sees both sides
insert at the same place (it would, at the end of a shared file, whatever the order).
Output is sorted and byte-stable. A file without kb's header is never written nor removed;
a file with it that this emit does not write (a postmortem removed, the single-file layout
of older kb versions: rules/kb.rules.yml, gates.yml...) is removed in the same set.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, NotRequired, TypedDict

import yaml

from kb.core import safefile
from kb.core.atomic import temp_folder, write_set
from kb.core.durations import format_seconds, seconds
from kb.core.ids import PM_ID
from kb.core.paths import OutsideKB, confine
from kb.emit.labels import derived_labels
from kb.load.knowledge_base import Document, KnowledgeBase
from kb.load.rulefiles import (
    ALERTS_FOLDER,
    EMIT_FOLDER,
    EVALS_FOLDER,
    GATES_FOLDER,
    JSONL_HEADER_ID,
    MARKER,
    TESTS_FOLDER,
    emitted_names,
    is_legacy_name,
    is_owned,
)
from kb.load.secrets import Allowlist
from kb.model import Postmortem
from kb.model.common import PRIORITY_ACTIONS
from kb.model.postmortem import Reinforcement


class EmitProblem(Exception):
    """`code` 2 when the environment is at fault (a disk, a permission), 1 when the KB is."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


class EvalRecord(TypedDict):
    """One line of kb/evals/<id>.jsonl: a reinforcement of kind eval."""

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
    test: str | None = None  # the name of its promtool test in kb/tests/<id>.yml, when it has a replay
    file: str = ""  # the emitted rule file that holds it, under rules/ (kb/alerts/<id>.yml)


@dataclass
class Emitted:
    files: dict[str, str]  # file name under rules/ -> content
    alerts: list[AlertSource] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    # file name -> the `PM/R` of every reinforcement it holds (what reading it back would give)
    ids: dict[str, list[str]] = field(default_factory=dict)
    # file name -> the postmortem file it is written from (the first, for an id that two files share)
    origin: dict[str, str] = field(default_factory=dict)
    # each postmortem's alert group and replay tests: what KB605 runs, built from the models
    suites: list[ReplaySuite] = field(default_factory=list)


@dataclass
class ReplaySuite:
    """One postmortem's alert group and the promtool tests replaying its incident: what KB605
    runs, one suite per test file (each evaluates only its own rules)."""

    group: dict[str, Any]
    tests: list[dict[str, Any]]
    # the files kb emit writes them to, under rules/ ("" when not known: KB605 then runs copies)
    rule_file: str = ""
    test_file: str = ""


_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's emitter; the same bytes every run

_STR, _MAP, _SEQ = "tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
_NULL, _BOOL = "tag:yaml.org,2002:null", "tag:yaml.org,2002:bool"


class _FastDumper(_Dumper):  # type: ignore[valid-type,misc]
    """The safe dumper with its Python half (the representer, 2 s of 3.7 at 3,333
    postmortems) cut short for what kb emit dumps: plain dicts, lists, strings, booleans and
    None become the very nodes SafeRepresenter makes (a dict or list met twice is still an
    alias), and everything else takes SafeRepresenter's own way. libyaml's emitter is
    unchanged, so the bytes are (tests/test_rules_speed_dump.py compares both on varied data)."""

    def represent_data(self, data):
        kind = type(data)
        if kind is str:
            return yaml.ScalarNode(_STR, data)
        if (kind is dict or kind is list) and self.default_flow_style is not None and not self.sort_keys:
            key = id(data)
            if key in self.represented_objects:
                return self.represented_objects[key]
            self.object_keeper.append(data)
            if kind is dict:
                pairs: list = []
                node = yaml.MappingNode(_MAP, pairs, flow_style=self.default_flow_style)
                self.represented_objects[key] = node
                for item_key, item_value in data.items():
                    pairs.append((self.represent_data(item_key), self.represent_data(item_value)))
                return node
            items: list = []
            node = yaml.SequenceNode(_SEQ, items, flow_style=self.default_flow_style)
            self.represented_objects[key] = node
            for item in data:
                items.append(self.represent_data(item))
            return node
        if data is None:
            return yaml.ScalarNode(_NULL, "null")
        if kind is bool:
            return yaml.ScalarNode(_BOOL, "true" if data else "false")
        return super().represent_data(data)


def _dump(data) -> str:
    return yaml.dump(
        data, Dumper=_FastDumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=4096
    )


def _dump_reference(data) -> str:
    """`_dump` with PyYAML's own representer: what _FastDumper must equal."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=4096)


def dump_yaml(data) -> str:
    """YAML exactly as kb emit writes it."""
    return _dump(data)


# The header is the same on every branch: each item names its own source (the group
# `kb:PM-...`, the test name, a gate's or eval's `source`), so a list of sources at the top
# would conflict on every merge of two branches that each filed a postmortem.
HEADER = f"{MARKER}. Do not edit: change the postmortems and run `kb emit`.\n"
HEADER_RECORD = (
    json.dumps(
        {"id": JSONL_HEADER_ID, "note": f"{MARKER[2:]}. Do not edit: change the postmortems and run `kb emit`."},
        ensure_ascii=False,
        sort_keys=True,
    )
    + "\n"
)


def _postmortems(kb: KnowledgeBase) -> dict[str, list[Document[Postmortem]]]:
    """The postmortems that loaded, by id (a duplicated id, which KB-id/duplicate reports,
    shares its files: one file per id keeps every name kb writes derived from a checked id)."""
    by_id: dict[str, list[Document[Postmortem]]] = {}
    for doc in sorted((d for d in kb.postmortems if d.model is not None), key=lambda d: d.path):
        assert doc.model is not None
        by_id.setdefault(doc.model.id, []).append(doc)
    return dict(sorted(by_id.items()))


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


TEMPLATE_DELIMITER = re.compile(r"\{\{|\}\}")


def literal_in_template(text: str) -> str:
    """`text` as a Prometheus annotation (a Go template) that renders as written: each `{{` or
    `}}` becomes an action printing it. A postmortem's title is prose, not a template; copied
    as is, `{{ $value }}` in it would render otherwise and the replay could never pass."""
    return TEMPLATE_DELIMITER.sub(lambda match: '{{ "' + match.group() + '" }}', text)


def alert_annotations(kb: KnowledgeBase, pm: Postmortem, item, rendered: bool = False) -> dict[str, str]:
    """The alert's annotations as the rule file carries them; `rendered`: as Prometheus shows
    them (what the replay's test expects). They differ only where kb copies the title."""
    alert = item.alert
    site = kb.config.site_url
    title = pm.title if rendered else literal_in_template(pm.title)
    return {
        "summary": alert.summary,
        "description": alert.description or f"From {pm.id} {item.id}: {title}",
        "runbook_url": f"{site}cards/{alert.card}/",
        "action": f"{alert.priority}: {PRIORITY_ACTIONS[alert.priority]}",
        "postmortem_url": f"{site}postmortems/{pm.id}/",
    }


def build(kb: KnowledgeBase) -> Emitted:
    files: dict[str, str] = {}
    ids: dict[str, list[str]] = {}  # what reading each file back gives (KB409 skips the read)
    alerts: list[AlertSource] = []
    sources: list[str] = []
    suites: list[ReplaySuite] = []
    by_id = _postmortems(kb)
    for pm_id, docs in by_id.items():
        names = emitted_names(pm_id)
        rules: list[dict[str, object]] = []
        tests: list[dict] = []
        gates: list[dict] = []
        required_tests: list[dict] = []
        evals: list[EvalRecord] = []
        for doc in docs:
            pm = doc.model
            assert pm is not None  # _postmortems keeps only the documents that loaded
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
                            f"kb:{pm_id}",
                            len(rules),
                            alert.name,
                            doc.path,
                            ("reinforcements", index, "alert"),
                            f"{source} {alert.name}" if alert.replay is not None else None,
                            names["alert"],
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
                        shown = alert_annotations(kb, pm, item, rendered=True)
                        tests.append(_replay_test(source, alert, labels, shown))
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
            if used:
                sources.append(doc.path)
        if rules:
            group = {"name": f"kb:{pm_id}", "rules": rules}
            files[names["alert"]] = HEADER + _dump({"groups": [group]})
            if tests:
                suites.append(ReplaySuite(group, tests, names["alert"], names["replay"]))
            ids[names["alert"]] = [f"{r['labels']['postmortem']}/{r['labels']['reinforcement']}" for r in rules]  # type: ignore[index]
        if tests:
            # relative to the test file: promtool resolves rule_files from the test file's folder
            rule_file = "../" + PurePosixPath(names["alert"]).relative_to(EMIT_FOLDER).as_posix()
            files[names["replay"]] = HEADER + _dump(
                {"rule_files": [rule_file], "evaluation_interval": "1m", "tests": tests}
            )
        if gates or required_tests:
            files[names["gate"]] = HEADER + _dump({"gates": gates, "tests": required_tests})
            ids[names["gate"]] = [e["source"] for e in gates + required_tests]
        if evals:
            files[names["eval"]] = HEADER_RECORD + "".join(
                json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in evals
            )
            ids[names["eval"]] = [r["id"] for r in evals]
    origin = {name: docs[0].path for pm_id, docs in by_id.items() for name in emitted_names(pm_id).values()}
    return Emitted(dict(sorted(files.items())), alerts, sources, ids, {n: origin[n] for n in files}, suites)


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
    """The emitted Prometheus rule files (kb/alerts/<id>.yml), as names under rules/."""
    return [n for n in emitted.files if n.startswith(f"{EMIT_FOLDER}/alerts/")]


def test_parts(emitted: Emitted) -> list[str]:
    """The emitted promtool test files (kb/tests/<id>.yml), as names under rules/."""
    return [n for n in emitted.files if n.startswith(f"{EMIT_FOLDER}/tests/")]


def owned_on_disk(kb: KnowledgeBase) -> list[str]:
    """Every file kb emit wrote that is on disk now, as names under rules/: those in rules/kb/
    (not entering links or hidden folders) and those of the single-file layout of older kb
    versions directly in rules/. What carries kb's header is kb's, whatever its name."""
    base = rules_dir(kb)
    found: list[str] = []
    try:
        found += [e.name for e in os.scandir(base) if is_legacy_name(e.name) and is_owned(base / e.name)]
    except OSError:
        return []
    # only the names kb emit gives: rules/kb/<kind>/<postmortem id>.<ext> (outside review: a
    # copy saved as rules/kb/alerts/team-custom.yml or in a subfolder was removed as kb's)
    kinds = ((ALERTS_FOLDER, ".yml"), (TESTS_FOLDER, ".yml"), (GATES_FOLDER, ".yml"), (EVALS_FOLDER, ".jsonl"))
    for kind_folder, ext in kinds:
        folder = base / kind_folder
        if not folder.is_dir() or folder.is_symlink() or (base / EMIT_FOLDER).is_symlink():
            continue
        try:
            names = [e.name for e in os.scandir(folder) if e.is_file(follow_symlinks=False)]
        except OSError:
            continue
        for name in names:
            if name.endswith(ext) and PM_ID.fullmatch(name[: -len(ext)]) and is_owned(folder / name):
                found.append(f"{kind_folder}/{name}")
    return sorted(found)


def stale_parts(kb: KnowledgeBase, emitted: Emitted) -> list[str]:
    """kb's own files that this emit does not write: a postmortem removed or without
    reinforcements now, and the whole single-file layout of older kb versions."""
    return [n for n in owned_on_disk(kb) if n not in emitted.files]


class OnDisk:
    """kb emit's own files under rules/ as one check reads them, each once however many rules
    ask (KB409, KB601): which are there (owned_on_disk), and their text. A text that is what
    this emit writes is kept as a mark, not a second copy of the file."""

    def __init__(self, kb: KnowledgeBase, emitted: Emitted):
        self.kb = kb
        self.emitted = emitted
        self._owned: list[str] | None = None
        self._base: Path | None = None
        self._texts: dict[str, str | bool | OSError] = {}

    def owned(self) -> list[str]:
        if self._owned is None:
            self._owned = owned_on_disk(self.kb)
        return self._owned

    def read_text(self, name: str) -> str:
        """The text of rules/<name> (safefile: a regular file, bounded), or its OSError."""
        if name not in self._texts:
            try:
                if self._base is None:
                    self._base = rules_dir(self.kb)  # once: it resolves every link on the way
                text = safefile.read_text(self._base / name)
                self._texts[name] = True if text == self.emitted.files.get(name) else text
            except OSError as exc:
                self._texts[name] = exc
        found = self._texts[name]
        if found is True:
            return self.emitted.files[name]
        if isinstance(found, OSError):
            raise found
        assert isinstance(found, str)
        return found


def changes(kb: KnowledgeBase, emitted: Emitted, disk: OnDisk | None = None) -> dict[str, tuple[str, str]]:
    """Files whose content on disk differs: name -> (old, new); new is "" for a file to remove."""
    disk = disk if disk is not None else OnDisk(kb, emitted)
    out = {}
    base = rules_dir(kb)  # resolved once: every link on the way, for each of thousands of files, cost 0.3 s
    for name, text in emitted.files.items():
        try:  # read first: asking whether it is there first was one more stat per file
            old = disk.read_text(name)
        except OSError as exc:
            if os.path.lexists(base / name):  # there, and unreadable (a link to nothing, a FIFO...)
                raise EmitProblem(f"{kb.settings.rules_dir}/{name}: {safefile.describe(exc)}") from None
            old = ""  # not written yet
        if old != text:
            out[name] = (old, text)
    for name in [n for n in disk.owned() if n not in emitted.files]:  # stale_parts
        try:
            out[name] = (disk.read_text(name), "")
        except OSError as exc:
            raise EmitProblem(f"{kb.settings.rules_dir}/{name}: {safefile.describe(exc)}") from None
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
                tofile=f"b/{base}/{name}" if new else "/dev/null",
            )
        )
    return "".join(chunks)


def refuse_unowned(kb: KnowledgeBase, emitted: Emitted | None = None) -> None:
    for name in sorted(emitted.files if emitted else ()):
        path = rules_dir(kb) / name
        if os.path.lexists(path) and not is_owned(path):
            raise EmitProblem(
                f"{kb.settings.rules_dir}/{name} exists and was not written by kb emit (no header); "
                "kb never overwrites it: rename or move it, then run kb emit"
            )


def refuse_unloaded(kb: KnowledgeBase) -> None:
    """A postmortem that does not load (a schema error, a merge conflict in it) would silently
    lose its alerts, gates and evals from rules/: kb emit refuses instead of dropping them."""
    broken = sorted(d.path for d in kb.postmortems if d.model is None)
    if broken:
        more = f" and {len(broken) - 3} more" if len(broken) > 3 else ""
        raise EmitProblem(
            f"{', '.join(broken[:3])}{more} does not load, so kb emit would drop its alerts, gates and evals "
            f"from {kb.settings.rules_dir}/: `kb check {broken[0]}` says why; fix it, then run kb emit"
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
    refuse_unloaded(kb)
    refuse_unowned(kb, emitted)
    refuse_secrets(kb, emitted, allowlist)
    base = rules_dir(kb)
    stale = stale_parts(kb, emitted)
    rels = {os.path.relpath(base / name, kb.root): name for name in [*emitted.files, *stale]}
    contents: dict[str, str | None] = {rel: emitted.files.get(name) for rel, name in rels.items()}
    try:  # the files, and the removals, as one set: a kill or a failure leaves the old set or the new one
        # the journal where the loader looks (kb.load.loader finishes a set whose writer was killed)
        changed = write_set(kb.root, contents, journal_folder=temp_folder(base))
    except OutsideKB as exc:
        raise EmitProblem(f"{exc}: kb emit writes only inside the knowledge base") from None
    except OSError as exc:
        where = os.path.relpath(exc.filename, kb.root) if exc.filename else kb.settings.rules_dir
        raise EmitProblem(f"{where}: {safefile.describe(exc)}; nothing was changed", 2) from None
    _remove_empty_folders(base)
    return [rels[rel] for rel in changed]


def _remove_empty_folders(base: Path) -> None:
    """The kind folders kb emit no longer writes to (rules/kb/tests/ when no alert has a replay)."""
    folder = base / EMIT_FOLDER
    if not folder.is_dir() or folder.is_symlink():
        return
    for sub in sorted((p for p in folder.iterdir() if p.is_dir() and not p.is_symlink()), reverse=True):
        try:
            sub.rmdir()  # only when empty
        except OSError:
            pass
    try:
        folder.rmdir()
    except OSError:
        pass
