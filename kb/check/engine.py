"""`kb check`: run the rules, place each finding at its node, apply levels and suppressions."""

from __future__ import annotations

import posixpath
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError

from kb.config.settings import CONFIG_FILE, Config
from kb.core import safefile, yamlio
from kb.core.diagnostics import SUPPRESSION, Diagnostic, Finding, Level, LoadProblem, Span
from kb.core.paths import path_problem
from kb.load.knowledge_base import Document
from kb.load.secrets import REDACTED, scan
from kb.rules import DocumentRule, Rule, all_rules, find_rule
from kb.rules.base import LoadRule
from kb.rules.context import RuleContext
from kb.rules.files.suppression_unused import UnusedSuppression


class DocumentMemo(Protocol):
    """Offered by a cache: what document rules found on each unchanged document last run."""

    def fresh(self, path: str) -> bool:
        """The document was read anew this run: its findings must be computed."""
        ...

    def recorded(self, path: str) -> list[Finding]:
        """Every document rule's findings on an unchanged document, from the previous run."""
        ...

    def remember(self, path: str, findings: list[Finding]) -> None:
        """This run's document-rule findings on a document, for the next run."""
        ...


@dataclass
class ActiveRule:
    rule: type[Rule]
    level: Level
    options: BaseModel


@dataclass
class CheckResult:
    diagnostics: list[Diagnostic]
    files_checked: int
    rules: dict[str, type[Rule]] = field(default_factory=dict)
    router_pages: list[str] | None = field(default=None, repr=False)  # inputs of the check cache's key
    inputs: dict[str, list[Any]] = field(default_factory=dict, repr=False)  # [stat, digest] of the documents read

    def count(self, level: Level) -> int:
        return sum(1 for d in self.diagnostics if d.level is level)

    @property
    def exit_code(self) -> int:
        return 1 if self.count(Level.ERROR) else 0


_CODE_PREFIX = re.compile(r"KB\d{1,3}\Z")


def unknown_patterns(patterns: Iterable[str]) -> list[str]:
    """The patterns among `patterns` that select no rule: a typo must fail, never run nothing
    (or everything) in silence. A pattern is a code, a code prefix of at least one digit
    (KB2), a name, a name prefix ending in `/` (card/), or an alias."""
    rules = list(all_rules().values())
    unknown = []
    for pattern in patterns:
        if find_rule(pattern) is not None:
            continue
        prefix = pattern.upper()
        if _CODE_PREFIX.match(prefix) and any(rule.code.startswith(prefix) for rule in rules):
            continue
        if pattern.endswith("/") and any(rule.name.startswith(pattern) for rule in rules):
            continue
        unknown.append(pattern)
    return unknown


def _matches(rule: type[Rule], patterns: Iterable[str]) -> bool:
    """A rule matches a code (KB201), a code prefix (KB2), a name, a name prefix (card/) or an alias."""
    for pattern in patterns:
        if (
            rule.code.startswith(pattern.upper())
            or rule.name == pattern
            or (pattern.endswith("/") and rule.name.startswith(pattern))
            or find_rule(pattern) is rule
        ):
            return True
    return False


def _rule_settings(config: Config) -> tuple[dict[str, dict], list[Finding]]:
    """Each configured rule's settings by code ({level: ..., option: value}); unknown keys are findings."""
    per_rule: dict[str, dict] = {}
    problems: list[Finding] = []
    for key, value in config.settings.rules.items():
        rule = find_rule(key)
        loc = config.plugin_loc + ("rules", key)
        if rule is None:
            problems.append(
                Finding(CONFIG_FILE, f"no rule '{key}' (see `kb rules`)", loc=loc, at="key", problem=LoadProblem.CONFIG)
            )
            continue
        per_rule[rule.code] = {"level": value} if isinstance(value, str) else dict(value)
    return per_rule, problems


def _options(config: Config, rule: type[Rule], conf: dict) -> tuple[BaseModel, list[Finding]]:
    """The rule's options from its settings (level removed); invalid ones fall back to the defaults."""
    try:
        return rule.Options.model_validate(conf), []
    except ValidationError as exc:
        # at the option's own node (a dict key's error at that key): rules: {KB608: {receivers: {p1: ...}}}
        key = next((k for k in config.settings.rules if find_rule(k) is rule), None)
        base = config.plugin_loc + ("rules",) + ((key,) if key is not None else ())
        found = []
        for error in exc.errors(include_url=False):
            loc = tuple(error["loc"])
            at = "key" if loc[-1:] == ("[key]",) else "value"
            found.append(
                Finding(
                    CONFIG_FILE,
                    f"option of {rule.code}: {'.'.join(map(str, loc))}: {error['msg']}",
                    loc=base + (loc[:-1] if at == "key" else loc),
                    at=at,
                    problem=LoadProblem.CONFIG,
                )
            )
        return rule.Options(), found


def rule_options(config: Config, rule: type[Rule]) -> BaseModel:
    """The options `rule` runs with under `config`, as kb check resolves them (whatever its
    level): for readers beside the check, such as the site marking a card stale."""
    conf = dict(_rule_settings(config)[0].get(rule.code, {}))
    conf.pop("level", None)
    return _options(config, rule, conf)[0]


def configure_rules(
    config: Config, select: list[str] | None = None, ignore: list[str] | None = None
) -> tuple[list[ActiveRule], list[Finding]]:
    """The rules to run with their levels and options; bad rule settings become findings."""
    settings = config.settings
    rules = all_rules()
    per_rule, problems = _rule_settings(config)
    for key in ("select", "ignore"):
        for pattern in unknown_patterns(getattr(settings, key)):
            problems.append(
                Finding(
                    CONFIG_FILE,
                    f"{key}: no rule matches '{pattern}' (see `kb rules`); a typo here would run the wrong rules",
                    loc=config.plugin_loc + (key,),
                    problem=LoadProblem.CONFIG,
                )
            )
    select = list(select or []) or settings.select
    ignore = list(ignore or []) + settings.ignore
    active = []
    for code, rule in rules.items():
        if select and not _matches(rule, select):
            continue
        if _matches(rule, ignore):
            continue
        conf = dict(per_rule.get(code, {}))
        level_name = conf.pop("level", rule.level.value)
        if level_name == "off":
            continue
        try:
            level = Level(level_name)
        except ValueError:
            problems.append(
                Finding(
                    CONFIG_FILE,
                    f"level of {code} must be error, warning, info or off",
                    loc=config.plugin_loc + ("rules",),
                    problem=LoadProblem.CONFIG,
                )
            )
            level = rule.level
        options, bad = _options(config, rule, conf)
        problems += bad
        active.append(ActiveRule(rule, level, options))
    # a broken configuration is never hidden by the selection it breaks (`select: [KB99]`)
    config_rule = next((r for r in rules.values() if getattr(r, "reports", None) is LoadProblem.CONFIG), None)
    if config_rule is not None and (problems or config.problems) and all(e.rule is not config_rule for e in active):
        active.append(ActiveRule(config_rule, config_rule.level, config_rule.Options()))
    return active, problems


def help_url(site_url: str, code: str) -> str:
    return f"{site_url}rules/{code}/"


def _read_text(root: Path, path: str) -> str | None:
    try:
        return yamlio.decode(safefile.read_bytes(root / path), max_bytes=1 << 62)
    except (OSError, yamlio.YamlProblem):
        return None


def _place(kb: RuleContext, findings: list[Finding]) -> dict[str, str | None]:
    """Give every finding a span, composing each file at most once; returns the texts read."""
    texts: dict[str, str | None] = {}
    by_path: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        if finding.span is None:
            by_path[finding.path].append(finding)
    for path, items in by_path.items():
        text = texts[path] = _read_text(kb.root, path)
        root = None
        if text is not None and path.endswith((".yaml", ".yml")):
            try:
                root = yamlio.compose(text)
            except yamlio.YamlProblem:
                root = None
        for finding in items:
            finding.span = yamlio.locate_in(root, finding.loc, finding.at).span if root else Span(1, 1, 1, 1)
    return texts


def _suppressions(text: str, path: str) -> list[tuple[int, int, list[str]]]:
    """(line, column, codes) of every `kb: ignore[...]` comment; in a YAML file only a real
    comment counts, never the text of a value."""
    if path.endswith(".jsonl"):
        return []  # JSON has no comments: `kb: ignore[...]` in a run log's evidence is text
    if path.endswith((".yaml", ".yml")):
        matches = yamlio.suppression_comments(text)
    else:
        matches = [
            (number, match.start() + 1, match.group(1))
            for number, line in enumerate(text.splitlines(), start=1)
            if "kb:" in line
            for match in SUPPRESSION.finditer(line)
        ]
    return [(line, column, [c.strip() for c in codes.split(",") if c.strip()]) for line, column, codes in matches]


def _collect(ctx: RuleContext, entry: ActiveRule, rule: Rule, findings: list[tuple[ActiveRule, Finding]]) -> None:
    for finding in rule.check(ctx, entry.options):
        finding.code = entry.rule.code
        findings.append((entry, finding))


def _document_rule_findings(
    ctx: RuleContext,
    document_rules: list[ActiveRule],
    memo: DocumentMemo | None,
    findings: list[tuple[ActiveRule, Finding]],
) -> None:
    kb = ctx.kb
    if document_rules:
        by_code = {entry.rule.code: entry for entry in document_rules}
        instances = [(entry, rule) for entry in document_rules if isinstance(rule := entry.rule(), DocumentRule)]
        documents: list[tuple[str, Document[Any]]] = [("cards", d) for d in kb.cards]
        documents += [("postmortems", d) for d in kb.postmortems]
        for folder, doc in documents:
            if memo is not None and not memo.fresh(doc.path):
                found = [f for f in memo.recorded(doc.path) if f.code in by_code]
            else:
                found = list(_document_findings(ctx, folder, doc, instances))
                if memo is not None:
                    memo.remember(doc.path, found)
            findings += [(by_code[f.code], f) for f in found]


def run_check(
    ctx: RuleContext,
    select: list[str] | None = None,
    ignore: list[str] | None = None,
    only_paths: set[str] | None = None,
    memo: DocumentMemo | None = None,
) -> CheckResult:
    kb = ctx.kb
    active, problems = configure_rules(kb.config, select, ignore)
    for problem in problems:
        kb.add_finding(problem)
    if kb.config.unreadable:
        # with every setting a default (site_url, folders, severities), other findings would be
        # guesses: only the rule that reports mkdocs.yml runs (outside review)
        active = [e for e in active if issubclass(e.rule, LoadRule) and e.rule.reports is LoadProblem.CONFIG]
    findings: list[tuple[ActiveRule, Finding]] = []
    document_rules = [entry for entry in active if issubclass(entry.rule, DocumentRule)]
    rules = [(entry, entry.rule()) for entry in active]
    # rules that start a program (promtool) are collected last, after the document rules: kb
    # works while the program runs instead of waiting for it (the order of findings is the
    # diagnostics' sort, not the rules')
    started = [(entry, rule) for entry, rule in rules if type(rule).start is not Rule.start]
    try:
        for entry, rule in started:  # slow programs first, on the other core while the rules run
            rule.start(ctx, entry.options)
        for entry, rule in rules:
            if type(rule).start is Rule.start:
                _collect(ctx, entry, rule, findings)
        _document_rule_findings(ctx, document_rules, memo, findings)
        for entry, rule in started:
            _collect(ctx, entry, rule, findings)
    finally:
        for _, rule in rules:
            rule.stop()
    if only_paths is not None:
        findings = [(e, f) for e, f in findings if _selected(f.path, only_paths)]
    texts = _place(ctx, [f for _, f in findings])

    diagnostics = [
        Diagnostic(
            f.path,
            f.span or Span(1, 1, 1, 1),  # _place gave every finding a span
            e.rule.code,
            e.rule.name,
            f.level or e.level,
            f.message,
            help_url(kb.config.site_url, e.rule.code),
            f.loc,
        )
        for e, f in findings
    ]
    diagnostics = _apply_suppressions(ctx, diagnostics, texts, active, only_paths)
    redacted: dict[str, str] = {}  # a message repeats across files: each is scanned once
    for diagnostic in diagnostics:
        message = diagnostic.message
        if message not in redacted:
            redacted[message] = _without_secrets(message)
        diagnostic.message = redacted[message]
    diagnostics.sort(key=Diagnostic.sort_key)
    all_files = [doc.path for doc in kb.documents()] + [log.path for log in kb.runs] + ["mkdocs.yml", *ctx.text_paths()]
    files = len(all_files) if only_paths is None else sum(1 for p in all_files if _selected(p, only_paths))
    return CheckResult(diagnostics, files, {a.rule.code: a.rule for a in active}, cache_inputs(ctx))


def cache_inputs(ctx: RuleContext) -> list[str]:
    """The files rules read beyond the folders the check caches watch: the router pages, and
    the pages cards cite outside references/ (docs/...), whose sections rules judge."""
    walked = posixpath.normpath(ctx.settings.references_dir.strip("/")) + "/"
    cited = {
        posixpath.normpath(ref.path)  # references/../docs/x.md is docs/x.md: not under references/
        for doc in ctx.kb.cards
        if doc.model is not None
        for ref in doc.model.references
        if path_problem(ref.path) is None
    }
    # the link targets the router looked for, found or not (a sub-router page created later)
    cited.update(ctx.router().looked_up())
    cited = {path for path in cited if not path.startswith(walked)}
    return [*ctx.text_paths(), *sorted(cited - set(ctx.text_paths()))]


def _without_secrets(message: str) -> str:
    """A message that quotes a file's text (a schedule's SUMMARY, a membership export) never
    carries a credential into a report: check output is published (CI logs, SARIF, PR
    annotations) whatever the file it came from."""
    for hit in scan(message, "message.txt"):
        message = message.replace(hit.value, REDACTED)
    return message


def _document_findings(
    ctx: RuleContext, folder: str, doc: Document[Any], instances: list[tuple[ActiveRule, DocumentRule]]
) -> Iterable[Finding]:
    for entry, rule in instances:
        if folder not in rule.documents or (rule.needs_model and doc.model is None):
            continue
        for finding in rule.check_document(ctx, doc, entry.options):
            finding.code = entry.rule.code
            yield finding


def _selected(path: str, only_paths: set[str]) -> bool:
    return path in only_paths or any(path.startswith(p.rstrip("/") + "/") for p in only_paths)


def _apply_suppressions(
    ctx: RuleContext,
    diagnostics: list[Diagnostic],
    texts: dict[str, str | None],
    active: list[ActiveRule],
    only_paths: set[str] | None,
) -> list[Diagnostic]:
    kb = ctx.kb
    candidates = (
        {d.path for d in diagnostics} | {doc.path for doc in kb.documents() if doc.suppressions} | set(ctx.text_paths())
    )
    if only_paths is not None:
        candidates = {p for p in candidates if _selected(p, only_paths)}
    active_codes = {a.rule.code for a in active}
    unused_rule = next((a for a in active if a.rule is UnusedSuppression), None)
    kept = list(diagnostics)
    for path in sorted(candidates):
        text = texts[path] if path in texts else _read_text(kb.root, path)
        if not text or "kb:" not in text:
            continue
        for line, column, keys in _suppressions(text, path):
            for key in keys:
                rule = find_rule(key)
                hits = [d for d in kept if rule and d.path == path and d.span.line == line and d.code == rule.code]
                for hit in hits:
                    kept.remove(hit)
                if hits or unused_rule is None or (rule is not None and rule.code not in active_codes):
                    continue
                reason = f"no rule '{key}'" if rule is None else f"{rule.code} reports nothing on this line"
                kept.append(
                    Diagnostic(
                        path,
                        Span(line, column, line, column + len("kb: ignore[]") + len(",".join(keys))),
                        unused_rule.rule.code,
                        unused_rule.rule.name,
                        unused_rule.level,
                        f"unused suppression: {reason}; remove it",
                        help_url(kb.config.site_url, UnusedSuppression.code),
                    )
                )
    return kept
