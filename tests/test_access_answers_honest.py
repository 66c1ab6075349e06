"""`kb access CARD` answers only what the files and the environment say now (outside review):
a kept answer is never reused when mkdocs.yml takes settings from the environment, and two
files with one card id are no answer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import BASE_KB, copy_kb

from kb.commands import access, fast_path


def test_env_settings_are_never_answered_from_a_kept_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    root = copy_kb(BASE_KB, tmp_path / "kb")
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("KB_NO_CACHE", raising=False)
    config = root / "mkdocs.yml"
    text = config.read_text()
    other = (root / "oncall.yaml").read_text().replace("members: [alice, bob]", "members: [carol, dave]", 1)
    assert other != (root / "oncall.yaml").read_text()
    (root / "oncall-b.yaml").write_text(other)
    config.write_text(text.replace("  - kb:\n", "  - kb:\n      oncall: !ENV [KB_ONCALL, oncall.yaml]\n", 1))
    assert "!ENV" in config.read_text()
    for path in root.rglob("*"):  # settled files: a kept answer would be used if kb kept one
        os.utime(path, (1_700_000_000, 1_700_000_000))
    card = "queue-stuck"
    fast_path.dispatch(["access", card, "--root", str(root)])
    first = capsys.readouterr().out
    monkeypatch.setenv("KB_ONCALL", "oncall-b.yaml")
    fast_path.dispatch(["access", card, "--root", str(root)])
    second = capsys.readouterr().out
    access.run(card, root=root)
    truth = capsys.readouterr().out
    assert second == truth != first


def test_a_card_id_two_files_hold_is_no_answer(tmp_path: Path, capsys) -> None:
    root = copy_kb(BASE_KB, tmp_path / "kb")
    source = (root / "cards" / "queue-stuck.yaml").read_text()
    (root / "cards" / "aa-copy.yaml").write_text(source)
    assert access.run("queue-stuck", root=root) == 1
    assert "is used by cards/aa-copy.yaml, cards/queue-stuck.yaml" in capsys.readouterr().err


def test_rotation_is_never_silently_ignored(tmp_path: Path, call) -> None:
    root = copy_kb(BASE_KB, tmp_path / "kb")
    ran = call(access.run, rotation="nope", root=root)
    assert ran.returncode == 2 and "--rotation applies to a CARD" in ran.stderr
    ran = call(access.run, person="alice", rotation="sre-primary", root=root)
    assert ran.returncode == 2


def test_followups_refuse_an_owner_nobody_is(tmp_path: Path, call) -> None:
    from kb.commands import followups

    root = copy_kb(BASE_KB, tmp_path / "kb")
    ran = call(followups.run, owner="sre-primray", root=root)
    assert ran.returncode == 2 and "sre-primray" in ran.stderr
