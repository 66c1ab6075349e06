"""promtool, when it is installed: PromQL and rule-file checks by Prometheus' own parser."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
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


def _decoded(handle) -> str:
    """What a process wrote to the unnamed file `handle`, decoded as subprocess decodes text
    (text=True): the locale's encoding, universal newlines."""
    handle.seek(0)
    return io.TextIOWrapper(io.BytesIO(handle.read())).read()


def executable() -> str | None:
    return shutil.which("promtool")


def environment() -> dict[str, str]:
    """promtool's environment: kb's, with one Go thread running at a time (GOMAXPROCS=1)
    unless the user chose otherwise. promtool runs beside kb, which keeps the other core busy;
    Go's parallel collector then only adds CPU: `promtool test rules` on 1,000 replay files
    took 7.6 s of CPU instead of 9.0 (about 25 MB more memory), with the same output."""
    env = dict(os.environ)
    env.setdefault("GOMAXPROCS", "1")
    return env


class Running:
    """`promtool check rules` started in the background (it runs on another core while kb
    loads the knowledge base); `errors()` waits for it and parses what it reported."""

    def __init__(self, files: list[Path], timeout: float = 120):
        self.files = files
        self.timeout = timeout
        tool = executable()
        self.proc: subprocess.Popen[bytes] | None = None
        self._errors: list[PromtoolError] | None = None
        if tool is not None and files:
            # output to unnamed files, not pipes: 3,333 files print more than a pipe holds, and
            # promtool would stall in the background until kb read it
            self._out, self._err = tempfile.TemporaryFile(), tempfile.TemporaryFile()
            try:
                self.proc = subprocess.Popen(
                    [tool, "check", "rules", "--lint=none", *map(str, files)],
                    env=environment(),
                    stdin=subprocess.DEVNULL,
                    stdout=self._out,
                    stderr=self._err,
                )
            except BaseException:
                self._out.close()
                self._err.close()
                raise

    def __enter__(self) -> Running:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Never leave promtool running: stop it if nobody collected its answer, and reap it."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            self.proc.wait()
            self._out.close()
            self._err.close()

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
            self.proc.wait(timeout=self.timeout)  # counted from the collection, as it always was
        except subprocess.TimeoutExpired:
            self.close()
            return [
                PromtoolError(
                    str(self.files[0]), None, None, None, None, f"promtool did not finish in {self.timeout:.0f} s"
                )
            ]
        out, err = _decoded(self._out), _decoded(self._err)
        self._out.close()
        self._err.close()
        return [] if self.proc.returncode == 0 else parse(out + "\n" + err, self.files, self.proc.returncode)


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


YAML_AT_LINE = re.compile(r"^yaml: line (?P<line>\d+): (?P<message>.+)$")
CONTINUATION = re.compile(r"^line (?P<line>\d+): (?P<message>.+)$")


def parse(output: str, files: list[Path], returncode: int = 1) -> list[PromtoolError]:
    """promtool's findings with promtool's own line numbers.

    `yaml: unmarshal errors:` is followed by one `  line N: ...` line per problem, and
    `yaml: line N: ...` carries its line in the message: both become errors at line N. A
    failing run whose output kb cannot read is itself an error, never a silent pass."""
    names = {str(f) for f in files}
    errors = []
    current: str | None = None  # the file of an `unmarshal errors:` block being read
    for raw in output.splitlines():
        stripped = raw.strip()
        continued = CONTINUATION.match(stripped)
        if current is not None and continued and raw.startswith(" "):
            errors.append(
                PromtoolError(
                    current, int(continued.group("line")), 1, None, None, "yaml: " + continued.group("message")
                )
            )
            continue
        current = None
        match = LINE.match(stripped)
        if not match or match.group("file") not in names:
            continue
        message = match.group("message").strip()
        line = int(match.group("line")) if match.group("line") else None
        column = int(match.group("col")) if match.group("col") else None
        if message == "yaml: unmarshal errors:":
            current = match.group("file")
            continue
        if line is None and (at := YAML_AT_LINE.match(message)):
            line, column = int(at.group("line")), 1
        errors.append(
            PromtoolError(
                match.group("file"),
                line,
                column,
                match.group("group"),
                int(match.group("rule")) - 1 if match.group("rule") else None,
                message,
            )
        )
    if returncode != 0 and not errors:
        tail = " | ".join(line.strip() for line in output.strip().splitlines()[-6:]) or "no output"
        errors.append(
            PromtoolError(
                str(files[0]) if files else "",
                None,
                None,
                None,
                None,
                f"promtool exited {returncode} and kb could not read why: {tail[:600]}",
            )
        )
    seen, unique = set(), []
    for error in errors:  # promtool repeats a YAML error once per stream
        key = (error.file, error.line, error.column, error.message)
        if key not in seen:
            seen.add(key)
            unique.append(error)
    return unique


@dataclass
class ReplayFailure:
    """One failing promtool unit test: its name (kb writes `PM-.../R1 Alert`), and what promtool said."""

    name: str
    alertname: str | None
    eval_time: str | None
    expected: list[dict[str, str]]
    got: list[dict[str, str]]
    text: str


@dataclass
class ReplayRun:
    ok: bool
    failures: list[ReplayFailure]
    problem: str | None = None  # a failure kb could not attribute to a test (file error, unreadable output)
    passed_files: set[str] = field(default_factory=set)  # test files promtool said SUCCESS of, by name


# promtool prints `Unit Testing:  <file>` on stdout, then `  SUCCESS` there or `  FAILED:` on
# stderr: a file has passed only when SUCCESS is the very next line of its block
FILE_PASSED = re.compile(r"^Unit Testing:[ \t]+(?P<file>\S.*?)[ \t]*\n[ \t]*SUCCESS[ \t]*$", re.MULTILINE)


def passed_files(stdout: str) -> set[str]:
    """The test files promtool's stdout says SUCCESS of."""
    return {match.group("file") for match in FILE_PASSED.finditer(stdout)}


TEST_NAME = re.compile(r"^\s*name: (?P<name>.+?),\s*$")
TEST_ALERT = re.compile(r"alertname: (?P<alert>[^,]+), time: (?P<time>[^,]+),")
LABELS = re.compile(r"Labels:\{(?P<body>[^}]*)\}")
PAIR = re.compile(r'(?P<key>[A-Za-z_][A-Za-z0-9_]*)="(?P<value>(?:[^"\\]|\\.)*)"')


def _label_sets(text: str) -> list[dict[str, str]]:
    return [
        {m.group("key"): m.group("value").encode().decode("unicode_escape") for m in PAIR.finditer(ls.group("body"))}
        for ls in LABELS.finditer(text)
    ]


def parse_test_output(output: str, returncode: int) -> ReplayRun:
    """`promtool test rules` output (2.x and 3.x print the same `name:`, `exp:`, `got:` blocks)."""
    if returncode == 0:
        return ReplayRun(True, [])
    failures: list[ReplayFailure] = []
    block: list[str] = []
    name: str | None = None

    def close() -> None:
        if name is None:
            return
        text = "\n".join(block)
        alert = TEST_ALERT.search(text)
        exp_part, _, got_part = text.partition("got:")
        failures.append(
            ReplayFailure(
                name,
                alert.group("alert").strip() if alert else None,
                alert.group("time").strip() if alert else None,
                _label_sets(exp_part),
                _label_sets(got_part),
                text.strip(),
            )
        )

    for raw in output.splitlines():
        match = TEST_NAME.match(raw)
        if match:
            close()
            name, block = match.group("name"), []
        elif name is not None:
            block.append(raw)
    close()
    if failures:
        return ReplayRun(False, failures)
    tail = " | ".join(line.strip() for line in output.strip().splitlines() if line.strip())[-600:]
    return ReplayRun(False, [], f"promtool test rules exited {returncode}: {tail or 'no output'}")


class RunningTests:
    """`promtool test rules` on `names` (test files in `cwd`), started now: it runs on the
    other core while kb checks the rest, and `result()` waits for it. Its output goes to
    unnamed temporary files, never pipes: 3,333 test files print more than a pipe holds, and
    promtool would stall until kb read it. `timeout` counts from the start, as it did when
    kb waited at once."""

    def __init__(self, names: list[str], cwd: Path, timeout: float = 120):
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self._result: ReplayRun | None = None
        self.timed_out = False
        tool = executable()
        if tool is None:
            self._result = ReplayRun(False, [], "promtool is not installed")
            return
        self._out = tempfile.TemporaryFile()
        self._err = tempfile.TemporaryFile()
        try:
            self.proc = subprocess.Popen(
                [tool, "test", "rules", *names],
                cwd=cwd,
                env=environment(),
                stdin=subprocess.DEVNULL,
                stdout=self._out,
                stderr=self._err,
            )
        except OSError as exc:
            self._result = ReplayRun(False, [], f"promtool could not be run: {exc}")
            self._close_files()

    def result(self) -> ReplayRun:
        if self._result is not None:
            return self._result
        assert self.proc is not None
        try:
            self.proc.wait(timeout=max(0.0, self.deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.close()
            self.timed_out = True
            self._result = ReplayRun(False, [], f"promtool test rules did not finish in {self.timeout:.0f} s")
            return self._result
        stdout, stderr = _decoded(self._out), _decoded(self._err)
        self._close_files()
        run = parse_test_output(stdout + "\n" + stderr, self.proc.returncode)
        run.passed_files = passed_files(stdout)
        self._result = run
        return run

    def _close_files(self) -> None:
        self._out.close()
        self._err.close()

    def close(self) -> None:
        """Never leave promtool running: stop it if nobody collected its answer, and reap it."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            self.proc.wait()
            self._close_files()

    def __enter__(self) -> RunningTests:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def run_tests(test_file: Path | list[Path], timeout: float = 120) -> ReplayRun:
    """Run `promtool test rules` once on one or more test files in one folder (their
    rule_files resolve beside them)."""
    files = test_file if isinstance(test_file, list) else [test_file]
    with RunningTests([f.name for f in files], files[0].parent, timeout) as running:
        return running.result()
