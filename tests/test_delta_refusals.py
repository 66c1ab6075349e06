"""Where the check's fast path (kb.cache.delta) must refuse and let the whole check answer:
four cases an outside review found where the warm answer differed from a cold check's.

- a hand-written file at an edited postmortem's emitted name (KB602 reads it as a rule file);
- another postmortem's emitted file kb emit cannot read (a folder there: KB601 says nothing);
- facts written by a whole check whose result was never stored, used with an older result;
- a card cited as another card's reference (KB506 reads its raw text, comments included)."""

# ruff: noqa: F811 - the fixtures imported from test_delta_local_fields are arguments by name

from __future__ import annotations

from pathlib import Path

from test_delta_local_fields import (  # noqa: F401 - the fixtures are used by name
    EMITTING,
    _own_cache,
    _run,
    cold,
    edit,
    kb_root,
    primed_cache,
    refuses,
)

import kb.cache.result as result_module

RETITLE = ("title: Agent ran the wrong", "title: Agent ran a wrong")


def test_a_hand_written_file_at_an_emitted_name_takes_the_whole_check(kb_root: Path, capsys, monkeypatch) -> None:
    emitted = kb_root / "rules/kb/tests/PM-2026-004.yml"
    lines = emitted.read_text(encoding="utf-8").splitlines(keepends=True)
    emitted.write_text("# hand\n" + "".join(lines[1:]), encoding="utf-8")  # kb emit's header gone
    _run(kb_root, capsys)  # the whole check: its result and facts
    edit(kb_root, EMITTING, *RETITLE)
    assert refuses(kb_root, capsys, monkeypatch)  # the whole check: the cold answer, KB602 on the file


def test_another_postmortems_unreadable_emitted_file_takes_the_whole_check(kb_root: Path, capsys, monkeypatch) -> None:
    other = kb_root / "rules/kb/alerts/PM-2026-007.yml"
    other.unlink()
    other.mkdir()  # kb emit cannot read it: a whole check's KB601 says nothing
    _run(kb_root, capsys)
    edit(kb_root, EMITTING, *RETITLE)
    assert refuses(kb_root, capsys, monkeypatch)


def test_facts_of_a_result_never_stored_are_not_used_with_an_older_one(kb_root: Path, capsys, monkeypatch) -> None:
    broken = kb_root / "postmortems/PM-2026-012-ops-agent-deployed-during-freeze.yaml"
    good = broken.read_text(encoding="utf-8")
    bad = good.replace("title: Ops agent applied", "bogus: 1\ntitle: Ops agent applied", 1)
    broken.write_text(bad, encoding="utf-8")
    _run(kb_root, capsys)  # stored: a postmortem that does not load (no emitted file is anyone's own)
    broken.write_text(good, encoding="utf-8")
    with monkeypatch.context() as patch:  # a file changed during this run: its result is not stored
        patch.setattr(result_module, "changed_during", lambda *args, **kwargs: True)
        _run(kb_root, capsys)  # ...but its facts (every postmortem loaded) were written
    broken.write_text(bad, encoding="utf-8")
    edit(kb_root, EMITTING, *RETITLE)
    assert refuses(kb_root, capsys, monkeypatch)
    code, out = _run(kb_root, capsys)
    assert "KB601" not in out and (code, out) == cold(kb_root, capsys, monkeypatch)


def test_a_card_cited_as_a_reference_is_never_edited_locally(kb_root: Path, capsys, monkeypatch) -> None:
    edit(
        kb_root,
        "cards/queue-stuck.yaml",
        "references:\n",
        "references:\n  - path: cards/rollback-drill.yaml\n    section: alpha\n",
    )
    copied = "Prove every month that the person paged tonight can roll a prompt back in under five minutes."
    edit(kb_root, "cards/queue-stuck.yaml", "restart consumers.", f"restart consumers. {copied}")
    edit(kb_root, "cards/rollback-drill.yaml", "\nid:", "\n# Alpha\nid:")
    code, out = _run(kb_root, capsys)
    assert "KB506" in out  # the citing card copies the cited card's section
    edit(kb_root, "cards/rollback-drill.yaml", "# Alpha\n", "# Beta\n")  # a comment only: the section is gone
    assert refuses(kb_root, capsys, monkeypatch)
    summary = "Prove every month that the person paged tonight can roll a prompt back in under five\n  minutes."
    edit(kb_root, "cards/rollback-drill.yaml", "# Beta\n", "# Alpha\n")
    edit(kb_root, "cards/rollback-drill.yaml", summary, "Drill.")  # its own text: the copy is gone
    assert refuses(kb_root, capsys, monkeypatch)
    code, out = _run(kb_root, capsys)
    assert "KB506" not in out and (code, out) == cold(kb_root, capsys, monkeypatch)


def test_cited_files_of_a_result_never_stored_are_not_used_with_an_older_one(
    kb_root: Path, capsys, monkeypatch
) -> None:
    citing = kb_root / "cards/queue-stuck.yaml"
    cites = citing.read_text(encoding="utf-8").replace(
        "references:\n", "references:\n  - path: cards/rollback-drill.yaml\n    section: alpha\n", 1
    )
    citing.write_text(cites, encoding="utf-8")
    edit(kb_root, "cards/rollback-drill.yaml", "\nid:", "\n# Alpha\nid:")
    _run(kb_root, capsys)  # stored: queue-stuck cites rollback-drill
    edit(kb_root, "cards/queue-stuck.yaml", "  - path: cards/rollback-drill.yaml\n    section: alpha\n", "")
    with monkeypatch.context() as patch:  # not stored, but its facts (nothing cites rollback-drill) written
        patch.setattr(result_module, "changed_during", lambda *args, **kwargs: True)
        _run(kb_root, capsys)
    citing.write_text(cites, encoding="utf-8")
    edit(kb_root, "cards/rollback-drill.yaml", "# Alpha\n", "# Beta\n")
    assert refuses(kb_root, capsys, monkeypatch)
