"""`kb site build|serve` (kb/site/command.py) in process: it fails closed on what it cannot
do, names what to install, and `serve` says why MkDocs would refuse before starting it.
One real `kb site serve` with live reload runs with KB_SLOW_TESTS=1."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import REPO

from kb.site.command import run
from kb.site.pages.rules import doc_blocks

SITE_KB = REPO / "tests" / "fixtures" / "site"


@pytest.fixture
def site_kb(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    shutil.copytree(SITE_KB, root)
    return root


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"generator": "hugo"}, "unknown generator 'hugo': choose one of mkdocs, properdocs, zensical"),
        ({"search": "lunr"}, "unknown search 'lunr': choose one of pagefind, builtin"),
    ],
)
def test_build_refuses_what_it_does_not_know(site_kb: Path, capsys, kwargs, message: str) -> None:
    assert run("build", root=site_kb, out=site_kb.parent / "site", **kwargs) == 2
    assert f"kb: {message}" in capsys.readouterr().err
    assert not (site_kb.parent / "site").exists()


def test_unknown_action(site_kb: Path, capsys) -> None:
    assert run("deploy", root=site_kb) == 2
    assert "unknown action 'deploy'" in capsys.readouterr().err


def test_a_generator_that_is_not_installed_is_named_with_what_to_install(site_kb: Path) -> None:
    """A Python without Zensical and Pagefind (their import blocked, as where they were never installed)."""
    out = site_kb.parent / "site"
    code = (
        "import sys, importlib.abc\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('zensical', 'pagefind'):\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "from kb.site.command import run\n"
        f"codes = [run('build', 'zensical', 'builtin', root={str(site_kb)!r}, out={str(out)!r}),\n"
        f"         run('build', 'mkdocs', 'pagefind', root={str(site_kb)!r}, out={str(out)!r})]\n"
        "print(codes)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.stdout.strip() == "[2, 2]", result.stdout + result.stderr
    assert "kb: zensical is not installed: pip install zensical\n" in result.stderr
    assert "kb: Pagefind is not installed: pip install 'pagefind[extended]' (or --search builtin)" in result.stderr
    assert not out.exists()


def test_serve_says_why_mkdocs_would_refuse(site_kb: Path, capsys) -> None:
    assert not (site_kb / "docs").exists()
    assert run("serve", "mkdocs", root=site_kb) == 2
    err = capsys.readouterr().err
    assert "checks docs_dir before any plugin runs; create it (mkdir docs) or use --generator zensical" in err
    (site_kb / "docs").mkdir()
    config = site_kb / "mkdocs.yml"
    config.write_text(config.read_text().replace("  - kb:\n      today: 2026-11-22\n", ""))
    assert run("serve", "properdocs", root=site_kb) == 2
    assert "no `kb` entry under plugins" in capsys.readouterr().err


def test_plugin_pagefind_refuses_the_themes_search_beside_it(site_kb: Path) -> None:
    """`search: pagefind` with Material's search plugin still listed: two search boxes, one of
    them downloading the whole index; the build stops and says what to remove."""
    (site_kb / "docs").mkdir()
    config = site_kb / "mkdocs.yml"
    config.write_text(config.read_text().replace("today: 2026-11-22", "today: 2026-11-22\n      search: pagefind"))
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "-d", str(site_kb.parent / "site")],
        cwd=site_kb,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "search: pagefind replaces the theme's search: remove `search` from plugins" in result.stderr


def test_rule_docs_read_as_paragraphs_and_examples() -> None:
    doc = "Why: `cards/<id>/` and runs/<day>-*.jsonl.\n\nBad:\n\n```yaml\na: <b>\n\nb: 1\n```\n\nGood:\n"
    blocks = doc_blocks(doc)
    assert [b.kind for b in blocks] == ["p", "p", "code", "p"]
    assert blocks[0].spans == ((False, "Why: "), (True, "cards/<id>/"), (False, " and runs/<day>-*.jsonl."))
    assert blocks[2].language == "yaml" and blocks[2].text == "a: <b>\n\nb: 1"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _fetch(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode("utf-8")
    except OSError:
        return ""


@pytest.mark.skipif(os.environ.get("KB_SLOW_TESTS") != "1", reason="starts a server: set KB_SLOW_TESTS=1")
def test_serve_rebuilds_when_a_card_changes(site_kb: Path) -> None:
    """`kb site serve` (MkDocs and the kb plugin): a card's YAML edited, its page changes."""
    (site_kb / "docs").mkdir()
    address = f"127.0.0.1:{_free_port()}"
    server = subprocess.Popen(
        [sys.executable, "-m", "kb", "site", "serve", "--root", str(site_kb), "--dev-addr", address],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://{address}/cards/queue-stuck/"
    try:
        deadline = time.monotonic() + 120
        while "Dispatch jobs pending" not in _fetch(url) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert "Dispatch jobs pending" in _fetch(url), "the server never served the card"
        card = site_kb / "cards" / "queue-stuck.yaml"
        card.write_text(card.read_text().replace("title: ", "title: Edited live ", 1))
        while "Edited live" not in _fetch(url) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert "Edited live" in _fetch(url), "the edit never reached the served page"
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_build_never_replaces_a_folder_kb_did_not_build(site_kb: Path, capsys) -> None:
    """Outside review: a folder with a hand-written index.html was removed whole by --out."""
    web = site_kb.parent / "webproj"
    (web / "src").mkdir(parents=True)
    (web / "index.html").write_text("<html>my homepage</html>\n")
    (web / "notes.txt").write_text("precious\n")
    assert run("build", root=site_kb, out=web, search="builtin") != 0
    assert "is not a site kb built" in capsys.readouterr().err
    assert (web / "notes.txt").read_text() == "precious\n" and (web / "src").is_dir()


def test_build_never_follows_a_site_link_or_builds_into_a_kb_folder(site_kb: Path, capsys) -> None:
    """Outside review: a committed `site -> cards` (with a planted .kb-site) had the cards replaced."""
    (site_kb / "cards" / ".kb-site").write_text("built by kb\n")
    (site_kb / "site").symlink_to("cards")
    before = sorted(p.name for p in (site_kb / "cards").iterdir())
    assert run("build", root=site_kb, search="builtin") != 0
    assert "symbolic link" in capsys.readouterr().err
    assert run("build", root=site_kb, out=site_kb / "cards", search="builtin") != 0
    assert "cards/ folder" in capsys.readouterr().err
    assert sorted(p.name for p in (site_kb / "cards").iterdir()) == before
