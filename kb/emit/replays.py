"""KB605's promtool runs: the replay suites `kb emit` would write, tested by `promtool test rules`.

The reported answer is always that of the one way kb has run them: every suite written to a
private folder as `<n>.rules.yml` and `<n>.test.yml` (n its position among the suites run)
and one `promtool test rules` over them all. That costs writing two files per postmortem
(6,666 at 3,333 postmortems), so the common case goes faster and proves the same thing:

- a suite whose files under rules/kb/ are exactly what `kb emit` writes (the bytes, in plain
  regular files, in real folders of the knowledge base: no link, FIFO or device) is run where
  it is; each file's identity (device, inode, size, times) is taken when its bytes are
  compared and again after promtool read it, and a file that changed in between is as if it
  had never matched;
- the others are written to the private folder as before, under the very names the single
  run would give them;
- both runs start at once in the background (`start`), on the other core while kb checks the
  rest, and `finish` collects them.

A suite proven passed by either run is passed: promtool tests each file on its own rules
alone. When every suite passed and both runs exited 0, there is nothing to report. Otherwise
the suites not proven passed run again the old way under their old names, and their failures
are the report: promtool writes each failing file's block on its own, so they are the
failures the single run would have printed. Should that run fail without a failure kb can read
(an exit status without a test name), or time out, the whole single run is made again and
reported as it always was: slower in a broken state, never a different answer. A first run
that timed out goes straight to the single run (at most twice the time of one, never three).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from kb.emit import promtool
from kb.emit.build import HEADER, EmitProblem, Emitted, ReplaySuite, dump_yaml, rules_dir
from kb.load.knowledge_base import KnowledgeBase
from kb.load.rulefiles import ALERTS_FOLDER, EMIT_FOLDER, TESTS_FOLDER

Identity = tuple[int, int, int, int, int, int]


def batch_timeout(count: int) -> float:
    """The time one promtool run over `count` test files may take."""
    return 120 + 0.1 * count


def _identity(info: os.stat_result) -> Identity:
    return (info.st_dev, info.st_ino, info.st_mode, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def _folder(path: Path) -> Identity | None:
    """A real folder (not a link to one), by identity."""
    try:
        info = os.lstat(path)
    except OSError:
        return None
    return _identity(info) if stat.S_ISDIR(info.st_mode) else None


def holding(path: Path, expected: bytes) -> Identity | None:
    """The identity of the plain regular file at `path` (never through a link) when it holds
    exactly `expected`; None for anything else (a link, a FIFO, a device, other bytes)."""
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode) or info.st_size != len(expected):
        return None
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        if _identity(os.fstat(fd)) != _identity(info):  # swapped between the two looks
            return None
        data = os.read(fd, len(expected) + 1)
        while len(data) <= len(expected) and (more := os.read(fd, len(expected) + 1 - len(data))):
            data += more
    except OSError:
        return None
    finally:
        os.close(fd)
    return _identity(info) if data == expected else None


def still(path: Path, identity: Identity) -> bool:
    try:
        return _identity(os.lstat(path)) == identity
    except OSError:
        return False


def in_place_or_copies(
    kb: KnowledgeBase | None, emitted: Emitted, names: list[str], folder: Path
) -> tuple[list[Path], dict[Path, Identity]]:
    """The emitted files `names` (under rules/) for a program to read, in that order: each
    where it is when it is exactly what kb emit writes (with the identities to find unchanged
    after the program read them: theirs and their folders'), else a copy under `folder`.
    With `kb` None, every one is a copy."""
    base: Path | None = None
    folders: dict[Path, Identity | None] = {}
    if kb is not None:
        try:
            base = rules_dir(kb)
        except EmitProblem:
            base = None
    paths: list[Path] = []
    watched: dict[Path, Identity] = {}
    for name in names:
        text = emitted.files[name]
        identity = None
        if base is not None and ".." not in name.split("/"):
            parents = [base, *(base / p for p in _parents(name))]
            for parent in parents:
                if parent not in folders:
                    folders[parent] = _folder(parent)
            if all(folders[parent] is not None for parent in parents):
                identity = holding(base / name, text.encode())
        if identity is not None:
            assert base is not None
            paths.append(base / name)
            watched[base / name] = identity
            continue
        copy = folder / name
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_text(text, encoding="utf-8")
        paths.append(copy)
    if watched:
        watched.update({path: identity for path, identity in folders.items() if identity is not None})
    return paths, watched


def _parents(name: str) -> list[str]:
    """kb/alerts/X.yml -> [kb, kb/alerts]"""
    parts = name.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


class InPlace:
    """The suites whose emitted files on disk are exactly what kb emit writes, with the
    identities promtool must find unchanged after it read them."""

    def __init__(self, kb: KnowledgeBase, emitted: Emitted, suites: list[ReplaySuite], only: set[int] | None = None):
        self.indices: list[int] = []
        self.names: list[str] = []  # test files, relative to self.folder
        self.watched: dict[Path, Identity] = {}
        self.folder: Path | None = None
        try:
            base = rules_dir(kb)  # every link resolved, and inside the knowledge base
        except EmitProblem:
            return
        folders = {base / p: _folder(base / p) for p in ("", EMIT_FOLDER, ALERTS_FOLDER, TESTS_FOLDER)}
        if any(identity is None for identity in folders.values()):
            return
        alerts_prefix, tests_prefix = ALERTS_FOLDER + "/", TESTS_FOLDER + "/"
        for index, suite in enumerate(suites):
            if only is not None and index not in only:
                continue
            rule_file, test_file = suite.rule_file, suite.test_file
            if not (rule_file.startswith(alerts_prefix) and test_file.startswith(tests_prefix)):
                continue
            if "/" in rule_file[len(alerts_prefix) :] or "/" in test_file[len(tests_prefix) :]:
                continue
            rule_text, test_text = emitted.files.get(rule_file), emitted.files.get(test_file)
            if rule_text is None or test_text is None:
                continue
            rule_id = holding(base / rule_file, rule_text.encode())
            test_id = holding(base / test_file, test_text.encode()) if rule_id is not None else None
            if rule_id is None or test_id is None:
                continue
            self.indices.append(index)
            self.names.append(test_file[len(tests_prefix) :])
            self.watched[base / rule_file] = rule_id
            self.watched[base / test_file] = test_id
        if self.indices:
            self.folder = base / TESTS_FOLDER
            self.watched.update({path: identity for path, identity in folders.items() if identity is not None})

    def unchanged(self) -> bool:
        """Every file and folder promtool read is the one kb compared (after the run)."""
        return all(still(path, identity) for path, identity in self.watched.items())


def copy_texts(suite: ReplaySuite, index: int, emitted: Emitted | None) -> tuple[str, str]:
    """The rules and test files of `suite` as the private run names them (`<index>.rules.yml`,
    `<index>.test.yml`): cut from what kb emit writes when it can be, else dumped again."""
    rules_name = f"{index}.rules.yml"
    fresh_rules = dump_yaml({"groups": [suite.group]}) if emitted is None else None
    fresh_test = None
    if emitted is not None:
        rule_text = emitted.files.get(suite.rule_file, "")
        test_text = emitted.files.get(suite.test_file, "")
        fresh_rules = rule_text[len(HEADER) :] if rule_text.startswith(HEADER) else None
        # the emitted test file names its rules ../alerts/<id>.yml; the copy names <index>.rules.yml
        disk_head = HEADER + dump_yaml({"rule_files": ["../" + suite.rule_file[len(EMIT_FOLDER) + 1 :]]})
        if test_text.startswith(disk_head):
            fresh_test = dump_yaml({"rule_files": [rules_name]}) + test_text[len(disk_head) :]
    if fresh_rules is None:
        fresh_rules = dump_yaml({"groups": [suite.group]})
    if fresh_test is None:
        fresh_test = dump_yaml({"rule_files": [rules_name], "evaluation_interval": "1m", "tests": suite.tests})
    return fresh_rules, fresh_test


def write_copies(
    suites: list[ReplaySuite], indices: list[int], folder: Path, emitted: Emitted | None = None
) -> list[Path]:
    """One rules file and one test file per suite, named by its index in the single run."""
    files = []
    for index in indices:
        rules_text, test_text = copy_texts(suites[index], index, emitted)
        (folder / f"{index}.rules.yml").write_text(rules_text)
        test_file = folder / f"{index}.test.yml"
        test_file.write_text(test_text)
        files.append(test_file)
    return files


SPLIT_AT = 64  # suites: below this, a second promtool saves less than it costs to start


def parts(items: list, count: int) -> list[list]:
    """`items` cut into at most `count` runs of consecutive items, as even as can be."""
    count = max(1, min(count, len(items) // (SPLIT_AT // 2) if len(items) >= SPLIT_AT else 1))
    size, extra = divmod(len(items), count)
    cut, start = [], 0
    for number in range(count):
        end = start + size + (1 if number < extra else 0)
        cut.append(items[start:end])
        start = end
    return [part for part in cut if part]


class ReplayBatch:
    """promtool over `suites` (every replay suite, in emit order), started at construction:
    the first runs over those of `first` (the indices KB605 must run: all but the ones the
    replay cache saw pass; all by default).

    The first runs (in place, copies) are split over two promtool processes when this process
    may use two cores (kb.emit.promtool.processes): kb waits for them at the end of the check,
    and two cores then finish them in half the time. They run with the faster settings and a
    private tmpfs folder (promtool.Scratch); what they prove is only which files passed, so the
    split never changes an answer: anything else is run again, in one process, as before.

    The copies are in private folders of kb's (promtool.Scratch.copies: locked while kb or
    its promtool lives, swept by the next kb after a kill)."""

    def __init__(self, kb: KnowledgeBase, emitted: Emitted, suites: list[ReplaySuite], first: list[int] | None = None):
        self.suites = suites
        self.emitted = emitted
        self.run = list(range(len(suites))) if first is None else first
        self._runs: list[promtool.RunningTests] = []  # every run started, to stop
        self._tmp: promtool.Scratch | None = None
        self.scratch = promtool.Scratch()
        # (run, test file name -> suite index, whether its files were read in place)
        self._first: list[tuple[promtool.RunningTests, dict[str, int], bool]] = []
        try:
            self.in_place = InPlace(kb, emitted, suites, set(self.run))
            placed = set(self.in_place.indices)
            self.copied = [i for i in self.run if i not in placed]
            both = bool(self.in_place.indices) and bool(self.copied)
            count = 1 if both else promtool.processes()
            if self.in_place.indices:
                assert self.in_place.folder is not None
                by_name = dict(zip(self.in_place.names, self.in_place.indices))
                for names in parts(self.in_place.names, count):
                    run = self._start(names, self.in_place.folder, len(self.in_place.names))
                    self._first.append((run, {name: by_name[name] for name in names}, True))
            if self.copied:
                # on disk as before, not in the tmpfs folder: 3,333 suites copied would hold
                # some 27 MB of memory there (a page per file)
                self._tmp = promtool.Scratch.copies()
                self.folder = self._tmp.folder
                files = write_copies(suites, self.copied, self.folder, emitted)
                by_name = {f.name: i for f, i in zip(files, self.copied)}
                for names in parts([f.name for f in files], count):
                    run = self._start(names, self.folder, len(files))
                    self._first.append((run, {name: by_name[name] for name in names}, False))
        except BaseException:
            self.close()
            raise

    def _start(self, names: list[str], cwd: Path, whole: int) -> promtool.RunningTests:
        # each part may take as long as its whole batch would: two parts on a busy machine
        # share one core, and a part out of time sends everything to the single run
        run = promtool.FirstTests(names, cwd, batch_timeout(whole), self.scratch, self._tmp)
        self._runs.append(run)
        return run

    def finish(self) -> tuple[promtool.ReplayRun, set[int]]:
        """The run to report, and the indices of the suites promtool passed."""
        try:
            return self._finish()
        finally:
            self.close()

    def _finish(self) -> tuple[promtool.ReplayRun, set[int]]:
        passed: set[int] = set()
        clean = True  # every run exited 0
        results = [(run.result(), by_name, in_place) for run, by_name, in_place in self._first]
        unchanged = self.in_place.unchanged() if any(in_place for _, _, in_place in results) else True
        for run, by_name, in_place in results:
            if unchanged or not in_place:
                passed |= {by_name[name] for name in run.passed_files if name in by_name}
            clean = clean and run.ok
        rest = [i for i in self.run if i not in passed]
        if not rest and clean:
            return promtool.ReplayRun(True, []), passed
        if rest and not any(run.timed_out for run in self._runs):  # else straight to the single run
            again = self._run_copies(rest)
            passed |= {int(name.split(".", 1)[0]) for name in again.passed_files}
            if again.ok or again.failures:
                return again, passed
        # no failure kb can attribute: the single run, exactly as it always ran and reported,
        # over every suite, those the cache saw pass too: what it prints (file numbers, the
        # timeout) is then that of a cold check, whatever was cached
        run = self._run_copies(list(range(len(self.suites))))
        return run, {int(name.split(".", 1)[0]) for name in run.passed_files}

    def _run_copies(self, indices: list[int]) -> promtool.ReplayRun:
        with promtool.Scratch.copies() as tmp:
            files = write_copies(self.suites, indices, tmp.folder, self.emitted)
            return promtool.run_tests(files, timeout=batch_timeout(len(files)), holds=tmp)

    def close(self) -> None:
        """Stop any run nobody collected, and remove the private folders."""
        for run in self._runs:
            run.close()
        if self._tmp is not None:
            self._tmp.close()
        self.scratch.close()
