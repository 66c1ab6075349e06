"""What kb asks of git: ids used on any ref, and a branch with one new file committed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
    base: str = ""  # the commit the branch starts from: HEAD when the plan was made


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
    return BranchPlan(repo, branch, repo.head.commit.hexsha)


def file_at_base(plan: BranchPlan, path: Path) -> bytes | None:
    """The content of `path` in the plan's base commit, or None when it has none."""
    import git

    repo = plan.repo
    rel = path.resolve().relative_to(Path(str(repo.working_tree_dir)).resolve()).as_posix()
    try:
        blob: bytes = repo.git.cat_file("blob", f"{plan.base}:{rel}", stdout_as_string=False)
        return blob
    except git.GitCommandError:
        return None


def commit_on_new_branch(
    plan: BranchPlan, paths: Path | list[Path], message: str, contents: dict[Path, bytes] | None = None
) -> str:
    """Commit `paths` on a new branch from the plan's base, then switch to it: a transaction.

    The commit is built with git's plumbing in a private index (the user's index, HEAD and
    branches are not touched): each path's content is the file as written, or `contents[path]`
    (the router as it is in the base plus kb's line, never a line the user has not committed).
    The pre-commit hook runs on that index, as `git commit --only` would run it. Only then is
    the branch created, atomically and only if it does not exist (update-ref with an empty old
    value), HEAD switched to it, and the new paths recorded in the user's index. A failure
    before that point (a hook, an existing branch, a full disk) leaves everything as it was.
    """
    import os
    import tempfile

    import git

    repo = plan.repo
    top = Path(str(repo.working_tree_dir)).resolve()
    files = [paths] if isinstance(paths, Path) else list(paths)
    contents = contents or {}
    rels = [p.resolve().relative_to(top).as_posix() for p in files]
    git_dir = Path(repo.git_dir)
    fd, index = tempfile.mkstemp(prefix="kb-index-", dir=git_dir)
    os.close(fd)
    os.unlink(index)  # git writes it; the name is private to this process
    env = {"GIT_INDEX_FILE": index}
    try:
        try:
            repo.git.read_tree(plan.base, env=env)
            blobs = {}
            for path, rel in zip(files, rels, strict=True):
                data = contents.get(path)
                if data is None:
                    blobs[rel] = repo.git.hash_object("-w", f"--path={rel}", "--", str(path)).strip()
                else:
                    blobs[rel] = _hash_bytes(repo, git_dir, rel, data)
                repo.git.update_index("--add", "--cacheinfo", f"100644,{blobs[rel]},{rel}", env=env)
            repo.git.hook("run", "--ignore-missing", "pre-commit", env=env)  # core.hooksPath respected
            tree = repo.git.write_tree(env=env).strip()
            commit = repo.git.commit_tree(tree, "-p", plan.base, "-m", message).strip()
            repo.git.update_ref(f"refs/heads/{plan.branch}", commit, "", "-m", "kb new --branch")
        except git.GitCommandError as exc:
            detail = (exc.stderr or "").strip().replace("\n", " ")[:300]
            raise GitProblem(
                f"could not commit on a new branch {plan.branch} ({detail}); nothing was changed"
            ) from None
    finally:
        if os.path.exists(index):
            os.unlink(index)
    # the branch exists: switch to it, and record the new files in the user's index (their
    # staged work in progress stays staged; a path they staged themselves is left alone)
    repo.git.symbolic_ref("HEAD", f"refs/heads/{plan.branch}", "-m", f"kb new: switch to {plan.branch}")
    for rel in rels:
        staged = repo.git.ls_files("-s", "--", rel).split()
        base_blob = _blob_at(repo, plan.base, rel)
        if not staged or (len(staged) > 1 and staged[1] == base_blob):
            repo.git.update_index("--add", "--cacheinfo", f"100644,{blobs[rel]},{rel}")
    return str(commit)


def _blob_at(repo: Any, commit: str, rel: str) -> str | None:
    import git

    try:
        return str(repo.git.rev_parse("--verify", "-q", f"{commit}:{rel}").strip())
    except git.GitCommandError:
        return None


def _hash_bytes(repo: Any, git_dir: Path, rel: str, data: bytes) -> str:
    import os
    import tempfile

    fd, name = tempfile.mkstemp(prefix="kb-blob-", dir=git_dir)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return str(repo.git.hash_object("-w", f"--path={rel}", "--", name).strip())
    finally:
        os.unlink(name)
