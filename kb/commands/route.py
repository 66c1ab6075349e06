"""`kb route QUERY`: the one card to open for an alert or a situation. Exit 1 when nothing matches."""

from __future__ import annotations

import json
from pathlib import Path

from kb.commands.common import CommandError, echo, kb_root, verb
from kb.config.mkdocs import read_paths
from kb.core.text import one_line
from kb.route.search import card_url, route


def _readable_card(base: Path, rel: str) -> bool:
    """The card file exists and is one kb reads: inside the KB after links (the loader and the
    site leave a card linked from outside unread: KB102), a regular file."""
    from kb.core.paths import OutsideKB, confine

    try:
        return confine(base, rel).is_file()
    except OutsideKB:
        return False


@verb
def run(query: str, show_card: bool = False, output_format: str = "text", root: Path | None = None) -> int:
    if output_format not in ("text", "json"):
        raise CommandError("--format is text or json")
    base = kb_root(root)
    config = read_paths(base)
    answer = route(config, query, limit=5)  # the five it prints: not a Match for each of 100,000 cards
    matches, closest = answer.matches, answer.closest
    gone = [m for m in matches[:5] if not _readable_card(base, m.path)]
    if answer.kind == "alert" and gone:
        # a router line still names a card whose file was removed or renamed: no card to open
        echo(one_line(f"{gone[0].line_page}:{gone[0].line_number}: {gone[0].line_text}"), err=True)
        echo(
            one_line(f"routes to {gone[0].card_id}, but {gone[0].path} does not exist or links out of the KB"),
            err=True,
        )
        return 1
    matches = [m for m in matches if m not in gone]
    if answer.kind == "alert" and matches:
        from kb.commands.show import refuse_ambiguous

        # two files, one id: no card to open (KB121); the holders come with the answer, from the same index
        same = answer.matches[:1] == matches[:1]
        refuse_ambiguous(config, matches[0].card_id, answer.holders if same else None)
    if output_format == "json":
        echo(
            json.dumps(
                {
                    "kind": answer.kind,
                    "matches": [
                        {
                            **m.__dict__,
                            "score": None if m.score == float("inf") else m.score,
                            "url": card_url(config, m.card_id),
                        }
                        for m in matches[:5]
                    ],
                    "closest": closest,
                    "nearest_alerts": [{"alert": a, "card_id": c} for a, c in answer.nearest_alerts],
                    "rule_file": answer.rule_file,
                    "runbook_url": answer.runbook_url,
                },
                indent=2,
            )
        )
        return 0 if answer.kind == "alert" or (answer.kind == "search" and matches) else 1
    if answer.kind == "ambiguous-alert":
        sent = answer.matches
        echo(f"the router sends the alert '{answer.alert}' to {len(sent)} cards; it must name one (KB530):", err=True)
        for m in sent:
            echo(one_line(f"  {m.line_page}:{m.line_number}: {m.line_text}"), err=True)
        return 1
    if answer.kind == "unknown-alert":
        # a paged engineer with a truncated or unknown alert name must not get a card that looks like the answer
        echo(f"no router line or card names the alert '{answer.alert or query}'.", err=True)
        if answer.rule_file:
            where = f"runbook: {answer.runbook_url}" if answer.runbook_url else "and it has no runbook_url"
            echo(f"It is defined in {answer.rule_file}; {where}", err=True)
        if answer.nearest_alerts:
            echo("Nearest alert names:", err=True)
            for alert, card_id in answer.nearest_alerts:
                echo(f"  {alert}  -> {card_id}  (kb route {alert})", err=True)
        else:
            echo("No alert name is close to it; try a few words: kb route <what you see>", err=True)
        return 1
    if not matches:
        echo(f"no card matches '{query}'. Closest router lines:", err=True)
        for line in closest:
            echo(f"  {one_line(line)}", err=True)
        return 1
    if answer.kind == "search":
        echo(f"search result for '{query}' (ranked by words, not an alert match; check it fits):")
    best = matches[0]
    if best.line_text:
        echo(one_line(f"{best.line_page}:{best.line_number}: {best.line_text}"))
    echo(one_line(f"card: {best.path}"))
    echo(one_line(f"url:  {card_url(config, best.card_id)}"))
    others = [] if best.exact_alert else matches[1:4]
    if others:
        echo(one_line("also: " + ", ".join(m.card_id for m in others)))
    if show_card:
        from kb.commands.show import load_card  # pydantic and the card model: only when a card is shown
        from kb.route.card_text import render_card

        _, card = load_card(base, best.card_id)
        echo()
        echo(render_card(card, card_url(config, card.id)), nl=False)
    return 0
