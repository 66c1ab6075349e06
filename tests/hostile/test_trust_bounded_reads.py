"""Classes 3 and 11: every read of a file a user controls goes through kb.core.safefile (a
regular file only, at most a bounded size), also in the corners: `kb schema --check`, the
rule files `kb route` searches for an unknown alert, a manifest sniffed in rules/, and
`kb emit --dry-run` reading an old part it would remove. A FIFO there must not hang kb, a
link to /dev/zero or a sparse file of many GB must not fill its memory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import BASE_KB, copy_kb
from trust_cli import kb_forked, no_traceback

SECONDS = 8
MEMORY = 1 << 30  # a child reading /dev/zero without a bound dies here instead of eating the machine


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _zero(path: Path) -> None:
    path.symlink_to("/dev/zero")


def _sparse(path: Path) -> None:
    with open(path, "wb") as handle:
        handle.truncate(3 << 30)  # 3 GB that cost no disk: read whole, they would not fit in the child


KINDS = {"fifo": _fifo, "dev-zero": _zero, "sparse-3gb": _sparse}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return copy_kb(BASE_KB, tmp_path / "kb")


def _run(root: Path, *args: str):
    result = kb_forked(*args, cwd=root, env={"KB_NO_CACHE": "1"}, timeout=SECONDS, memory=MEMORY)
    assert result is not None, f"kb {' '.join(args)} hung"
    assert result.returncode >= 0, f"kb {' '.join(args)} died: {result.stderr}"
    no_traceback(result)
    return result


@pytest.mark.parametrize("kind", KINDS)
def test_schema_check_reads_a_schema_file_safely(root: Path, kind: str):
    assert _run(root, "schema").returncode == 0
    target = root / "schemas/card.schema.json"
    target.unlink()
    KINDS[kind](target)
    result = _run(root, "schema", "--check")
    assert result.returncode != 0
    assert "card.schema.json" in result.output


@pytest.mark.parametrize("kind", KINDS)
def test_route_search_in_rule_files_reads_safely(root: Path, kind: str):
    KINDS[kind](root / "rules/zz-hostile.rules.yml")
    result = _run(root, "route", "SomeAlertNobodyNames")
    assert result.returncode in (0, 1)


@pytest.mark.parametrize("kind", KINDS)
def test_check_sniffing_rule_files_reads_safely(root: Path, kind: str):
    KINDS[kind](root / "rules/zz-hostile.rules.yml")
    result = _run(root, "check", "--select", "KB1,KB6")
    assert "zz-hostile.rules.yml" in result.output


@pytest.mark.parametrize("kind", KINDS)
def test_emit_dry_run_reads_old_parts_safely(root: Path, kind: str):
    assert _run(root, "emit").returncode == 0
    KINDS[kind](root / "rules/kb.rules.2.yml")  # a further part kb emit would remove
    result = _run(root, "emit", "--dry-run")
    assert result.returncode in (0, 1, 2)
