from pydantic import BaseModel, ConfigDict

from kb.core.diagnostics import Finding, Level
from kb.rules.base import DocumentRule


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    needs_24x7: list[str] = ["P1"]


class CoverageBelowPriority(DocumentRule):
    """A card's priority needs 24x7 coverage but its rotation covers business hours only.

    Why: a P1 means roll back at once; a rotation that is not paged at night cannot. The
    priorities that need 24x7 are the option `needs_24x7` (default: P1).

    Bad:

    ```yaml
    priority: P1
    rotation: finops-daytime   # coverage: business
    ```

    Good:

    ```yaml
    priority: P1
    rotation: sre-primary      # coverage: 24x7
    ```
    """

    code = "KB306"
    name = "rotation/coverage-below-priority"
    level = Level.ERROR
    documents = ("cards",)
    Options = Options

    def check_document(self, ctx, doc, options):
        access = ctx.access()
        if access is None:
            return
        if doc.model.priority not in options.needs_24x7:
            return
        rotation = access.oncall.rotations.get(doc.model.rotation)
        if rotation is not None and rotation.coverage != "24x7":
            yield Finding(
                doc.path,
                f"a {doc.model.priority} card needs a 24x7 rotation; {doc.model.rotation} "
                f"covers {rotation.coverage} hours only",
                loc=("rotation",),
            )
