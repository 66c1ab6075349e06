"""`kb route` never presents a guess as a match (issue #15).

A frozen copy of this repository's router and cards (tests/fixtures/route_kb) is the
material: an exact alert answers, a truncated or unknown alert name says so first with the
nearest alert names and exits 1, and a word search is labelled as a search result."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import REPO, run_kb

from kb.commands import route as route_command
from kb.route.search import levenshtein, looks_like_alert

FIXTURE = REPO / "tests" / "fixtures" / "route_kb"


@pytest.fixture
def kb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "cache"))
    return Path(shutil.copytree(FIXTURE, tmp_path / "kb"))


def test_exact_alert_is_a_match(kb: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert route_command.run("AgentRunCrashed", root=kb) == 0
    out = capsys.readouterr().out
    assert out.startswith("router.md:")
    assert "search result" not in out
    assert "card: cards/run-crashed-midway.yaml" in out


@pytest.mark.parametrize(
    ("query", "nearest"), [("AgentRunCrash", "AgentRunCrashed"), ("AgentSpendRateHihg", "AgentSpendRateHigh")]
)
def test_truncated_alert_name_is_not_answered_with_a_card(
    kb: Path, capsys: pytest.CaptureFixture[str], query: str, nearest: str
) -> None:
    assert route_command.run(query, root=kb) == 1
    captured = capsys.readouterr()
    assert captured.out == ""  # no card printed as if it were the answer
    assert captured.err.startswith(f"no router line or card names the alert '{query}'.")
    assert f"  {nearest}  -> " in captured.err


def test_unknown_alert_name_exits_non_zero_in_json_too(kb: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert route_command.run("NoSuchAlert", output_format="json", root=kb) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["kind"] == "unknown-alert" and data["matches"] == []


def test_words_are_labelled_as_a_search_result(kb: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert route_command.run("openai 503 errors", root=kb) == 0
    out = capsys.readouterr().out
    assert out.startswith("search result for 'openai 503 errors'")
    assert "card: cards/model-provider-degraded.yaml" in out


def test_card_only_alert_still_exact(kb: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # an alert a card names that the router line leaves out (KB505 reports it) is still exact
    router = kb / "router.md"
    router.write_text(router.read_text().replace("`AgentRunCrashed`: a", "A"))
    assert route_command.run("AgentRunCrashed", root=kb) == 0
    assert "card: cards/run-crashed-midway.yaml" in capsys.readouterr().out


def test_alert_shape() -> None:
    assert looks_like_alert("AgentRunCrash") and looks_like_alert("node_down") and looks_like_alert("kube:up")
    assert not looks_like_alert("budget") and not looks_like_alert("spend running away")
    assert levenshtein("AgentRunCrash", "AgentRunCrashed") == 2


def test_cli_smoke(kb: Path, tmp_path: Path) -> None:
    result = run_kb("route", "AgentRunCrash", cwd=kb, env={"KB_CACHE_DIR": str(tmp_path / "c")})
    assert result.returncode == 1 and "AgentRunCrashed" in result.stderr


def test_a_third_party_alert_names_its_file_and_runbook(kb: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (kb / "rules" / "thirdparty").mkdir(parents=True)
    manifest = REPO / "tests" / "fixtures" / "real_rules" / "alertmanager-prometheusRule.yaml"
    shutil.copy(manifest, kb / "rules" / "thirdparty" / manifest.name)
    assert route_command.run("AlertmanagerFailedReload", root=kb) == 1  # no card: never presented as one
    err = capsys.readouterr().err
    assert "It is defined in rules/thirdparty/alertmanager-prometheusRule.yaml; runbook: " in err
    assert "https://runbooks.prometheus-operator.dev/runbooks/alertmanager/alertmanagerfailedreload" in err


@pytest.mark.parametrize(
    "query",
    [
        "[FIRING:1] AgentRunCrash",
        "AgentRunCrash firing",
        'AgentRunCrash{severity="page"}',
        "alert AgentRunCrash",
        "LLMProviderErrorRateHigh,AgentRunCrash",
    ],
)
def test_an_unknown_alert_among_other_words_is_never_answered_with_a_card(query: str, capsys) -> None:
    """Text pasted from a pager carries words around the alert name (outside review)."""
    assert route_command.run(query, root=FIXTURE) == 1
    captured = capsys.readouterr()
    assert "card:" not in captured.out
    assert "names the alert 'AgentRunCrash'" in captured.err


def test_a_known_alert_among_other_words_routes_to_its_card(capsys) -> None:
    assert route_command.run("[FIRING:1] AgentSpendRateHigh", root=FIXTURE) == 0
    assert "card: cards/token-spend-runaway.yaml" in capsys.readouterr().out


@pytest.mark.parametrize("word", ["wrong", "yaml", "run"])
def test_a_plain_word_on_a_routing_line_is_a_search_not_an_alert(
    kb: Path, capsys: pytest.CaptureFixture[str], word: str
) -> None:
    """Outside review: `kb route wrong` (a word on a line; "yaml" only in the link target) was
    printed as an exact alert match, and `--format json run` said kind "alert"."""
    route_command.run(word, root=kb)
    out = capsys.readouterr().out
    assert "search result" in out or not out
    route_command.run(word, output_format="json", root=kb)
    assert json.loads(capsys.readouterr().out)["kind"] != "alert"


def test_a_routed_card_whose_file_is_gone_is_no_answer(kb: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (kb / "cards" / "run-crashed-midway.yaml").unlink()
    assert route_command.run("AgentRunCrashed", root=kb) == 1
    captured = capsys.readouterr()
    assert "card:" not in captured.out
    assert "cards/run-crashed-midway.yaml does not exist" in captured.err


def test_an_alert_routed_to_two_cards_is_no_answer(kb: Path, capsys: pytest.CaptureFixture[str]) -> None:
    router = kb / "router.md"
    router.write_text(router.read_text() + "\n- `AgentRunCrashed` again → [queue-stuck](cards/queue-stuck.yaml)\n")
    assert route_command.run("AgentRunCrashed", root=kb) == 1
    err = capsys.readouterr().err
    assert "to 2 cards" in err and "run-crashed-midway" in err and "queue-stuck" in err


def test_a_routed_card_linked_from_outside_is_no_answer(kb: Path, tmp_path: Path, capsys) -> None:
    card = kb / "cards" / "run-crashed-midway.yaml"
    moved = tmp_path / "moved.yaml"
    card.rename(moved)
    card.symlink_to(moved)
    assert route_command.run("AgentRunCrashed", root=kb) == 1
    assert "links out of the KB" in capsys.readouterr().err


def test_a_router_edit_that_puts_its_mtime_back_is_seen(kb: Path, capsys) -> None:
    """Outside review: two alerts swapped in router.md, same size, mtime put back (cp -p,
    rsync): kb route kept answering from its cached table, KB_NO_CACHE=1 too."""
    import os

    router = kb / "router.md"
    for path in kb.rglob("*"):
        os.utime(path, (1_700_000_000, 1_700_000_000))
    route_command.run("AgentRunCrashed", root=kb)
    first = capsys.readouterr().out
    before = router.stat()
    text = router.read_text()
    swapped = text.replace("AgentRunCrashed", "XXTMPXX").replace("AgentSpendRateHigh", "AgentRunCrashed")
    swapped = swapped.replace("XXTMPXX", "AgentSpendRateHigh")
    assert swapped != text and len(swapped) == len(text)
    with router.open("r+") as handle:  # in place: same inode, then the old mtime back
        handle.write(swapped)
    os.utime(router, ns=(before.st_atime_ns, before.st_mtime_ns))
    route_command.run("AgentRunCrashed", root=kb)
    assert capsys.readouterr().out != first


def test_a_card_id_two_files_hold_is_no_answer_for_route_or_show(kb: Path, capsys) -> None:
    from kb.commands import show

    source = (kb / "cards" / "run-crashed-midway.yaml").read_text()
    (kb / "cards" / "run-crashed-midway-v2.yaml").write_text(source)
    assert route_command.run("AgentRunCrashed", root=kb) == 1
    assert "is used by cards/run-crashed-midway-v2.yaml, cards/run-crashed-midway.yaml" in capsys.readouterr().err
    assert show.run("run-crashed-midway", root=kb) == 1
    assert "KB121" in capsys.readouterr().err
