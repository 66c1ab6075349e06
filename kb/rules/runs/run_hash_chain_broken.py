from kb.core.diagnostics import Level
from kb.load.runs import chain_breaks
from kb.rules.base import Rule


class RunHashChainBroken(Rule):
    """A line of a run log does not carry the hash of the line before it.

    Why: a run log is append-only evidence. Each line's `prev` is the SHA-256 of the previous
    line (its bytes, without the newline) and `seq` counts lines from 0, so an edit to an
    earlier line, a deleted line or lines spliced in from another log breaks the chain at
    the first line after it. Fix the log by restoring it from git, never by recomputing the
    hashes: the finding means the record no longer shows what was done. The last line has no
    successor to carry its hash, so an edit to it shows only in git history.

    Bad:

    ```yaml
    # line 1 was edited after line 2 was written: line 2's prev no longer matches it
    {"seq": 1, "at": "2026-11-22T02:19:40+01:00", "run": "2026-11-22-queue-stuck-1", "card": "queue-stuck", "actor": "alice", "event": "note", "text": "paused", "prev": "0000000000000000000000000000000000000000000000000000000000000000"}
    ```

    Good:

    ```yaml
    # prev is sha256 of line 1 exactly as it is in the file
    {"seq": 1, "at": "2026-11-22T02:19:40+01:00", "run": "2026-11-22-queue-stuck-1", "card": "queue-stuck", "actor": "alice", "event": "note", "text": "paused", "prev": "5d41402abc4b2a76b9719d911017c5925d41402abc4b2a76b9719d911017c592"}
    ```
    """  # noqa: E501

    code = "KB802"
    name = "run/hash-chain-broken"
    level = Level.ERROR

    def check(self, ctx, options):
        for log in ctx.kb.runs:
            for line, message, key in chain_breaks(log):
                yield log.finding(line, message, key)
