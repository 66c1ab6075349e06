"""Class 4: a credential hidden by YAML syntax (escapes, line continuations, folding, keys)
is found in the decoded value, reported by KB701 at its node, and never published."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import BASE_KB, copy_kb
from trust_cli import kb, no_traceback

AWS = "AKIAIOSFODNN7EXAMPLE"
GITHUB = "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"

# (name, YAML text of the `summary:` value, decoded secret)
HIDDEN = [
    ("hex-escape", '"key AKIA\\x49OSFODNN7EXAMPLE here"', AWS),
    ("unicode-escape", '"key AKIA\\u0049OSFODNN7EXAMPLE here"', AWS),
    ("long-unicode-escape", '"key AKIA\\U00000049OSFODNN7EXAMPLE here"', AWS),
    ("continuation", '"key AKIAIOSF\\\n  ODNN7EXAMPLE here"', AWS),
    ("github-hex-escapes", '"' + "".join(f"\\x{ord(c):02x}" for c in GITHUB) + '"', GITHUB),
    ("github-continuation", '"ghp_wWPw5k4aXcaT4fNP\\\n  0UcnZwJUVFk6LO0pINUx"', GITHUB),
    ("escaped-slash-mix", '"token: ghp_wWPw5k4aXcaT4fNP0U\\x63nZwJUVFk6LO0pINUx"', GITHUB),
]


def _plant(root: Path, value: str) -> None:
    card = root / "cards/queue-stuck.yaml"
    lines = card.read_text().splitlines()
    lines = [f"summary: {value}" if line.startswith("summary:") else line for line in lines]
    card.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("name,value,secret", HIDDEN, ids=[h[0] for h in HIDDEN])
def test_hidden_secret_is_reported_at_its_node(tmp_path: Path, name: str, value: str, secret: str):
    root = copy_kb(BASE_KB, tmp_path / "kb")
    _plant(root, value)
    result = kb("check", "--format", "json", cwd=root, env={"KB_NO_CACHE": "1"})
    no_traceback(result)
    found = [d for d in json.loads(result.stdout) if d["code"] == "KB701"]
    assert found, result.output
    assert found[0]["path"] == "cards/queue-stuck.yaml" and found[0]["line"] == 3, found
    assert secret not in result.output


def test_hidden_secret_in_a_key_and_a_list_item(tmp_path: Path):
    root = copy_kb(BASE_KB, tmp_path / "kb")
    card = root / "cards/queue-stuck.yaml"
    card.write_text(card.read_text() + 'services: ["AKIA\\x49OSFODNN7EXAMPLE"]\n')
    result = kb("check", "--format", "json", cwd=root, env={"KB_NO_CACHE": "1"})
    found = [d for d in json.loads(result.stdout) if d["code"] == "KB701"]
    assert found and found[0]["line"] == 20, result.output


def test_hidden_secret_can_be_allowlisted_on_its_line(tmp_path: Path):
    root = copy_kb(BASE_KB, tmp_path / "kb")
    _plant(root, '"key AKIA\\x49OSFODNN7EXAMPLE here"  # kb: ignore[KB701]')
    result = kb("check", "--format", "json", "--select", "KB701", cwd=root, env={"KB_NO_CACHE": "1"})
    assert result.returncode == 0, result.output


def test_hidden_secret_is_never_published(tmp_path: Path):
    root = copy_kb(BASE_KB, tmp_path / "kb")
    _plant(root, HIDDEN[0][1])
    pm = root / "postmortems/PM-2026-001-queue.yaml"
    pm.write_text(
        pm.read_text().replace(
            "title: Queue stalled", 'title: "ghp_wWPw5k4aXcaT4fNP\\\n  0UcnZwJUVFk6LO0pINUx Queue stalled"', 1
        )
    )
    site = tmp_path / "site"
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "-q", "-d", str(site)], cwd=root, capture_output=True, text=True
    )
    assert build.returncode == 0, build.stderr
    published = b"".join(p.read_bytes() for p in site.rglob("*") if p.is_file())
    assert AWS.encode() not in published and GITHUB.encode() not in published
    assert b"secret removed by kb" in published


def test_emit_refuses_a_hidden_secret(tmp_path: Path):
    root = copy_kb(BASE_KB, tmp_path / "kb")
    pm = root / "postmortems/PM-2026-001-queue.yaml"
    text = pm.read_text() + (
        "reinforcements:\n  - id: R9\n    kind: eval\n    owner: ai-platform\n    due: 2026-12-15\n"
        '    status: open\n    eval:\n      input: "use AKIA\\x49OSFODNN7EXAMPLE"\n'
        "      expected: refuses\n      forbidden: uses it\n"
    )
    pm.write_text(text)
    before = {p.name: p.read_bytes() for p in (root / "rules").iterdir()}
    result = kb("emit", cwd=root, env={"KB_NO_CACHE": "1"})
    no_traceback(result)
    assert result.returncode != 0 and "credential" in result.output, result.output
    assert AWS not in result.output
    assert {p.name: p.read_bytes() for p in (root / "rules").iterdir()} == before
