"""Stamps work on every file kb itself writes (issue #15).

`kb init` and `kb new` write `key: null` lines; a round-trip edit used to rewrite them as
`key:` and so refused every such file ("would also reformat line 17"). Here the real
commands write the files and the real stamp commands edit them; the diff must be exactly
the stamped lines."""

from __future__ import annotations

import difflib
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, complete_drill

from kb.commands import card as card_command
from kb.commands import followups as followups_command
from kb.commands import init as init_command
from kb.commands import new as new_command
from kb.edit.roundtrip import EditProblem, set_values

REINFORCEMENTS = """reinforcements:
  - id: R1
    kind: test
    owner: ai-platform
    due: 2026-12-15
    status: open
    test: {name: queue test, path: .ci/run, asserts: the queue drains}
  - id: R2
    kind: test
    owner: ai-platform
    due: 2026-12-15
    status: open
    test: {name: other test, path: .ci/run, asserts: nothing is lost}
"""


@pytest.fixture
def fresh_kb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "kb"
    assert init_command.run(root) == 0
    return root


def changed_lines(before: str, after: str) -> list[tuple[str, str]]:
    out = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=before.split("\n"), b=after.split("\n")).get_opcodes():
        if tag != "equal":
            out.append(("\n".join(before.split("\n")[i1:i2]), "\n".join(after.split("\n")[j1:j2])))
    return out


def test_card_from_kb_new_can_be_stamped(fresh_kb: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        new_command.card(
            title="Embeddings index is stale", rotation="primary", priority="P3", owner="search", root=fresh_kb
        )
        == 0
    )
    path = fresh_kb / "cards" / "embeddings-index-is-stale.yaml"
    before = path.read_text()
    complete_drill(fresh_kb, "embeddings-index-is-stale")  # a drilled stamp needs a drill log behind it (#19)
    path.write_text(before)  # the drill's end stamped it: stamp it again from the log
    assert "run: null" in before and "last_verified: null" in before  # the template's own style
    assert card_command.run("verified", "embeddings-index-is-stale", root=fresh_kb) == 0
    assert card_command.run("drilled", "embeddings-index-is-stale", root=fresh_kb) == 0
    changes = changed_lines(before, path.read_text())
    assert [old for old, _ in changes] == ["last_verified: null\nlast_drilled: null"], changes
    assert "run: null" in path.read_text()


def test_postmortem_from_kb_new_can_be_closed(fresh_kb: Path) -> None:
    assert (
        new_command.postmortem(
            title="Queue stalled", priority="P2", started_at="2026-11-22T02:17:00+01:00", root=fresh_kb
        )
        == 0
    )
    path = next((fresh_kb / "postmortems").glob("PM-2026-*-queue-stalled.yaml"))
    text = path.read_text()
    start = text.index("reinforcements: []")
    path.write_text(text[:start] + REINFORCEMENTS)
    before = path.read_text()
    assert followups_command.set_item("PM-2026-001", "R1", "done", root=fresh_kb) == 0
    assert followups_command.set_item("PM-2026-001", "R2", "wont_do", why="Covered by R1", root=fresh_kb) == 0
    after = path.read_text()
    assert [old for old, _ in changed_lines(before, after)] == ["    status: open", "    status: open", ""]
    assert after.count(": null") == before.count(": null")
    assert (
        "status: wont_do\n    test: {name: other test, path: .ci/run, asserts: nothing is lost}\n    why: Covered by R1"
        in after
    )


def test_every_card_kb_init_writes_can_be_stamped(fresh_kb: Path) -> None:
    for path in sorted((fresh_kb / "cards").glob("*.yaml")):
        before = path.read_text()
        complete_drill(fresh_kb, path.stem)
        path.write_text(before)
        assert card_command.run("drilled", path.stem, root=fresh_kb) == 0
        assert len(changed_lines(before, path.read_text())) == 1


@pytest.mark.parametrize("spelling", ["null", "~", ""])
def test_each_null_spelling_is_kept(tmp_path: Path, spelling: str) -> None:
    path = tmp_path / "x.yaml"
    text = f"a: {spelling}\nb: {spelling}\nc: 1\n".replace(": \n", ":\n")
    path.write_text(text)
    assert set_values(path, [(("c",), 2)])
    assert path.read_text() == text.replace("c: 1", "c: 2")


def test_a_refusal_names_the_line_and_what_it_would_become(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("a: null\nb: ~\nc: 1\nd:   'x'\n")  # two spellings: one of them must change
    with pytest.raises(EditProblem, match=r"line 2 \('b: ~' would become 'b: null'\)"):
        set_values(path, [(("c",), 2)])


def test_unknown_rotation_is_refused(fresh_kb: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert new_command.card(title="X", rotation="primry", priority="P3", owner="search", root=fresh_kb) == 2
    assert "'primry' is not a rotation in oncall.yaml (did you mean 'primary'?)" in capsys.readouterr().err
    assert not (fresh_kb / "cards" / "x.yaml").exists()


def test_the_prompt_asks_again_on_a_bad_answer(fresh_kb: Path, tmp_path: Path) -> None:
    """A real terminal (a pty): a wrong rotation and a wrong priority are asked again; the title stays."""
    master, slave = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1", "KB_CACHE_DIR": str(tmp_path / "c")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "kb", "new", "card"], cwd=fresh_kb, stdin=slave, stdout=slave, stderr=slave, env=env
    )
    os.close(slave)
    seen = b""

    def read_until(marker: bytes) -> None:
        nonlocal seen
        while marker not in seen:
            ready, _, _ = select.select([master], [], [], 30)
            assert ready, seen.decode(errors="replace")
            seen += os.read(master, 4096)

    for prompt, answer in [
        (b"Title:", b"Embeddings index is stale"),
        (b"Rotation:", b"nope"),
        (b"try again", b"primary"),
        (b"Priority (P1, P2, P3):", b"P9"),
        (b"must be P1, P2 or P3, not 'P9'; try again", b"P3"),
        (b"Owner team:", b"search"),
    ]:
        read_until(prompt)
        os.write(master, answer + b"\n")
    read_until(b"next: fill the TODOs")
    assert proc.wait(30) == 0
    os.close(master)
    assert "'nope' is not a rotation in oncall.yaml" in seen.decode()
    assert (fresh_kb / "cards" / "embeddings-index-is-stale.yaml").is_file()


def test_a_prefill_earlier_in_the_process_does_not_change_how_a_stamp_writes_null(tmp_path: Path) -> None:
    """ruamel's add_representer is class-wide: a prefill that spells null `null` must not make
    a later stamp rewrite a file that spells it empty (kb new then kb card verified, in one process)."""
    from kb.edit.prefill import apply_fields
    from kb.edit.roundtrip import set_values

    apply_fields("a: 1\nb: null\n", {"c": None})
    path = tmp_path / "x.yaml"
    path.write_text("a:\nb:\nc: 1\n")
    assert set_values(path, [(("c",), 2)])
    assert path.read_text() == "a:\nb:\nc: 2\n"
