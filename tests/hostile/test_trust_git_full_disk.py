"""Class 8 with a full disk: `kb new --branch` on a repository in a small tmpfs (a private
mount namespace, so nothing reaches the host's mounts), filled so that only N bytes are
left, for several N: the run fails at a different git step each time, or succeeds. A
failure is a message with no traceback, and HEAD, the index, the branches and the working
tree are as before; once space is freed, the next kb command leaves the repository as
before or complete, never between. Skipped where a mount namespace is not permitted."""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import BASE_KB, copy_kb
from trust_cli import _warm, kb, kb_forked

ENV = {
    "GIT_AUTHOR_NAME": "kb-test",
    "GIT_AUTHOR_EMAIL": "kb@test",
    "GIT_COMMITTER_NAME": "kb-test",
    "GIT_COMMITTER_EMAIL": "kb@test",
    "KB_NO_CACHE": "1",
}
# bytes left free on the file system: each stops a different step (KB_FULL_DISK_ALL=1: more)
LEFT = [0, 24576, 32768, 1 << 20]
if os.environ.get("KB_FULL_DISK_ALL") == "1":
    LEFT = [0, 4096, 8192, 12288, 16384, 20480, 24576, 28672, 32768, 36864, 40960, 49152, 1 << 20]
_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS, MS_REC, MS_PRIVATE = 0x20000, 16384, 1 << 18


def _check(code: int, what: str) -> None:
    if code != 0:
        raise OSError(ctypes.get_errno(), what)


def _state(root: Path) -> list[str]:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, env={**os.environ, **ENV})
        return done.stdout

    return [
        git("symbolic-ref", "-q", "HEAD").strip(),
        git("rev-parse", "HEAD").strip(),
        git("for-each-ref", "--format=%(refname) %(objectname)"),
        git("ls-files", "-s"),
        git("status", "--porcelain", "--untracked-files=all", "--", "."),
    ]


def _fill(folder: Path, left: int) -> Path:
    filler = folder / "filler"
    with open(filler, "wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass
    size = filler.stat().st_size
    with open(filler, "r+b") as handle:
        handle.truncate(max(size - left, 0))
    return filler


def _in_namespace(source: Path, mount: Path) -> list[dict]:
    """In the forked child: each level on a fresh 3 MB tmpfs."""
    _check(_libc.unshare(CLONE_NEWNS), "unshare")
    _check(_libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "mount private")
    results = []
    for number, left in enumerate(LEFT):
        _check(_libc.mount(b"tmpfs", str(mount).encode(), b"tmpfs", 0, b"size=3m"), "mount tmpfs")
        try:
            root = mount / "kb"
            shutil.copytree(source, root, symlinks=True)
            before = _state(root)
            filler = _fill(mount, left)
            card_id = f"full-{number}"
            result = kb_forked(  # its own process, as a user runs it: its pid is gone when it ends
                "new", "card", "--title", card_id, "--id", card_id, "--rotation", "sre-primary",
                "--priority", "P2", "--owner", "team", "--alert", "FullAlert", "--branch",
                cwd=root, env=ENV, timeout=60,
            )  # fmt: skip
            assert result is not None
            during = _state(root)
            filler.unlink()
            kb("route", "FullAlert", cwd=root, env=ENV)  # the next kb command, with space again
            settled = _state(root)
            results.append(
                {
                    "left": left,
                    "code": result.returncode,
                    "output": result.output,
                    "before": before,
                    "during": during,
                    "settled": settled,
                    "card": card_id,
                    "router": (root / "router.md").read_text(),
                }
            )
        finally:
            _libc.umount2(str(mount).encode(), 2)
    return results


def test_full_disk_at_every_step_leaves_before_or_complete(tmp_path: Path):
    _warm()
    source = copy_kb(BASE_KB, tmp_path / "kb")
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "base"]):
        subprocess.run(["git", *args], cwd=source, check=True, env={**os.environ, **ENV})
    mount = tmp_path / "mnt"
    mount.mkdir()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(read_end)
            payload = json.dumps(_in_namespace(source, mount)).encode()
            code = 0
        except OSError as exc:
            payload = json.dumps({"skip": str(exc)}).encode()
            code = 0
        finally:
            view = memoryview(payload if code == 0 else b'{"skip": "child failed"}')
            while view:
                view = view[os.write(write_end, view) :]
            os._exit(code)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 1 << 16):
        chunks.append(chunk)
    os.close(read_end)
    os.waitpid(pid, 0)
    results = json.loads(b"".join(chunks))
    if isinstance(results, dict):
        pytest.skip(f"no private tmpfs here: {results['skip']}")
    outcomes = []
    for run in results:
        assert "Traceback" not in run["output"] and "internal error" not in run["output"], run["output"]
        branch = f"refs/heads/card/{run['card']}"
        if run["code"] != 0 and run["during"][:4] != run["before"][:4]:  # failed after its commit point
            assert branch in run["during"][2] and "next kb command finishes" in run["output"], run
        for state in (run["settled"],):
            if state == run["before"]:
                outcomes.append("before")
                continue
            assert state[0] == branch, (run["left"], run["output"], state)
            assert state[4] == run["before"][4], (run["left"], state)  # nothing untracked or modified
            assert f"[{run['card']}](cards/{run['card']}.yaml)" in run["router"]
            outcomes.append("complete")
    assert "before" in outcomes and "complete" in outcomes, outcomes
