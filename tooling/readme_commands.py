"""Print README's quick-start commands, so CI runs exactly what README says.

Usage: python3 tooling/readme_commands.py [main|test]
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def quick_start_commands(text: str) -> list[str]:
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", section, flags=re.S)]


def main() -> int:
    which = sys.argv[1] if len(sys.argv) > 1 else "test"
    commands = quick_start_commands(README.read_text(encoding="utf-8"))
    if len(commands) != 2:
        print(f"README's quick start must have exactly two commands, found {len(commands)}", file=sys.stderr)
        return 2
    print(commands[0] if which == "main" else commands[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
