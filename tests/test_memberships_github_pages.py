"""A GitHub team of more than one page (30 members by default, 100 at most per page) is exported
with `gh api --paginate`, which writes one JSON array per page back to back (cli/cli#5347,
cli/cli#1268), or with `--paginate --slurp` (gh 2.48+, cli/cli#8620), which writes an array of
the pages. Both are the team-members list; before, kb refused both ("not JSON: Extra data",
"holds user objects with a 'login'"). Anything else that is not one list of users is refused."""

from __future__ import annotations

import json

import pytest
from test_memberships import EXPORTS

from kb.analysis.membership import MembershipProblem, parse_members

USERS = json.loads((EXPORTS / "github-team-members.json").read_text(encoding="utf-8"))
ONE_PAGE = parse_members((EXPORTS / "github-team-members.json").read_bytes(), "sre", None)


def _pages() -> list[list[dict]]:
    return [USERS[:1], USERS[1:]] if len(USERS) > 1 else [USERS, []]


def test_gh_paginate_pages_back_to_back_are_one_list() -> None:
    raw = "".join(json.dumps(page, indent=2) + "\n" for page in _pages()).encode()
    kind, members = parse_members(raw, "sre", None)
    assert (kind, [m.texts for m in members]) == (ONE_PAGE[0], [m.texts for m in ONE_PAGE[1]])


def test_gh_paginate_slurp_is_one_list() -> None:
    kind, members = parse_members(json.dumps(_pages()).encode(), "sre", None)
    assert (kind, [m.texts for m in members]) == (ONE_PAGE[0], [m.texts for m in ONE_PAGE[1]])


@pytest.mark.parametrize(
    "raw",
    [
        b'[{"login": "a"}]{"login": "b"}',  # a page that is not a list
        b'[{"login": "a"}] trailing',  # not JSON after the first page
        b'[[{"login": "a"}], {"login": "b"}]',  # pages mixed with users
        b"[[1, 2]]",  # pages of something else
    ],
)
def test_anything_else_is_refused(raw: bytes) -> None:
    with pytest.raises(MembershipProblem):
        parse_members(raw, "sre", None)
