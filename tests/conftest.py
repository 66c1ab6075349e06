"""Shared fixtures, and the suite's own hygiene.

Every run gets one temporary folder (pytest's basetemp, TMPDIR, kb's cache, hypothesis's
home), removed when the run ends: nothing is left in /tmp and nothing is written into the
repository, which the run checks at the end (`git status --ignored` before and after).
KB_KEEP_TMP=1 keeps the folder for a post-mortem of a failed run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"
BASE_KB = FIXTURES / "base"
SNAPSHOT_KB = FIXTURES / "repo-snapshot"  # this repository's KB, frozen: the root's KB is edited by people
KB_FILES = (
    "mkdocs.yml",
    "router.md",
    "oncall.yaml",
    "cards",
    "postmortems",
    "references",
    "docs",
    "schemas",
    "rules",
    "templates",
    "runs",
)
RUN_DIR_VARIABLE = "KB_TEST_RUN_DIR"
SLOW_TESTS = os.environ.get("KB_SLOW_TESTS") == "1"


def rounds(variable: str, default: int, slow: int) -> int:
    """How many random rounds a kill or race test runs: `variable` when it is set, `slow`
    with KB_SLOW_TESTS=1 (the soak), else `default` (enough to fail on a regression)."""
    return int(os.environ.get(variable) or (slow if SLOW_TESTS else default))


# ---- one temporary folder per run --------------------------------------------------------


def _repo_files_git_does_not_track() -> set[str] | None:
    """Untracked and ignored paths of the repository (None outside a git checkout)."""
    if not (REPO / ".git").exists():
        return None
    result = subprocess.run(
        ["git", "status", "--porcelain", "--ignored", "--untracked-files=all"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        return None
    noise = ("__pycache__/", ".pytest_cache/", ".egg-info/")
    return {
        line[3:]
        for line in result.stdout.splitlines()
        if line[:2] in ("??", "!!") and not any(part in line[3:] + "/" for part in noise)
    }


@pytest.hookimpl(tryfirst=True)  # before pytest's tmp_path plugin reads --basetemp
def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):  # an xdist worker: its basetemp and environment come from the controller
        run_dir = Path(os.environ[RUN_DIR_VARIABLE])
    else:
        run_dir = Path(tempfile.mkdtemp(prefix="kb-tests-"))
        config._kb_run_dir = run_dir  # type: ignore[attr-defined]
        config._kb_untracked_before = _repo_files_git_does_not_track()  # type: ignore[attr-defined]
        if config.option.basetemp is None:
            config.option.basetemp = str(run_dir / "pytest")
        os.environ[RUN_DIR_VARIABLE] = str(run_dir)
        (run_dir / "tmp").mkdir()
        os.environ["TMPDIR"] = str(run_dir / "tmp")  # kb's lock files and promtool folders, in every process
        os.environ["KB_CACHE_DIR"] = str(run_dir / "cache")  # never the user's cache
        os.environ["NO_COLOR"] = "1"
        os.environ.pop("GITHUB_ACTIONS", None)  # a test that wants the Actions format sets it
    tempfile.tempdir = str(run_dir / "tmp")
    from hypothesis import configuration, settings

    configuration.set_hypothesis_home_dir(run_dir / "hypothesis")  # not .hypothesis/ in the repository
    settings.register_profile("kb", database=None)
    settings.load_profile("kb")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    before = getattr(config, "_kb_untracked_before", None)
    if before is None:  # a worker, or not a git checkout
        return
    after = _repo_files_git_does_not_track() or set()
    gained = sorted(after - before)
    if gained:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        sys.stderr.write(
            "\nthe test run wrote into the repository (tests must write under tmp_path):\n  "
            + "\n  ".join(gained)
            + "\n"
        )


def pytest_unconfigure(config: pytest.Config) -> None:
    run_dir = getattr(config, "_kb_run_dir", None)
    if run_dir is not None and not os.environ.get("KB_KEEP_TMP"):
        shutil.rmtree(run_dir, ignore_errors=True)


# ---- balancing the xdist workers (`--dist loadgroup`, pyproject.toml) --------------------

# Modules whose module-scoped fixture builds a site or starts Chromium: one worker runs all
# of a module's tests, so the site is built once per run rather than once per worker.
ONE_WORKER_MODULES = ("tests/test_site.py", "tests/test_site_browser.py", "tests/hostile/test_trust_site_markup.py")

# Tests that take seconds, slowest first (node id prefixes): started before the rest, so that
# the workers end together on small tests instead of one of them idling while the other
# runs a long test it was handed last. A test missing here is merely scheduled in file order.
STARTED_FIRST = (
    "tests/test_site_generators.py::test_three_generators",
    "tests/test_tooling.py::test_mypy",
    "tests/hostile/test_kill_and_race.py::",
    "tests/hostile/test_trust_git_kill.py::test_sigkill_at_random_instants",
    "tests/test_run_kill.py::test_sigkill_at_random_instants",
    "tests/hostile/test_trust_cache.py::test_random_damage",
    "tests/test_project.py::test_the_wheel",
    "tests/hostile/test_fuzz.py::test_data_mutations",
    "tests/hostile/test_fuzz.py::test_byte_mutations",
    "tests/hostile/test_trust_site_markup_generators.py::",
    "tests/hostile/test_trust_concurrent_writers.py::",
    "tests/hostile/test_secrets_published.py::",
    "tests/hostile/test_trust_os_failures.py::test_a_killed",
    "tests/test_ci_sarif.py::test_pre_commit",
    "tests/test_run_kill.py::test_sigkill_of_the_real_cli",
    "tests/test_run_tty.py::",
    "tests/test_schedule_events_equivalence.py::",
)


def pytest_itemcollected(item: pytest.Item) -> None:
    if item.nodeid.split("::")[0] in ONE_WORKER_MODULES:
        item.add_marker(pytest.mark.xdist_group(Path(item.nodeid.split("::")[0]).stem))


@pytest.hookimpl(trylast=True)  # after pytest grouped the items by their fixtures
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        nodeid = item.nodeid.split("@")[0]
        return next((i for i, prefix in enumerate(STARTED_FIRST) if nodeid.startswith(prefix)), len(STARTED_FIRST))

    items.sort(key=rank)  # stable: the others keep their order


# ---- knowledge bases ----------------------------------------------------------------------


def copy_kb(source: Path, target: Path) -> Path:
    target.mkdir(parents=True, exist_ok=True)
    for name in KB_FILES:
        path = source / name
        if path.is_dir():
            shutil.copytree(path, target / name)
        elif path.is_file():
            shutil.copy2(path, target / name)
    return target


@pytest.fixture
def base_kb(tmp_path: Path) -> Path:
    return copy_kb(BASE_KB, tmp_path / "kb")


@pytest.fixture
def snapshot_kb(tmp_path: Path) -> Path:
    """A copy of the frozen snapshot of this repository's knowledge base."""
    return copy_kb(SNAPSHOT_KB, tmp_path / "snapshot-kb")


def require_tool(name: str) -> str:
    """The path of a tool; skip without it, but fail where CI promised it (KB_REQUIRE_TOOLS=1). A
    tool a Python package installs (actionlint, pre-commit) sits beside this interpreter, which
    is not on PATH when a virtual environment's python runs the suite (as CI does)."""
    path = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if path is None:
        if os.environ.get("KB_REQUIRE_TOOLS") == "1":
            pytest.fail(f"{name} is required here (KB_REQUIRE_TOOLS=1) but not installed")
        package = {"promtool": "prometheus", "amtool": "prometheus-alertmanager"}.get(name, name)
        pytest.skip(f"{name} is not installed (Debian: apt-get install {package})")
    return path


@pytest.fixture(scope="session")
def path_without_promtool(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A PATH that finds every program this one finds except promtool, as on a machine
    without it (kb then says the PromQL went unchecked): for tests that replay hundreds of
    cases where promtool's verdict is the base KB's each time (test_rule_cases.promtool_reads)."""
    folder = tmp_path_factory.mktemp("path-without-promtool")
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if not directory or not os.path.isdir(directory):
            continue
        for entry in os.scandir(directory):
            target = folder / entry.name
            if entry.name != "promtool" and not target.exists() and os.access(entry.path, os.X_OK):
                target.symlink_to(entry.path)
    assert shutil.which("promtool", path=str(folder)) is None and shutil.which("git", path=str(folder))
    return str(folder)


# ---- running kb ---------------------------------------------------------------------------


@dataclass
class Ran:
    """What a verb did: its exit code and what it printed."""

    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def call(capsys: pytest.CaptureFixture[str]) -> Callable[..., Ran]:
    """`call(kb.commands.check.run, ..., root=kb)`: a verb's `run` in this process, with its output."""

    def run(verb: Callable[..., int], *args: object, **kwargs: object) -> Ran:
        capsys.readouterr()
        code = verb(*args, **kwargs)
        out, err = capsys.readouterr()
        return Ran(code, out, err)

    return run


def run_kb(
    *args: str,
    cwd: Path | None = None,
    env: dict | None = None,
    input: str | None = None,
    timeout: float = 120,
    python: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[str]:
    """The real CLI in a subprocess (`python [python] -m kb args`), as a user runs it: for the
    end-to-end layer, and where a separate process is the point (kills, races, import time)."""
    return subprocess.run(
        [sys.executable, *python, "-m", "kb", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        input=input,
        timeout=timeout,
    )


def complete_drill(root: Path, card_id: str) -> str:
    """A completed drill of the card, through `kb run --drill` (its first rotation member does
    every step): what `kb card drilled` needs behind a stamp (#19). Returns the drill's day."""
    import yaml

    from kb.commands import run as run_verb

    card = yaml.safe_load((root / "cards" / f"{card_id}.yaml").read_text(encoding="utf-8"))
    oncall = yaml.safe_load((root / "oncall.yaml").read_text(encoding="utf-8"))
    actor = oncall["rotations"][card["rotation"]]["members"][0]

    def act(drill: bool = False, **action) -> int:
        return run_verb.run(card_id, actor, drill, False, None, run_verb.Action(**action), root)

    assert act(drill=True, start=True) == 0
    for step in [*(card.get("steps") or []), *(card.get("rollback") or [])]:
        assert act(step=step["id"], done=True, evidence="walked in a drill") == 0
    act(end="mitigated")  # 1 when the drill missed a target: still a completed drill
    (log,) = sorted((root / "runs").glob(f"*-{card_id}-*.jsonl"))[-1:]
    return log.name[:10]
