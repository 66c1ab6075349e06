"""Every page of the site, built from the loaded knowledge base.

Pages come from Jinja2 templates (kb/defaults/site/, overridable in the KB's
templates/site/). Templates are sandboxed and escape every value: Markdown templates
(`*.md.j2`) through `finalize`, which escapes for Markdown and HTML; card pages, the bulk of
a large site, are HTML templates (`*.html.j2`) with Jinja's autoescaping, rendered without
Markdown (kb/site/html.py). A title of `<script>` renders as text. Large listings are split
into pages of PAGE_SIZE rows, and the nav lists only the index pages, so every page stays
small at 10,000 cards.
"""

from __future__ import annotations

import html
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import yaml
from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from kb.analysis.access import AccessModel
from kb.core import safefile
from kb.core.paths import confine
from kb.core.templating import TemplateProblem, describe_template_error, sandbox
from kb.load.knowledge_base import KnowledgeBase
from kb.load.router import router_for
from kb.model.common import PRIORITY_ACTIONS, as_day, as_instant, sort_key
from kb.site import svg
from kb.site.escape import code_block, escape, inline_code, link, raw
from kb.site.html import Headings, HtmlBody, TocSettings

PAGE_SIZE = 200
EMITTED_FILE = {"alert": "kb.rules.yml", "gate": "gates.yml", "test": "gates.yml", "eval": "evals.jsonl"}
ADMONITION = {"P1": "danger", "P2": "warning", "P3": "info"}
DEFAULTS = Path(__file__).resolve().parent.parent / "defaults" / "site"


@dataclass
class Page:
    src_uri: str
    markdown: str
    edit_uri: str | None = None  # the YAML or Markdown source, relative to the KB root
    html: HtmlBody | None = None  # the body as HTML (the Markdown is then front matter only)


def environment(kb: KnowledgeBase) -> SandboxedEnvironment:
    env = sandbox(  # bounded, and a template linked out of the KB is never used
        kb.root,
        [kb.root / kb.settings.templates_dir / "site"],
        DEFAULTS,
        undefined=StrictUndefined,
        finalize=escape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals.update(code_block=code_block, inline_code=inline_code, link=link, raw=raw, badges=badges)
    return env


def html_environment(kb: KnowledgeBase) -> SandboxedEnvironment:
    return sandbox(
        kb.root,
        [kb.root / kb.settings.templates_dir / "site"],
        DEFAULTS,
        undefined=StrictUndefined,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def badges(permissions: list[str]) -> Markup:
    return Markup(" ".join(f'<span class="kb-badge">{html.escape(p, quote=True)}</span>' for p in permissions))


def url(path: str) -> str:
    return quote(path, safe="/#.-_~")


def html_title(text: str) -> str:
    """Page titles are HTML in MkDocs themes (printed unescaped into <title> and the nav, and
    `striptags` would decode entities an H1-derived title carries): kb escapes them itself."""
    return html.escape(" ".join(text.split()), quote=True)


def share_text(share) -> str:
    """`0.8% of Sonnet 4 requests (peak 16%, 2025-08-31)`: an impact share in words."""
    about = "about " if share.approximate else ""
    value = f"{about}{share.value_percent:g}% of " if share.value_percent is not None else ""
    peak = f"peak {share.peak_percent:g}%" if share.peak_percent is not None else ""
    when = f", {share.peak_at.isoformat()}" if share.peak_at is not None and peak else ""
    text = f"{value}{share.of}" if value else f"{share.of}"
    return f"{text} ({peak}{when})" if peak else text


def front_matter(**fields) -> str:
    return "---\n" + yaml.safe_dump(fields, sort_keys=False, allow_unicode=True) + "---\n\n"


class SiteBuilder:
    def __init__(self, kb: KnowledgeBase):
        self.kb = kb
        self.env = environment(kb)
        self.html_env = html_environment(kb)
        self.cards = sorted((d for d in kb.cards if d.model), key=lambda d: d.model.id)
        self.postmortems = sorted(
            (d for d in kb.postmortems if d.model), key=lambda d: sort_key(d.model.started_at), reverse=True
        )
        self.card_ids = {d.model.id for d in self.cards}
        self.pm_ids = {d.model.id: d.model.title for d in self.postmortems}
        self.references = self._reference_files()
        self.access = AccessModel(kb.oncall.model) if kb.oncall is not None and kb.oncall.model is not None else None
        self.router = router_for(kb.root, kb.settings)

    def _reference_files(self) -> set[str]:
        folder = self.kb.root / self.kb.settings.references_dir
        if not folder.is_dir():
            return set()
        return {
            p.relative_to(self.kb.root).as_posix()
            for p in folder.rglob("*.md")
            if p.is_file() and not p.is_symlink() and p.stat().st_size <= self.kb.settings.max_file_bytes
        }

    def render(self, template: str, **context) -> str:
        try:
            return self.env.get_template(template).render(**context)
        except TemplateError as exc:
            raise TemplateProblem(describe_template_error(exc, template)) from None

    def html_body(self, template: str, **context) -> HtmlBody:
        """The page rendered when MkDocs builds it, with its links and heading settings."""
        try:
            compiled = self.html_env.get_template(template)  # a syntax error stops the build before any page
        except TemplateError as exc:
            raise TemplateProblem(describe_template_error(exc, template)) from None

        def render(url_for, toc: TocSettings) -> tuple[str, list[dict], set[str]]:
            headings = Headings(toc)
            try:
                body = compiled.render(**context, heading=headings, url=url_for)
            except TemplateError as exc:
                raise TemplateProblem(describe_template_error(exc, template)) from None
            return body, headings.tokens, headings.ids

        return HtmlBody(render)

    # -- pages ---------------------------------------------------------------------------

    def pages(self) -> list[Page]:
        return [
            *self.router_pages(),
            *self.card_pages(),
            *self.postmortem_pages(),
            *self.reference_pages(),
            *self.card_indexes(),
            *self.postmortem_indexes(),
            self.dashboard(),
            *self.rule_pages(),
        ]

    def router_pages(self) -> list[Page]:
        """The router becomes the home page; links to a card's YAML become links to its page."""
        pages = []
        for page in self.router.pages:
            text = safefile.read_text(confine(self.kb.root, page.path))
            text = re.sub(
                r"(\[[^\]]*\]\(\s*<?[^)\s>]+?)\.ya?ml(#[^)\s>]*)?(>?\s*\))",
                lambda m: f"{m.group(1)}.md{m.group(2) or ''}{m.group(3)}",
                text,
            )
            src = "index.md" if page.path == self.kb.settings.router else page.path
            pages.append(Page(src, text, page.path))
        return pages

    def card_pages(self) -> list[Page]:
        by_card: dict[str, list[tuple]] = defaultdict(list)
        for doc in self.postmortems:
            for card_id in doc.model.cards:
                by_card[card_id].append((doc.model.id, doc.model.title, f"postmortems/{doc.model.id}.md"))
        max_age = self._stale_after()
        today = self.kb.config.today()
        pages = []
        from kb.analysis.runs import runs_by_card

        card_runs = runs_by_card(self.kb)
        for doc in self.cards:
            card = doc.model
            verdict = self.access.evaluate(card).verdict if self.access else "not checked (no oncall.yaml)"
            age = (today - card.last_verified).days if card.last_verified else None
            references = []
            for ref in card.references:
                text = ref.path + (f"#{ref.section}" if ref.section else "")
                if ref.path in self.references:
                    references.append((text, ref.path + (f"#{ref.section}" if ref.section else "")))
            linked = {
                pm_id: (pm_id, self.pm_ids[pm_id], f"postmortems/{pm_id}.md")
                for pm_id in card.postmortems
                if pm_id in self.pm_ids
            }
            for entry in by_card.get(card.id, []):
                linked.setdefault(entry[0], entry)
            body = self.html_body(
                "card.html.j2",
                card=card,
                action=PRIORITY_ACTIONS[card.priority],
                admonition=ADMONITION[card.priority],
                verdict=verdict,
                stale=age is None or age > max_age,
                verified_age="never" if age is None else f"{age} days ago",
                references=references,
                postmortems=sorted(linked.values()),
                runs=card_runs.get(card.id, [])[:10],
            )
            tags = [*card.services, card.owner, card.priority]
            pages.append(
                Page(f"cards/{card.id}.md", front_matter(title=html_title(card.title), tags=tags), doc.path, body)
            )
        return pages

    def _stale_after(self) -> int:
        conf = self.kb.settings.rules.get("KB204") or self.kb.settings.rules.get("card/stale-verification")
        if isinstance(conf, dict) and isinstance(conf.get("max_age_days"), int):
            return conf["max_age_days"]
        return 90

    def postmortem_pages(self) -> list[Page]:
        targets = self.kb.settings.drill_targets
        pages = []
        for doc in self.postmortems:
            pm = doc.model
            # a date-only time (format v2) is drawn at the start of its day (UTC), for the chart only
            events = [(as_instant(e.at), e.actor, e.event) for e in pm.timeline]
            marks = {
                "started": as_instant(pm.started_at),
                "detected": as_instant(pm.detected_at),
                "mitigated": as_instant(pm.mitigated_at),
                "resolved": as_instant(pm.resolved_at),
            }
            row = pm.model_inference
            inference_rows = []
            if row is not None and row.involved:
                for name, value in row.model_dump(exclude={"involved", "why_not"}).items():
                    if value not in (None, {}, []):
                        if isinstance(value, dict):
                            value = ", ".join(f"{k}: {v}" for k, v in value.items() if v is not None)
                        inference_rows.append((name, value))
            five = [
                (name.replace("_", " "), getattr(pm.five_questions, name, None) if pm.five_questions else None)
                for name in ("trigger", "guardrail_missed", "observability_gap", "rollback_speed", "prevention")
            ]
            recovery = [
                (
                    name.replace("_minutes", "").replace("_", " "),
                    getattr(pm.recovery, name) if pm.recovery else None,
                    getattr(targets, name),
                )
                for name in ("switchback_minutes", "core_recovery_minutes", "first_update_minutes")
            ]
            reinforcements, emitted = [], []
            for item in pm.reinforcements:
                payload = getattr(item, item.kind)
                what = next(
                    (
                        getattr(payload, f)
                        for f in ("name", "summary", "input", "change", "description")
                        if getattr(payload, f, None)
                    ),
                    "",
                )
                is_emitted = item.kind not in ("card", "task") and item.status != "wont_do"
                anchor = f"emitted-{item.id.lower()}"
                reinforcements.append((item, what, link(EMITTED_FILE[item.kind], f"#{anchor}") if is_emitted else ""))
                if is_emitted:
                    fields = [
                        (k, v)
                        for k, v in payload.model_dump(by_alias=True, exclude_none=True).items()
                        if not isinstance(v, (dict, list))
                    ]
                    emitted.append(
                        (item, anchor, f"{self.kb.settings.rules_dir.strip('/')}/{EMITTED_FILE[item.kind]}", fields)
                    )
            impact = ""
            if pm.impact:
                impact = ", ".join(
                    [
                        f"{k.replace('_', ' ')}: {v:g}" if isinstance(v, float) else f"{k.replace('_', ' ')}: {v}"
                        for k, v in pm.impact.model_dump(exclude={"shares"}).items()
                        if v is not None
                    ]
                    + [share_text(share) for share in pm.impact.shares]
                )
            card_links = Markup(
                ", ".join(str(link(c, f"../cards/{c}.md")) if c in self.card_ids else escape(c) for c in pm.cards)
                or "none"
            )
            body = self.render(
                "postmortem.md.j2",
                pm=pm,
                action=PRIORITY_ACTIONS[pm.priority],
                card_links=card_links,
                impact=impact,
                timeline_svg=raw(svg.timeline(events, marks)),
                inference_rows=inference_rows,
                five=five,
                recovery=recovery,
                reinforcements=reinforcements,
                emitted=emitted,
            )
            pages.append(
                Page(f"postmortems/{pm.id}.md", front_matter(title=html_title(f"{pm.id} {pm.title}")) + body, doc.path)
            )
        return pages

    def reference_pages(self) -> list[Page]:
        pages = []
        for rel in sorted(self.references):
            text = safefile.read_text(confine(self.kb.root, rel))
            pages.append(Page(rel, text, rel))
        return pages

    def _listing(self, base: str, title: str, intro: str, columns: list[str], rows: list[list]) -> list[Page]:
        """A table split into pages of PAGE_SIZE rows: base.md, base-2.md, ..."""
        chunks = [rows[i : i + PAGE_SIZE] for i in range(0, len(rows), PAGE_SIZE)] or [[]]
        pages = []
        for number, chunk in enumerate(chunks, start=1):
            name = f"{base}.md" if number == 1 else f"{base}-{number}.md"
            pager = ""
            if len(chunks) > 1:
                stem = base.rsplit("/", 1)[-1]
                links = [
                    str(link(str(n), f"{stem}.md" if n == 1 else f"{stem}-{n}.md")) if n != number else f"**{n}**"
                    for n in range(1, len(chunks) + 1)
                ]
                pager = Markup("Pages: " + " · ".join(links))
            pages.append(
                Page(
                    name,
                    self.render(
                        "listing.md.j2",
                        title=title if number == 1 else f"{title} ({number})",
                        intro=intro,
                        sections=[],
                        columns=columns,
                        rows=chunk,
                        pager=pager,
                    ),
                )
            )
        return pages

    def card_indexes(self) -> list[Page]:
        groups = {"service": defaultdict(list), "owner": defaultdict(list), "priority": defaultdict(list)}
        for doc in self.cards:
            card = doc.model
            for service in card.services or ["(none)"]:
                groups["service"][service].append(card)
            groups["owner"][card.owner].append(card)
            groups["priority"][card.priority].append(card)
        pages, sections = [], []
        for kind, buckets in groups.items():
            entries = []
            for key in sorted(buckets):
                slug = re.sub(r"[^a-z0-9]+", "-", key.lower()).strip("-") or "none"
                base = f"cards/{kind}/{slug}"
                rows = [[link(c.id, f"../{c.id}.md"), c.title, c.priority, c.rotation] for c in buckets[key]]
                pages += self._listing(
                    base, f"Cards: {kind} {key}", f"{len(rows)} cards.", ["Card", "Title", "Priority", "Rotation"], rows
                )
                entries.append((f"{key} ({len(buckets[key])})", f"{kind}/{slug}.md"))
            sections.append((f"By {kind}", entries))
        index = self.render(
            "listing.md.j2",
            title="Cards",
            intro=f"{len(self.cards)} cards. Start at the router; these indexes are for browsing.",
            sections=sections,
            columns=[],
            rows=[],
            pager="",
        )
        return [Page("cards/index.md", index), *pages]

    def postmortem_indexes(self) -> list[Page]:
        rows = [
            [
                link(d.model.id, f"{d.model.id}.md"),
                as_day(d.model.started_at).isoformat(),
                d.model.title,
                d.model.priority,
                d.model.status,
                "yes" if d.model.model_inference and d.model.model_inference.involved else "no",
            ]
            for d in self.postmortems
        ]
        return self._listing(
            "postmortems/index",
            "Postmortems",
            f"{len(rows)} postmortems, newest first.",
            ["Id", "Started", "Title", "Priority", "Status", "Model inference"],
            rows,
        )

    def dashboard(self) -> Page:
        months: dict[str, Counter] = defaultdict(Counter)
        involved = 0
        for doc in self.postmortems:
            pm = doc.model
            month = pm.started_at.strftime("%Y-%m")
            for cause in {c.category for c in pm.root_causes} or {"unknown"}:
                months[month][cause] += 1
            if pm.model_inference and pm.model_inference.involved:
                involved += 1
        columns = sorted(months)[-12:]
        categories = sorted({c for m in months.values() for c in m})
        series = {c: [months[m][c] for m in columns] for c in categories}
        chart = (
            svg.stacked_bars(columns, series, "Root-cause categories by month", highlight="model_inference")
            if columns
            else ""
        )
        share = f"{involved} of {len(self.postmortems)} postmortems involved the model's inference."
        from kb.analysis.followups import open_followups

        today = self.kb.config.today()
        per_owner: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for item in open_followups(self.kb, today):
            per_owner[item.owner][0] += 1
            per_owner[item.owner][1] += 1 if item.days_overdue else 0
        followups = [(owner, counts[0], counts[1]) for owner, counts in sorted(per_owner.items())]
        max_age = self._stale_after()
        stale = []
        for doc in self.cards:
            card = doc.model
            age = (today - card.last_verified).days if card.last_verified else None
            if age is None or age > max_age:
                stale.append((card.id, f"cards/{card.id}.md", card.last_verified, age))
        stale.sort(key=lambda s: -(s[3] if s[3] is not None else 10**6))
        access_rows, not_executable = [], []
        if self.access:
            counts: dict[str, Counter] = defaultdict(Counter)
            for doc in self.cards:
                verdict = self.access.evaluate(doc.model).verdict
                counts[doc.model.rotation][verdict] += 1
                if verdict != "executable":
                    not_executable.append((doc.model.id, f"cards/{doc.model.id}.md", verdict))
            access_rows = [
                (r, sum(c.values()), c["executable"], c["blocked at night"], c["blocked"])
                for r, c in sorted(counts.items())
            ]
        from kb.analysis.paging import dashboard_shifts  # the per-shift view (#18)
        from kb.analysis.runs import drill_history, rollback_never_drilled

        blocked_shifts, scheduled = dashboard_shifts(self.kb)
        body = self.render(
            "dashboard.md.j2",
            blocked_shifts=blocked_shifts[:200],
            scheduled=scheduled,
            drills=[(card_id, f"cards/{card_id}.md", runs) for card_id, runs in drill_history(self.kb).items()],
            never_drilled=[(card_id, f"cards/{card_id}.md") for card_id in rollback_never_drilled(self.kb)],
            causes_svg=raw(chart),
            inference_share=share,
            followups=followups,
            stale=stale[:100],
            max_age=max_age,
            access_rows=access_rows,
            not_executable=not_executable[:200],
        )
        return Page("dashboard.md", body)

    def rule_pages(self) -> list[Page]:
        from kb.rules import all_rules

        pages, rows = [], []
        for code, rule in all_rules().items():
            defaults = rule.option_defaults()
            options = ", ".join(f"{k} = {v!r}" for k, v in defaults.items())
            pages.append(
                Page(f"rules/{code}.md", self.render("rule.md.j2", rule=rule, doc=raw(rule.doc()), options=options))
            )
            rows.append([link(code, f"{code}.md"), rule.name, rule.level.value, rule.summary()])
        index = self.render(
            "listing.md.j2",
            title="kb check rules",
            intro="Every rule kb check runs, with why it exists "
            "and a bad and a good example. Levels and options are set in mkdocs.yml.",
            sections=[],
            columns=["Code", "Name", "Level", "What"],
            rows=rows,
            pager="",
        )
        return [Page("rules/index.md", index), *pages]
