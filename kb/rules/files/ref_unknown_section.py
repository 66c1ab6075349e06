import difflib

from kb.analysis.anchors import anchors_of_file
from kb.core.diagnostics import Finding, Level
from kb.rules.base import DocumentRule


class UnknownSection(DocumentRule):
    """A card links a section anchor that the reference page does not have.

    Why: a reference is linked by exact section so the engineer lands on the paragraph
    that matters, not the top of a long page. The anchor is computed the way the site's
    table of contents computes it (Python-Markdown's toc, with mkdocs.yml's toc options),
    so a renamed heading breaks the check before it breaks the link.

    Bad:

    ```yaml
    references:
      - path: references/prompt-deploys.md
        section: Rolling back a prompt
    ```

    Good:

    ```yaml
    references:
      - path: references/prompt-deploys.md
        section: rolling-back-a-prompt
    ```
    """

    code = "KB134"
    name = "ref/unknown-section"
    level = Level.ERROR
    documents = ("cards",)

    def check_document(self, ctx, doc, options):
        for index, ref in enumerate(doc.model.references):
            if not ref.section:
                continue
            target = ctx.inside(ref.path)
            if target is None or not target.is_file() or target.suffix.lower() != ".md":
                continue  # KB133 reports the file
            anchors = anchors_of_file(target, ctx.config.markdown_extensions)
            if ref.section in anchors:
                continue
            close = difflib.get_close_matches(ref.section.lower().replace(" ", "-"), anchors, n=1, cutoff=0.5)
            hint = (
                f" (did you mean '{close[0]}'?)" if close else f" (it has: {', '.join(anchors[:8]) or 'no headings'})"
            )
            yield Finding(
                doc.path, f"'{ref.path}' has no section '{ref.section}'{hint}", loc=("references", index, "section")
            )
