"""cards/<id>.yaml: a runbook recipe card."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, WithJsonSchema

from kb.model.bulk import Bulk
from kb.model.common import AlertName, Bool, Date, Id, Permission, PostmortemId, Priority, Strict, Text

Approval = Literal["none", "second-person", "incident-commander"]


def _step_schema(schema: dict) -> None:
    schema.setdefault("required", []).append("done_when")


class Step(Strict):
    model_config = ConfigDict(json_schema_extra=_step_schema)

    id: Id = Field(description="Unique within the card; links and diagnostics name it.")
    do: Text = Field(description="One imperative action.")
    run: str | None = Field(None, description="The command to run, ready to copy.")
    requires: list[Permission] = Field(
        default_factory=list, description="Permissions (system:action[:scope]) the step needs."
    )
    irreversible: Bool = Field(False, description="True when the step cannot be undone.")
    approval: Approval | None = Field(None, description="Who approves an irreversible step.")
    worklist: str | None = Field(None, description="The query that enumerates the items a broad step covers.")
    # KB201 (a rule, so it can be configured) reports a step without done_when; the schema
    # requires it too so that the editor and kb check agree (issue #15)
    done_when: Annotated[
        str | None,
        WithJsonSchema({"type": "string", "minLength": 1}),
    ] = Field(None, description="Observable criterion that the step is done (kb check KB201).")


class Triggers(Strict):
    alerts: list[AlertName] = Field(default_factory=list, description="Alert names that page to this card.")
    symptoms: list[Text] = Field(default_factory=list, description="What a person notices.")


class ReferenceLink(Strict):
    path: Text = Field(description="A Markdown file under references/, relative to the KB root.")
    section: str | None = Field(None, description="The heading's anchor as the site renders it.")


class Card(Bulk):
    id: Id = Field(description="Equal to the file's stem.")
    title: Text
    summary: Text
    owner: Text = Field(description="Team that keeps the card true.")
    rotation: Text = Field(description="The rotation in oncall.yaml that executes the card when paged.")
    priority: Priority
    services: list[Text] = Field(default_factory=list, description="Services the card is about (site indexes).")
    triggers: Triggers = Field(default_factory=Triggers)
    steps: list[Step] = Field(min_length=1)
    rollback: list[Step] = Field(default_factory=list, description="How to undo this card's changes.")
    references: list[ReferenceLink] = Field(default_factory=list)
    postmortems: list[PostmortemId] = Field(default_factory=list)
    last_verified: Date | None = Field(None, description="Someone walked the card against the live system.")
    last_drilled: Date | None = Field(None, description="Someone executed the card in a drill.")

    def all_steps(self) -> list[tuple[str, int, Step]]:
        """Steps and rollback steps with the YAML path segment that holds them."""
        return [("steps", i, s) for i, s in enumerate(self.steps)] + [
            ("rollback", i, s) for i, s in enumerate(self.rollback)
        ]
