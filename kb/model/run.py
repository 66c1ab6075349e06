"""runs/<YYYY-MM-DD>-<card>-<n>.jsonl: one event of a run log written by `kb run`.

One JSON object per line, append-only. Each line carries `prev`, the SHA-256 (hex) of the
previous line's bytes without its newline, so an edit to an earlier line breaks the chain.
Fields an event kind needs are required here (a `done` without evidence is not a record);
what needs the card, oncall.yaml or the other lines (known steps, allowed approvers,
monotonic time) is for the rules in kb/rules/runs.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, NonNegativeInt, model_validator

from kb.model.common import Id, Name, Strict, Text, Timestamp

EventKind = Literal["start", "done", "skipped", "failed", "approved", "item", "note", "end"]
Outcome = Literal["mitigated", "abandoned", "escalated"]
RUN_ID_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}-[a-z0-9][a-z0-9-]*-[1-9][0-9]*$"
SHA256_PATTERN = r"^[0-9a-f]{64}$"

# per event kind: the fields it must carry (besides the common ones), and those it may carry
REQUIRED: dict[str, tuple[str, ...]] = {
    "start": (),
    "done": ("step", "evidence"),
    "skipped": ("step", "why"),
    "failed": ("step", "why"),
    "approved": ("step", "approver"),
    "item": ("step", "item", "verdict"),
    "note": ("text",),
    "end": ("outcome",),
}
ALLOWED: dict[str, tuple[str, ...]] = {
    "start": ("drill",),
    "done": (),
    "skipped": (),
    "failed": (),
    "approved": (),
    "item": (),
    "note": ("step", "update"),
    "end": ("why",),
}
OPTIONAL_FIELDS = ("drill", "step", "evidence", "why", "approver", "item", "verdict", "text", "update", "outcome")


class RunEvent(Strict):
    # validated from the line's JSON in strict mode: `seq` is a JSON integer, `drill` a JSON
    # boolean, `at` an ISO 8601 string (never a Unix time), text is text
    model_config = ConfigDict(extra="forbid", strict=True)

    seq: NonNegativeInt = Field(description="0 for the first line, then +1 per line.")
    at: Timestamp = Field(description="When it happened, ISO 8601 with an offset.")
    run: str = Field(pattern=RUN_ID_PATTERN, description="The run id: the file's stem, <YYYY-MM-DD>-<card>-<n>.")
    card: Id = Field(description="The card being executed.")
    actor: Name = Field(description="The person in oncall.yaml who recorded the event.")
    event: EventKind
    prev: str | None = Field(
        pattern=SHA256_PATTERN, description="SHA-256 of the previous line (without its newline); null on line 0."
    )
    drill: bool | None = Field(None, description="start: true when the run is a drill.")
    step: Id | None = Field(None, description="The card's step (or rollback step) the event is about.")
    evidence: Text | None = Field(None, description="done: what shows the step's done_when holds.")
    why: Text | None = Field(None, description="skipped, failed: why.")
    approver: Name | None = Field(
        None, description="approved: a person allowed to approve the step (KB309's rule), not the runner."
    )
    item: Text | None = Field(None, description="item: one item the worklist query returned.")
    verdict: Text | None = Field(None, description="item: what was found or done for it (ok, failed, n/a ...).")
    text: Text | None = Field(None, description="note: free text.")
    update: bool | None = Field(None, description="note: true when the note is a status update posted to users.")
    outcome: Outcome | None = Field(None, description="end: mitigated | abandoned | escalated.")

    @model_validator(mode="after")
    def _fields_of_kind(self) -> RunEvent:
        needed = REQUIRED[self.event]
        missing = [name for name in needed if getattr(self, name) is None]
        if missing:
            raise ValueError(f"a '{self.event}' event needs {', '.join(missing)}")
        stray = [
            name
            for name in OPTIONAL_FIELDS
            if getattr(self, name) is not None and name not in needed and name not in ALLOWED[self.event]
        ]
        if stray:
            raise ValueError(f"a '{self.event}' event does not carry {', '.join(stray)}")
        return self
