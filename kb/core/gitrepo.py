"""What kb asks of git: ids used on any ref, and a branch with one new file committed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import git  # gitpython is imported when git is used: a check without git never pays for it

PM_FILE = re.compile(r"(?:^|/)(PM-(\d{4})-(\d{3,}))[^/]*\.ya?ml$")


class GitProblem(Exception):
    pass


def _repo(root: Path) -> git.Repo | None:
    import git

    try:
        return git.Repo(root, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None


def postmortem_numbers_in_git(root: Path, folder: str, year: int) -> set[int]:
    """Numbers of PM-<year>-NNN files under `folder` on every ref git can see (branches,
    remote branches, tags, HEAD), so an id used on an unmerged branch is never reused."""
    import git

    repo = _repo(root)
    if repo is None:
        return set()
    prefix = Path(root).resolve().relative_to(Path(str(repo.working_tree_dir)).resolve()).as_posix()
    folder_path = folder if prefix in ("", ".") else f"{prefix}/{folder}"
    trees: set[str] = set()
    commits = set()
    try:
        for line in repo.git.for_each_ref("--format=%(objectname)").splitlines():
            commits.add(line.strip())
        if repo.head.is_valid():
            commits.add(repo.head.commit.hexsha)
    except (git.GitCommandError, ValueError):
        return set()
    for sha in commits:
        try:
            trees.add(repo.git.rev_parse(f"{sha}^{{commit}}:{folder_path}"))
        except git.GitCommandError:
            continue  # this ref has no such folder, or is not a commit (an annotated tag of a blob)
    numbers: set[int] = set()
    for tree in trees:
        for name in repo.git.ls_tree("--name-only", tree).splitlines():
            match = PM_FILE.search(name)
            if match and int(match.group(2)) == year:
                numbers.add(int(match.group(3)))
    return numbers


@dataclass
class BranchPlan:
    repo: git.Repo
    branch: str


def plan_branch(root: Path, branch: str) -> BranchPlan:
    """Check, before anything is written, that a branch with one commit can be made safely."""
    import git

    repo = _repo(root)
    if repo is None:
        raise GitProblem(f"--branch needs a git repository; {root} is not in one (git init, or drop --branch)")
    if not repo.head.is_valid():
        raise GitProblem("--branch needs a first commit to branch from; this repository has none yet")
    git_dir = Path(repo.git_dir)
    for marker, what in (
        ("MERGE_HEAD", "a merge"),
        ("rebase-merge", "a rebase"),
        ("rebase-apply", "a rebase or am"),
        ("CHERRY_PICK_HEAD", "a cherry-pick"),
        ("REVERT_HEAD", "a revert"),
        ("BISECT_LOG", "a bisect"),
    ):
        if (git_dir / marker).exists():
            raise GitProblem(f"{what} is in progress; finish or abort it first (switching branch now could lose work)")
    if branch in {head.name for head in repo.heads}:
        raise GitProblem(f"branch {branch} already exists")
    try:
        repo.git.check_ref_format("--branch", branch)
    except git.GitCommandError:
        raise GitProblem(f"'{branch}' is not a valid branch name") from None
    return BranchPlan(repo, branch)


def commit_on_new_branch(plan: BranchPlan, paths: Path | list[Path], message: str) -> str:
    """Create the branch at HEAD, switch to it, and commit only `paths`.

    Other changes in the working tree and the index stay exactly as they were (checkout -b
    keeps them; commit --only records just this file), so nothing a person was doing is lost.
    """
    repo = plan.repo
    top = Path(str(repo.working_tree_dir)).resolve()
    rels = [p.resolve().relative_to(top).as_posix() for p in ([paths] if isinstance(paths, Path) else paths)]
    repo.git.checkout("-b", plan.branch)
    repo.git.add("--", *rels)
    repo.git.commit("--only", "-m", message, "--", *rels)
    return str(repo.head.commit.hexsha)
