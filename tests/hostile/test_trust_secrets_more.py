"""Class 4, more hiding places: a key written with HTML character references in a Markdown
page (`AKIA&#x49;OSF...` reaches the page as written and the browser shows the key), in
router.md or references/, in decimal, hex or mixed spellings; a key behind a YAML anchor and
alias, or an explicit `!!str` tag. Each is KB701 at its line, and the built site shows no
spelling of it (checked on the text a browser renders: character references decoded)."""

from __future__ import annotations

import html
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import BASE_KB, copy_kb
from trust_cli import kb, no_traceback

AWS = "AKIAIOSFODNN7EXAMPLE"
GITHUB = "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"

MARKDOWN = {  # (file, text, secret)
    "hex-reference": ("references/queues.md", "key AKIA&#x49;OSFODNN7EXAMPLE here", AWS),
    "decimal-reference": ("references/queues.md", "key AKIA&#73;OSFODNN7EXAMPLE here", AWS),
    "padded-reference": ("references/queues.md", "key AKIA&#x0049;OSFODNN7EXAMPL&#069; here", AWS),
    "every-char-referenced": ("references/queues.md", "t " + "".join(f"&#{ord(c)};" for c in GITHUB), GITHUB),
    "router-line": ("router.md", "- `Leak`: token ghp_wWPw5k4aXcaT4fNP0UcnZwJUVFk6LO0pINU&#x78;", GITHUB),
}


@pytest.mark.parametrize("name", sorted(MARKDOWN))
def test_a_key_spelled_with_character_references_is_found(tmp_path: Path, name: str):
    rel, text, secret = MARKDOWN[name]
    root = copy_kb(BASE_KB, tmp_path / "kb")
    page = root / rel
    page.write_text(page.read_text() + "\n" + text + "\n")
    line = len(page.read_text().splitlines())
    result = kb("check", "--format", "json", "--select", "KB701", cwd=root, env={"KB_NO_CACHE": "1"})
    no_traceback(result)
    found = [d for d in json.loads(result.stdout) if d["code"] == "KB701"]
    assert found and found[0]["path"] == rel and found[0]["line"] == line, result.output
    assert secret not in result.output


def test_no_spelling_of_a_referenced_key_is_published(tmp_path: Path):
    root = copy_kb(BASE_KB, tmp_path / "kb")
    for rel, text, _ in MARKDOWN.values():
        (root / rel).write_text((root / rel).read_text() + "\n" + text + "\n")
    site = tmp_path / "site"
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "-q", "-d", str(site)], cwd=root, capture_output=True, text=True
    )
    assert build.returncode == 0, build.stderr
    shown = "".join(html.unescape(p.read_text(errors="replace")) for p in site.rglob("*") if p.is_file())
    assert AWS not in shown and GITHUB not in shown
    assert "secret removed by kb" in shown


YAML = {
    "anchor-and-alias": ('summary: &leak "key AKIA\\x49OSFODNN7EXAMPLE"', AWS),
    "str-tag": ('summary: !!str "key AKIA\\x49OSFODNN7EXAMPLE"', AWS),
    "single-quoted-plain": ("summary: 'key 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'", GITHUB),
}


@pytest.mark.parametrize("name", sorted(YAML))
def test_a_key_in_yaml_syntax_is_found_at_its_line(tmp_path: Path, name: str):
    value, secret = YAML[name]
    root = copy_kb(BASE_KB, tmp_path / "kb")
    card = root / "cards/queue-stuck.yaml"
    lines = [value if line.startswith("summary:") else line for line in card.read_text().splitlines()]
    card.write_text("\n".join(lines) + "\n")
    result = kb("check", "--format", "json", "--select", "KB701", cwd=root, env={"KB_NO_CACHE": "1"})
    no_traceback(result)
    found = [d for d in json.loads(result.stdout) if d["code"] == "KB701"]
    assert found and found[0]["path"] == "cards/queue-stuck.yaml" and found[0]["line"] == 3, result.output
    assert secret not in result.output
