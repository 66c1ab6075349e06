"""Postmortem pages, rendered to HTML by kb (postmortem.html.j2) as card pages are: the
incident as a reader needs it (facts, timeline, model inference, five questions, recovery
against the drill targets, reinforcements with a `wont_do` reason, and what kb emit made of
them)."""

from __future__ import annotations

from markupsafe import Markup

from kb.model.common import PRIORITY_ACTIONS
from kb.site import svg
from kb.site.pages.base import Page, Site, front_matter, html_title

EMITTED_FILE = {"alert": "kb.rules.yml", "gate": "gates.yml", "test": "gates.yml", "eval": "evals.jsonl"}
FIVE_QUESTIONS = ("trigger", "guardrail_missed", "observability_gap", "rollback_speed", "prevention")
RECOVERY = ("switchback_minutes", "core_recovery_minutes", "first_update_minutes")


def _cells(*values) -> list[tuple]:
    """Table cells of plain text (no link)."""
    return [(v, None) for v in values]


def _inference_rows(pm) -> list[list[tuple]]:
    row = pm.model_inference
    rows = []
    if row is not None and row.involved:
        for name, value in row.model_dump(exclude={"involved", "why_not"}).items():
            if value not in (None, {}, []):
                if isinstance(value, dict):
                    value = ", ".join(f"{k}: {v}" for k, v in value.items() if v is not None)
                rows.append(_cells(name, value))
    return rows


def _status(item) -> str:
    """The reinforcement's status; a `wont_do` carries its reason, the one place a reader sees it."""
    return f"wont_do: {item.why}" if item.status == "wont_do" and item.why else item.status


def _reinforcements(site: Site, pm) -> tuple[list[list[tuple]], list[tuple]]:
    """The reinforcement table's rows, and (item, anchor, file, fields) per emitted one."""
    rows, emitted = [], []
    rules_dir = site.kb.settings.rules_dir.strip("/")
    for item in pm.reinforcements:
        payload = getattr(item, item.kind)
        what = next(
            (getattr(payload, f) for f in ("name", "summary", "input", "change") if getattr(payload, f, None)), ""
        )
        is_emitted = item.kind != "card" and item.status != "wont_do"
        anchor = f"emitted-{item.id.lower()}"
        link = (EMITTED_FILE[item.kind], f"#{anchor}") if is_emitted else ("", None)
        rows.append([*_cells(item.id, item.kind, _status(item), item.owner or "nobody", item.due or "", what), link])
        if is_emitted:
            fields = [
                (k, v)
                for k, v in payload.model_dump(by_alias=True, exclude_none=True).items()
                if not isinstance(v, (dict, list))
            ]
            emitted.append((item, anchor, f"{rules_dir}/{EMITTED_FILE[item.kind]}", fields))
    return rows, emitted


def _impact(pm) -> str:
    if not pm.impact:
        return ""
    return ", ".join(
        f"{k.replace('_', ' ')}: {v:g}" if isinstance(v, float) else f"{k.replace('_', ' ')}: {v}"
        for k, v in pm.impact.model_dump().items()
        if v is not None
    )


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
        recovery = []
        for name in RECOVERY:
            value = getattr(pm.recovery, name) if pm.recovery else None
            target = getattr(targets, name)
            met = "" if value is None else ("yes" if value <= target else "no")
            label = name.replace("_minutes", "").replace("_", " ")
            recovery.append(_cells(label, "not recorded" if value is None else value, target, met))
        reinforcements, emitted = _reinforcements(site, pm)
        body = site.html_body(
            "postmortem.html.j2",
            pm=pm,
            action=PRIORITY_ACTIONS[pm.priority],
            cards=[(c, f"cards/{c}.md" if c in site.card_ids else None) for c in pm.cards],
            impact=_impact(pm),
            timeline_svg=Markup(svg.timeline(events, marks)),  # kb's own SVG, every label escaped in svg.py
            timeline=[_cells(e.at, e.actor, e.event, "yes" if e.decision else "") for e in pm.timeline],
            decision_points=[_cells(p.at, p.decision, p.information_available or "") for p in pm.decision_points],
            inference_rows=_inference_rows(pm),
            five=five,
            recovery=recovery,
            reinforcements=reinforcements,
            emitted=emitted,
        )
        title = html_title(f"{pm.id} {pm.title}")
        result.append(Page(f"postmortems/{pm.id}.md", front_matter(title=title), doc.path, body))
    return result
