"""What every verb shares: finding the KB, printing, and failing with a message and an exit
code instead of a traceback. A verb is `run(...) -> int`; tests call it in process."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec

from kb.config.mkdocs import NoKnowledgeBase, find_root

P = ParamSpec("P")


class CommandError(Exception):
    """Stops a verb: `kb: <message>` on stderr, and the exit code (2: usage or environment,
    1: the request cannot be done)."""

    def __init__(self, message: str, code: int = 2):
        super().__init__(message)
        self.code = code


def echo(text: str = "", err: bool = False, nl: bool = True) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(text + ("\n" if nl else ""))
    stream.flush()


def kb_root(root: Path | None) -> Path:
    try:
        return find_root(root)
    except NoKnowledgeBase as exc:
        raise CommandError(str(exc)) from None


def verb(function: Callable[P, int]) -> Callable[P, int]:
    """A verb's `run`: a CommandError becomes `kb: message` on stderr and its exit code."""

    @functools.wraps(function)
    def run(*args: P.args, **kwargs: P.kwargs) -> int:
        try:
            return function(*args, **kwargs)
        except CommandError as exc:
            echo(f"kb: {exc}", err=True)
            return exc.code

    return run


def split_list(values: list[str] | None) -> list[str]:
    """`--select A,B --select C` as [A, B, C]."""
    return [item.strip() for value in values or [] for item in value.split(",") if item.strip()]
