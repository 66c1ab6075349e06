from kb.core.diagnostics import Finding, Level
from kb.rules.base import DocumentRule


class UnknownRotation(DocumentRule):
    """A card names a rotation that oncall.yaml does not define.

    Why: the rotation is who gets paged and who must be able to execute every step. A card
    whose rotation does not exist cannot be checked for access and pages nobody.

    Bad:

    ```yaml
    rotation: sre-primery
    ```

    Good:

    ```yaml
    rotation: sre-primary   # defined under rotations: in oncall.yaml
    ```
    """

    code = "KB130"
    name = "ref/unknown-rotation"
    level = Level.ERROR
    documents = ("cards",)

    def check_document(self, ctx, doc, options):
        if ctx.oncall is not None and ctx.oncall.model is None:
            return  # oncall.yaml itself is broken; its own diagnostics say why
        rotations = ctx.oncall.model.rotations if ctx.oncall is not None else {}
        if doc.model.rotation in rotations:
            return
        if ctx.oncall is None:
            message = f"rotation '{doc.model.rotation}' cannot resolve: there is no {ctx.settings.oncall}"
        else:
            known = ", ".join(sorted(rotations)) or "none"
            message = f"rotation '{doc.model.rotation}' is not in {ctx.settings.oncall} (rotations: {known})"
        yield Finding(doc.path, message, loc=("rotation",))
