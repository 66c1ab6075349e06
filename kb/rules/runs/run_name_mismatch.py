from kb.core.diagnostics import Level
from kb.rules.base import Rule


class RunNameMismatch(Rule):
    """A run log's file name, `run` and `card` do not agree.

    Why: `runs/<YYYY-MM-DD>-<card>-<n>.jsonl` is how people and `kb run --resume` find a run;
    every line carries the same `run` (the file's stem) and `card`, and the date is the day
    the run started, in the offset its start was written in. A log copied or renamed into
    another run's name would put one run's evidence under another.

    Bad:

    ```yaml
    # runs/2026-11-22-queue-stuck-2.jsonl
    {"seq": 0, "at": "2026-11-22T02:17:05+01:00", "run": "2026-11-22-queue-stuck-1", "card": "queue-stuck", "actor": "alice", "event": "start", "drill": false, "prev": null}
    ```

    Good:

    ```yaml
    # runs/2026-11-22-queue-stuck-1.jsonl
    {"seq": 0, "at": "2026-11-22T02:17:05+01:00", "run": "2026-11-22-queue-stuck-1", "card": "queue-stuck", "actor": "alice", "event": "start", "drill": false, "prev": null}
    ```
    """  # noqa: E501

    code = "KB804"
    name = "run/name-mismatch"
    level = Level.ERROR

    def check(self, ctx, options):
        for log in ctx.kb.runs:
            lines = [line for line in log.lines if line.event is not None]
            if not lines:
                continue
            first = lines[0]
            run, card = first.event.run, first.event.card
            if run != log.stem:
                yield log.finding(first, f"run '{run}' is not the file's name '{log.stem}'", "run")
            elif not run[11:].startswith(card + "-") or not run[11 + len(card) + 1 :].isdigit():
                yield log.finding(first, f"run '{run}' does not name card '{card}' (<YYYY-MM-DD>-{card}-<n>)", "run")
            elif first.event.event == "start" and run[:10] != first.event.at.date().isoformat():
                yield log.finding(
                    first, f"run '{run}' is dated {run[:10]}, but it started on {first.event.at.date()}", "run"
                )
            for line in lines[1:]:
                if line.event.run != run:
                    yield log.finding(line, f"run '{line.event.run}' on a line of run '{run}'", "run")
                if line.event.card != card:
                    yield log.finding(line, f"card '{line.event.card}' on a line of a run of '{card}'", "card")
