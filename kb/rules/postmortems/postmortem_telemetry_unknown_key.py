from kb.core.diagnostics import Finding, Level
from kb.model.semconv import DEPRECATED, KB_KEYS, PINNED_NAMESPACES, REGISTRY, SEMCONV_VERSION, closest
from kb.rules.base import DocumentRule


class TelemetryUnknownKey(DocumentRule):
    """A telemetry key is not an attribute of the semantic conventions kb pins, or is deprecated there.

    Why: the telemetry block is how a postmortem joins the traces, dashboards and cost
    reports that use the same OpenTelemetry names; a key spelled `gen_ai.request.modle`
    or `input_tokens` joins nothing. kb pins the GenAI semantic conventions of release
    1.41.1 (schema URL https://opentelemetry.io/schemas/1.41.1): under the namespaces it
    covers (`gen_ai.`, `openai.`, `error.`) every key must be in its registry; a key
    elsewhere is flagged only when it looks like a registry name. A deprecated name
    (`gen_ai.system`) is reported with its replacement (`gen_ai.provider.name`).

    Bad:

    ```yaml
    telemetry:
      gen_ai.request.modle: claude-x
      input_tokens: 48200
      gen_ai.system: anthropic
    ```

    Good:

    ```yaml
    telemetry:
      gen_ai.request.model: claude-x
      gen_ai.usage.input_tokens: 48200
      gen_ai.provider.name: anthropic
    ```
    """

    code = "KB413"
    name = "postmortem/telemetry-unknown-key"
    level = Level.WARNING
    documents = ("postmortems",)

    def check_document(self, ctx, doc, options):
        telemetry = doc.model.telemetry
        if telemetry is None:
            return
        fields = type(telemetry).model_fields
        keys = [fields[name].alias or name for name in telemetry.model_fields_set if name in fields]
        for key in keys + list(telemetry.model_extra or {}):
            if not isinstance(key, str) or key in REGISTRY or key in KB_KEYS:
                continue
            loc = ("telemetry", key)
            if key in DEPRECATED:
                replacement = DEPRECATED[key]
                yield Finding(
                    doc.path,
                    f"telemetry key {key} is deprecated in semantic conventions {SEMCONV_VERSION}: "
                    + (f"use {replacement}" if replacement else "it was removed without a replacement"),
                    loc=loc,
                    at="key",
                )
                continue
            guess = closest(key)
            if key.startswith(PINNED_NAMESPACES) or guess is not None:
                hint = f" (did you mean '{guess}'?)" if guess else ""
                yield Finding(
                    doc.path,
                    f"telemetry key {key} is not in the GenAI semantic conventions {SEMCONV_VERSION}{hint}",
                    loc=loc,
                    at="key",
                )
