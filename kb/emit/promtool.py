"""promtool, when it is installed: PromQL and rule-file checks by Prometheus' own parser."""

from __future__ import annotations

import fcntl
import io
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


def environment(scratch: Path | None = None, tests: bool = False) -> dict[str, str]:
    """promtool's environment: kb's, with one Go thread running at a time (GOMAXPROCS=1)
    unless the user chose otherwise. promtool runs beside kb, which keeps the other core busy;
    Go's parallel collector then only adds CPU: `promtool test rules` on 1,000 replay files
    took 7.6 s of CPU instead of 9.0 (about 25 MB more memory), with the same output.

    `tests` (a `promtool test rules` run whose answer kb verifies again, see
    kb.emit.replays): Go collects when its memory reaches 48 MiB rather than when the heap
    doubles (GOGC=off, GOMEMLIMIT=48MiB), unless the user set either. A test group's live
    heap is about 15 MB, yet each group allocates some 5 MB of short-lived database: by default
    Go keeps 72 to 99 MiB private per process. Measured on 400 replay files (CPU s, private
    MiB): default 2.5, 72-99; 64MiB 2.4-2.6, 57; 48MiB 2.6-2.8, 41; 40MiB 2.7-2.8, 32; 32MiB
    3.6, 24 (it collects all the time). kb runs two of these beside itself, so 48 MiB: about
    the default's CPU for half its memory. Past the limit Go collects more often, never fails.
    `scratch`: promtool's temporary databases (one per test group) go there (TMPDIR), a
    private folder on tmpfs (see Scratch)."""
    env = dict(os.environ)
    env.setdefault("GOMAXPROCS", "1")
    if tests and "GOGC" not in env and "GOMEMLIMIT" not in env:
        env["GOGC"], env["GOMEMLIMIT"] = "off", "48MiB"
    if scratch is not None:
        env["TMPDIR"] = str(scratch)
    return env


def processes() -> int:
    """How many promtool test runs kb may run at once: two when this process may use two
    cores or more, one with KB_JOBS=1 (kb's "one process")."""
    if os.environ.get("KB_JOBS") == "1":
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return 2 if cores >= 2 else 1


SCRATCH_BASE = "/dev/shm"  # tmpfs on Linux: promtool's per-group databases never touch a disk
SCRATCH_PREFIX = "kb-promtool-tmpfs-"  # no tempfile name made with prefix "kb-promtool-" has a second "-"
# the files kb hands promtool (KB602's and KB605's copies, PrometheusRule specs), in TMPDIR
COPIES_PREFIX = "kb-promtool-copies-"
SCRATCH_STALE_S = 3600  # a folder never published (kb killed within a millisecond of making it)


class Scratch:
    """A private folder for promtool's temporary files, on tmpfs (/dev/shm) when there is one
    kb may write to; `path` is None otherwise, and promtool uses its default TMPDIR as before.

    promtool makes and removes one small TSDB per test group in TMPDIR: on tmpfs that costs
    no journal and no disk (400 replay files: 2.7 s of CPU instead of 3.4 to 4.4). The folder
    is kb's own (mode 0700, a fresh name), locked with flock for as long as kb or a promtool it
    started holds it open, and removed by `close`. A kb killed outright cannot remove it: the
    next kb removes every such folder of this user that nobody holds any more."""

    def __init__(self, base: str | None = None, prefix: str = SCRATCH_PREFIX, required: bool = False):
        self.path: Path | None = None
        self.fd: int | None = None
        base = SCRATCH_BASE if base is None else base
        if not os.path.isdir(base) or not os.access(base, os.W_OK | os.X_OK):
            if required:
                raise OSError(f"{base}: kb cannot make a private folder there")
            return
        _sweep(base, prefix)
        try:
            made = tempfile.mkdtemp(prefix="." + prefix, dir=base)
        except OSError:
            if required:
                raise
            return
        try:
            fd = os.open(made, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            shutil.rmtree(made, ignore_errors=True)
            if required:
                raise
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            # published under the name sweeps look at only once it is locked
            published = os.path.join(base, os.path.basename(made)[1:])
            os.rename(made, published)
        except OSError:
            os.close(fd)
            shutil.rmtree(made, ignore_errors=True)
            if required:
                raise
            return
        self.path, self.fd = Path(published), fd

    @classmethod
    def copies(cls) -> Scratch:
        """A private folder in TMPDIR for the files kb hands promtool, with the same
        guarantees (locked while kb or its promtool lives, swept by the next kb after a kill);
        OSError when none can be made, as tempfile.TemporaryDirectory would raise."""
        return cls(tempfile.gettempdir(), COPIES_PREFIX, required=True)

    @property
    def folder(self) -> Path:
        assert self.path is not None
        return self.path

    def close(self) -> None:
        """Remove the folder (after every promtool that used it was reaped)."""
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)
            self.path = None
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> Scratch:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _sweep(base: str, prefix: str = SCRATCH_PREFIX) -> None:
    """Remove this user's scratch folders named `prefix`... that no live kb or promtool holds
    (flock), and unpublished ones older than an hour. Links and other users' folders are
    never followed or removed."""
    try:
        names = [n for n in os.listdir(base) if n.startswith((prefix, "." + prefix))]
    except OSError:
        return
    for name in names:
        path = os.path.join(base, name)
        try:
            info = os.lstat(path)
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            continue
        if name.startswith("."):
            if time.time() - info.st_mtime > SCRATCH_STALE_S:
                shutil.rmtree(path, ignore_errors=True)
            continue
        try:
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue  # a live kb, or a promtool a killed kb left running, still uses it
        try:
            if _same(os.fstat(fd), info):  # the folder looked at, not one swapped in since
                shutil.rmtree(path, ignore_errors=True)  # never follows a link (rmtree's fd walk)
        except OSError:
            pass
        finally:
            os.close(fd)


def _same(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


PR_SET_PDEATHSIG = 1  # linux/prctl.h
_prctl: Any = None  # libc's prctl, looked up once (never in a forked child); False: none


def child_options() -> dict:
    """Popen's options that make the kernel kill promtool when kb dies (Linux: the parent-death
    signal, SIGKILL, set in the child before it runs promtool; it survives the exec), so that a
    kb killed outright leaves no promtool running and holding its folders. {} where that
    cannot be done safely, and promtool starts as before: not Linux, no libc prctl, or another
    thread running (a function between fork and exec may deadlock on a lock another thread
    held; kb.load.parallel asks the same) or kb not on its main thread (the signal comes when
    the thread that started the child ends, not the process)."""
    global _prctl
    if not sys.platform.startswith("linux") or threading.active_count() != 1:
        return {}
    if threading.current_thread() is not threading.main_thread():
        return {}
    if _prctl is None:
        try:
            import ctypes

            function = ctypes.CDLL(None, use_errno=True).prctl
            function.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
            function.restype = ctypes.c_int
        except (OSError, AttributeError, ImportError):
            _prctl = False
            return {}
        _prctl = function
    if _prctl is False:
        return {}
    return {"preexec_fn": _DieWithParent(_prctl, os.getpid())}


class _DieWithParent:
    """Run in the child between fork and exec: ask for SIGKILL when kb dies; if kb died
    before that (the child now has another parent), die at once."""

    def __init__(self, prctl, parent: int):
        self.prctl, self.parent = prctl, parent
        self.signal = int(signal.SIGKILL)

    def __call__(self) -> None:
        self.prctl(PR_SET_PDEATHSIG, self.signal, 0, 0, 0)
        if os.getppid() != self.parent:
            os.kill(os.getpid(), self.signal)


class Running:
    """`promtool check rules` started in the background (it runs on another core while kb
    loads the knowledge base); `errors()` waits for it and parses what it reported."""

    def __init__(self, files: list[Path], timeout: float = 120, holds: Scratch | None = None):
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
                    # the lock of the folder holding `files`, so that no kb sweeps it while promtool reads
                    pass_fds=(holds.fd,) if holds is not None and holds.fd is not None else (),
                    **child_options(),
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


def check_rules(files: list[Path], timeout: float = 120, holds: Scratch | None = None) -> list[PromtoolError]:
    """Run `promtool check rules` once over all files (in the folder `holds`, if given) and
    parse what it reports."""
    with Running(files, timeout, holds) as running:
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
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    # what went wrong, without the `Unit Testing: <file>` / SUCCESS / FAILED: progress lines
    # (which name every file run): when promtool said anything else, that is what to read
    said = [line for line in lines if not PROGRESS.match(line)] or lines
    tail = " | ".join(said)[-600:]
    return ReplayRun(False, [], f"promtool test rules exited {returncode}: {tail or 'no output'}")


PROGRESS = re.compile(r"^(?:Unit Testing:\s.*|SUCCESS|FAILED:)$")


class RunningTests:
    """`promtool test rules` on `names` (test files in `cwd`), started now: it runs on the
    other core while kb checks the rest, and `result()` waits for it. Its output goes to
    unnamed temporary files, never pipes: 3,333 test files print more than a pipe holds, and
    promtool would stall until kb read it. `timeout` counts from the start, as it did when
    kb waited at once."""

    # set (by FirstTests) for a run whose answer kb verifies again (kb.emit.replays): the
    # faster settings, with the scratch folder's lock held by promtool too, so that no other kb
    # removes the folder while a promtool of a killed kb still runs
    scratch: Scratch | None = None
    # set (by HeldTests, FirstTests) when the test files are in a private folder of kb's: its
    # lock, held by promtool too
    holds: Scratch | None = None

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
            scratch = self.scratch
            held = tuple(s.fd for s in (scratch, self.holds) if s is not None and s.fd is not None)
            self.proc = subprocess.Popen(
                [tool, "test", "rules", *names],
                cwd=cwd,
                env=environment() if scratch is None else environment(scratch.path, tests=True),
                stdin=subprocess.DEVNULL,
                stdout=self._out,
                stderr=self._err,
                pass_fds=held,
                **child_options(),
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


class FirstTests(RunningTests):
    """A `promtool test rules` run whose answer kb verifies again: the SUCCESS files count,
    anything else runs again as RunningTests (kb.emit.replays). It runs with the faster
    settings (environment(tests=True)) and temporary files in `scratch`."""

    def __init__(self, names: list[str], cwd: Path, timeout: float, scratch: Scratch, holds: Scratch | None = None):
        self.scratch = scratch
        self.holds = holds
        super().__init__(names, cwd, timeout)


class HeldTests(RunningTests):
    """RunningTests on test files in kb's private folder `holds`, whose lock promtool holds too."""

    def __init__(self, names: list[str], cwd: Path, timeout: float, holds: Scratch):
        self.holds = holds
        super().__init__(names, cwd, timeout)


def run_tests(test_file: Path | list[Path], timeout: float = 120, holds: Scratch | None = None) -> ReplayRun:
    """Run `promtool test rules` once on one or more test files in one folder (their
    rule_files resolve beside them); `holds`: that folder is kb's private one."""
    files = test_file if isinstance(test_file, list) else [test_file]
    names, cwd = [f.name for f in files], files[0].parent
    with RunningTests(names, cwd, timeout) if holds is None else HeldTests(names, cwd, timeout, holds) as running:
        return running.result()
