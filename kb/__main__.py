import sys

from kb.commands.fast_path import dispatch

# route and show first, without importing the typer app: they are run half awake
code = dispatch(sys.argv[1:])
if code is not None:
    sys.exit(code)

from kb.cli import main  # noqa: E402 - typer only for the other verbs

main()
