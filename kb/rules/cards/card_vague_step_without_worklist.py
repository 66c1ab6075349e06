import re

from pydantic import BaseModel, ConfigDict

from kb.core.diagnostics import Finding, Level
from kb.rules.base import DocumentRule


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verbs: list[str] = [
        "verify",
        "check",
        "ensure",
        "make sure",
        "confirm",
        "look at",
        "review",
        "validate",
        "inspect",
        "audit",
        "go through",
    ]
    quantifiers: list[str] = [
        "all",
        "every",
        "each",
        "any",
        "everything",
        "anything",
        "everyone",
        "remaining",
        "affected",
        "whole",
        "entire",
    ]


_NOT_PLURAL = {"status", "this", "its", "is", "was", "has", "does", "access", "process", "progress", "always"}
_ARTICLES = {"the", "a", "an", "that", "this", "these", "those", "our", "their", "its"}
# A word that ends the object phrase. After a clause verb the step states one proposition
# ("the log has no gap"): bounded. After a preposition the set is still open ("the outputs
# from the last hour").
_CLAUSE_VERBS = {
    "is",
    "are",
    "was",
    "were",
    "has",
    "have",
    "had",
    "come",
    "comes",
    "show",
    "shows",
    "match",
    "matches",
    "look",
    "looks",
    "exist",
    "exists",
    "work",
    "works",
    "run",
    "runs",
    "serve",
    "serves",
    "hold",
    "holds",
    "stay",
    "stays",
    "contain",
    "contains",
    "return",
    "returns",
}
_PREPOSITIONS = {
    "from",
    "in",
    "on",
    "of",
    "for",
    "with",
    "to",
    "since",
    "after",
    "before",
    "across",
    "by",
    "and",
    "or",
    "against",
    "under",
    "over",
    "at",
    "until",
    "into",
}


def unbounded_object(rest: str, quantifiers: list[str]) -> bool:
    """True when what follows the verb is an open-ended set: 'all outputs', 'the tenants'."""
    words = re.findall(r"[a-z0-9'-]+", rest.lower())
    if not words:
        return True  # "Verify." verifies nothing in particular
    phrase: list[str] = []
    clause = False
    for word in words:
        if word in _CLAUSE_VERBS:
            clause = True
            break
        if word in _PREPOSITIONS:
            break
        phrase.append(word)
    if any(word in quantifiers for word in phrase):
        return True
    if clause:
        return False
    nouns = [w for w in phrase if w not in _ARTICLES]
    if not nouns or any(ch.isdigit() for ch in "".join(nouns)):
        return False
    head = nouns[-1]
    if head.endswith("'s"):
        return False
    return head.endswith("s") and not head.endswith("ss") and head not in _NOT_PLURAL


class VagueStepWithoutWorklist(DocumentRule):
    """A step led by a vague verb over an unbounded set has no `worklist` query.

    Why: "verify the outputs" or "check everything" has no end: a tired person checks
    three items and moves on, an agent loops or declares success. Name the query that
    enumerates the items (`worklist`) so the step has a finite list and a clear end. The
    verbs and quantifiers are rule options.

    Bad:

    ```yaml
    - id: verify
      do: Verify all the agent outputs from the last hour
      done_when: Outputs look right
    ```

    Good:

    ```yaml
    - id: verify
      do: Verify all the agent outputs from the last hour
      worklist: "kbx outputs --since 1h --status published"
      done_when: Every output in the worklist is marked ok or rolled back
    ```
    """

    code = "KB202"
    name = "card/vague-step-without-worklist"
    level = Level.ERROR
    documents = ("cards",)
    Options = Options

    def check_document(self, ctx, doc, options):
        verbs = sorted((v.lower() for v in options.verbs), key=len, reverse=True)
        for field, index, step in doc.model.all_steps():
            if step.worklist:
                continue
            text = step.do.strip().lower()
            for verb in verbs:
                if text == verb or text.startswith(verb + " "):
                    if unbounded_object(text[len(verb) :], options.quantifiers):
                        yield Finding(
                            doc.path,
                            f"step '{step.id}' says '{step.do.strip()}' over an open-ended "
                            "set: add a worklist query that enumerates the items",
                            loc=(field, index, "do"),
                        )
                    break
