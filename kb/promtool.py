"""promtool, when it is installed: PromQL and rule-file checks by Prometheus' own parser."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

LINE = re.compile(
    r'^(?P<file>.+?): (?:(?P<line>\d+):(?P<col>\d+): )?'
    r'(?:group "(?P<group>[^"]*)", rule (?P<rule>\d+), "(?P<name>[^"]*)": )?(?P<message>.+)$'
)


@dataclass
class PromtoolError:
    file: str
    line: int | None
    column: int | None
    group: str | None
    rule: int | None  # 0-based within the group
    message: str


def executable() -> str | None:
    return shutil.which("promtool")


def check_rules(files: list[Path], timeout: float = 120) -> list[PromtoolError]:
    """Run `promtool check rules` once over all files and parse what it reports."""
    tool = executable()
    if tool is None or not files:
        return []
    try:
        proc = subprocess.run([tool, "check", "rules", "--lint=none", *map(str, files)],
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return [PromtoolError(str(files[0]), None, None, None, None, f"promtool did not finish in {timeout:.0f} s")]
    if proc.returncode == 0:
        return []
    names = {str(f) for f in files}
    errors = []
    for raw in (proc.stdout + "\n" + proc.stderr).splitlines():
        match = LINE.match(raw.strip())
        if not match or match.group("file") not in names:
            continue
        errors.append(PromtoolError(
            match.group("file"),
            int(match.group("line")) if match.group("line") else None,
            int(match.group("col")) if match.group("col") else None,
            match.group("group"),
            int(match.group("rule")) - 1 if match.group("rule") else None,
            match.group("message").strip(),
        ))
    seen, unique = set(), []
    for error in errors:  # promtool repeats a YAML error once per stream
        key = (error.file, error.line, error.column, error.message)
        if key not in seen:
            seen.add(key)
            unique.append(error)
    return unique
