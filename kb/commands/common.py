"""What every verb shares: finding the KB, printing, and failing with a message and an exit
code instead of a traceback. A verb is `run(...) -> int`; tests call it in process."""

from __future__ import annotations

import errno
import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec

from kb.config.mkdocs import CONFIG_FILE, NoKnowledgeBase, find_root
from kb.core import safefile
from kb.core.gitrepo import finish_interrupted_branches
from kb.core.text import one_line, terminal_safe

P = ParamSpec("P")


class CommandError(Exception):
    """Stops a verb: `kb: <message>` on stderr, and the exit code (2: usage or environment,
    1: the request cannot be done)."""

    def __init__(self, message: str, code: int = 2):
        super().__init__(message)
        self.code = code


def echo(text: str = "", err: bool = False, nl: bool = True) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(terminal_safe(text) + ("\n" if nl else ""))  # no control from a value reaches the terminal
    stream.flush()


def kb_root(root: Path | None) -> Path:
    """The KB's root; a `kb new --branch` killed after its commit point in this repository is
    finished first (a look at one folder of the git directory when there is none)."""
    try:
        found = find_root(root)
    except NoKnowledgeBase as exc:
        raise CommandError(str(exc)) from None
    try:  # settings kb cannot read would be replaced by defaults: the wrong folders, a wrong answer
        safefile.read_head(found / CONFIG_FILE, 1)
    except OSError as exc:
        raise CommandError(f"{CONFIG_FILE}: {safefile.describe(exc)} (kb needs to read its settings)") from None
    for note in finish_interrupted_branches(found):
        echo(f"kb: {note}", err=True)
    return found


def verb(function: Callable[P, int]) -> Callable[P, int]:
    """A verb's `run`: a CommandError becomes `kb: message` on stderr and its exit code; an
    operating-system failure (a full disk, a read-only file system, no access, a link loop)
    becomes `kb: path: what happened` and exit 2, since the environment is at fault."""

    @functools.wraps(function)
    def run(*args: P.args, **kwargs: P.kwargs) -> int:
        try:
            return function(*args, **kwargs)
        except CommandError as exc:
            echo(f"kb: {one_line(exc)}", err=True)  # a message quoting a value stays one line
            return exc.code
        except OSError as exc:
            echo(f"kb: {one_line(os_error(exc))}", err=True)
            return 2

    return run


_HINTS = {
    errno.ENOSPC: "the disk is full: free some space and run kb again",
    errno.EDQUOT: "the disk quota is used up: free some space and run kb again",
    errno.EROFS: "the file system is read-only: run kb where it can write",
    errno.EACCES: "permission denied: check the owner and mode of this path",
    errno.EPERM: "operation not permitted: check the owner and mode of this path",
    errno.ELOOP: "a symbolic link loop: fix or remove the link",
    errno.ENAMETOOLONG: "the name is too long for the file system: use a shorter one",
    errno.EISDIR: "a folder where a file belongs",
    errno.ENOTDIR: "a file where a folder belongs",
    errno.ENOENT: "no such file or folder",
    errno.EEXIST: "it already exists",
}


def os_error(exc: OSError) -> str:
    """`path: what happened (what to do)` for an OSError, naming the file."""
    what = exc.strerror or str(exc)
    hint = _HINTS.get(exc.errno or 0)
    if hint and hint.split(":")[0].lower() not in what.lower():
        what = f"{what} ({hint})"
    elif hint and ":" in hint:
        what = f"{what} ({hint.split(': ', 1)[1]})"
    names = [str(n) for n in (exc.filename, exc.filename2) if n is not None]
    return f"{' -> '.join(names)}: {what}" if names else what


def split_list(values: list[str] | None) -> list[str]:
    """`--select A,B --select C` as [A, B, C]."""
    return [item.strip() for value in values or [] for item in value.split(",") if item.strip()]
