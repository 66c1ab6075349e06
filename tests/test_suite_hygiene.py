"""The suite's own hygiene (tests/conftest.py): everything a run writes lands in the run's one
temporary folder, which the run removes; nothing lands in the repository or in /tmp."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from conftest import REPO, RUN_DIR_VARIABLE

from kb.cache.store import cache_dir
from kb.core.locking import kb_lock


def _run_dir() -> Path:
    return Path(os.environ[RUN_DIR_VARIABLE])


def test_temporary_files_go_to_the_run_folder(tmp_path: Path) -> None:
    run = _run_dir()
    assert run.is_dir() and REPO not in run.parents
    assert run in tmp_path.parents
    assert Path(tempfile.gettempdir()).parent == run
    with kb_lock(tmp_path):  # kb's locks live in the KB (or its .git), never in a shared temp folder (#14)
        pass
    assert list((tmp_path / ".kb-locks").glob("*.lock")) and not list((run / "tmp").glob("kb-*.lock"))
    child = subprocess.run(
        [sys.executable, "-c", "import tempfile; print(tempfile.gettempdir())"], capture_output=True, text=True
    )
    assert Path(child.stdout.strip()).parent == run, "a subprocess of a test writes there too"


def test_kb_cache_and_hypothesis_stay_out_of_the_repository() -> None:
    from hypothesis import configuration, settings

    run = _run_dir()
    assert run in cache_dir(REPO).parents
    storage = configuration.storage_directory("examples", intent_to_write=False)
    assert run in Path(getattr(storage, "path", storage)).parents  # a Path in older hypothesis
    assert settings().database is None
