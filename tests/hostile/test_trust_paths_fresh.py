"""Class 2, in a long-lived process (`mkdocs serve` rebuilds in the same Python process): a
path that was inside the KB at the first look and is replaced by a link out before the next
is refused at the next, never answered from a remembered resolution."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import BASE_KB, copy_kb
from trust_cli import kb, no_traceback

from kb.core.paths import inside

MARK = "OUTSIDE-MARK-93c1"


@pytest.fixture
def setup(tmp_path: Path):
    root = copy_kb(BASE_KB, tmp_path / "kb")
    outside = tmp_path / "outside"
    (outside / "references").mkdir(parents=True)
    (outside / "references/queues.md").write_text(f"# {MARK}\n\n## Pausing consumers\n")
    (outside / "router.md").write_text(f"# {MARK}\n- `QueueStalled`: {MARK} → [queue-stuck](cards/queue-stuck.yaml)\n")
    return root, outside


def test_inside_sees_a_folder_replaced_by_a_link(setup):
    root, outside = setup
    assert inside(root, "references/queues.md") is not None
    shutil.rmtree(root / "references")
    (root / "references").symlink_to(outside / "references")
    assert inside(root, "references/queues.md") is None
    (root / "references").unlink()
    (root / "references").mkdir()
    (root / "references/queues.md").write_text("# back\n")
    assert inside(root, "references/queues.md") == (root / "references/queues.md").resolve()


def test_router_replaced_by_a_link_between_two_runs_of_one_process(setup):
    root, outside = setup
    first = kb("route", "QueueStalled", cwd=root, env={"KB_NO_CACHE": "1"})
    no_traceback(first)
    assert first.returncode == 0 and MARK not in first.output
    (root / "router.md").unlink()
    (root / "router.md").symlink_to(outside / "router.md")
    second = kb("route", "QueueStalled", cwd=root, env={"KB_NO_CACHE": "1"})
    no_traceback(second)
    assert MARK not in second.output, second.output


def test_references_replaced_by_a_link_between_two_checks_of_one_process(setup):
    root, outside = setup
    first = kb("check", "--select", "KB1", cwd=root, env={"KB_NO_CACHE": "1"})
    no_traceback(first)
    assert "KB102" not in first.output, first.output
    shutil.rmtree(root / "references")
    (root / "references").symlink_to(outside / "references")
    second = kb("check", "--select", "KB1", cwd=root, env={"KB_NO_CACHE": "1"})
    no_traceback(second)
    assert "references" in second.output and second.returncode != 0, second.output
    assert MARK not in second.output
