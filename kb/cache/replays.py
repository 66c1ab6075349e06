"""Which promtool replays (KB605) passed in earlier checks, by content.

A replay suite is one postmortem's alert group and its tests; its key is a digest of both
and of the promtool binary (kb.rules.alerting.emit_replay_fails.suite_key). A suite whose
key passed before is not run again: an edited card or postmortem costs one promtool test,
not one per postmortem. Only passes are kept (a failure is always run again and reported
from promtool's own output), and only the keys used by the latest check, so the entry stays
the size of the knowledge base. A damaged entry is an empty one: every suite runs.
"""

from __future__ import annotations

import re
from pathlib import Path

from kb.cache import store

ENTRY = "replays-passed.json"
_KEY = re.compile(r"[0-9a-f]{32}\Z")


class PassedReplays:
    """kb.rules.context.ReplayMemo over the cache folder of the knowledge base at `root`."""

    def __init__(self, root: Path):
        self.root = root
        entry = store.read(root, ENTRY) or {}
        keys = entry.get("passed")
        self.previous: set[str] = (
            {k for k in keys if isinstance(k, str) and _KEY.match(k)} if isinstance(keys, list) else set()
        )
        self.kept: set[str] = set()
        self.asked = False  # KB605 ran: its keys replace the entry's (else the entry stays)

    def passed(self, key: str) -> bool:
        self.asked = True
        return key in self.previous

    def keep(self, key: str) -> None:
        self.kept.add(key)

    def save(self) -> None:
        """The passes of this check, when KB605 ran and they differ from the entry's."""
        if self.asked and self.kept != self.previous:
            store.write(self.root, ENTRY, {"passed": sorted(self.kept)})
