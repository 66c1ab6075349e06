from kb.core.diagnostics import Finding, Level
from kb.rules.base import DocumentRule


class MissingReferenceFile(DocumentRule):
    """A card links a reference file that does not exist or lies outside the knowledge base.

    Why: cards link deep references instead of copying them; a link to a moved or
    misspelt file leaves the engineer with no reference at all, and a path that climbs out
    of the KB (`../`) would publish or read files nobody reviewed.

    Bad:

    ```yaml
    references:
      - path: references/prompt-deploy.md
    ```

    Good:

    ```yaml
    references:
      - path: references/prompt-deploys.md
        section: rolling-back-a-prompt
    ```
    """

    code = "KB133"
    name = "ref/missing-reference-file"
    level = Level.ERROR
    documents = ("cards",)

    def check_document(self, ctx, doc, options):
        for index, ref in enumerate(doc.model.references):
            target = ctx.inside(ref.path)
            if target is None:
                yield Finding(
                    doc.path,
                    f"reference path '{ref.path}' leaves the knowledge base; use a path relative to the KB root",
                    loc=("references", index, "path"),
                )
            elif not target.is_file():
                yield Finding(
                    doc.path, f"reference file '{ref.path}' does not exist", loc=("references", index, "path")
                )
            elif target.suffix.lower() != ".md":
                yield Finding(
                    doc.path, f"reference '{ref.path}' is not a Markdown page (.md)", loc=("references", index, "path")
                )
