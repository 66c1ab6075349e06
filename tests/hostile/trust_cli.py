"""The real `kb` entry point (kb.cli.main: the fast path, the typer app and the last-resort
error handler), run in this process so that a hostile case costs milliseconds, not a
Python start-up. Output is captured as a user's terminal would see it."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def kb(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Result:
    from kb.cli import main

    out, err = io.StringIO(), io.StringIO()
    saved_env = dict(os.environ)
    saved_argv, saved_cwd = sys.argv, os.getcwd()
    os.environ.update({"NO_COLOR": "1", **(env or {})})
    os.environ.pop("GITHUB_ACTIONS", None) if "GITHUB_ACTIONS" not in (env or {}) else None
    os.environ.setdefault("KB_CACHE_DIR", str(cwd.parent / ".kb-test-cache"))
    code = 0
    try:
        os.chdir(cwd)
        sys.argv = ["kb", *args]
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        os.chdir(saved_cwd)
        sys.argv = saved_argv
        os.environ.clear()
        os.environ.update(saved_env)
    return Result(code, out.getvalue(), err.getvalue())


def no_traceback(result: Result) -> None:
    assert "Traceback" not in result.output and "internal error" not in result.output, result.output


def kb_forked(
    *args: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float = 10,
    memory: int = 2 << 30,
    prepare: Callable[[], None] | None = None,
) -> Result | None:
    """`kb(...)` in a forked child (the modules are already imported: milliseconds, not a
    start-up), killed after `timeout` seconds: None means it hung. A hang or a crash in the
    child cannot leave this process's working directory, environment or threads changed.
    `prepare` runs in the child first (drop to another user, enter a mount namespace)."""
    import json
    import select
    import signal

    _warm()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 3
        try:
            import resource

            os.close(read_end)
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))  # a failing case must not eat the machine
            if prepare is not None:
                prepare()
            result = kb(*args, cwd=cwd, env=env)
            payload = json.dumps([result.returncode, result.stdout, result.stderr]).encode()
            view = memoryview(payload)
            while view:
                view = view[os.write(write_end, view) :]
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    chunks, deadline = [], __import__("time").monotonic() + timeout
    try:
        while True:
            left = deadline - __import__("time").monotonic()
            ready, _, _ = select.select([read_end], [], [], max(left, 0))
            if not ready:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return None
            chunk = os.read(read_end, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_end)
    _, status = os.waitpid(pid, 0)
    if not chunks:
        return Result(-abs(os.waitstatus_to_exitcode(status)) or -1, "", "child died")
    code, out, err = json.loads(b"".join(chunks))
    return Result(code, out, err)


def _warm() -> None:
    """Import what the verbs import, once, here: every forked child then starts warm."""
    import kb.cli
    import kb.commands.check
    import kb.commands.emit
    import kb.commands.followups
    import kb.commands.new
    import kb.commands.route
    import kb.commands.show
    import kb.model
    import kb.rules.registry  # noqa: F401
