"""`kb route` and `kb show`: the commands run half awake, so they start without typer or
pydantic-heavy imports. `fast_path` parses their few options with argparse; anything it
does not handle (--help, a usage error) goes on to the typer app, which prints the same
help and errors as every other command."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def _print(text: str = "", err: bool = False) -> None:
    (sys.stderr if err else sys.stdout).write(text + "\n")


def _root(root: Path | None) -> Path | None:
    from kb.mkdocs_config import NoKnowledgeBase, find_root

    try:
        return find_root(root)
    except NoKnowledgeBase as exc:
        _print(f"kb: {exc}", err=True)
        return None


def _load_card(kb_root: Path, card_id: str):
    from kb import yamlio
    from kb.mkdocs_config import read_paths
    from kb.models import Card
    from kb.ids import card_id_problem
    from kb.paths import inside

    config = read_paths(kb_root)
    if problem := card_id_problem(card_id):
        _print(f"kb: {problem}", err=True)
        return config, None
    path = inside(kb_root, f"{config.cards_dir}/{card_id}.yaml")
    if path is None or not path.is_file():
        _print(f"kb: no card '{card_id}'", err=True)
        return config, None
    try:
        return config, Card.model_validate(yamlio.load_mapping(path.read_bytes()))
    except Exception:  # noqa: BLE001 - any problem is kb check's to explain, with positions
        _print(f"kb: {path.relative_to(kb_root).as_posix()} does not load; run kb check on it", err=True)
        return config, None


def run_show(card_id: str, root: Path | None) -> int:
    from kb.route import card_url
    from kb.show import render_card

    kb_root = _root(root)
    if kb_root is None:
        return 2
    config, card = _load_card(kb_root, card_id)
    if card is None:
        return 1
    color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    sys.stdout.write(render_card(card, card_url(config, card.id), color=color))
    return 0


def run_route(query: str, show_card: bool, output_format: str, root: Path | None) -> int:
    from kb.mkdocs_config import read_paths
    from kb.route import card_url, route

    if output_format not in ("text", "json"):
        _print("kb: --format is text or json", err=True)
        return 2
    kb_root = _root(root)
    if kb_root is None:
        return 2
    config = read_paths(kb_root)
    matches, closest = route(config, query)
    if output_format == "json":
        _print(json.dumps({"matches": [{**m.__dict__, "score": None if m.score == float("inf") else m.score,
                                        "url": card_url(config, m.card_id)} for m in matches[:5]],
                           "closest": closest}, indent=2))
        return 0 if matches else 1
    if not matches:
        _print(f"no card matches '{query}'. Closest router lines:", err=True)
        for line in closest:
            _print(f"  {line}", err=True)
        return 1
    best = matches[0]
    if best.line_text:
        _print(f"{best.line_page}:{best.line_number}: {best.line_text}")
    _print(f"card: {best.path}")
    _print(f"url:  {card_url(config, best.card_id)}")
    others = [] if best.exact_alert else matches[1:4]
    if others:
        _print("also: " + ", ".join(m.card_id for m in others))
    if show_card:
        from kb.show import render_card

        _, card = _load_card(kb_root, best.card_id)
        if card is None:
            return 1
        _print()
        sys.stdout.write(render_card(card, card_url(config, card.id)))
    return 0


class _Refuse(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # leave usage errors to typer, which words them like every other command
        raise _Refuse(message)


def fast_path(argv: list[str]) -> int | None:
    """Run `route` or `show` without typer; None when the typer app should handle argv."""
    if not argv or argv[0] not in ("route", "show") or any(a in ("--help", "-h") or a.startswith("--help") for a in argv):
        return None
    parser = _Parser(prog=f"kb {argv[0]}", add_help=False)
    parser.add_argument("--root", type=Path)
    if argv[0] == "route":
        parser.add_argument("query", nargs="+")
        parser.add_argument("--show", action="store_true")
        parser.add_argument("--format", "-f", default="text")
    else:
        parser.add_argument("card_id")
    try:
        args = parser.parse_args(argv[1:])
    except _Refuse:
        return None
    if argv[0] == "route":
        return run_route(" ".join(args.query), args.show, args.format, args.root)
    return run_show(args.card_id, args.root)
