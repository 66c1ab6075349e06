"""`kb check --changed-since REF`: the files changed since a ref, and the files that depend on them."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from kb.config.settings import CONFIG_FILE
from kb.load.knowledge_base import KnowledgeBase
from kb.load.rulefiles import emitted_names


class ChangesProblem(Exception):
    pass


# oncall.yaml's inputs: rotations' iCalendar exports and groups' membership exports (kb.model.oncall
# keeps them under these folders); a change there re-judges the rotations, as an oncall.yaml edit does
ONCALL_INPUTS = ("schedules", "memberships")
RUN_LOG_NAME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}-(?P<card>.+)-[1-9][0-9]*\.jsonl$")


def run_log_card(path: str) -> str | None:
    """The card a run log is about, from its name (runs/<YYYY-MM-DD>-<card>-<n>.jsonl): a
    deleted log has no content left, and its card still depends on it (last_drilled)."""
    match = RUN_LOG_NAME.match(PurePosixPath(path).name)
    return match.group("card") if match else None


def changed_since(root: Path, ref: str) -> set[str]:
    """KB-relative paths changed between the merge base of REF and HEAD, plus uncommitted and
    untracked files: what a pull request adds, and what is being edited now."""
    import git

    if not ref or ref.startswith("-") or "\0" in ref:
        raise ChangesProblem(f"--changed-since '{ref}' is not a git ref (it would be read as an option)")
    try:
        repo = git.Repo(root, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise ChangesProblem(f"--changed-since needs a git repository; {root} is not in one") from None
    try:
        commit = repo.git.rev_parse("--verify", "--end-of-options", f"{ref}^{{commit}}")
        base = repo.git.merge_base(commit, "HEAD")
    except git.GitCommandError:
        shallow = (Path(repo.git_dir) / "shallow").exists()
        hint = (
            (f" This is a shallow clone: fetch the ref with enough history, e.g. git fetch --deepen=50 origin {ref}")
            if shallow
            else ""
        )
        raise ChangesProblem(
            f"cannot find a common ancestor of '{ref}' and HEAD (is '{ref}' fetched?).{hint}"
        ) from None
    top = Path(str(repo.working_tree_dir)).resolve()
    # NUL-separated: any byte in a name (ä, a tab, a newline) arrives as it is, never quoted
    names = set(filter(None, repo.git.diff("--name-only", "-z", "--no-renames", base, "--").split("\0")))
    names |= set(filter(None, repo.git.ls_files("-z", "--others", "--exclude-standard").split("\0")))
    prefix = root.resolve().relative_to(top).as_posix()
    result = set()
    for name in names:
        if prefix in ("", "."):
            result.add(name)
        elif name.startswith(prefix + "/"):
            result.add(name[len(prefix) + 1 :])
    return result


def with_dependents(kb: KnowledgeBase, changed: set[str], router_pages: list[str]) -> set[str] | None:
    """What to report on; None means everything (the configuration changed)."""
    s = kb.settings
    cards = {doc.path for doc in kb.cards}
    pages = set(router_pages) | {s.router}
    runs_dir = PurePosixPath(s.runs_dir.strip("/")).as_posix()
    logs = {log.path for log in kb.runs}
    log_cards: dict[str, set[str | None]] = {
        log.path: {run_log_card(log.path)} | {e.card for e in log.events} for log in kb.runs
    }
    selected = set(changed)
    for path in changed:
        parent = PurePosixPath(path).parent.as_posix()
        if path == CONFIG_FILE:
            return None
        in_rules = path.startswith(s.rules_dir.strip("/") + "/")  # subfolders of rules/ too
        oncall_input = path.split("/", 1)[0] in ONCALL_INPUTS
        if path == s.oncall or path in pages or in_rules or oncall_input:
            # grants and routes are judged on every card; people and rotations on every run log
            selected |= cards | {s.oncall} | pages | logs
        elif parent == runs_dir:
            # a run log is judged against its card (steps) and oncall.yaml (actors); its card's
            # last_drilled stands on it
            about = log_cards.get(path) or {run_log_card(path)}
            selected |= {
                d.path for d in kb.cards if PurePosixPath(d.path).stem in about or (d.model and d.model.id in about)
            }
        elif parent == s.cards_dir.strip("/"):
            card_id = PurePosixPath(path).stem
            selected |= pages
            selected |= {d.path for d in kb.postmortems if d.model and card_id in d.model.cards}
            card_ids: set[str | None] = {card_id}
            card_ids |= {d.model.id for d in kb.cards if d.model and d.path == path}
            selected |= {log for log, named in log_cards.items() if named & card_ids}
        elif parent == s.postmortems_dir.strip("/"):
            # the id from the file name too: a deleted postmortem has no model, its cards still link it
            ids = {d.model.id for d in kb.postmortems if d.model and d.path == path}
            ids.add("-".join(PurePosixPath(path).name.split("-")[:3]))
            selected |= {d.path for d in kb.cards if d.model and ids & set(d.model.postmortems)}
            # what its reinforcements cause: kb emit's files fall out of date (KB601 at rules/..., or at
            # mkdocs.yml when a file is missing), and its alerts are judged against their cards
            rules = s.rules_dir.strip("/")
            owned = {n for pm_id in ids for n in emitted_names(pm_id).values()}  # rules/kb/<kind>s/<id>.*
            selected |= {rf.path for rf in kb.rule_files if rf.owned} | {f"{rules}/{n}" for n in owned} | {CONFIG_FILE}
            for doc in kb.postmortems:
                if doc.model and doc.path == path:
                    selected |= {d.path for d in kb.cards if d.model and d.model.id in set(doc.model.cards)}
        elif path.endswith(".md"):
            selected |= {d.path for d in kb.cards if d.model and any(r.path == path for r in d.model.references)}
    return selected
