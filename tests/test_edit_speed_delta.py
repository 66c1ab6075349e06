"""A prose-only edit of a card or a postmortem is answered from the last result (kb.cache.delta),
and every answer, taken that way or not, is the cold run's, byte for byte: an edit that changes
what another file sees (an id, a title, a reinforcement, a router line, a suppression, a
credential, a TODO) takes the whole check."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from conftest import BASE_KB, REPO, copy_kb

import kb.commands.check as check_command
from kb.cache import delta
from kb.config.settings import load_config
from kb.load.knowledge_base import KnowledgeBase
from kb.rules.context import RuleContext

CARD = "cards/queue-stuck.yaml"
POSTMORTEM = "postmortems/PM-2026-001-queue.yaml"
OTHER = "cards/other.yaml"
OTHER_TEXT = """\
id: other
title: Another card
summary: Dispatch workers lag behind.
owner: team-dispatch
rotation: sre-primary
priority: P3
steps:
  - id: look
    do: Look at the worker lag
    run: "queuectl lag dispatch"
    requires: [queue:pause:dispatch]
    done_when: The lag is known
last_verified: 2026-11-01
"""


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("KB_NO_CACHE", raising=False)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)


@pytest.fixture
def kb_root(tmp_path: Path) -> Path:
    root = copy_kb(BASE_KB, tmp_path / "kb")
    (root / OTHER).write_text(OTHER_TEXT, encoding="utf-8")
    (root / "router.md").write_text(
        (root / "router.md").read_text(encoding="utf-8") + "- workers lag → [other](cards/other.yaml)\n",
        encoding="utf-8",
    )
    edit(
        root,
        POSTMORTEM,
        "title: Queue stalled after a config push\n",
        "title: Queue stalled after a config push\nsummary: It stalled.\n",
    )
    return root


def _run(root: Path, capsys) -> tuple[int, str]:
    code = check_command.run(root=root)
    return code, capsys.readouterr().out


def cold(root: Path, capsys, monkeypatch) -> tuple[int, str]:
    with monkeypatch.context() as patch:
        patch.setenv("KB_NO_CACHE", "1")
        return _run(root, capsys)


class Calls:
    def __init__(self, monkeypatch):
        self.count = 0
        real = check_command.check_once

        def counted(*args, **kwargs):
            self.count += not os.environ.get("KB_NO_CACHE")  # a whole check through the caches
            return real(*args, **kwargs)

        monkeypatch.setattr(check_command, "check_once", counted)


def edit(root: Path, rel: str, old: str, new: str) -> None:
    path = root / rel
    text = path.read_text(encoding="utf-8")
    assert old in text, (rel, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def primed(root: Path, capsys, monkeypatch) -> Calls:
    _run(root, capsys)  # the whole check records its result and the facts
    return Calls(monkeypatch)


def test_summary_edits_come_from_the_last_result_and_equal_cold(kb_root: Path, capsys, monkeypatch) -> None:
    calls = primed(kb_root, capsys, monkeypatch)
    for number in range(2):  # and again from the result the first edit wrote
        edit(kb_root, CARD, "Resume consumers first", f"Resume consumers first ({number}),")
        edit(kb_root, POSTMORTEM, "summary: ", f"summary: Edit {number}. ")
        edit(kb_root, OTHER, "lag behind", f"lag behind {number},")
        assert _run(kb_root, capsys) == cold(kb_root, capsys, monkeypatch)
    assert calls.count == 0, "a prose-only edit must not load the knowledge base"


def test_a_new_finding_in_the_edited_prose_is_reported(kb_root: Path, capsys, monkeypatch) -> None:
    (kb_root / "references/queues.md").write_text(
        "# Queues\n\n## Pausing consumers\n\n"
        "Pause every dispatch consumer with queuectl before the backlog grows past the alert threshold again.\n",
        encoding="utf-8",
    )
    calls = primed(kb_root, capsys, monkeypatch)
    edit(
        kb_root,
        CARD,
        "Jobs pending for more than 15 minutes. Resume consumers first.",
        "Pause every dispatch consumer with queuectl before the backlog grows past the alert threshold again.",
    )
    code, out = _run(kb_root, capsys)
    assert "KB506" in out and calls.count == 0  # the document rule ran on the new text alone
    assert (code, out) == cold(kb_root, capsys, monkeypatch)
    edit(kb_root, CARD, "with queuectl before the backlog grows past the alert threshold again", "first")
    assert _run(kb_root, capsys) != (code, out)  # the edited file's finding was a document rule's: computed again
    assert calls.count == 0
    assert _run(kb_root, capsys) == cold(kb_root, capsys, monkeypatch)


CROSS_FILE_EDITS = [
    (CARD, "id: queue-stuck", "id: queue-stuck-2"),  # the postmortem and the router name it
    (OTHER, "id: other", "id: queue-stuck"),  # a duplicate
    (CARD, "  - id: resume", "  - id: resume-all"),  # a step id: run logs name it
    (CARD, "alerts: [QueueStalled]", "alerts: [QueueStalledToo]"),
    (CARD, "rotation: sre-primary", "rotation: sre-nobody"),
    (OTHER, "priority: P3", "priority: P1"),
    (CARD, "Resume consumers first.", "TODO: say what to do first."),
    (CARD, "Resume consumers first.", "Resume consumers first.  # kb: ignore[KB201]"),
    (CARD, "Resume consumers first.", "Key AKIAIOSFODNN7EXAMPLX here."),  # a credential
    (CARD, "summary: Jobs", "summary: [Jobs"),  # YAML that does not parse
    (OTHER, "summary: Dispatch", "summary: 7\nnotes: Dispatch"),  # the schema refuses it
    ("router.md", "workers lag", "workers lag badly"),
    ("oncall.yaml", "sre-primary", "sre-primero"),
]


def test_an_edit_other_files_see_takes_the_whole_check(kb_root: Path, capsys, monkeypatch) -> None:
    calls = primed(kb_root, capsys, monkeypatch)
    for number, (rel, old, new) in enumerate(CROSS_FILE_EDITS, start=1):
        original = (kb_root / rel).read_text(encoding="utf-8")
        edit(kb_root, rel, old, new)
        assert _run(kb_root, capsys) == cold(kb_root, capsys, monkeypatch), (rel, new)
        assert calls.count == number, (rel, new)
        (kb_root / rel).write_text(original, encoding="utf-8")  # the next edit's run sees this one undone too


REINFORCEMENT = """\
reinforcements:
  - id: R1
    kind: alert
    alert: {name: QueueConsumersPaused, expr: sum(queue_consumers_running) == 0, for: 5m, priority: P2, card: queue-stuck, summary: Paused}
"""


def test_a_postmortem_reinforcement_takes_the_whole_check(kb_root: Path, capsys, monkeypatch) -> None:
    from kb.commands import emit

    (kb_root / POSTMORTEM).write_text((kb_root / POSTMORTEM).read_text(encoding="utf-8") + REINFORCEMENT, "utf-8")
    edit(
        kb_root,
        "router.md",
        "- workers lag",
        "- `QueueConsumersPaused`: paused → [queue-stuck](cards/queue-stuck.yaml)\n- workers lag",
    )
    assert emit.run(root=kb_root) == 0
    calls = primed(kb_root, capsys, monkeypatch)
    edit(kb_root, POSTMORTEM, "It stalled.", "It stalled for an hour.")  # the summary: from the last result
    assert _run(kb_root, capsys) == cold(kb_root, capsys, monkeypatch)
    assert calls.count == 0
    for old, new in (("== 0", "== 1"), ("summary: Paused", "summary: All paused")):  # what kb emit writes
        edit(kb_root, POSTMORTEM, old, new)
        code, out = _run(kb_root, capsys)
        assert "KB601" in out and (code, out) == cold(kb_root, capsys, monkeypatch)
    assert calls.count == 2


def test_an_edited_file_with_a_finding_from_another_rule_takes_the_whole_check(
    kb_root: Path, capsys, monkeypatch
) -> None:
    edit(kb_root, "router.md", "- workers lag → [other](cards/other.yaml)\n", "")  # other is unreachable: KB503
    calls = primed(kb_root, capsys, monkeypatch)
    edit(kb_root, OTHER, "lag behind.", "lag behind, again.")
    code, out = _run(kb_root, capsys)
    assert "KB503" in out and (code, out) == cold(kb_root, capsys, monkeypatch)
    assert calls.count == 1


def test_a_suppression_the_old_text_held_takes_the_whole_check(kb_root: Path, capsys, monkeypatch) -> None:
    # `kb:ignore` without a blank: not the loader's `kb: ignore` flag, still a suppression
    edit(kb_root, "router.md", "- workers lag → [other](cards/other.yaml)\n", "")
    edit(kb_root, OTHER, "id: other", "id: other  # kb:ignore[KB503]")
    calls = primed(kb_root, capsys, monkeypatch)
    edit(kb_root, OTHER, "  # kb:ignore[KB503]", "")
    code, out = _run(kb_root, capsys)
    assert "KB503" in out and (code, out) == cold(kb_root, capsys, monkeypatch)
    assert calls.count == 1


def test_a_file_added_or_removed_takes_the_whole_check(kb_root: Path, capsys, monkeypatch) -> None:
    calls = primed(kb_root, capsys, monkeypatch)
    (kb_root / "cards/third.yaml").write_text(OTHER_TEXT.replace("id: other", "id: third"), encoding="utf-8")
    assert _run(kb_root, capsys) == cold(kb_root, capsys, monkeypatch)
    (kb_root / OTHER).unlink()
    assert _run(kb_root, capsys) == cold(kb_root, capsys, monkeypatch)
    assert calls.count == 2


def test_a_file_swapped_for_a_link_takes_the_whole_check(kb_root: Path, capsys, monkeypatch) -> None:
    calls = primed(kb_root, capsys, monkeypatch)
    outside = kb_root.parent / "outside.yaml"
    outside.write_text(OTHER_TEXT.replace("lag behind.", "lag behind, linked."), encoding="utf-8")
    (kb_root / OTHER).unlink()
    (kb_root / OTHER).symlink_to(outside)
    assert _run(kb_root, capsys) == cold(kb_root, capsys, monkeypatch)
    assert calls.count == 1


def test_damaged_facts_take_the_whole_check(kb_root: Path, capsys, monkeypatch) -> None:
    calls = primed(kb_root, capsys, monkeypatch)
    from kb.cache import store

    store.write_bytes(kb_root, delta.FACTS_FILE, b"\x00not marshal")
    edit(kb_root, CARD, "Resume consumers first.", "Resume the consumers first.")
    assert _run(kb_root, capsys) == cold(kb_root, capsys, monkeypatch)
    assert calls.count == 1


def test_the_delta_context_stops_at_any_other_document(kb_root: Path) -> None:
    from kb.load.loader import load_document
    from kb.model import Oncall

    kb = KnowledgeBase(load_config(kb_root))
    kb.oncall = load_document(kb, "oncall.yaml", Oncall)
    stopped = [False]
    for name in ("cards", "postmortems", "rule_files", "runs"):
        setattr(kb, name, delta._Forbidden(stopped))
    ctx = delta._DeltaContext(kb, stopped)
    assert isinstance(ctx, RuleContext) and ctx.access() is not None  # oncall.yaml's own answer
    reaches = [
        lambda: list(ctx.cards),
        lambda: ctx.card_by_id(),
        lambda: len(ctx.postmortems),
        lambda: ctx.router(),
        lambda: ctx.emitted(),
        lambda: ctx.text_paths(),
        lambda: ctx.paging().cards_of("sre-primary"),
        lambda: bool(ctx.rule_files),
    ]
    for reach in reaches:
        stopped[0] = False
        try:
            reach()
        except Exception:  # a rule's broad except must not hide the stop
            pytest.fail("the stop was caught as an Exception")
        except delta.NeedsWholeKB:
            pass
        assert stopped[0]


def test_projection_ignores_only_local_keys_and_refuses_unplain_values() -> None:
    value = {"id": "a", "summary": "x", "steps": [{"do": "y"}]}
    assert delta.projection(value) == delta.projection({**value, "summary": "changed"})
    assert delta.projection(value) != delta.projection({**value, "id": "b"})
    assert delta.projection(value) != delta.projection({"steps": [{"do": "y"}], "id": "a"})  # key order
    assert delta.projection({"id": 1}) != delta.projection({"id": "1"}) != delta.projection({"id": True})
    assert delta.projection({"id": {1, 2}}) is None and delta.projection({"id": b"a"}) is None


# Modules whose code may name a LOCAL_KEYS key: the models, the document rules that read it
# again on the new text, and what reads another object's field of that name (an ICS event's
# SUMMARY, a reinforcement's summary). A new reader of a card's or a postmortem's summary
# anywhere else could give another file an answer the delta path would not recompute.
LOCAL_KEY_READERS = {
    "kb/model/card.py",
    "kb/model/postmortem.py",
    "kb/rules/router/card_copies_reference.py",  # KB506, a document rule
    "kb/rules/postmortems/postmortem_review_needs_narrative.py",  # KB404, a document rule
    "kb/rules/files/schema_missing_field.py",  # docstring example
    "kb/analysis/schedule.py",  # an ICS event's SUMMARY
    "kb/analysis/followups.py",  # a reinforcement's summary (kb followups, not kb check)
    "kb/emit/build.py",  # an alert reinforcement's summary annotation
    "kb/check/formats/text.py",  # the report's summary line
    "kb/cache/delta.py",
    "kb/analysis/runs.py",  # a function named summary (a run's)
}
CHECK_PACKAGES = ("kb/core", "kb/config", "kb/model", "kb/load", "kb/analysis", "kb/emit", "kb/rules", "kb/check")


def test_only_known_modules_read_a_local_key() -> None:
    assert {"summary"} <= delta.LOCAL_KEYS["cards"] & delta.LOCAL_KEYS["postmortems"]  # the others:
    # tests/test_delta_local_fields.py
    found = set()
    for package in CHECK_PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            text = re.sub(r"def summary\(|\.summary\(\)", "", text)  # a rule's one-line summary()
            if re.search(r"\bsummary\b", text) or "model_dump(" in text and "rules/" in path.as_posix():
                found.add(path.relative_to(REPO).as_posix())
    # kb/rules/base.py dumps a rule's Options, postmortem_model_inference_row (a document rule) its own row
    found -= {"kb/rules/base.py", "kb/rules/postmortems/postmortem_model_inference_row.py"}
    assert found <= LOCAL_KEY_READERS, f"new readers of summary or model_dump: {sorted(found - LOCAL_KEY_READERS)}"


def test_racing_edit_after_the_look_up_is_never_kept(kb_root: Path, capsys, monkeypatch) -> None:
    """A file changed again between the look-up's hash and the delta's read: the whole check."""
    calls = primed(kb_root, capsys, monkeypatch)
    edit(kb_root, CARD, "Resume consumers first.", "Resume the consumers first.")
    real = delta._changed_findings

    def racing(root, *args, **kwargs):
        edit(kb_root, CARD, "Resume the consumers first.", "TODO")
        return real(root, *args, **kwargs)

    monkeypatch.setattr(delta, "_changed_findings", racing)
    _run(kb_root, capsys)
    monkeypatch.setattr(delta, "_changed_findings", real)
    time.sleep(0.01)
    os.utime(kb_root / CARD)
    assert _run(kb_root, capsys) == cold(kb_root, capsys, monkeypatch)
    assert calls.count >= 1
