"""`kb show CARD`: a card for the terminal at 02:17: numbered steps, commands ready to copy."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from kb.commands.common import CommandError, echo, kb_root, verb
from kb.config.mkdocs import Paths, read_paths
from kb.core import safefile, yamlio
from kb.core.ids import card_id_problem
from kb.core.paths import inside
from kb.route.search import card_url


def load_card(root: Path, card_id: str) -> tuple[Paths, Any]:
    """The card's settings-relative paths and its model; CommandError (exit 1) when it
    is not a card id, does not exist or does not load."""
    from kb.model import Card  # pydantic: only when a card is shown

    config = read_paths(root)
    if problem := card_id_problem(card_id):
        raise CommandError(problem, 1)
    path = inside(root, f"{config.cards_dir}/{card_id}.yaml")
    if path is None or not path.is_file():
        raise CommandError(f"no card '{card_id}'", 1)
    try:
        raw = safefile.read_bytes(path, yamlio.MAX_BYTES)
    except OSError as exc:  # the environment, not the card: exit 2, naming the file and what happened
        raise CommandError(f"{path.relative_to(root).as_posix()}: {safefile.describe(exc)}") from None
    try:
        card = Card.model_validate(yamlio.load_mapping(raw))
    except Exception:  # noqa: BLE001 - any problem is kb check's to explain, with positions
        raise CommandError(f"{path.relative_to(root).as_posix()} does not load; run kb check on it", 1) from None
    refuse_ambiguous(config, card_id)
    return config, card


def refuse_ambiguous(config: Paths, card_id: str, holders: list[str] | None = None) -> None:
    """Two files holding one card id are two answers: showing one would be a guess (KB121).
    `holders`: the files holding the id, when the caller read them from the warm index already."""
    if holders is None:
        from kb.route.index import card_holders

        holders = card_holders(config, card_id)
    if len(holders) > 1:
        raise CommandError(f"card id '{card_id}' is used by {', '.join(holders)}; give each card its own id (KB121)", 1)


@verb
def run(card_id: str, root: Path | None = None) -> int:
    from kb.route.card_text import render_card  # the card model (pydantic): not for kb route's import of this module

    base = kb_root(root)
    config, card = load_card(base, card_id)
    color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    echo(render_card(card, card_url(config, card.id), color=color), nl=False)
    return 0
