"""Group memberships from the systems that grant them, read from their exports (files only).

Three published shapes are read:
- a SCIM 2.0 Group resource (RFC 7643 section 4.2), or a SCIM ListResponse (RFC 7644 section 3.4.2)
  holding Groups and the Users they reference, as identity providers export them;
- the GitHub REST answer of `GET /orgs/{org}/teams/{team_slug}/members` (a list of users);
- a ConductorOne baton-file JSON file (`users`, `resources`, `entitlements`,
  `direct_user_grants`, `grant_inheritance_mappings`): the group is the resource named after
  `#` in `members_from`, else the resource whose id is the group's name.

Where a group names a source it wins over `people.<name>.groups`: the effective oncall model
gives each person the groups the sources say. A difference is reported (added, removed), and
so is a member the export names that no person of oncall.yaml is.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb.analysis.identities import Identities
from kb.core import safefile
from kb.model import Oncall

SCIM_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
SCIM_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
SCIM_LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
MAX_BYTES = 50_000_000
BATON_INACTIVE = {"disabled", "inactive", "suspended", "deleted"}


class MembershipProblem(Exception):
    pass


@dataclass
class Member:
    """One member as the export names it: the texts to match, most specific first."""

    texts: list[str]

    @property
    def label(self) -> str:
        return next((t for t in self.texts if t), "?")


@dataclass
class Source:
    group: str
    reference: str  # the members_from value
    kind: str = ""  # scim, github or baton
    members: list[str] = field(default_factory=list)  # people of oncall.yaml
    unknown: list[str] = field(default_factory=list)  # members naming no person
    problem: str | None = None


@dataclass
class Difference:
    group: str
    person: str
    change: str  # "added": the source has them, people.groups does not; "removed": the reverse
    source: str


@dataclass
class Memberships:
    oncall: Oncall  # the effective model: every sourced group's members as the source says
    sources: dict[str, Source] = field(default_factory=dict)
    differences: list[Difference] = field(default_factory=list)


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _scim_user_texts(user: dict) -> list[str]:
    emails = user.get("emails")
    if not isinstance(emails, list):
        emails = []
    primary = sorted(
        (e for e in emails if isinstance(e, dict)), key=lambda e: not e.get("primary")
    )  # the primary address first
    name = user.get("name")
    if not isinstance(name, dict):
        name = {}
    return [
        *(_text(e.get("value")) for e in primary),
        _text(user.get("userName")),
        _text(user.get("displayName")),
        _text(name.get("formatted")),
    ]


def _scim(data: dict, group: str, fragment: str | None) -> list[Member]:
    schemas = data.get("schemas") or []
    users: dict[str, dict] = {}
    if SCIM_LIST in schemas:
        resources = [r for r in data.get("Resources") or [] if isinstance(r, dict)]
        groups = [r for r in resources if SCIM_GROUP in (r.get("schemas") or [])]
        users = {
            r["id"]: r for r in resources if SCIM_USER in (r.get("schemas") or []) and isinstance(r.get("id"), str)
        }
        wanted = fragment or group
        named = [g for g in groups if wanted in (g.get("displayName"), g.get("id"), g.get("externalId"))]
        if len(named) != 1 and not fragment and len(groups) == 1:
            named = groups
        if len(named) != 1:
            found = ", ".join(str(g.get("displayName") or g.get("id")) for g in groups) or "none"
            raise MembershipProblem(f"the SCIM ListResponse has no single Group named '{wanted}' (groups: {found})")
        data = named[0]
    members = []
    for item in data.get("members") or []:
        if not isinstance(item, dict):
            continue
        if item.get("type") == "Group":
            raise MembershipProblem(
                f"member '{item.get('display') or item.get('value')}' is a nested group; export the group flattened"
            )
        value = item.get("value")
        user = users.get(value) if isinstance(value, str) else None
        if user is not None and user.get("active") is False:
            continue  # a deactivated account holds no access
        texts = [*(_scim_user_texts(user) if user else []), _text(item.get("display")), _text(item.get("value"))]
        members.append(Member(texts))
    return members


def _github(data: list) -> list[Member]:
    members = []
    for user in data:
        if not isinstance(user, dict) or not isinstance(user.get("login"), str):
            raise MembershipProblem("a GitHub team-members list holds user objects with a 'login'")
        members.append(Member([_text(user.get("email")), user["login"], _text(user.get("name"))]))
    return members


def _listed(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


BATON_IDS = {
    "resources": ("id",),
    "users": ("id",),
    "direct_user_grants": ("resource_id", "entitlement_slug", "principal_id"),
    "grant_inheritance_mappings": (
        "inherited_resource_id",
        "inherited_entitlement_slug",
        "principal_resource_id",
        "principal_entitlement_slug",
    ),
}


def _baton_ids_are_text(data: dict) -> None:
    """Every id a Baton file links by is text (or absent): a list or an object there is no id,
    and kb would otherwise match nothing, or fail to index it."""
    for section, keys in BATON_IDS.items():
        items = data.get(section) or []
        if not isinstance(items, list):
            raise MembershipProblem(f"'{section}' should be a list, got {type(items).__name__}")
        for index, item in enumerate(items):
            for key in keys if isinstance(item, dict) else ():
                value = item.get(key)
                if value is not None and not isinstance(value, str):
                    raise MembershipProblem(
                        f"{section}[{index}].{key} is {type(value).__name__}, not text: not a Baton export"
                    )


def _baton(data: dict, group: str, fragment: str | None) -> list[Member]:
    if "grants" in data and "direct_user_grants" not in data:
        raise MembershipProblem("this is the old baton-file layout ('grants'); re-export it with 'direct_user_grants'")
    resource = fragment or group
    _baton_ids_are_text(data)
    resources = {r.get("id") for r in data.get("resources") or [] if isinstance(r, dict)}
    if resource not in resources:
        raise MembershipProblem(
            f"the Baton file has no resource '{resource}' (name it with '#<resource id>' after the file name)"
        )
    grants = [g for g in data.get("direct_user_grants") or [] if isinstance(g, dict)]
    # ids as the export spells them (JSON values, not checked here): only a holder of `resource` counts
    holders: dict[tuple[object, object], set[Any]] = {}
    for grant in grants:
        key = (grant.get("resource_id"), grant.get("entitlement_slug"))
        holders.setdefault(key, set()).add(grant.get("principal_id"))
    # a grant inherited from membership of another resource's entitlement counts as well
    for mapping in data.get("grant_inheritance_mappings") or []:
        if isinstance(mapping, dict) and mapping.get("inherited_resource_id") == resource:
            source = (mapping.get("principal_resource_id"), mapping.get("principal_entitlement_slug"))
            target = (resource, mapping.get("inherited_entitlement_slug"))
            holders.setdefault(target, set()).update(holders.get(source, set()))
    principals = sorted({p for (res, _slug), names in holders.items() if res == resource for p in names if p})
    users = {u.get("id"): u for u in data.get("users") or [] if isinstance(u, dict)}
    members = []
    for principal in principals:
        user = users.get(principal)
        if user is None:
            members.append(Member([principal]))
            continue
        if str(user.get("status", "enabled")).lower() in BATON_INACTIVE:
            continue  # a disabled account holds no access
        members.append(
            Member(
                [
                    _text(user.get("email")),
                    *_listed(user.get("additional_emails")),
                    principal,
                    _text(user.get("login")),
                    *_listed(user.get("login_aliases")),
                    _text(user.get("display_name")),
                ]
            )
        )
    return members


JSON_SPACE = re.compile(r"[ \t\n\r]*")  # what JSON allows between documents (RFC 8259 section 2)


def _json_pages(text: str) -> Any:
    """The JSON document; or, where `gh api --paginate` wrote one array per page back to back (a
    GitHub team of more than a page: cli/cli#5347), the arrays joined. Anything else after the
    first document is the error json.loads gives."""
    try:
        return json.loads(text)
    except ValueError as whole:
        decoder, pages, index = json.JSONDecoder(), [], 0
        try:
            while (index := JSON_SPACE.match(text, index).end()) < len(text):  # type: ignore[union-attr]
                page, index = decoder.raw_decode(text, index)
                if not isinstance(page, list):
                    raise whole from None
                pages.append(page)
        except ValueError:
            raise whole from None
        if len(pages) < 2:
            raise
        return [item for page in pages for item in page]


def parse_members(raw: bytes, group: str, fragment: str | None) -> tuple[str, list[Member]]:
    """(kind, members) of an export; MembershipProblem when it is none of the known shapes."""
    try:
        data = _json_pages(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise MembershipProblem(f"not JSON: {exc}") from None
    except RecursionError:
        raise MembershipProblem("not a membership export: JSON nested too deeply") from None
    if isinstance(data, list):
        if data and all(isinstance(page, list) for page in data):
            data = [user for page in data for user in page]  # `gh api --paginate --slurp`: the pages
        return "github", _github(data)
    if isinstance(data, dict):
        schemas = data.get("schemas")
        if isinstance(schemas, list) and (SCIM_GROUP in schemas or SCIM_LIST in schemas):
            return "scim", _scim(data, group, fragment)
        if "users" in data and ("resources" in data or "direct_user_grants" in data or "grants" in data):
            return "baton", _baton(data, group, fragment)
    raise MembershipProblem(
        "not a SCIM 2.0 Group or ListResponse, a GitHub team-members list, or a baton-file JSON document"
    )


def read_source(root: Path, group: str, reference: str, identities: Identities) -> Source:
    source = Source(group, reference)
    rel, _, fragment = reference.partition("#")
    raw, source.problem = safefile.read_named(root, rel, MAX_BYTES)
    if raw is None:
        return source
    try:
        source.kind, members = parse_members(raw, group, fragment or None)
    except MembershipProblem as exc:
        source.problem = f"{rel}: {exc}"
        return source
    for member in members:
        person = identities.first(member.texts)
        if person is None:
            source.unknown.append(member.label)
        elif person not in source.members:
            source.members.append(person)
    return source


def read_memberships(root: Path, oncall: Oncall) -> Memberships:
    """The effective oncall model and what each source said. A group whose source cannot be
    read keeps the hand-written list (and the problem is reported)."""
    sourced = {name: group.members_from for name, group in oncall.groups.items() if group.members_from}
    if not sourced:
        return Memberships(oncall)
    identities = Identities(oncall)
    result = Memberships(oncall)
    for group, reference in sourced.items():
        result.sources[group] = read_source(root, group, reference, identities)
    winning = {g: s for g, s in result.sources.items() if s.problem is None}
    if not winning:
        return result
    people = {}
    for name, person in oncall.people.items():
        groups = [g for g in person.groups if g not in winning or name in winning[g].members]
        groups += [g for g, s in winning.items() if name in s.members and g not in groups]
        people[name] = person.model_copy(update={"groups": groups}) if groups != person.groups else person
    for group, source in winning.items():
        listed = {name for name, person in oncall.people.items() if group in person.groups}
        for name in sorted(set(source.members) - listed):
            result.differences.append(Difference(group, name, "added", source.reference))
        for name in sorted(listed - set(source.members)):
            result.differences.append(Difference(group, name, "removed", source.reference))
    result.oncall = oncall.model_copy(update={"people": people})
    return result
