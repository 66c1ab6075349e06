"""`kb init DIR`: a new knowledge base that passes `kb check` at once."""

from __future__ import annotations

from pathlib import Path

from kb.commands.common import CommandError, echo, os_error, verb
from kb.edit.scaffold import InitProblem, init_kb


@verb
def run(directory: Path, name: str | None = None) -> int:
    try:
        written = init_kb(directory, name)
    except InitProblem as exc:
        raise CommandError(str(exc), 1) from None
    except OSError as exc:
        raise CommandError(f"cannot create a knowledge base in {directory}: {os_error(exc)}", 2) from None
    echo(f"created a knowledge base in {directory} ({len(written)} files); next: cd {directory} && kb check")
    return 0
