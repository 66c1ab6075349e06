from kb.core.diagnostics import Level, LoadProblem
from kb.rules.base import LoadRule


class RunInvalidLine(LoadRule):
    """A line of a run log is not a run event.

    Why: a run log (runs/<YYYY-MM-DD>-<card>-<n>.jsonl, written by `kb run`) is evidence of
    what the paged person did; a line that is not one JSON object of the event shape
    (FORMAT.md, "runs/*.jsonl") cannot be read back into the run, the postmortem or a drill's
    timings. This covers text that is not JSON or not UTF-8, unknown fields, an `event` kind
    that does not exist, a timestamp without an offset, a `done` without `evidence`, a
    `skipped` or `failed` without `why`, and a last line cut off before its newline.

    Bad:

    ```yaml
    # runs/2026-11-22-queue-stuck-1.jsonl, line 2:
    {"seq": 1, "at": "2026-11-22T02:19:40+01:00", "run": "2026-11-22-queue-stuck-1", "card": "queue-stuck", "actor": "alice", "event": "done", "step": "resume", "prev": "9f2c41b0e7a35d6c8e1f4a2b3c5d7e9f0a1b2c3d4e5f60718293a4b5c6d7e8f9"}
    ```

    Good:

    ```yaml
    # runs/2026-11-22-queue-stuck-1.jsonl, line 2:
    {"seq": 1, "at": "2026-11-22T02:19:40+01:00", "run": "2026-11-22-queue-stuck-1", "card": "queue-stuck", "actor": "alice", "event": "done", "step": "resume", "evidence": "queue depth fell for 5 minutes", "prev": "9f2c41b0e7a35d6c8e1f4a2b3c5d7e9f0a1b2c3d4e5f60718293a4b5c6d7e8f9"}
    ```
    """  # noqa: E501

    code = "KB801"
    reports = LoadProblem.RUN_LOG
    name = "run/invalid-line"
    level = Level.ERROR
