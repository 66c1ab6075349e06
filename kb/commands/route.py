"""`kb route QUERY`: the one card to open for an alert or a situation. Exit 1 when nothing matches."""

from __future__ import annotations

import json
from pathlib import Path

from kb.commands.common import CommandError, echo, kb_root, verb
from kb.config.mkdocs import read_paths
from kb.core.text import one_line
from kb.route.search import card_url, route


@verb
def run(query: str, show_card: bool = False, output_format: str = "text", root: Path | None = None) -> int:
    if output_format not in ("text", "json"):
        raise CommandError("--format is text or json")
    base = kb_root(root)
    config = read_paths(base)
    matches, closest = route(config, query)
    if output_format == "json":
        echo(
            json.dumps(
                {
                    "matches": [
                        {
                            **m.__dict__,
                            "score": None if m.score == float("inf") else m.score,
                            "url": card_url(config, m.card_id),
                        }
                        for m in matches[:5]
                    ],
                    "closest": closest,
                },
                indent=2,
            )
        )
        return 0 if matches else 1
    if not matches:
        echo(f"no card matches '{query}'. Closest router lines:", err=True)
        for line in closest:
            echo(f"  {one_line(line)}", err=True)
        return 1
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
