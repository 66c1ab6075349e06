from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
_CACHE = Path(__import__("tempfile").mkdtemp(prefix="kb-test-cache-"))  # never the user's cache
BASE_KB = REPO / "tests" / "fixtures" / "base"
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
def repo_kb(tmp_path: Path) -> Path:
    """A copy of this repository's own knowledge base."""
    return copy_kb(REPO, tmp_path / "repo-kb")


def require_tool(name: str) -> str:
    """The path of a system tool; skip without it, but fail where CI promised it (KB_REQUIRE_TOOLS=1)."""
    import os

    path = shutil.which(name)
    if path is None:
        if os.environ.get("KB_REQUIRE_TOOLS") == "1":
            pytest.fail(f"{name} is required here (KB_REQUIRE_TOOLS=1) but not installed")
        pytest.skip(f"{name} is not installed (Debian: apt-get install {'prometheus' if name == 'promtool' else name})")
    return path


def run_kb(*args: str, cwd: Path | None = None, env: dict | None = None, input: str | None = None):
    """The real CLI in a subprocess, as a user runs it."""
    import os

    full_env = {**os.environ, "NO_COLOR": "1", "KB_CACHE_DIR": str(_CACHE), **(env or {})}
    full_env.pop("GITHUB_ACTIONS", None) if "GITHUB_ACTIONS" not in (env or {}) else None
    return subprocess.run(
        [sys.executable, "-m", "kb", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        input=input,
        timeout=120,
    )
