"""kb emit's comparison reads each emitted file without asking first whether it is there: a
file not written yet is new, one that is there and unreadable (a link to nothing, a folder)
is a problem that names it, as when it asked first."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kb.emit import build as emitter
from kb.load.loader import load_kb

FIXTURE = Path(__file__).parent / "fixtures" / "site"


def test_missing_dangling_and_folder_emitted_files(tmp_path: Path) -> None:
    root = tmp_path / "kb"
    shutil.copytree(FIXTURE, root)
    kb = load_kb(root)
    emitted = emitter.build(kb)
    names = sorted(emitted.files)
    assert len(names) >= 2
    base = emitter.rules_dir(kb)
    for name in names:
        (base / name).unlink(missing_ok=True)
    assert emitter.changes(kb, emitted) == {name: ("", emitted.files[name]) for name in names}
    first, second = base / names[0], base / names[1]
    first.parent.mkdir(parents=True, exist_ok=True)
    first.symlink_to("nothing-there.yml")
    with pytest.raises(emitter.EmitProblem, match=names[0]):
        emitter.changes(kb, emitted)
    first.unlink()
    second.parent.mkdir(parents=True, exist_ok=True)
    second.mkdir()
    with pytest.raises(emitter.EmitProblem, match=names[1]):
        emitter.changes(kb, emitted)
