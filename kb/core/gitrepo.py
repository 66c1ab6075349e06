"""What kb asks of git: ids used on any ref, and a branch with one new file committed."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kb.core import safefile
from kb.core.atomic import process_alive, write_atomic
from kb.core.paths import confine

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
    head: str = ""  # the branch HEAD named when the plan was made (refs/heads/...)


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
    try:
        head = repo.git.symbolic_ref("-q", "HEAD").strip()
    except git.GitCommandError:
        head = ""  # a detached HEAD: the branch starts from its commit
    return BranchPlan(repo, branch, repo.head.commit.hexsha, head)


def file_at_base(plan: BranchPlan, path: Path) -> bytes | None:
    """The content of `path` in the plan's base commit, or None when it has none."""
    import git

    repo = plan.repo
    rel = path.resolve().relative_to(Path(str(repo.working_tree_dir)).resolve()).as_posix()
    try:
        content: bytes = repo.git.cat_file("blob", f"{plan.base}:{rel}", stdout_as_string=False)  # bytes, as asked
        return content
    except git.GitCommandError:
        return None


def commit_on_new_branch(
    plan: BranchPlan,
    kb_root: Path,
    message: str,
    creates: dict[str, bytes],
    appends: dict[str, str] | None = None,
) -> str:
    """Commit new files on a new branch from the plan's base and switch to it: a transaction.

    `creates` are new files (paths relative to `kb_root`), `appends` lines added to existing
    files (the router). The commit is built first with git's plumbing in a private index, the
    pre-commit hook run on it, as `git commit --only` would: nothing the user sees changes
    (the branch gets the base's version of an appended file plus the line, never a line the
    user has not committed). A failure up to here (a hook, a full disk) leaves everything as
    it was. Then a journal in the git folder records what is owed, and the branch is created,
    atomically and only if it does not exist (update-ref with an empty old value): that is
    the commit point. HEAD is switched to it, the files written into the working tree and
    recorded in the user's index (their staged work in progress stays staged), and the
    journal goes. A kb killed after the commit point leaves the journal, and the next kb
    command finishes the work (finish_interrupted_branches); one killed before leaves HEAD,
    the index, the branches and the working tree as they were.
    """
    import secrets

    appends = appends or {}
    top = Path(str(plan.repo.working_tree_dir)).resolve()
    git_dir = Path(plan.repo.git_dir)
    root = Path(kb_root).resolve()
    prefix = root.relative_to(top).as_posix()

    def in_repo(rel: str) -> str:
        return rel if prefix in ("", ".") else f"{prefix}/{rel}"

    blobs: dict[str, str] = {}
    lines: dict[str, str] = {}
    index = git_dir / f"kb-index-{os.getpid()}-{secrets.token_hex(4)}"
    env = {"GIT_INDEX_FILE": str(index)}
    try:
        _git(top, "read-tree", plan.base, env=env)
        for rel, data in creates.items():
            blobs[in_repo(rel)] = _hash(top, in_repo(rel), data)
        for rel, line in appends.items():
            committed = file_at_base(plan, root / rel)
            if committed is None:  # not in the base: the file as it is, plus the line
                committed = safefile.read_bytes(root / rel)
            blobs[in_repo(rel)] = _hash(top, in_repo(rel), _appended(committed, line.encode("utf-8")))
            lines[rel] = line
        info = "".join(f"100644 {blob}\t{rel}\0" for rel, blob in blobs.items())
        _git(top, "update-index", "-z", "--add", "--index-info", env=env, stdin=info)
        _git(top, "hook", "run", "--ignore-missing", "pre-commit", env=env)  # core.hooksPath respected
        tree = _git(top, "write-tree", env=env).strip()
        commit = _git(top, "commit-tree", tree, "-p", plan.base, "-m", message).strip()
    except GitProblem as exc:  # a hook, a full disk: before the commit point
        raise GitProblem(f"could not commit on a new branch {plan.branch} ({exc}); nothing was changed") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(index)
    journal = _journal_folder(git_dir) / f"{os.getpid()}.{secrets.token_hex(4)}.json"
    record = {
        "branch": plan.branch,
        "commit": commit,
        "head": plan.head,
        "kb_root": str(root),
        "top": str(top),
        "base": plan.base,
        "creates": {rel: in_repo(rel) for rel in creates},
        "appends": lines,
        "blobs": blobs,
    }
    write_atomic(journal, json.dumps(record), exclusive=True)
    try:
        _git(top, "update-ref", "-m", "kb new --branch", f"refs/heads/{plan.branch}", commit, "")  # the commit point
    except GitProblem as exc:
        os.unlink(journal)
        raise GitProblem(f"could not create branch {plan.branch} ({exc}); nothing was changed") from None
    try:
        _finish(journal, record, switch=True, contents=creates)
    except OSError as exc:  # a full disk after the commit point: the journal stays, the next kb finishes
        why = f"{exc.strerror}; branch {plan.branch} is made and holds the commit, and the next kb command"
        raise OSError(exc.errno, f"{why} finishes the working tree", exc.filename) from None
    except GitProblem as exc:
        raise GitProblem(
            f"{exc}; branch {plan.branch} is made and holds the commit, and the next kb command finishes the switch"
        ) from None
    return commit


def finish_interrupted_branches(root: Path) -> list[str]:
    """Finish the `kb new --branch` runs killed after their commit point (see
    commit_on_new_branch); forget those killed before it. Cheap when there is nothing to do:
    a look at one folder of the git directory. Returns a note for each run settled."""
    folder = _git_dir_of(root)
    folder = folder / JOURNALS if folder is not None else None
    try:
        names = sorted(os.listdir(folder)) if folder is not None else []
    except OSError:
        return []
    notes = []
    for name in names:
        pid = name.split(".", 1)[0]
        if not name.endswith(".json") or not pid.isdigit() or process_alive(int(pid)):
            continue
        journal = Path(str(folder)) / name
        try:
            record = json.loads(safefile.read_bytes(journal, limit=1 << 20))
            top = Path(record["top"])
            tip = _git(top, "rev-parse", "-q", "--verify", f"refs/heads/{record['branch']}^{{commit}}", check=False)
            if tip.strip() != record["commit"]:
                os.unlink(journal)  # killed before its branch existed: nothing to undo
                continue
            notes.extend(_finish(journal, record, switch=False))
        except (OSError, ValueError, KeyError, TypeError, GitProblem):
            continue  # left for the next run; it names nothing the user would lose
    return notes


def _entries(listing: str) -> dict[str, str]:
    """path -> object name, from `git ls-files -s -z` or `git ls-tree -z` output."""
    found = {}
    for entry in listing.split("\0"):
        if "\t" in entry:
            meta, path = entry.split("\t", 1)
            words = meta.split()
            found[path] = words[1] if len(words) == 3 and len(words[1]) >= 40 else words[2]
    return found


def _finish(journal: Path, record: dict[str, Any], switch: bool, contents: dict[str, bytes] | None = None) -> list[str]:
    """Everything after the commit point: HEAD, the working tree, the user's index; one kb at
    a time (parallel `kb new --branch` runs would otherwise race for git's index.lock)."""
    from kb.core.locking import kb_lock

    with kb_lock(Path(record["kb_root"]), "branch"):
        return _finish_locked(journal, record, switch, contents)


def _finish_locked(journal: Path, record: dict[str, Any], switch: bool, contents: dict[str, bytes] | None) -> list[str]:
    from kb.core.locking import file_lock

    if not journal.exists():
        return []  # another kb finished it while this one waited for the lock
    top, root = Path(record["top"]), Path(record["kb_root"])
    ref = f"refs/heads/{record['branch']}"
    head = "" if switch else _git(top, "symbolic-ref", "-q", "HEAD", check=False).strip()
    if switch or head == record["head"]:
        _git(top, "symbolic-ref", "-m", f"kb new: switch to {record['branch']}", "HEAD", ref)
    elif head != ref:  # the user moved HEAD since the kill: the branch stays, their checkout too
        os.unlink(journal)
        return [f"kb new --branch was interrupted: branch {record['branch']} holds its commit; HEAD was left on {head}"]
    blobs = record["blobs"]
    for rel, repo_rel in record["creates"].items():
        target = confine(root, rel)
        data = contents.get(rel) if contents else None
        try:
            write_atomic(
                target,
                data if data is not None else _git_bytes(top, "cat-file", "blob", blobs[repo_rel]),
                exclusive=True,
            )
        except FileExistsError:
            pass  # written before the kill (a file in the way fails before the commit point)
    for rel, line in record["appends"].items():
        target = confine(root, rel)
        with file_lock(root, rel):  # read, append, write: no other writer in between
            text = safefile.read_bytes(target)
            if line.encode("utf-8") not in text:
                write_atomic(target, _appended(text, line.encode("utf-8")))
    paths = list(blobs)
    staged = _entries(_git(top, "ls-files", "-z", "-s", "--", *paths))
    in_base = _entries(_git(top, "ls-tree", "-z", record["base"], "--", *paths))
    entries = [  # the user's own staged version of a path stays staged
        f"100644 {blob}\t{path}\0"
        for path, blob in blobs.items()
        if staged.get(path, in_base.get(path)) == in_base.get(path)
    ]
    if entries:
        _git(top, "update-index", "-z", "--add", "--index-info", stdin="".join(entries))
    os.unlink(journal)
    return []


JOURNALS = "kb-new"


def _journal_folder(git_dir: Path) -> Path:
    folder = git_dir / JOURNALS
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


_GIT_DIRS: dict[str, Path | None] = {}


def _git_dir_of(root: Path) -> Path | None:
    """The git folder of the repository holding `root`, found once per process and root
    (every kb command asks: the walk up the tree costs more than the rest of the look)."""
    from kb.core.locking import lock_folder

    key = str(root)
    if key in _GIT_DIRS:
        found = _GIT_DIRS[key]
        if found is None or os.path.isdir(found):
            return found
    folder = lock_folder(root)
    found = _GIT_DIRS[key] = folder.parent if folder.name == "kb-locks" else None
    return found


def _appended(text: bytes, line: bytes) -> bytes:
    return text + (b"" if text.endswith(b"\n") or not text else b"\n") + line


def _hash(top: Path, rel: str, data: bytes) -> str:
    return _git_bytes(top, "hash-object", "-w", f"--path={rel}", "--stdin", stdin=data).decode().strip()


def _git(top: Path, *args: str, env: dict[str, str] | None = None, stdin: str | None = None, check: bool = True) -> str:
    return _git_bytes(top, *args, env=env, stdin=stdin.encode() if stdin is not None else None, check=check).decode(
        "utf-8", errors="replace"
    )


def _git_bytes(
    top: Path, *args: str, env: dict[str, str] | None = None, stdin: bytes | None = None, check: bool = True
) -> bytes:
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=top,
            input=stdin if stdin is not None else b"",
            capture_output=True,
            env={**os.environ, **(env or {})},
            timeout=300,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GitProblem(f"git {args[0]} failed: {exc}") from None
    if check and done.returncode != 0:
        detail = done.stderr.decode("utf-8", errors="replace").strip().replace("\n", " ")[:300]
        raise GitProblem(f"git {args[0]}: {detail or 'exit ' + str(done.returncode)}")
    return done.stdout
