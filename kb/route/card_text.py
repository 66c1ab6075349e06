"""`kb show CARD`: a card for a terminal at 02:17: numbered steps, commands ready to copy."""

from __future__ import annotations

import textwrap

from kb.core.text import neutral, one_line
from kb.model import Card
from kb.model.common import PRIORITY_ACTIONS


def render_card(card: Card, url: str, access_verdict: str | None = None, color: bool = False) -> str:
    # every value on its own line, with no control character (kb.core.text): a title cannot
    # forge a CI log command or write the terminal's clipboard
    card = Card.model_validate(neutral(card.model_dump(mode="python", exclude_unset=True)))
    url, access_verdict = one_line(url), one_line(access_verdict) if access_verdict else None
    bold = (lambda s: f"\033[1m{s}\033[0m") if color else (lambda s: s)
    warn = (lambda s: f"\033[1;31m{s}\033[0m") if color else (lambda s: s)
    out = [
        bold(f"{card.title}  [{card.id}]"),
        f"{card.priority}: {PRIORITY_ACTIONS[card.priority]}",
        f"rotation: {card.rotation}" + (f" ({access_verdict})" if access_verdict else "") + f"   owner: {card.owner}",
        "",
    ]
    out += textwrap.wrap(" ".join(card.summary.split()), 88) + [""]
    if card.triggers.alerts or card.triggers.symptoms:
        if card.triggers.alerts:
            out.append("alerts:   " + ", ".join(card.triggers.alerts))
        for symptom in card.triggers.symptoms:
            out.append("symptom:  " + symptom)
        out.append("")
    for title, steps in (("STEPS", card.steps), ("ROLLBACK", card.rollback)):
        if not steps:
            continue
        out.append(bold(title))
        for number, step in enumerate(steps, start=1):
            mark = warn("  IRREVERSIBLE, approval: " + (step.approval or "MISSING")) if step.irreversible else ""
            out.append(f"{number}. {step.do}{mark}")
            if step.run:
                out.append(f"     $ {step.run}")
            if step.worklist:
                out.append(f"     for each item of: {step.worklist}")
            if step.requires:
                out.append(f"     needs: {', '.join(step.requires)}")
            if step.approval and not step.irreversible and step.approval != "none":
                out.append(f"     approval: {step.approval}")
            out.append(f"     done when: {step.done_when or 'NOT STATED'}")
        out.append("")
    if card.references:
        out.append(bold("REFERENCES"))
        for ref in card.references:
            out.append(f"  {ref.path}" + (f"#{ref.section}" if ref.section else ""))
        out.append("")
    out.append(f"last verified: {card.last_verified or 'never'}   last drilled: {card.last_drilled or 'never'}")
    out.append(url)
    return "\n".join(out) + "\n"
