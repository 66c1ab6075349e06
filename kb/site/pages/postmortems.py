"""Postmortem pages: the incident as a reader needs it (facts, timeline, model inference,
five questions, recovery against the drill targets, reinforcements and what kb emit made
of them)."""

from __future__ import annotations

from markupsafe import Markup

from kb.model.common import PRIORITY_ACTIONS
from kb.site import svg
from kb.site.escape import escape, link, raw
from kb.site.pages.base import Page, Site, front_matter, html_title

EMITTED_FILE = {"alert": "kb.rules.yml", "gate": "gates.yml", "test": "gates.yml", "eval": "evals.jsonl"}
FIVE_QUESTIONS = ("trigger", "guardrail_missed", "observability_gap", "rollback_speed", "prevention")
RECOVERY = ("switchback_minutes", "core_recovery_minutes", "first_update_minutes")


def _inference_rows(pm) -> list[tuple[str, object]]:
    row = pm.model_inference
    rows = []
    if row is not None and row.involved:
        for name, value in row.model_dump(exclude={"involved", "why_not"}).items():
            if value not in (None, {}, []):
                if isinstance(value, dict):
                    value = ", ".join(f"{k}: {v}" for k, v in value.items() if v is not None)
                rows.append((name, value))
    return rows


def _reinforcements(site: Site, pm) -> tuple[list[tuple], list[tuple]]:
    """(item, what, emitted link) per reinforcement, and (item, anchor, file, fields) per emitted one."""
    rows, emitted = [], []
    for item in pm.reinforcements:
        payload = getattr(item, item.kind)
        what = next(
            (getattr(payload, f) for f in ("name", "summary", "input", "change") if getattr(payload, f, None)), ""
        )
        is_emitted = item.kind != "card" and item.status != "wont_do"
        anchor = f"emitted-{item.id.lower()}"
        rows.append((item, what, link(EMITTED_FILE[item.kind], f"#{anchor}") if is_emitted else ""))
        if is_emitted:
            fields = [
                (k, v)
                for k, v in payload.model_dump(by_alias=True, exclude_none=True).items()
                if not isinstance(v, (dict, list))
            ]
            emitted.append((item, anchor, f"{site.kb.settings.rules_dir.strip('/')}/{EMITTED_FILE[item.kind]}", fields))
    return rows, emitted


def pages(site: Site) -> list[Page]:
    targets = site.kb.settings.drill_targets
    result = []
    for doc in site.postmortems:
        pm = doc.model
        events = [(e.at, e.actor, e.event) for e in pm.timeline]
        marks = {
            "started": pm.started_at,
            "detected": pm.detected_at,
            "mitigated": pm.mitigated_at,
            "resolved": pm.resolved_at,
        }
        five = [
            (name.replace("_", " "), getattr(pm.five_questions, name, None) if pm.five_questions else None)
            for name in FIVE_QUESTIONS
        ]
        recovery = [
            (
                name.replace("_minutes", "").replace("_", " "),
                getattr(pm.recovery, name) if pm.recovery else None,
                getattr(targets, name),
            )
            for name in RECOVERY
        ]
        reinforcements, emitted = _reinforcements(site, pm)
        impact = ""
        if pm.impact:
            impact = ", ".join(
                f"{k.replace('_', ' ')}: {v:g}" if isinstance(v, float) else f"{k.replace('_', ' ')}: {v}"
                for k, v in pm.impact.model_dump().items()
                if v is not None
            )
        card_links = Markup(
            ", ".join(str(link(c, f"../cards/{c}.md")) if c in site.card_ids else escape(c) for c in pm.cards) or "none"
        )
        body = site.render(
            "postmortem.md.j2",
            pm=pm,
            action=PRIORITY_ACTIONS[pm.priority],
            card_links=card_links,
            impact=impact,
            timeline_svg=raw(svg.timeline(events, marks)),
            inference_rows=_inference_rows(pm),
            five=five,
            recovery=recovery,
            reinforcements=reinforcements,
            emitted=emitted,
        )
        result.append(
            Page(f"postmortems/{pm.id}.md", front_matter(title=html_title(f"{pm.id} {pm.title}")) + body, doc.path)
        )
    return result
