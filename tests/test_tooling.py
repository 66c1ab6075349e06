"""The linters and the type checker the project configures in pyproject.toml pass: ruff (lint
and format) and mypy (the package in default mode, kb.core in strict mode)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from conftest import REPO


def _tool(name: str) -> list[str]:
    if shutil.which(name) is None:
        pytest.fail(f"{name} is a test dependency (pip install -e '.[test]')")
    return [name]


def test_ruff_lint_and_format() -> None:
    for args in (["check", "--no-cache", "."], ["format", "--check", "--no-cache", "."]):
        result = subprocess.run([*_tool("ruff"), *args], cwd=REPO, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def test_mypy() -> None:
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr
