"""The OpenTelemetry semantic conventions kb reads telemetry by: one pinned version.

The GenAI conventions are in development and moved to their own repository
(open-telemetry/semantic-conventions-genai), which has made no release yet; semantic
conventions 1.42.0 deprecated every `gen_ai.*` name in the core repository as "moved".
kb therefore pins the last core release that defined them, 1.41.1, and records its schema
URL in every telemetry block it writes. The names below are the attribute ids of
model/gen-ai/registry.yaml, model/openai/registry.yaml, model/error/registry.yaml and the
deprecated GenAI registry at tag v1.41.1 (names only; see README, "Telemetry").
"""

from __future__ import annotations

import difflib

SEMCONV_VERSION = "1.41.1"
SCHEMA_URL = f"https://opentelemetry.io/schemas/{SEMCONV_VERSION}"

GEN_AI_ATTRIBUTES = frozenset(
    {
        "gen_ai.agent.description",
        "gen_ai.agent.id",
        "gen_ai.agent.name",
        "gen_ai.agent.version",
        "gen_ai.conversation.id",
        "gen_ai.data_source.id",
        "gen_ai.embeddings.dimension.count",
        "gen_ai.evaluation.explanation",
        "gen_ai.evaluation.name",
        "gen_ai.evaluation.score.label",
        "gen_ai.evaluation.score.value",
        "gen_ai.input.messages",
        "gen_ai.operation.name",
        "gen_ai.output.messages",
        "gen_ai.output.type",
        "gen_ai.prompt.name",
        "gen_ai.provider.name",
        "gen_ai.request.choice.count",
        "gen_ai.request.encoding_formats",
        "gen_ai.request.frequency_penalty",
        "gen_ai.request.max_tokens",
        "gen_ai.request.model",
        "gen_ai.request.presence_penalty",
        "gen_ai.request.seed",
        "gen_ai.request.stop_sequences",
        "gen_ai.request.stream",
        "gen_ai.request.temperature",
        "gen_ai.request.top_k",
        "gen_ai.request.top_p",
        "gen_ai.response.finish_reasons",
        "gen_ai.response.id",
        "gen_ai.response.model",
        "gen_ai.response.time_to_first_chunk",
        "gen_ai.retrieval.documents",
        "gen_ai.retrieval.query.text",
        "gen_ai.system_instructions",
        "gen_ai.token.type",
        "gen_ai.tool.call.arguments",
        "gen_ai.tool.call.id",
        "gen_ai.tool.call.result",
        "gen_ai.tool.definitions",
        "gen_ai.tool.description",
        "gen_ai.tool.name",
        "gen_ai.tool.type",
        "gen_ai.usage.cache_creation.input_tokens",
        "gen_ai.usage.cache_read.input_tokens",
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.output_tokens",
        "gen_ai.usage.reasoning.output_tokens",
        "gen_ai.workflow.name",
    }
)
OTHER_ATTRIBUTES = frozenset(
    {
        "error.type",
        "openai.api.type",
        "openai.request.service_tier",
        "openai.response.service_tier",
        "openai.response.system_fingerprint",
    }
)
# Deprecated name -> its replacement (None: removed without one).
DEPRECATED: dict[str, str | None] = {
    "gen_ai.system": "gen_ai.provider.name",
    "gen_ai.usage.prompt_tokens": "gen_ai.usage.input_tokens",
    "gen_ai.usage.completion_tokens": "gen_ai.usage.output_tokens",
    "gen_ai.openai.request.seed": "gen_ai.request.seed",
    "gen_ai.openai.request.response_format": "gen_ai.output.type",
    "gen_ai.openai.request.service_tier": "openai.request.service_tier",
    "gen_ai.openai.response.service_tier": "openai.response.service_tier",
    "gen_ai.openai.response.system_fingerprint": "openai.response.system_fingerprint",
    "gen_ai.prompt": None,
    "gen_ai.completion": None,
}
REGISTRY = GEN_AI_ATTRIBUTES | OTHER_ATTRIBUTES
# Namespaces this pin covers: a name under them that the registry lacks is a mistake.
PINNED_NAMESPACES = ("gen_ai.", "openai.", "error.")
# Keys of the telemetry block that are kb's own, not attribute names.
KB_KEYS = frozenset({"trace_id", "span_id", "schema_url", "cost_usd"})


def closest(name: str) -> str | None:
    """The registry name a mistyped one most likely meant."""
    candidates = sorted(REGISTRY | KB_KEYS)
    for cutoff in (0.8, 0.6):
        match = difflib.get_close_matches(name, candidates, n=1, cutoff=cutoff)
        if match:
            return match[0]
    # `input_tokens` for `gen_ai.usage.input_tokens`: a bare last segment
    tails = [c for c in candidates if c.rsplit(".", 1)[-1] == name]
    return tails[0] if len(tails) == 1 else None
