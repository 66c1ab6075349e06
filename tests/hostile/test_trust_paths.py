"""Class 2: no path kb reads or writes leaves the KB, at any level: a file, a top-level
folder that is itself a symlink, a path set in mkdocs.yml, a template, a router page.

Every case plants an `outside/` folder next to the KB holding a card, a postmortem, a
router page and a template that must never be read, and checks after each command that
nothing outside changed and no outside content reached the output."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import BASE_KB, copy_kb
from trust_cli import kb, no_traceback

MARK = "OUTSIDE-MARK-7f3a"
LEAK_CARD = f"""id: queue-stuck
title: {MARK} card
summary: {MARK}
owner: team-dispatch
rotation: sre-primary
priority: P2
triggers:
  alerts: [QueueStalled]
steps:
  - id: resume
    do: {MARK}
    done_when: never
last_verified: 2026-11-01
"""


def _snapshot(folder: Path) -> dict[str, bytes]:
    found = {}
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            path = Path(dirpath, name)
            found[str(path.relative_to(folder))] = path.read_bytes() if not path.is_symlink() else b"link"
    return found


@pytest.fixture
def setup(tmp_path: Path):
    root = copy_kb(BASE_KB, tmp_path / "kb")
    outside = tmp_path / "outside"
    for name in ("cards", "postmortems", "references", "rules", "templates"):
        (outside / name).mkdir(parents=True)
    (outside / "cards/queue-stuck.yaml").write_text(LEAK_CARD)
    pm = (root / "postmortems/PM-2026-001-queue.yaml").read_text()
    (outside / "postmortems/PM-2026-001-queue.yaml").write_text(pm.replace("title: ", f"title: {MARK} ", 1))
    (outside / "references/queues.md").write_text(f"# {MARK}\n\n## Pausing consumers\n")
    (outside / "router.md").write_text(f"# {MARK}\n- `QueueStalled`: x → [queue-stuck](cards/queue-stuck.yaml)\n")
    (outside / "templates/card.yaml.j2").write_text(f"id: {{{{ id }}}}\ntitle: {MARK}\n")
    (outside / "oncall.yaml").write_text(f"rotations: {MARK}\n")
    return root, outside


def _config(root: Path, **options: str) -> None:
    text = "".join(f"      {key}: {value}\n" for key, value in options.items())
    config = root / "mkdocs.yml"
    config.write_text(config.read_text() + text)


def _relink(root: Path, name: str, outside: Path) -> None:
    target = root / name
    if target.is_dir():
        import shutil

        shutil.rmtree(target)
    elif target.exists():
        target.unlink()
    target.symlink_to(outside / name)


FOLDER_LINKS = ["cards", "postmortems", "references", "rules", "templates", "router.md", "oncall.yaml"]


@pytest.mark.parametrize("name", FOLDER_LINKS)
def test_a_top_level_path_linked_outside_is_reported_never_read(setup, name):
    root, outside = setup
    _relink(root, name, outside)
    before = _snapshot(outside)
    result = kb("check", "--select", "KB1", cwd=root, env={"KB_NO_CACHE": "1"})
    no_traceback(result)
    assert result.returncode != 0, result.output
    assert MARK not in result.output
    assert name in result.output and "outside" in result.output, result.output
    assert _snapshot(outside) == before


@pytest.mark.parametrize(
    "option,value",
    [
        ("cards_dir", "../outside/cards"),
        ("cards_dir", "/tmp"),
        ("postmortems_dir", "../outside/postmortems"),
        ("oncall", "/etc/passwd"),
        ("oncall", "../outside/oncall.yaml"),
        ("router", "../outside/router.md"),
        ("references_dir", "../outside/references"),
        ("rules_dir", "../outside/rules"),
        ("templates_dir", "../outside/templates"),
        ("cards_dir", "cards/../../outside/cards"),
    ],
)
def test_a_path_setting_outside_is_a_config_error(setup, option, value):
    root, outside = setup
    _config(root, **{option: value})
    before = _snapshot(outside)
    result = kb("check", "--select", "KB1", cwd=root, env={"KB_NO_CACHE": "1"})
    no_traceback(result)
    assert result.returncode != 0
    assert option in result.output and "KB1" in result.output, result.output
    assert MARK not in result.output and "root:x:0" not in result.output
    assert _snapshot(outside) == before


WRITERS = [
    ("postmortems", ["followups", "done", "PM-2026-001", "R1"]),
    ("postmortems", ["followups", "wont-do", "PM-2026-001", "R1", "--why", "x"]),
    ("cards", ["card", "verified", "queue-stuck"]),
    ("cards", ["card", "drilled", "queue-stuck"]),
    ("cards", ["new", "card", "--title", "x", "--rotation", "sre-primary", "--priority", "P2", "--owner", "t"]),
    ("postmortems", ["new", "postmortem", "--title", "x", "--priority", "P2"]),
    ("rules", ["emit"]),
    ("router.md", ["new", "card", "--title", "y", "--rotation", "sre-primary", "--priority", "P2", "--owner", "t"]),
    ("templates", ["new", "card", "--title", "z", "--rotation", "sre-primary", "--priority", "P2", "--owner", "t"]),
]


@pytest.mark.parametrize("name,args", WRITERS, ids=[" ".join(a[:2]) + "-" + n for n, a in WRITERS])
def test_no_writer_writes_through_a_linked_folder(setup, name, args):
    root, outside = setup
    (outside / "postmortems/PM-2026-001-queue.yaml").write_text(
        (root / "postmortems/PM-2026-001-queue.yaml").read_text()
    )
    (outside / "cards/queue-stuck.yaml").write_text((root / "cards/queue-stuck.yaml").read_text())
    _relink(root, name, outside)
    before = _snapshot(outside)
    result = kb(*args, cwd=root, env={"KB_NO_CACHE": "1"})
    no_traceback(result)
    assert _snapshot(outside) == before, result.output
    assert MARK not in result.output
    assert not any(MARK.encode() in content for content in _snapshot(root).values())


@pytest.mark.parametrize("option", ["rules_dir", "postmortems_dir", "cards_dir"])
def test_no_writer_follows_a_path_setting_outside(setup, option):
    root, outside = setup
    _config(root, **{option: f"../outside/{option.split('_')[0]}"})
    before = _snapshot(outside)
    for args in (
        ["emit"],
        ["followups", "done", "PM-2026-001", "R1"],
        ["new", "card", "--title", "x", "--rotation", "sre-primary", "--priority", "P2", "--owner", "t"],
        ["new", "postmortem", "--title", "x", "--priority", "P2"],
    ):
        result = kb(*args, cwd=root, env={"KB_NO_CACHE": "1"})
        no_traceback(result)
        assert _snapshot(outside) == before, (args, result.output)
    assert not (root.parent / "rules").exists() and not (root.parent / "cards").exists()


def test_route_and_show_never_read_a_linked_cards_folder(setup):
    root, outside = setup
    _relink(root, "cards", outside)
    for args in (["show", "queue-stuck"], ["route", "QueueStalled", "--show"]):
        result = kb(*args, cwd=root)
        no_traceback(result)
        assert MARK not in result.output, (args, result.output)


def test_a_linked_subfolder_of_references_is_not_published(setup):
    root, outside = setup
    (root / "references/more").symlink_to(outside / "references")
    result = kb("check", "--select", "KB1", cwd=root, env={"KB_NO_CACHE": "1"})
    no_traceback(result)
    assert "references/more" in result.output
