"""A postmortem title is prose: copied into an alert's description (the alert has none of its
own), a `{{ $value }}` in it must render as written, or the incident replay can never pass
(third outside review, finding 3). And when only an annotation differs, KB605 says so instead
of "expected {X}, got {X}"."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kb.commands import check
from kb.emit import promtool
from kb.emit.build import literal_in_template
from kb.emit.promtool import ReplayFailure
from kb.rules.alerting.emit_replay_fails import explain

SNAPSHOT = Path(__file__).parent / "fixtures" / "repo-snapshot"
POSTMORTEM = "postmortems/PM-2026-009-migration-restarted-dispatched-twice.yaml"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("plain title", "plain title"),
        ("Migration {{ $value }} restarted", 'Migration {{ "{{" }} $value {{ "}}" }} restarted'),
        ("{{{x}}}", '{{ "{{" }}{x{{ "}}" }}}'),
        ("a } b { c", "a } b { c"),
    ],
)
def test_template_delimiters_become_actions_that_print_them(text: str, expected: str) -> None:
    assert literal_in_template(text) == expected


@pytest.mark.skipif(promtool.executable() is None, reason="promtool is not installed")
def test_a_title_with_a_template_action_replays(tmp_path: Path, monkeypatch, capsys) -> None:
    root = tmp_path / "kb"
    shutil.copytree(SNAPSHOT, root)
    path = root / POSTMORTEM
    text = path.read_text()
    lines = [
        "title: 'Migration {{ $value }} restarted and {{ .Bad'" if line.startswith("title:") else line
        for line in text.splitlines()
    ]
    path.write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("KB_NO_CACHE", "1")
    check.run(root=root, output_format="text")
    out = capsys.readouterr().out
    assert "PM-2026-009" in out  # KB601: the emitted files in place are out of date
    assert "KB605" not in out, out


def test_same_labels_name_the_annotations() -> None:
    failure = ReplayFailure(
        name="PM-2026-009/R1 A",
        alertname="A",
        eval_time="16m",
        expected=[{"sev": "page"}],
        got=[{"sev": "page"}],
        text="",
    )
    message = explain(failure, None)
    assert "annotation differs" in message
    assert not message.startswith("promtool")  # not "expected {sev="page"}, got {sev="page"}"
