"""Memberships from the systems that grant them (issue #18): SCIM 2.0, GitHub team members,
ConductorOne baton-file; the export wins over people.groups, and a difference is a finding."""

from __future__ import annotations

import shutil
from pathlib import Path

from kb.analysis.membership import parse_members, read_memberships
from kb.check.engine import run_check
from kb.load.loader import load_kb
from kb.model import Oncall
from kb.rules.context import RuleContext

EXPORTS = Path(__file__).parent / "fixtures" / "memberships"

ONCALL = """\
permissions:
  queue:pause:dispatch: {system: Queue, request: "ask sre lead"}
groups:
  sre:
    grants: ["queue:*"]
    members_from: memberships/{source}
people:
  alice: {groups: [sre], timezone: Europe/Berlin, aliases: [Babs Jensen, octocat, jane.smith@example.com]}
  bob: {groups: [sre], timezone: America/New_York, email: bob@example.org}
  mandy: {timezone: America/New_York, aliases: [Mandy Pepperidge, hubot, Maria Garcia]}
rotations:
  sre-primary: {members: [alice, bob]}
"""


def make_kb(root: Path, export: str, source: str | None = None) -> Path:
    (root / "memberships").mkdir(exist_ok=True)
    shutil.copy(EXPORTS / export, root / "memberships" / export)
    (root / "oncall.yaml").write_text(ONCALL.replace("{source}", source or export), encoding="utf-8")
    return root


def check(root: Path, *codes: str) -> list[str]:
    result = run_check(RuleContext(load_kb(root)), select=list(codes))
    return [f"{d.path}:{d.span.line}:{d.span.column} {d.code} {d.message}" for d in result.diagnostics]


def oncall_of(root: Path) -> Oncall:
    return load_kb(root).oncall.model


def test_scim_group_wins_and_drift_is_reported(base_kb: Path) -> None:
    root = make_kb(base_kb, "rfc7643-group.json")
    effective = read_memberships(root, oncall_of(root)).oncall
    assert effective.people["alice"].groups == ["sre"]  # Babs Jensen
    assert effective.people["bob"].groups == []  # not in the export: removed
    assert effective.people["mandy"].groups == ["sre"]  # Mandy Pepperidge: added
    assert check(root, "KB319") == [
        "oncall.yaml:9:3 KB319 bob lists group sre but memberships/rfc7643-group.json does not have them "
        "(removed there); the export wins: they hold none of its grants",
        "oncall.yaml:10:3 KB319 mandy is in group sre according to memberships/rfc7643-group.json (added there) "
        "but people.mandy.groups does not list it; the export wins",
    ]


def test_the_export_changes_what_the_access_rules_see(base_kb: Path) -> None:
    """bob lost sre in the identity provider: the card his rotation runs is blocked for him."""
    root = make_kb(base_kb, "rfc7643-group.json")
    found = check(root, "KB301")
    assert len(found) == 1 and "bob" in found[0] and "queue:pause:dispatch" in found[0]


def test_scim_list_response_resolves_members_through_their_user_resources(base_kb: Path) -> None:
    root = make_kb(base_kb, "scim-list-response.json")
    (root / "oncall.yaml").write_text(
        (root / "oncall.yaml").read_text().replace("email: bob@example.org", "email: JSmith@Example.com"),
        encoding="utf-8",
    )
    memberships = read_memberships(root, oncall_of(root))
    assert memberships.sources["sre"].members == ["alice", "bob"]  # by email, case aside
    assert memberships.differences == []
    assert check(root, "KB318", "KB319", "KB320") == []


def test_scim_list_response_needs_a_single_group(base_kb: Path) -> None:
    root = make_kb(base_kb, "scim-list-response.json", "scim-list-response.json#Platform")
    [found] = check(root, "KB318")
    assert "has no single Group named 'Platform' (groups: sre, Employees)" in found
    assert found.startswith("oncall.yaml:6:19 KB318")


def test_github_team_members(base_kb: Path) -> None:
    root = make_kb(base_kb, "github-team-members.json")
    source = read_memberships(root, oncall_of(root)).sources["sre"]
    assert (source.kind, source.members, source.unknown) == ("github", ["alice", "mandy"], [])


def test_baton_file_with_inheritance_and_a_disabled_account(base_kb: Path) -> None:
    root = make_kb(base_kb, "baton-file.json", "baton-file.json#platform-admin")
    source = read_memberships(root, oncall_of(root)).sources["sre"]
    # maria directly; jane through engineering/member; john's account is disabled
    assert (source.kind, sorted(source.members), source.unknown) == ("baton", ["alice", "mandy"], [])
    root = make_kb(base_kb, "baton-file.json", "baton-file.json#engineering")
    assert read_memberships(root, oncall_of(root)).sources["sre"].members == ["alice"]


def test_unknown_member_is_named(base_kb: Path) -> None:
    root = make_kb(base_kb, "github-team-members.json")
    oncall = (root / "oncall.yaml").read_text().replace("hubot, ", "")
    (root / "oncall.yaml").write_text(oncall, encoding="utf-8")
    assert check(root, "KB320") == [
        "oncall.yaml:6:19 KB320 group sre: memberships/github-team-members.json names 'hubot', who is nobody in "
        "oncall.yaml; add them to people, or that name or email to someone's `aliases` or `email`"
    ]


def test_unreadable_sources_keep_the_hand_written_list(base_kb: Path) -> None:
    root = make_kb(base_kb, "github-team-members.json")
    (root / "memberships" / "github-team-members.json").write_text('{"members": []}', encoding="utf-8")
    [found] = check(root, "KB318")
    assert "not a SCIM 2.0 Group or ListResponse" in found
    assert read_memberships(root, oncall_of(root)).oncall.people["bob"].groups == ["sre"]
    (root / "memberships" / "github-team-members.json").unlink()
    assert "cannot read memberships/github-team-members.json" in check(root, "KB318")[0]


def test_old_baton_layout_and_nested_scim_groups_are_refused() -> None:
    import pytest

    from kb.analysis.membership import MembershipProblem

    with pytest.raises(MembershipProblem, match="old baton-file layout"):
        parse_members(b'{"users": [], "resources": [], "grants": []}', "sre", None)
    nested = (
        b'{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "members": [{"value": "x", "type": "Group"}]}'
    )
    with pytest.raises(MembershipProblem, match="nested group"):
        parse_members(nested, "sre", None)


def test_members_from_must_stay_in_memberships(base_kb: Path) -> None:
    root = make_kb(base_kb, "rfc7643-group.json", "../../etc/passwd.json")
    result = run_check(RuleContext(load_kb(root)), select=["KB110"])
    assert any("not a relative path inside the knowledge base" in d.message for d in result.diagnostics)


def test_ambiguous_identity(base_kb: Path) -> None:
    root = make_kb(base_kb, "github-team-members.json")
    oncall = (
        (root / "oncall.yaml")
        .read_text()
        .replace("email: bob@example.org", "email: bob@example.org, aliases: [octocat]")
    )
    (root / "oncall.yaml").write_text(oncall, encoding="utf-8")
    [found] = check(root, "KB321")
    assert "'octocat' names both alice and bob" in found
    source = read_memberships(root, oncall_of(root)).sources["sre"]
    assert source.unknown == ["octocat"]  # mapped to neither


def test_scim_deactivated_user_is_no_member(base_kb: Path) -> None:
    root = make_kb(base_kb, "scim-list-response.json")
    export = root / "memberships" / "scim-list-response.json"
    text = export.read_text()
    jim = '"primary": true}],\n      "active": true'
    assert text.count(jim) == 1
    export.write_text(text.replace(jim, '"primary": true}],\n      "active": false'))
    (root / "oncall.yaml").write_text(
        (root / "oncall.yaml").read_text().replace("email: bob@example.org", "email: jsmith@example.com"),
        encoding="utf-8",
    )
    assert read_memberships(root, oncall_of(root)).sources["sre"].members == ["alice"]
