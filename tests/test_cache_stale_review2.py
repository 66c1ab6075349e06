"""A warm `kb check` equals a cold one, second outside review: a configured folder that turns
into a link out of the KB, a plain file or a link loop; docs_dir removed; a page that pulls in
another file as it renders (pymdownx.snippets); and a page whose text imitates the marker kb
uses to learn which links Markdown renders."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import BASE_KB, copy_kb

from kb.commands import check


@pytest.fixture
def kb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = copy_kb(BASE_KB, tmp_path / "kb")
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("KB_NO_CACHE", raising=False)
    monkeypatch.chdir(root)  # as a user runs it (snippets' base path is the working folder)
    return root


def _warm_and_cold(call, monkeypatch: pytest.MonkeyPatch, root: Path):
    warm = call(check.run, root=root)
    with monkeypatch.context() as m:
        m.setenv("KB_NO_CACHE", "1")
        cold = call(check.run, root=root)
    assert (warm.returncode, warm.stdout) == (cold.returncode, cold.stdout)
    return cold


@pytest.mark.parametrize("shape", ["link-out", "file", "loop"])
def test_a_configured_folder_that_becomes_a_link_a_file_or_a_loop(kb: Path, call, monkeypatch, shape) -> None:
    assert call(check.run, root=kb).returncode == 0
    templates = kb / "templates"
    assert not os.path.lexists(templates)
    if shape == "link-out":
        (kb.parent / "out").mkdir()
        templates.symlink_to("../out")
    elif shape == "file":
        templates.write_text("not a folder\n")
    else:
        templates.symlink_to("templates")
    cold = _warm_and_cold(call, monkeypatch, kb)
    assert cold.returncode == 1 and "templates" in cold.stdout
    templates.unlink()  # and back: no stale error either
    assert _warm_and_cold(call, monkeypatch, kb).returncode == 0


def test_docs_dir_removed_is_seen(kb: Path, call, monkeypatch) -> None:
    assert "KB104" not in call(check.run, root=kb).stdout
    shutil.rmtree(kb / "docs")
    assert "KB104" in _warm_and_cold(call, monkeypatch, kb).stdout


def test_a_snippet_the_router_pulls_in_is_an_input(kb: Path, call, monkeypatch) -> None:
    with (kb / "mkdocs.yml").open("a") as handle:
        handle.write("markdown_extensions:\n  - pymdownx.snippets\n")
    (kb / "snippets").mkdir()
    (kb / "snippets/head.md").write_text("Routes follow.\n")
    router = (kb / "router.md").read_text()
    (kb / "router.md").write_text(router.replace("\n", '\n\n--8<-- "snippets/head.md"\n\n', 1) + "\n<!-- end -->\n")
    first = _warm_and_cold(call, monkeypatch, kb)
    assert "KB503" not in first.stdout
    (kb / "snippets/head.md").write_text("<!--\n")  # the rest of the router becomes a comment
    assert "KB503" in _warm_and_cold(call, monkeypatch, kb).stdout


def test_page_text_cannot_forge_a_rendered_link(kb: Path, call, monkeypatch) -> None:
    monkeypatch.setenv("KB_NO_CACHE", "1")
    (kb / "router.md").write_text(
        "# Router\n\n```\n- `QueueStalled`: jobs pending → [queue-stuck](cards/queue-stuck.yaml)\n```\n\n"
        "See [the index](kbroutelink0x).\n"
    )
    out = call(check.run, root=kb).stdout
    assert "KB503" in out and "queue-stuck" in out
