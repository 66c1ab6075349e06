"""`kb route`, `kb show` and `kb access CARD` are run half awake, so they start without building the typer
app: `dispatch` parses their few options with argparse. Anything it does not handle
(--help, a usage error) goes on to the typer app, which prints the same help and errors as
every other command."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import NoReturn


def _access(card_id: str, rotation: str | None, output_format: str, root: Path | None) -> int:
    """`kb access CARD`: the answer kept in the warm card index when nothing it read changed
    (no YAML read, no model imported), else the verb itself, which keeps its answer."""
    from kb.commands.common import echo, kb_root, verb
    from kb.route.index import kept_answer

    opened = []  # the warm index a miss leaves open: the verb computes from it, no second scan

    @verb
    def kept() -> int:
        if output_format in ("text", "json"):
            found, index = kept_answer(kb_root(root), ["access", card_id, rotation, output_format], card_id)
            if found is not None:
                echo(found, nl=False)
                return 0
            if index is not None:
                opened.append(index)
        return -1

    code = kept()
    if code != -1:
        return code
    from kb.commands import access

    return access.run(card_id, None, rotation, output_format, root, None, False, opened[0] if opened else None)


class _Refuse(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # leave usage errors to typer, which words them like every other command
        raise _Refuse(message)


def dispatch(argv: list[str]) -> int | None:
    """Run `route` or `show`; None when the typer app should handle argv."""
    if (
        not argv
        or argv[0] not in ("route", "show", "access")
        or any(a in ("--help", "-h") or a.startswith("--help") for a in argv)
    ):
        return None
    parser = _Parser(prog=f"kb {argv[0]}", add_help=False, allow_abbrev=False)  # typer takes no abbreviation
    parser.add_argument("--root", type=Path)
    if argv[0] == "access":  # one card only: --person, --at and the matrix go to typer
        parser.add_argument("card_id")
        parser.add_argument("--rotation")
        parser.add_argument("--format", "-f", default="text")
    elif argv[0] == "route":
        parser.add_argument("query", nargs="+")
        parser.add_argument("--show", action="store_true")
        parser.add_argument("--format", "-f", default="text")
    else:
        parser.add_argument("card_id")
    try:
        args = parser.parse_args(argv[1:])
    except _Refuse:
        return None
    if argv[0] == "access":
        return _access(args.card_id, args.rotation, args.format, args.root)
    if argv[0] == "route":
        from kb.commands import route

        return route.run(" ".join(args.query), args.show, args.format, args.root)
    from kb.commands import show

    return show.run(args.card_id, args.root)
