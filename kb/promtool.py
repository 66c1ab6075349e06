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


class Running:
    """`promtool check rules` started in the background (it runs on another core while kb
    loads the knowledge base); `errors()` waits for it and parses what it reported."""

    def __init__(self, files: list[Path], timeout: float = 120):
        self.files = files
        self.timeout = timeout
        tool = executable()
        self.proc = None
        if tool is not None and files:
            self.proc = subprocess.Popen([tool, "check", "rules", "--lint=none", *map(str, files)],
                                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def errors(self) -> list[PromtoolError]:
        if self.proc is None:
            return []
        try:
            out, err = self.proc.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            return [PromtoolError(str(self.files[0]), None, None, None, None,
                                  f"promtool did not finish in {self.timeout:.0f} s")]
        return [] if self.proc.returncode == 0 else parse(out + "\n" + err, self.files)


def check_rules(files: list[Path], timeout: float = 120) -> list[PromtoolError]:
    """Run `promtool check rules` once over all files and parse what it reports."""
    return Running(files, timeout).errors()


def parse(output: str, files: list[Path]) -> list[PromtoolError]:
    names = {str(f) for f in files}
    errors = []
    for raw in output.splitlines():
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
