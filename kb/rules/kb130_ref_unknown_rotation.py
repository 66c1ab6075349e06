from kb.diagnostics import Finding, Level
from kb.rules import Rule, register


@register
class UnknownRotation(Rule):
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
    scope = "document"

    def check(self, kb, options):
        if kb.oncall is not None and kb.oncall.model is None:
            return  # oncall.yaml itself is broken; its own diagnostics say why
        rotations = kb.oncall.model.rotations if kb.oncall is not None else {}
        for doc in kb.cards:
            if doc.model is None or doc.model.rotation in rotations:
                continue
            if kb.oncall is None:
                message = f"rotation '{doc.model.rotation}' cannot resolve: there is no {kb.settings.oncall}"
            else:
                known = ", ".join(sorted(rotations)) or "none"
                message = f"rotation '{doc.model.rotation}' is not in {kb.settings.oncall} (rotations: {known})"
            yield Finding(doc.path, message, loc=("rotation",))
