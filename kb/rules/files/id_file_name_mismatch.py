from pathlib import PurePosixPath

from kb.core.diagnostics import Finding, Level
from kb.model import Card
from kb.rules.base import DocumentRule


class IdFileNameMismatch(DocumentRule):
    """A card's id differs from its file name, or a postmortem's file does not start with its id.

    Why: the site publishes a card at `cards/<id>/` and alert rules link that address, and
    people open `cards/<id>.yaml` from the router. If the id and the file disagree, one of
    the two links is dead.

    Bad:

    ```yaml
    # cards/queue-stuck.yaml
    id: stuck-queue
    ```

    Good:

    ```yaml
    # cards/queue-stuck.yaml
    id: queue-stuck
    ```
    """

    code = "KB120"
    name = "id/file-name-mismatch"
    level = Level.ERROR
    documents = ("cards", "postmortems")

    def check_document(self, ctx, doc, options):
        stem = PurePosixPath(doc.path).stem
        if isinstance(doc.model, Card):
            if doc.model.id != stem:
                yield Finding(
                    doc.path,
                    f"id '{doc.model.id}' differs from the file name '{stem}'; "
                    f"rename the file to {doc.model.id}.yaml or set id: {stem}",
                    loc=("id",),
                )
        elif stem != doc.model.id and not stem.startswith(doc.model.id + "-"):
            yield Finding(
                doc.path,
                f"the file name must start with the id '{doc.model.id}' (e.g. {doc.model.id}-short-title.yaml)",
                loc=("id",),
            )
