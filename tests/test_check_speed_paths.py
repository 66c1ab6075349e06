"""The shortcuts of issue #20 give the answers of the long way round.

- KB605 runs promtool only on replay suites that have not passed before with the same rules,
  tests and promtool (kb.cache.replays): a failing replay is run again and reported every
  time, and the output of `kb check` is the same with the cache as without it.
- Credentials hidden by YAML escapes, line continuations or folds are looked for only in
  the strings the builder saw rewritten (kb.load.secrets.scan_rewritten): the same hits as
  walking every decoded value (scan_decoded, the reference).
- links_outside resolves each folder once and a name in it only when it is a link.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml
from conftest import BASE_KB, copy_kb
from test_rule_cases import CASES_DIR, apply_files

from kb.commands import check as check_verb
from kb.core import yamlio
from kb.emit import promtool, replays
from kb.load.loader import links_outside
from kb.load.secrets import scan, scan_decoded, scan_rewritten


def _kb605_case(name: str) -> dict:
    data = yaml.safe_load((CASES_DIR / "KB605.yaml").read_text(encoding="utf-8"))
    return next(case for case in data["cases"] if case["name"] == name)


def _check(root: Path, capsys, **env: str) -> str:
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        check_verb.run(root=root)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return capsys.readouterr().out


@pytest.mark.skipif(promtool.executable() is None, reason="promtool is not installed")
def test_replays_that_passed_are_not_run_again_and_failures_always_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    root = copy_kb(BASE_KB, tmp_path / "kb")
    failing = _kb605_case("a-replay-that-never-fires-and-one-missing-labels")  # one suite, two failing tests
    passing = _kb605_case("the-replay-expects-the-labels-its-expression-keeps")
    apply_files(root, failing)
    second = passing["files"]["postmortems/PM-2026-001-queue.yaml"].replace("PM-2026-001", "PM-2026-002")
    (root / "postmortems" / "PM-2026-002-steps.yaml").write_text(second, encoding="utf-8")
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("KB_NO_CACHE", raising=False)
    suites_run: list[list[str]] = []  # the alert groups KB605 hands promtool, per check
    real = replays.ReplayBatch.__init__

    def counting(self, kb, emitted, suites, first=None):  # the real batch and the real promtool, counted
        run = range(len(suites)) if first is None else first  # the batch knows all, runs these first
        suites_run.append([suites[index].group["name"] for index in run])
        real(self, kb, emitted, suites, first)

    monkeypatch.setattr(replays.ReplayBatch, "__init__", counting)
    both = ["kb:PM-2026-001", "kb:PM-2026-002"]

    first = _check(root, capsys)
    replay_lines = [line for line in first.splitlines() if " KB605 " in line]
    assert replay_lines and not any("PM-2026-002" in line for line in replay_lines)
    assert suites_run == [both]
    card = root / "cards" / "queue-stuck.yaml"
    card.write_text(card.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    after_card_edit = _check(root, capsys)
    # a card edit cannot change a replay: the check either reuses KB605's findings or runs the
    # failing suite again, never the one that passed
    assert suites_run in ([both], [both, ["kb:PM-2026-001"]]), (
        "the passing suite is remembered; the failing one runs again"
    )
    assert after_card_edit == first
    runs_before = len(suites_run)
    assert _check(root, capsys, KB_NO_CACHE="1") == first  # the long way round: both suites
    assert suites_run[runs_before:] == [both]
    pm = root / "postmortems" / "PM-2026-002-steps.yaml"
    pm.write_text(pm.read_text(encoding="utf-8").replace("One agent run", "An agent run"), encoding="utf-8")
    _check(root, capsys)
    assert suites_run[-1] == both, "an edited suite is a new suite"


def test_passed_files_reads_only_success_blocks() -> None:
    stdout = (
        "Unit Testing:  0.test.yml\n  SUCCESS\n\nUnit Testing:  1.test.yml\n\n\nUnit Testing:  2.test.yml\n  SUCCESS\n"
    )
    assert promtool.passed_files(stdout) == {"0.test.yml", "2.test.yml"}
    assert promtool.passed_files("Unit Testing:  0.test.yml\n  FAILED:\n") == set()


# detect-secrets' own kinds of strings, hidden from a line scan by how YAML writes them
HIDDEN = [
    b'a: "AKIA\\x49OSFODNN7EXAMPLE"\n',
    b'a: "AKIAIOSF\\\n  ODNN7EXAMPLE"\n',
    b'summary: >\n  password\n  = "hunter2hunter2x"\n',
    b"summary: |\n  token: ghp_0123456789abcdefghijABCDEFGHIJ012345\n",
    b"k: 'it''s AKIA\\x49OSFODNN7EXAMPLE'\n",
    b'"AKIA\\x49OSFODNN7EXAMPLE": 1\n',
    b"x: plain\n  multi AKIAIOSFODNN7EXAMPLE  # kb: ignore[KB900]\n",
    b'x: "\\ufeffAKIAIOSFODNN7EXAMPLE \\x41"\n',
    b'x: !!str "secret = \\"abcdefghijklmnop1234\\""\n',
    b'a: &x "api_key = \\"sk_live_abcdefghijklmnopqrstuvwx\\""\nb: *x\n',
    b'a: "xoxb-\\x31234567890-1234567890-AbCdEfGhIjKlMnOpQrStUvWx"  # kb: ignore[KB900]\n',
    b"a: >-\n  -----BEGIN RSA\n  PRIVATE KEY-----\n",
    b'a: "sk_live_\\u0034eC39HqLyjWDarjtT1zdp7dc"\n',
    b'a: ["ghp_wWPw5k4aXcaT4fNP0UcnZwJUVFk6LO\\\n  0pINUx"]\n',
]


@pytest.mark.parametrize("raw", HIDDEN, ids=range(len(HIDDEN)))
def test_rewritten_strings_find_what_every_decoded_value_finds(raw: bytes) -> None:
    text = raw.decode("utf-8").lstrip("\ufeff")
    known = frozenset(hit.value for hit in scan(raw))
    rewritten: list[yamlio.Rewritten] = []
    data = yamlio.load_mapping(raw, rewritten=rewritten)
    assert scan_rewritten(text, rewritten, "a.yaml", known) == scan_decoded(text, data, "a.yaml", known)


def test_rewritten_strings_on_a_real_kb_match_the_reference() -> None:
    for path in sorted((BASE_KB / "cards").glob("*.yaml")) + sorted((BASE_KB / "postmortems").glob("*.yaml")):
        raw = path.read_bytes()
        text = raw.decode("utf-8").lstrip("\ufeff")
        rewritten: list[yamlio.Rewritten] = []
        data = yamlio.load_mapping(raw, rewritten=rewritten)
        assert scan_rewritten(text, rewritten) == scan_decoded(text, data), path.name
        plain = [v for v, node in rewritten if not node.style and node.start_mark.line == node.end_mark.line]
        assert not plain, "a single-line plain scalar is its own text"


def test_links_outside_resolves_folders_once_and_links_always(tmp_path: Path) -> None:
    root = tmp_path / "kb"
    (root / "cards").mkdir(parents=True)
    outside = tmp_path / "elsewhere"
    (outside / "dir").mkdir(parents=True)
    (outside / "secret.yaml").write_text("x: 1\n")
    (root / "cards" / "plain.yaml").write_text("x: 1\n")
    (root / "cards" / "out.yaml").symlink_to(outside / "secret.yaml")
    (root / "cards" / "in.yaml").symlink_to(root / "cards" / "plain.yaml")
    (root / "linked").symlink_to(outside / "dir")
    (outside / "dir" / "a.yaml").write_text("x: 1\n")
    (outside / "dir" / "back.yaml").symlink_to(root / "cards" / "plain.yaml")
    rels = ["cards/plain.yaml", "cards/out.yaml", "cards/in.yaml", "linked/a.yaml", "linked/back.yaml", "top.yaml"]
    rels += ["cards/../cards/plain.yaml", "../kb/cards/plain.yaml"]
    assert links_outside(root, rels) == ["cards/out.yaml", "linked/a.yaml", "../kb/cards/plain.yaml"]


def test_hidden_cases_are_hidden_from_the_line_scan() -> None:
    """The cases above exercise the decoded path: most are invisible to the raw line scan."""
    invisible = [
        raw for raw in HIDDEN if not scan(raw) and scan_decoded(raw.decode().lstrip("\ufeff"), yamlio.load(raw))
    ]
    assert len(invisible) >= 5, [re.sub(rb"\s+", b" ", raw)[:40] for raw in invisible]
