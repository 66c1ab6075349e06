"""The access check end to end, `kb access`, and that resolution is indexed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import SNAPSHOT_KB

from kb.analysis import access as access_module
from kb.analysis.access import AccessModel, describe_uncovered, pattern_matches
from kb.commands import access, check
from kb.config.settings import BusinessHours
from kb.model import Card, Oncall


@pytest.mark.parametrize(
    ("pattern", "permission", "expected"),
    [
        ("queue:*", "queue:pause:dispatch", True),
        ("queue:*", "queue:read", True),
        ("queue:*", "queue", False),
        ("traces:read:*", "traces:read:agent-workspace", True),
        ("traces:read:*", "traces:write:agent-workspace", False),
        ("*:read:publishing", "traces:read:publishing", True),
        ("*:read", "traces:read:publishing", False),
        ("deploy:rollback:prompt-service", "deploy:rollback:prompt-service", True),
        ("deploy:rollback", "deploy:rollback:prompt-service", False),
        ("*", "anything:at:all", True),
    ],
)
def test_pattern_matching(pattern: str, permission: str, expected: bool) -> None:
    assert pattern_matches(pattern, permission) is expected


def test_uncovered_hours_are_named() -> None:
    assert describe_uncovered(BusinessHours(), "Asia/Tokyo") == (
        "Mon-Fri before 09:00 and after 18:00 and Sat, Sun all day (Asia/Tokyo)"
    )


ONCALL = """\
permissions:
  traces:read:agent-workspace: {system: Langfuse, request: "#access-requests, template TRACE-READ"}
  deploy:rollback:prompt-service: {system: Deploy, request: "ai-platform lead approves in the deploy tool"}
groups:
  sre: {grants: [traces:read:*]}
  ai-platform: {grants: [traces:read:*, deploy:rollback:prompt-service]}
people:
  alice: {groups: [sre, ai-platform], timezone: Europe/Berlin}
  bob: {groups: [sre], timezone: America/New_York}
  carol: {groups: [ai-platform], timezone: Asia/Tokyo}
rotations:
  sre-primary: {members: [alice, bob], coverage: 24x7}
"""

CARD = """\
id: prompt-regression
title: Answers regressed after a prompt change
summary: Roll the prompt back first.
owner: ai-platform
rotation: sre-primary
priority: P1
steps:
  - id: find-trace
    do: Open the failing conversations' traces
    requires: [traces:read:agent-workspace]
    done_when: Three trace ids are in the channel
  - id: rollback
    do: Roll the prompt back to the previous version
    requires:
      - traces:read:agent-workspace
      - deploy:rollback:prompt-service
    done_when: The previous version serves 100%
last_verified: 2026-11-01
"""


def make_kb(root: Path) -> Path:
    (root / "cards").mkdir(parents=True)
    (root / "mkdocs.yml").write_text("site_name: t\ndocs_dir: docs\nplugins:\n  - kb:\n      today: 2026-11-22\n")
    (root / "oncall.yaml").write_text(ONCALL)
    (root / "cards" / "prompt-regression.yaml").write_text(CARD)
    (root / "router.md").write_text("# Router\n\n- Answers wrong → [prompt-regression](cards/prompt-regression.yaml)\n")
    return root


def test_author_holds_it_member_lacks_it_then_the_grant_fixes_it(tmp_path: Path, call) -> None:
    root = make_kb(tmp_path / "kb")
    result = call(check.run, root=root)
    assert result.returncode == 1
    errors = [line for line in result.stdout.splitlines() if " error " in line]
    assert errors == [
        "cards/prompt-regression.yaml:16:9: error KB301 step 'rollback': bob of rotation sre-primary lacks "
        "deploy:rollback:prompt-service (granted by ai-platform; held by alice, carol); request: ai-platform lead "
        "approves in the deploy tool [access/missing-permission]"
    ]
    oncall = root / "oncall.yaml"
    oncall.write_text(
        oncall.read_text().replace(
            "sre: {grants: [traces:read:*]}", "sre: {grants: [traces:read:*, deploy:rollback:prompt-service]}"
        )
    )
    result = call(check.run, root=root)
    assert result.returncode == 0, result.stdout


def test_kb_access_explains_a_card(tmp_path: Path, call) -> None:
    root = make_kb(tmp_path / "kb")
    text = call(access.run, "prompt-regression", root=root).stdout
    assert "prompt-regression: BLOCKED by rotation sre-primary (24x7: alice, bob)" in text
    assert "deploy:rollback:prompt-service: alice yes (ai-platform); bob NO" in text
    assert "request: ai-platform lead approves in the deploy tool" in text
    data = json.loads(call(access.run, "prompt-regression", output_format="json", root=root).stdout)
    rollback = data["steps"][1]
    assert data["verdict"] == "blocked" and rollback["verdict"] == "blocked"
    assert rollback["permissions"][1]["lacking"] == ["bob"]
    assert rollback["permissions"][1]["holders"] == ["alice", "carol"]


def test_kb_access_person_and_matrix(tmp_path: Path, call) -> None:
    root = make_kb(tmp_path / "kb")
    person = json.loads(call(access.run, person="bob", output_format="json", root=root).stdout)
    assert person["cards"][0]["missing"][0]["permission"] == "deploy:rollback:prompt-service"
    assert "CANNOT run every step" in call(access.run, person="bob", root=root).stdout
    matrix = json.loads(call(access.run, output_format="json", root=root).stdout)
    assert matrix["cards"][0] == {
        "card": "prompt-regression",
        "rotation": "sre-primary",
        "verdict": "blocked",
        "rotations": {"sre-primary": "blocked"},
    }
    assert "[blocked]" in call(access.run, root=root).stdout


def test_kb_access_errors_are_clear(tmp_path: Path, call) -> None:
    root = make_kb(tmp_path / "kb")
    for options, fragment in (
        ({"card": "nope"}, "no card 'nope'"),
        ({"person": "zed"}, "no person 'zed'"),
        ({"card": "prompt-regression", "rotation": "x"}, "rotation 'x' is not in oncall.yaml"),
    ):
        result = call(access.run, **options, root=root)
        assert result.returncode == 1 and fragment in result.stderr


def test_snapshot_matrix_every_card_executable(call) -> None:
    data = json.loads(call(access.run, output_format="json", root=SNAPSHOT_KB).stdout)
    assert data["cards"] and all(row["verdict"] == "executable" for row in data["cards"])


def test_business_hours_grant_is_blocked_at_night_in_the_matrix(tmp_path: Path, call) -> None:
    root = make_kb(tmp_path / "kb")
    oncall = root / "oncall.yaml"
    oncall.write_text(
        oncall.read_text()
        .replace(
            "sre: {grants: [traces:read:*]}",
            "sre: {grants: [traces:read:*]}\n  deployers: {grants: [deploy:*], hours: business}",
        )
        .replace("bob: {groups: [sre]", "bob: {groups: [sre, deployers]")
    )
    data = json.loads(call(access.run, output_format="json", root=root).stdout)
    assert data["cards"][0]["verdict"] == "blocked at night"


def test_resolution_is_indexed_not_scanned(monkeypatch) -> None:
    """Checking many cards costs one pattern match per (distinct permission, grant of its system)."""
    systems = [f"sys{i}" for i in range(50)]
    oncall = Oncall.model_validate(
        {
            "permissions": {f"{s}:act:scope": {"system": s, "request": "r"} for s in systems},
            "groups": {f"g{i}": {"grants": [f"{s}:*" for s in systems[i::5]]} for i in range(5)},
            "people": {f"p{i}": {"groups": [f"g{j}" for j in range(5)]} for i in range(20)},
            "rotations": {"r": {"members": [f"p{i}" for i in range(20)]}},
        }
    )
    calls = 0
    real = access_module.pattern_matches

    def counting(pattern: str, permission: str) -> bool:
        nonlocal calls
        calls += 1
        return real(pattern, permission)

    monkeypatch.setattr(access_module, "pattern_matches", counting)
    model = AccessModel(oncall)
    for n in range(200):
        card = Card.model_validate(
            {
                "id": f"c{n}",
                "title": "t",
                "summary": "s",
                "owner": "o",
                "rotation": "r",
                "priority": "P2",
                "steps": [
                    {"id": f"s{k}", "do": "d", "done_when": "x", "requires": [f"{systems[(n + k) % 50]}:act:scope"]}
                    for k in range(5)
                ],
            }
        )
        assert model.evaluate(card).verdict == "executable"
    assert calls == 50  # 50 distinct permissions, one grant per system: not 200 cards x 5 steps x 20 members
