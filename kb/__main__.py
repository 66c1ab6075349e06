"""`python -m kb` and the `kb` console script: `route` and `show` are run half awake, so they
start without importing the typer app; every other verb goes to kb.cli."""

from __future__ import annotations

import sys


def main() -> None:
    from kb.commands.fast_path import dispatch

    code = dispatch(sys.argv[1:])
    if code is not None:
        sys.exit(code)
    from kb.cli import main as cli_main  # typer only for the other verbs

    cli_main()


if __name__ == "__main__":
    main()
