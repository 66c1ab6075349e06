"""kb.site build for Zensical (no plugin, so no hook to sanitize a rendered page) refuses a router or
reference page whose raw HTML the plugin build would strip (kb.site.escape.sanitize_html,
nh3): a script, an event handler, a `javascript:` link. Harmless HTML still builds."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import REPO

from kb.load.loader import load_kb
from kb.site.build import BuildProblem, stage

FIXTURE = REPO / "tests" / "fixtures" / "site"


def staged(tmp_path: Path, reference: str) -> Path:
    root = tmp_path / "kb"
    shutil.copytree(FIXTURE, root)
    (root / "references" / "dispatch-queue.md").write_text(reference, encoding="utf-8")
    (tmp_path / "staging").mkdir()
    return stage(load_kb(root), tmp_path / "staging", "zensical").config_file


@pytest.mark.parametrize(
    ("html", "named"),
    [
        ("<script>alert(1)</script>", "<script>"),
        ('<img src="x" onerror="alert(1)">', "onerror"),
        ("[status](javascript:alert(1))", "javascript:"),
        ('<a href="JavaScript&colon;alert(1)">x</a>', "<a "),
        ("<iframe src='https://example.com'></iframe>", "<iframe"),
    ],
)
def test_dangerous_raw_html_is_refused(tmp_path: Path, html: str, named: str) -> None:
    with pytest.raises(BuildProblem) as caught:
        staged(tmp_path, f"# Dispatch queue\n\n## Pausing\n\n{html}\n")
    assert "references/dispatch-queue.md" in str(caught.value) and named in str(caught.value)


def test_harmless_raw_html_and_code_build(tmp_path: Path) -> None:
    text = (
        "# Dispatch queue\n\n## Pausing\n\n<b>bold</b> <details><summary>more</summary>text</details>\n\n"
        "| a | b |\n|:--|--:|\n| 1 | 2 |\n\n[runbook](https://example.com/x) and `<script>` in code.\n"
    )
    config = staged(tmp_path, text)
    assert (config.parent / "docs" / "references" / "dispatch-queue.md").read_text(encoding="utf-8") == text
