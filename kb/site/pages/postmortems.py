"""Postmortem pages, rendered to HTML by kb (postmortem.html.j2) as card pages are: the
incident as a reader needs it (facts, timeline, model inference, five questions, recovery
against the drill targets, reinforcements with a `wont_do` reason, and what kb emit made of
them)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from markupsafe import Markup

from kb.load.rulefiles import emitted_names
from kb.model.common import PRIORITY_ACTIONS, as_instant
from kb.site import svg
from kb.site.pages.base import Page, Site, front_matter, html_title

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
                rows.append(_cells(name, _inference_value(value)))
    return rows


def _inference_value(value: Any) -> str:
    """A row's value in words: a model as `provider: x, name: y`; several models or failure
    modes (format v2's `models`, `failure_modes`, `agents`) one after another."""
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items() if v is not None)
    if isinstance(value, list):
        return "; ".join(_inference_value(v) for v in value)
    return str(value)


def share_text(share: Any) -> str:
    """`0.8% of Sonnet 4 requests (peak 16%, 2025-08-31)`: an impact share in words."""
    about = "about " if share.approximate else ""
    value = f"{about}{share.value_percent:g}% of " if share.value_percent is not None else ""
    peak = f"peak {share.peak_percent:g}%" if share.peak_percent is not None else ""
    when = f", {share.peak_at.isoformat()}" if share.peak_at is not None and peak else ""
    text = f"{value}{share.of}" if value else f"{share.of}"
    return f"{text} ({peak}{when})" if peak else text


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
            (
                getattr(payload, f)
                for f in ("name", "summary", "input", "change", "description")
                if getattr(payload, f, None)
            ),
            "",
        )
        # a card or a task (a person's job) is written by hand, never emitted
        is_emitted = item.kind not in ("card", "task") and item.status != "wont_do"
        anchor = f"emitted-{item.id.lower()}"
        emitted_file = emitted_names(pm.id)[item.kind] if is_emitted else ""  # rules/kb/<kind>s/<id>.*
        link = (emitted_file, f"#{anchor}") if is_emitted else ("", None)
        rows.append([*_cells(item.id, item.kind, _status(item), item.owner or "nobody", item.due or "", what), link])
        if is_emitted:
            fields = [
                (k, v)
                for k, v in payload.model_dump(by_alias=True, exclude_none=True).items()
                if not isinstance(v, (dict, list))
            ]
            emitted.append((item, anchor, f"{rules_dir}/{emitted_file}", fields))
    return rows, emitted


def _impact(pm) -> str:
    if not pm.impact:
        return ""
    return ", ".join(
        [
            f"{k.replace('_', ' ')}: {v:g}" if isinstance(v, float) else f"{k.replace('_', ' ')}: {v}"
            for k, v in pm.impact.model_dump(exclude={"shares"}).items()
            if v is not None
        ]
        + [share_text(share) for share in pm.impact.shares]
    )


def pages(site: Site) -> list[Page]:
    targets = site.kb.settings.drill_targets
    result = []
    for doc in site.postmortems:
        pm = doc.model
        # a date-only time (format v2) is drawn at the start of its day (UTC), for the chart only
        events: list[tuple[dt.datetime, str, str]] = [
            (when, e.actor, e.event) for e in pm.timeline if (when := as_instant(e.at)) is not None
        ]
        marks = {
            "started": as_instant(pm.started_at),
            "detected": as_instant(pm.detected_at),
            "mitigated": as_instant(pm.mitigated_at),
            "resolved": as_instant(pm.resolved_at),
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
