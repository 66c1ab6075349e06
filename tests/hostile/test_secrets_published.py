"""A credential never reaches the site or rules/, even when KB701 is ignored; an
allowlisted line is published as written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SNAPSHOT_KB, copy_kb

from kb.commands import check, emit

TOKEN = "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"
AWS = "AKIAIOSFODNN7EXAMPLE"
ALLOWED = "sk_live_4eC39HqLyjWDarjtT1zdp7dc"


def _plant(root: Path) -> None:
    card = root / "cards" / "queue-stuck.yaml"
    text = card.read_text()
    text = text.replace("title: ", f"title: Replay with {TOKEN} ", 1)
    text += f"# stripe mock: {ALLOWED}  # kb: ignore[KB701]\n"
    card.write_text(text)
    pm = next((root / "postmortems").glob("PM-2026-011-*.yaml"))
    pm.write_text(pm.read_text().replace("title: ", f"title: ran with {AWS} ", 1))


def test_site_never_shows_a_secret_whatever_the_check_ignores(tmp_path: Path, call) -> None:
    root = copy_kb(SNAPSHOT_KB, tmp_path / "kb")
    _plant(root)
    found = call(check.run, root=root)
    assert found.returncode == 1 and "KB701" in found.stdout
    config = root / "mkdocs.yml"
    config.write_text(config.read_text().replace("  - kb:\n", "  - kb:\n      ignore: [KB701]\n", 1))
    ignored = call(check.run, root=root)  # the KB's own settings switch the secret rule off
    assert ignored.returncode == 0 and "KB701" not in ignored.stdout, ignored.stdout
    out = tmp_path / "site"
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "-q", "-d", str(out)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr
    published = b"".join(p.read_bytes() for p in out.rglob("*") if p.is_file())
    assert TOKEN.encode() not in published and AWS.encode() not in published
    assert b"secret removed by kb" in published
    page = (out / "cards" / "queue-stuck" / "index.html").read_text()
    assert "Replay with [secret removed by kb]" in page


def test_emit_refuses_a_secret_unless_allowlisted(tmp_path: Path, call, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_NO_CACHE", "1")
    root = copy_kb(SNAPSHOT_KB, tmp_path / "kb")
    pm = next((root / "postmortems").glob("PM-2026-012-*.yaml"))
    text = pm.read_text()
    assert "input:" in text
    pm.write_text(text.replace('      input: "', f'      input: "call with token {TOKEN} ', 1))
    before = {p: p.read_bytes() for p in (root / "rules").rglob("*") if p.is_file()}
    for dry_run in (False, True):
        result = call(emit.run, dry_run=dry_run, root=root)
        assert result.returncode != 0 and "credential" in result.stderr, result.stderr
        assert TOKEN not in result.stdout + result.stderr
    assert {p: p.read_bytes() for p in (root / "rules").rglob("*") if p.is_file()} == before
    allowed = text.replace('      input: "', f'      input: "call with token {TOKEN} ', 1)
    lines = allowed.splitlines()
    lines = [line + "  # kb: ignore[KB701]" if TOKEN in line else line for line in lines]
    pm.write_text("\n".join(lines) + "\n")
    result = call(emit.run, root=root)
    assert result.returncode == 0, result.stderr
    assert TOKEN in (root / "rules" / "kb" / "evals" / "PM-2026-012.jsonl").read_text()
