"""promtool, when it is installed: PromQL and rule-file checks by Prometheus' own parser."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from kb.load.rulefiles import hand_written_paths

LINE = re.compile(
    r"^(?P<file>.+?): (?:(?P<line>\d+):(?P<col>\d+): )?"
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
        self.proc: subprocess.Popen[str] | None = None
        self._errors: list[PromtoolError] | None = None
        if tool is not None and files:
            self.proc = subprocess.Popen(
                [tool, "check", "rules", "--lint=none", *map(str, files)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )

    def __enter__(self) -> Running:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Never leave promtool running: stop it if nobody collected its answer, and reap it."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            self.proc.communicate()

    def errors(self) -> list[PromtoolError]:
        if self.proc is None:
            return []
        if self._errors is not None:
            return self._errors
        self._errors = self._collect()
        return self._errors

    def _collect(self) -> list[PromtoolError]:
        assert self.proc is not None
        try:
            out, err = self.proc.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()
            return [
                PromtoolError(
                    str(self.files[0]), None, None, None, None, f"promtool did not finish in {self.timeout:.0f} s"
                )
            ]
        return [] if self.proc.returncode == 0 else parse(out + "\n" + err, self.files)


def check_rules(files: list[Path], timeout: float = 120) -> list[PromtoolError]:
    """Run `promtool check rules` once over all files and parse what it reports."""
    with Running(files, timeout) as running:
        return running.errors()


def start_hand_written(root: Path, rules_dir: str, max_bytes: int) -> Running | None:
    """promtool over the hand-written rule files, started now so that it runs on the other
    core while kb loads the YAML; None without promtool or without such files."""
    if executable() is None:
        return None
    files = hand_written_paths(root, rules_dir, max_bytes)
    return Running(files) if files else None


def parse(output: str, files: list[Path]) -> list[PromtoolError]:
    names = {str(f) for f in files}
    errors = []
    for raw in output.splitlines():
        match = LINE.match(raw.strip())
        if not match or match.group("file") not in names:
            continue
        errors.append(
            PromtoolError(
                match.group("file"),
                int(match.group("line")) if match.group("line") else None,
                int(match.group("col")) if match.group("col") else None,
                match.group("group"),
                int(match.group("rule")) - 1 if match.group("rule") else None,
                match.group("message").strip(),
            )
        )
    seen, unique = set(), []
    for error in errors:  # promtool repeats a YAML error once per stream
        key = (error.file, error.line, error.column, error.message)
        if key not in seen:
            seen.add(key)
            unique.append(error)
    return unique
