"""The linters and the type checker the project configures in pyproject.toml pass: ruff (lint
and format) and mypy (the package in default mode, kb.core in strict mode)."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO


def test_ruff_lint_and_format() -> None:
    for args in (["check", "--no-cache", "."], ["format", "--check", "--no-cache", "."]):
        result = subprocess.run([sys.executable, "-m", "ruff", *args], cwd=REPO, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def test_mypy() -> None:
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr
