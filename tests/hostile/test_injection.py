"""Injection: ids, paths and text from flags or YAML never escape the KB root, run code or add markup.

Flag values go to the verbs' `run` in process, as the CLI hands them over (tests/test_e2e.py
sends one through argv); NUL, which argv cannot carry, is fed to the library functions the
verbs call too. YAML values go through a real `mkdocs build`.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import BASE_KB, SNAPSHOT_KB, Ran, copy_kb

from kb.commands import card, check, followups, new, route, show
from kb.commands import run as run_verb
from kb.commands.run import Action

# id-shaped strings pasted from chat, a PDF or a shell history
BAD_CARD_IDS = {
    "dot-dot": "../oncall",
    "deep-dot-dot": "../../../../etc/passwd",
    "absolute": "/etc/passwd",
    "inner-dot-dot": "cards/../queue-stuck",
    "unicode-hyphen": "queue\u2010stuck",
    "cyrillic-e": "qu\u0435ue-stuck",
    "zero-width": "queue-stuck\u200b",
    "trailing-newline": "queue-stuck\n",
    "fullwidth": "\uff51ueue-stuck",
    "upper": "QUEUE-STUCK",
    "percent-encoded": "%2e%2e%2foncall",
    "backslash": "..\\oncall",
}
BAD_PM_IDS = {
    "dot-dot": "../PM-2026-001",
    "unicode-hyphen": "PM\u20112026\u2011001",
    "trailing-newline": "PM-2026-001\n",
    "absolute": "/PM-2026-001",
}


def _tree(root: Path) -> dict[str, bytes]:
    files = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            files[os.path.relpath(os.path.join(dirpath, name), root)] = Path(dirpath, name).read_bytes()
    return files


@pytest.fixture
def kb_root(tmp_path: Path) -> Path:
    root = copy_kb(BASE_KB, tmp_path / "kb")
    (tmp_path / "oncall.yaml").write_text("outside the KB: must never be read or written\n")
    return root


def _assert_refused(result: Ran, what: str) -> None:
    assert result.returncode in (1, 2), (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    assert f"is not {what}" in result.stderr, result.stderr


@pytest.mark.parametrize("card_id", list(BAD_CARD_IDS.values()), ids=list(BAD_CARD_IDS))
def test_card_id_flags_are_refused_before_touching_files(kb_root: Path, call, card_id: str) -> None:
    before, outside = _tree(kb_root), _tree(kb_root.parent)
    for verb, args, options in (
        (show.run, [card_id], {}),
        (card.run, ["verified", card_id], {}),
        (card.run, ["drilled", card_id], {}),
        (new.card, [], {"card_id": card_id, "title": "t", "rotation": "sre-primary", "priority": "P2", "owner": "o"}),
        (run_verb.run, [card_id], {"actor": "alice", "action": Action(start=True)}),
    ):
        result = call(verb, *args, **options, root=kb_root)
        _assert_refused(result, "a card id")
        assert "oncall" not in result.stdout  # nothing of another file is printed
    assert _tree(kb_root) == before and _tree(kb_root.parent) == outside


def test_look_alike_is_named_so_the_reader_sees_the_difference(kb_root: Path, call) -> None:
    result = call(show.run, "qu\u0435ue-stuck", root=kb_root)
    assert "character 3 is U+0435 CYRILLIC SMALL LETTER IE" in result.stderr
    result = call(show.run, "queue\u2010stuck", root=kb_root)
    assert "character 6 is U+2010 HYPHEN" in result.stderr
    assert call(show.run, "queue-stuck", root=kb_root).returncode == 0  # the real id still works


@pytest.mark.parametrize("pm_id", list(BAD_PM_IDS.values()), ids=list(BAD_PM_IDS))
def test_postmortem_id_flags_are_refused(kb_root: Path, call, pm_id: str) -> None:
    before = _tree(kb_root)
    for status, why in (("done", None), ("wont_do", "x")):
        _assert_refused(call(followups.set_item, pm_id, "R1", status, why, root=kb_root), "a postmortem id")
    assert _tree(kb_root) == before


def test_nul_bytes_are_refused_by_the_functions_behind_the_verbs(kb_root: Path, capsys) -> None:
    from kb.commands import show
    from kb.core.paths import inside
    from kb.edit.create import NewProblem, new_card
    from kb.edit.stamps import StampProblem as FollowupProblem
    from kb.edit.stamps import set_status, stamp_card
    from kb.load.loader import load_kb

    assert show.run("queue-stuck\0", kb_root) == 1
    assert "is not a card id: character 12 is U+0000" in capsys.readouterr().err
    kb = load_kb(kb_root)
    with pytest.raises(FollowupProblem, match="is not a card id"):
        stamp_card(kb, "queue-stuck\0../../x", "last_verified", kb.config.today())
    with pytest.raises(FollowupProblem, match="is not a postmortem id"):
        set_status(kb, "PM-2026-001\0", "R1", "done")
    with pytest.raises(NewProblem, match="is not a card id"):
        new_card(kb, "x\0y", "t", "sre-primary", "P2", "o", [], [], kb.config.today())
    assert inside(kb_root, "cards/x\0.yaml") is None and inside(kb_root, "../oncall.yaml") is None


def test_root_flag_into_a_non_kb_folder_says_what_it_needs(tmp_path: Path, call) -> None:
    empty = tmp_path / "not-a-kb"
    empty.mkdir()
    for verb, args in ((check.run, []), (route.run, ["QueueStalled"]), (show.run, ["queue-stuck"])):
        result = call(verb, *args, root=empty)
        assert result.returncode == 2 and "Traceback" not in result.stdout + result.stderr
        assert f"no mkdocs.yml in {empty}" in result.stderr, (verb, result.stderr)


# ---- values in YAML ---------------------------------------------------------------------

HOSTILE_PM = {  # a line of PM-2026-004 -> the same field with a hostile value
    "title: Agent ran the wrong recovery script for a stuck queue": 'title: "<script>window.__pm=1</script> [x](javascript:alert(1)) wrong script"',
    "event: PublishQueueStalled fired}": 'event: "</td></tr></table><h2>Injected timeline</h2>"}',
    "  trigger: A config push set paused_by=config on every consumer at once.": '  trigger: "| a | b |\\n|---|---|\\n| injected | cell |\\n\\n## Injected heading"',
    "      summary: All dispatch consumers are paused while work is queued": "      summary: \"<img src=x onerror=alert(3)> {{ 7 * 7 }} {% include '/etc/passwd' %}\"",
}


def _write_hostile_kb(root: Path, outside_marker: str) -> None:
    (root.parent / "outside.md").write_text(f"# Outside\n\n{outside_marker}\n")
    card = root / "cards" / "queue-stuck.yaml"
    text = card.read_text()
    assert "\nreferences:\n" in text
    card.write_text(
        text.replace("\nreferences:\n", "\nreferences:\n  - {path: ../outside.md}\n  - {path: /etc/hostname}\n")
    )
    pm = root / "postmortems" / "PM-2026-004-wrong-recovery-script.yaml"
    pm_text = pm.read_text()
    for line, hostile in HOSTILE_PM.items():
        assert line in pm_text, line
        pm_text = pm_text.replace(line, hostile, 1)
    pm.write_text(pm_text)


def test_yaml_values_and_paths_cannot_add_markup_or_read_outside(tmp_path: Path, call) -> None:
    root = copy_kb(SNAPSHOT_KB, tmp_path / "kb")
    marker = "OUTSIDE-MARKER-7f3a"
    _write_hostile_kb(root, marker)
    checked = call(check.run, root=root)
    assert "Traceback" not in checked.stdout + checked.stderr
    assert re.search(r"cards/queue-stuck\.yaml:\d+:\d+: error KB\d+ .*outside\.md", checked.stdout), checked.stdout
    site = tmp_path / "site"
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--site-dir", str(site)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr
    pages = {p: p.read_text(errors="replace") for p in site.rglob("*.html")}
    everything = "\n".join(pages.values()) + (site / "search" / "search_index.json").read_text()
    assert marker not in everything, "a file outside the KB reached the site"
    assert not (tmp_path / "site" / ".." / "outside").exists()
    pm_html = pages[site / "postmortems" / "PM-2026-004" / "index.html"]
    assert "<script>window.__pm" not in everything
    assert not re.search(r"<a[^>]+href=\"javascript:", everything)
    assert "Injected timeline" in pm_html and not re.search(r"<h2[^>]*>Injected timeline", pm_html)
    assert "Injected heading" in pm_html and not re.search(r"<h2[^>]*>Injected heading", pm_html)
    assert "<img src=x" not in pm_html and "<td>injected</td>" not in pm_html
    assert "{{ 7 * 7 }}" in pm_html and "{% include &#x27;/etc/passwd&#x27; %}" in pm_html.replace("&#39;", "&#x27;")


def test_a_kb_template_cannot_reach_python_internals(tmp_path: Path, call) -> None:
    root = copy_kb(BASE_KB, tmp_path / "kb")
    (root / "templates" / "site").mkdir(parents=True, exist_ok=True)
    (root / "templates" / "site" / "card.html.j2").write_text(
        "{{ heading(1, card.title) }}\n{{ card.__class__.__mro__[1].__subclasses__() }}\n"
    )
    (root / "templates" / "postmortem.yaml.j2").write_text(
        "id: {{ id }}\ntitle: {{ ''.__class__.__mro__[1].__subclasses__()[0]('x') }}\n"
    )
    (root / "mkdocs.yml").write_text("site_name: T\ndocs_dir: docs\nplugins:\n  - kb\n")
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--site-dir", str(tmp_path / "site")],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode != 0
    assert "Traceback" not in build.stderr and "templates/site/card.html.j2" in build.stderr, build.stderr
    assert "unsafe" in build.stderr, build.stderr
    created = call(new.postmortem, title="t", priority="P3", started_at="2026-11-20T02:17:00+00:00", root=root)
    assert created.returncode != 0 and "Traceback" not in created.stdout + created.stderr
    assert "postmortem.yaml.j2" in created.stderr and "unsafe" in created.stderr, created.stderr
    assert not any(p.name.endswith("-t.yaml") for p in (root / "postmortems").iterdir())
