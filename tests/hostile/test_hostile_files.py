"""Hostile files: each one a clear diagnostic at its place, within seconds, never a traceback.

Every case writes one hostile file into a copy of the small base KB and runs `kb check
--format json` (the verb, in process, without the cache) with a time limit.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from conftest import Ran

from kb.commands import check, show

CARD = "cards/queue-stuck.yaml"
PM = "postmortems/PM-2026-001-queue.yaml"
SECONDS = 10


def _bomb() -> bytes:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return ("\n".join(lines) + "\n").encode()


# (name, path, content, expected code or None for "accepted", expected line or None)
CASES = [
    ("billion-laughs", CARD, _bomb(), "KB100", 1),
    ("deep-flow-nesting", CARD, b"id: queue-stuck\nsteps: " + b"[" * 5000 + b"]" * 5000 + b"\n", "KB100", 2),
    (
        "deep-block-nesting",
        CARD,
        b"id: queue-stuck\n" + b"".join(b"  " * i + b"k:\n" for i in range(200)),
        "KB100",
        None,
    ),
    ("binary", CARD, bytes(range(256)) * 8, "KB100", None),
    ("not-utf8", CARD, b"id: queue-stuck\ntitle: caf\xe9\n", "KB100", 2),
    ("tabs", CARD, b"id: queue-stuck\nsteps:\n\t- id: x\n", "KB100", 3),
    ("list-root", CARD, b"- id: queue-stuck\n", "KB100", 1),
    ("scalar-root", CARD, b"just a sentence\n", "KB100", 1),
    ("empty", CARD, b"", "KB100", 1),
    ("python-object-tag", CARD, b'id: !!python/object/apply:os.system ["touch pwned"]\n', "KB100", 1),
    ("nul-in-id", CARD, b'id: "queue\\0stuck"\ntitle: x\n', "KB110", 1),
    ("lookalike-id", CARD, "id: queue-stuck\u0430\ntitle: x\n".encode(), "KB110", 1),
    ("traversal-in-reference", CARD, None, "KB133", None),
    ("secret-in-run", CARD, None, "KB701", None),
    ("html-in-title", CARD, None, None, None),
]


def _patched(root: Path, name: str) -> bytes:
    text = (root / CARD).read_text(encoding="utf-8")
    if name == "traversal-in-reference":
        return (
            text.replace("references:", "references:\n  - path: ../../../../etc/passwd\n", 1).encode()
            if "references:" in text
            else (text + "references:\n  - path: ../../../../etc/passwd\n").encode()
        )
    if name == "secret-in-run":
        return (text + "# pasted: export GITHUB_TOKEN=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\n").encode()
    return text.replace("title:", "title: <script>alert(1)</script><img src=x onerror=alert(2)>", 1).encode()


@pytest.fixture(autouse=True)
def _no_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_NO_CACHE", "1")


@pytest.fixture
def check_json(call):
    return lambda root: _check_json(call, root)


def _check_json(call, root: Path) -> tuple[list[dict], float, Ran]:
    started = time.monotonic()
    result = call(check.run, output_format="json", root=root)
    elapsed = time.monotonic() - started
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout), elapsed, result


@pytest.mark.parametrize(("name", "path", "content", "code", "line"), CASES, ids=[c[0] for c in CASES])
def test_hostile_file(base_kb: Path, check_json, name: str, path: str, content, code, line) -> None:
    (base_kb / path).write_bytes(content if content is not None else _patched(base_kb, name))
    diagnostics, elapsed, _ = check_json(base_kb)
    assert elapsed < SECONDS, f"{name} took {elapsed:.1f} s"
    mine = [d for d in diagnostics if d["path"] == path]
    if code is None:
        assert not [d for d in mine if d["code"].startswith("KB1")], mine
        return
    hits = [d for d in mine if d["code"] == code]
    assert hits, f"{name}: expected {code}, got {[(d['code'], d['message']) for d in diagnostics]}"
    if line is not None:
        assert hits[0]["line"] == line, hits[0]
    assert not (base_kb / "pwned").exists()


def test_secret_never_in_the_report(base_kb: Path, call) -> None:
    (base_kb / CARD).write_bytes(_patched(base_kb, "secret-in-run"))
    for fmt in ("text", "json", "sarif", "github"):
        result = call(check.run, output_format=fmt, root=base_kb)
        assert "KB701" in result.stdout and "ghp_wWPw5k4a" not in result.stdout + result.stderr


@pytest.mark.parametrize("accepted", ["bom", "crlf"])
def test_bom_and_crlf_are_accepted(base_kb: Path, check_json, accepted: str) -> None:
    before, _, _ = check_json(base_kb)
    raw = (base_kb / CARD).read_bytes()
    (base_kb / CARD).write_bytes(b"\xef\xbb\xbf" + raw if accepted == "bom" else raw.replace(b"\n", b"\r\n"))
    after, _, _ = check_json(base_kb)
    assert after == before


def test_oversized_file_refused_at_the_settable_limit(base_kb: Path, check_json) -> None:
    config = base_kb / "mkdocs.yml"
    config.write_text(config.read_text().replace("  - kb:\n", "  - kb:\n      max_file_bytes: 4096\n", 1))
    assert "max_file_bytes: 4096" in config.read_text()
    (base_kb / CARD).write_bytes((base_kb / CARD).read_bytes() + b"# padding\n" * 1000)
    diagnostics, elapsed, _ = check_json(base_kb)
    assert any(
        d["code"] == "KB100" and d["path"] == CARD and "4096" in d["message"].replace(",", "") for d in diagnostics
    ), diagnostics


@pytest.mark.parametrize("where", [CARD, PM, "references/outside.md", "oncall.yaml", "router.md"])
def test_symlink_out_of_the_kb_is_reported_and_not_read(
    base_kb: Path, tmp_path: Path, check_json, call, where: str
) -> None:
    outside = tmp_path / "outside-secret.yaml"
    outside.write_text("id: queue-stuck\ntitle: read from outside the KB\n")
    target = base_kb / where
    if target.exists():
        target.unlink()
    os.symlink(outside, target)
    diagnostics, _, result = check_json(base_kb)
    assert [d for d in diagnostics if d["code"] == "KB102" and d["path"] == where], diagnostics
    shown = call(show.run, "queue-stuck", root=base_kb)
    assert "read from outside the KB" not in shown.stdout + shown.stderr


def test_symlink_inside_the_kb_is_followed(base_kb: Path, check_json) -> None:
    real = base_kb / "cards" / "queue-stuck.yaml"
    moved = base_kb / "docs" / "queue-stuck.yaml"
    real.rename(moved)
    os.symlink(moved, real)
    diagnostics, _, _ = check_json(base_kb)
    assert not [d for d in diagnostics if d["code"] in ("KB102", "KB100")], diagnostics


@pytest.mark.parametrize("file_name", ["Queue Stuck.yaml", "queue-stuck\u0430.yaml", "..yaml", "-x.yaml", "QUEUE.yaml"])
def test_file_name_that_is_not_an_id(base_kb: Path, check_json, file_name: str) -> None:
    (base_kb / "cards" / file_name).write_bytes((base_kb / CARD).read_bytes())
    diagnostics, _, _ = check_json(base_kb)
    assert [d for d in diagnostics if d["path"] == f"cards/{file_name}" and d["code"] == "KB120"], diagnostics
