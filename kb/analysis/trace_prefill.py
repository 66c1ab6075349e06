"""From a trace to the postmortem's fields: the model-inference row, the telemetry block and
the timeline, as plain values `kb new postmortem` writes into the template.

The result is a `Prefill` of postmortem fields, whatever it was read from: `--from-trace`
builds it from OpenTelemetry spans here; another source (a run log) can build the same
shape and go through the same writer. Only what the trace states is filled: no failure
mode, no inferred/expected, no detection time is guessed.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from typing import Any

from kb.analysis.otel import Span, TraceExport, TraceProblem, as_text
from kb.model.semconv import SCHEMA_URL

INFERENCE_OPERATIONS = ("chat", "generate_content", "text_completion", "embeddings")
AGENT_OPERATIONS = ("invoke_agent", "create_agent", "invoke_workflow")
TOOL_OPERATIONS = ("execute_tool",)
# Cost is in no GenAI semantic convention; these are names instrumentations use for it (USD).
COST_ATTRIBUTES = ("gen_ai.usage.cost", "gen_ai.cost.usd", "cost_usd")
USAGE = (
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_creation.input_tokens",
)
DEPRECATED_USAGE = {
    "gen_ai.usage.prompt_tokens": "gen_ai.usage.input_tokens",
    "gen_ai.usage.completion_tokens": "gen_ai.usage.output_tokens",
}


@dataclass
class Prefill:
    """Postmortem fields to write, and what the reader should know about them."""

    started_at: dt.datetime | None = None
    model_inference: dict[str, Any] = field(default_factory=dict)
    telemetry: dict[str, Any] = field(default_factory=dict)
    timeline: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def is_gen_ai(span: Span) -> bool:
    return any(key.startswith("gen_ai.") for key in span.attributes)


def operation(span: Span) -> str:
    value = span.attributes.get("gen_ai.operation.name")
    if isinstance(value, str) and value:
        return value
    first = span.name.split(" ", 1)[0]  # span names are `{operation} {model or tool or agent}`
    return first if first in INFERENCE_OPERATIONS + AGENT_OPERATIONS + TOOL_OPERATIONS else ""


def provider(span: Span) -> str | None:
    value = span.attributes.get("gen_ai.provider.name") or span.attributes.get("gen_ai.system")  # deprecated name
    return _text(value) if value else None


def choose_trace(export: TraceExport, trace_id: str | None) -> list[Span]:
    """The spans of the one trace with GenAI spans (or the one asked for)."""
    by_trace: dict[str, list[Span]] = {}
    for span in export.spans:
        by_trace.setdefault(span.trace_id, []).append(span)
    if trace_id is not None:
        wanted = trace_id.strip().lower()
        if wanted not in by_trace:
            raise TraceProblem(f"{export.path}: no trace {trace_id} (traces: {', '.join(sorted(by_trace))})")
        if not any(is_gen_ai(s) for s in by_trace[wanted]):
            raise TraceProblem(f"{export.path}: trace {trace_id} has no GenAI spans (no gen_ai.* attributes)")
        return by_trace[wanted]
    with_gen_ai = {t: spans for t, spans in by_trace.items() if any(is_gen_ai(s) for s in spans)}
    if not with_gen_ai:
        raise TraceProblem(
            f"{export.path}: no GenAI spans: none of its {len(export.spans)} spans has a gen_ai.* attribute, "
            "so there is no agent, model or tool call to read"
        )
    if len(with_gen_ai) > 1:
        raise TraceProblem(
            f"{export.path}: {len(with_gen_ai)} traces have GenAI spans; choose one with --trace-id "
            f"({', '.join(sorted(with_gen_ai))})"
        )
    return next(iter(with_gen_ai.values()))


def failing_span(spans: list[Span]) -> Span | None:
    """The step that went wrong: the earliest errored span none of whose children errored
    (an error propagates to the parents; the deepest one is where it happened)."""
    errored = [s for s in spans if s.is_error]
    parents_of_errors = {s.parent_span_id for s in errored if s.parent_span_id}
    deepest = [s for s in errored if s.span_id not in parents_of_errors]
    return min(deepest, key=lambda s: (s.start_ns, s.span_id)) if deepest else None


def tool_of(failing: Span, spans: list[Span]) -> str | None:
    """The tool of the failing step: its own gen_ai.tool.name, or that of the nearest tool
    span above it (an HTTP or database span failing inside a tool call)."""
    by_id = {s.span_id: s for s in spans}
    current: Span | None = failing
    seen: set[str] = set()
    while current is not None and current.span_id not in seen:
        seen.add(current.span_id)
        name = _text(current.attributes.get("gen_ai.tool.name"))
        if name:
            return name
        current = by_id.get(current.parent_span_id or "")
    return None


def _distinct(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    for item in items:
        if any(item.values()) and item not in seen:
            seen.append(item)
    return seen


def _same(values: list[Any]) -> Any:
    """The one value every span agrees on; None when they differ or none says."""
    present = [v for v in values if v is not None]
    return present[0] if present and all(v == present[0] for v in present) else None


def prefill_from_trace(export: TraceExport, trace_id: str | None = None) -> Prefill:
    spans = sorted(choose_trace(export, trace_id), key=lambda s: (s.start_ns, s.span_id))
    gen_ai = [s for s in spans if is_gen_ai(s)]
    inference = [s for s in gen_ai if operation(s) in INFERENCE_OPERATIONS]
    agents_spans = [s for s in gen_ai if operation(s) in AGENT_OPERATIONS]
    failing = failing_span(spans)
    prefill = Prefill(started_at=spans[0].start)
    if export.converted_base64_ids:
        prefill.notes.append("ids were base64 (protobuf's JSON), not OTLP/JSON hex: kb converted them")

    agents = _distinct(
        [
            {
                "name": _text(s.attributes.get("gen_ai.agent.name")),
                "version": _text(s.attributes.get("gen_ai.agent.version")),
            }
            for s in agents_spans + inference
            if s.attributes.get("gen_ai.agent.name")
        ]
    )
    models = _distinct(
        [
            {
                "provider": provider(s),
                "requested": _text(s.attributes.get("gen_ai.request.model")),
                "served": _text(s.attributes.get("gen_ai.response.model")),
            }
            for s in inference
        ]
    )
    row: dict[str, Any] = {"involved": True, "why_not": None, "trace_id": spans[0].trace_id}
    if len(agents) == 1:
        row["agent"] = agents[0]
    elif agents:
        row["agents"] = agents
    if len(models) == 1:
        row["model"] = models[0]
    elif models:
        row["models"] = models
    sampling = {
        "temperature": _same([_number(s.attributes.get("gen_ai.request.temperature")) for s in inference]),
        "top_p": _same([_number(s.attributes.get("gen_ai.request.top_p")) for s in inference]),
        "seed": _same([_integer(s.attributes.get("gen_ai.request.seed")) for s in inference]),
    }
    if any(v is not None for v in sampling.values()):
        row["sampling"] = sampling
    tool = tool_of(failing, spans) if failing is not None else None
    if failing is not None:
        row["span_id"] = failing.span_id
        if tool:
            row["tool"] = tool
    else:
        prefill.notes.append("no span has status error or error.type: span_id is left for you to choose")
    prefill.model_inference = row
    prefill.telemetry = _telemetry(spans, gen_ai, inference, agents_spans, failing, models, agents)
    if tool:
        prefill.telemetry["gen_ai.tool.name"] = tool
    prefill.timeline = _timeline(spans, gen_ai)
    return prefill


def _text(value: Any) -> str | None:
    """A name as text: an instrumentation may record a number or a list where a string belongs."""
    if value is None or value == "":
        return None
    if isinstance(value, list) and not any(isinstance(v, (dict, list)) for v in value):
        return defused(", ".join(as_text(v) for v in value))  # several names (an instrumentation's array)
    return defused(as_text(value))


def defused(text: str) -> str:
    """Text from a trace is data: kb's suppression comments are matched in the raw file, so a
    value carrying `kb: ignore[...]` must not be written as one."""
    return SUPPRESSION.sub("kb ignore", text)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None  # NaN or infinity written by a broken instrumentation is not a setting
    return value


def _integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _telemetry(spans, gen_ai, inference, agents_spans, failing, models, agents) -> dict[str, Any]:
    block: dict[str, Any] = {"trace_id": spans[0].trace_id}
    if failing is not None:
        block["span_id"] = failing.span_id
    block["schema_url"] = SCHEMA_URL
    providers = {m["provider"] for m in models if m.get("provider")}
    if len(providers) == 1:
        block["gen_ai.provider.name"] = providers.pop()
    if len(agents) == 1:
        block["gen_ai.agent.name"] = agents[0]["name"]
        if agents[0].get("version"):
            block["gen_ai.agent.version"] = agents[0]["version"]
    if len(models) == 1:
        for key, attr in (("requested", "gen_ai.request.model"), ("served", "gen_ai.response.model")):
            if models[0].get(key):
                block[attr] = models[0][key]
    # token usage: summed over the inference spans (an agent span's own usage repeats theirs)
    counted = inference or agents_spans
    for attr in USAGE:
        values = [_usage(s, attr) for s in counted]
        if any(v is not None for v in values):
            block[attr] = sum(v for v in values if v is not None)
    costs = [_cost(s) for s in counted]
    if any(c is not None for c in costs):
        block["cost_usd"] = round(sum(c for c in costs if c is not None), 6)
    if failing is not None:
        if operation(failing):
            block["gen_ai.operation.name"] = _text(operation(failing))
        error_type = failing.attributes.get("error.type") or _exception_type(failing)
        if error_type:
            block["error.type"] = _text(error_type)
    return block


def _usage(span: Span, attr: str) -> int | None:
    value = span.attributes.get(attr)
    if value is None:
        value = next(
            (span.attributes[k] for k, v in DEPRECATED_USAGE.items() if v == attr and k in span.attributes), None
        )
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _cost(span: Span) -> float | None:
    for attr in COST_ATTRIBUTES:
        value = _number(span.attributes.get(attr))
        if value is not None and value >= 0:
            return float(value)
    return None


def _exception_type(span: Span) -> str | None:
    for event in span.events:
        if event.name == "exception" and event.attributes.get("exception.type"):
            return as_text(event.attributes["exception.type"])
    return None


def _describe(span: Span) -> tuple[str, str]:
    """(actor, event) of one GenAI span as a timeline row (every value as OpenTelemetry renders it)."""
    op = operation(span)
    a = {key: _text(value) for key, value in span.attributes.items()}
    if op in TOOL_OPERATIONS or a.get("gen_ai.tool.name"):
        call = f" (call {a['gen_ai.tool.call.id']})" if a.get("gen_ai.tool.call.id") else ""
        return "agent", f"Tool call {a.get('gen_ai.tool.name') or span.name}{call}"
    if op in AGENT_OPERATIONS:
        who = a.get("gen_ai.agent.name") or span.name
        version = f" {a['gen_ai.agent.version']}" if a.get("gen_ai.agent.version") else ""
        return "agent", f"Agent {who}{version}: {op}"
    model = a.get("gen_ai.response.model") or a.get("gen_ai.request.model") or "model"
    raw = span.attributes
    tokens = [
        f"{label} {raw[attr]}"
        for label, attr in (("in", "gen_ai.usage.input_tokens"), ("out", "gen_ai.usage.output_tokens"))
        if isinstance(raw.get(attr), int)
    ]
    finish = raw.get("gen_ai.response.finish_reasons")
    finish_text = f", finish {', '.join(map(as_text, finish))}" if isinstance(finish, list) and finish else ""
    usage = f" ({', '.join(tokens)} tokens{finish_text})" if tokens else ""
    return "agent", f"Agent step: {op or span.name} {model}{usage}"


SUPPRESSION = re.compile(r"kb\s*:\s*ignore", re.IGNORECASE)
MAX_EVENT_CHARS = 300  # a span name or status message can be any length; a timeline row is one line


def _short(text: str) -> str:
    text = defused(" ".join(text.split()))
    return text if len(text) <= MAX_EVENT_CHARS else text[: MAX_EVENT_CHARS - 1] + "…"


def _timeline(spans: list[Span], gen_ai: list[Span]) -> list[dict[str, Any]]:
    """One row per GenAI span (agent step, model call, tool call) at its start, and one per
    error where it happened (the deepest errored span: its parents only pass it on)."""
    rows: list[tuple[int, int, str, dict[str, Any]]] = []
    for span in gen_ai:
        actor, event = _describe(span)
        rows.append((span.start_ns, 0, span.span_id, {"at": span.start, "actor": actor, "event": _short(event)}))
    errored = [s for s in spans if s.is_error]
    passed_on = {s.parent_span_id for s in errored if s.parent_span_id}
    for span in errored:
        if span.span_id in passed_on:
            continue
        what = _text(span.attributes.get("error.type")) or _exception_type(span) or "error"
        message = f": {span.status_message}" if span.status_message else ""
        event = f"Error {what} in {span.name} (span {span.span_id}){message}"
        rows.append((span.end_ns, 1, span.span_id, {"at": span.end, "actor": "system", "event": _short(event)}))
    return [row for *_, row in sorted(rows, key=lambda r: r[:3])]
