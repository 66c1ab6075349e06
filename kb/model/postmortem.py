"""postmortems/<id>-<slug>.yaml: an incident, mechanism first."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from kb.model.bulk import Bulk
from kb.model.common import (
    AlertName,
    Bool,
    Date,
    Duration,
    Float,
    Id,
    IncidentTime,
    Int,
    PostmortemId,
    Priority,
    Strict,
    Text,
)
from kb.model.failure_modes import FailureMode

RootCauseCategory = Literal[
    "code",
    "config",
    "dependency",
    "capacity",
    "data",
    "process",
    "access",
    "adversarial_input",
    "model_inference",
    "unknown",
]
ReinforcementKind = Literal["alert", "gate", "test", "eval", "card", "task"]
# The kinds that change the system: a `task` is tracked work and never satisfies the gate alone.
MECHANISM_KINDS = ("alert", "gate", "test", "eval", "card")
ROOT_CAUSE_ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]*$"


class Detection(Strict):
    method: Literal["alert", "eval", "guardrail", "agent", "human", "customer", "third_party"]
    alert: AlertName | None = None
    note: str | None = None


class Share(Strict):
    """A share of something affected: "0.8% of requests to model X, 16% at the worst hour"."""

    of: Text = Field(description="What the share is of, with its scope: 'requests to Sonnet 4 on the API'.")
    value_percent: float | None = Field(None, ge=0, le=100, description="The share over the incident.")
    peak_percent: float | None = Field(None, ge=0, le=100, description="The share at the worst moment.")
    peak_at: IncidentTime | None = Field(None, description="When the peak was (a date when only the day is known).")
    approximate: bool = Field(False, description="The source gives the figure as approximate ('about 30%').")
    note: str | None = None

    @model_validator(mode="after")
    def _something_stated(self) -> Share:
        if self.value_percent is None and self.peak_percent is None:
            raise ValueError("a share needs value_percent or peak_percent")
        if self.value_percent is not None and self.peak_percent is not None and self.peak_percent < self.value_percent:
            raise ValueError(f"peak_percent {self.peak_percent:g} is below value_percent {self.value_percent:g}")
        return self


class Impact(Strict):
    users_affected: Int | None = Field(None, ge=0)
    duration_minutes: Float | None = Field(None, ge=0)
    cost_usd: Float | None = Field(None, ge=0)
    shares: list[Share] = Field(default_factory=list)
    note: str | None = None


class TimelineEntry(Strict):
    at: IncidentTime
    actor: Literal["human", "agent", "system"]
    event: Text
    decision: Bool = False


class DecisionPoint(Strict):
    at: IncidentTime
    decision: Text
    information_available: str | None = None


class RootCause(Strict):
    id: str | None = Field(
        None, pattern=ROOT_CAUSE_ID_PATTERN, max_length=40, description="A short id (RC1) reinforcements address."
    )
    category: RootCauseCategory
    description: Text
    trigger: str | None = Field(None, description="What set this defect off, where causes had separate triggers.")
    started_at: IncidentTime | None = None
    detected_at: IncidentTime | None = None
    fixed_at: IncidentTime | None = None
    no_mechanism: str | None = Field(
        None, description="Why no mechanism (alert, gate, test, eval, card) can address it: the gate's exception."
    )


class AgentRef(Strict):
    name: str | None = None
    version: str | None = None


class ModelRef(Strict):
    provider: str | None = None
    requested: str | None = None
    served: str | None = None


class PromptRef(Strict):
    name: str | None = None
    version: str | None = None


class Sampling(Strict):
    temperature: Float | None = None
    top_p: Float | None = None
    seed: Int | None = None


class Reruns(Strict):
    count: Int = Field(ge=0)
    failed: Int = Field(ge=0)


class ModelInference(Strict):
    """The row every postmortem fills: did the agent's inference take part, and how."""

    # KB403 (a rule) requires why_not when involved is false; the schema says so too, so that
    # the editor flags what kb check flags (issue #15)
    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"involved": {"const": False}}, "required": ["involved"]},
            "then": {"required": ["why_not"], "properties": {"why_not": {"type": "string", "minLength": 1}}},
        }
    )

    involved: Bool
    why_not: str | None = Field(None, description="Required when involved is false.")
    failure_mode: FailureMode | None = None
    failure_modes: list[FailureMode] = Field(default_factory=list, description="Several failure modes, in order.")
    confidence: Literal["known", "potential"] | None = None
    agent: AgentRef | None = None
    agents: list[AgentRef] = Field(default_factory=list, description="Several agents, each as `agent`.")
    model: ModelRef | None = None
    models: list[ModelRef] = Field(default_factory=list, description="Several models, each as `model`.")
    prompt: PromptRef | None = None
    sampling: Sampling | None = None
    trace_id: str | None = Field(None, description="The trace of the run that went wrong (W3C: 32 hex digits).")
    trace_unavailable: str | None = Field(None, description="Why there is no trace, instead of trace_id.")
    span_id: str | None = Field(None, description="The step that went wrong (W3C: 16 hex digits).")
    tool: str | None = Field(None, description="The tool involved in the step that went wrong.")
    inferred: str | None = None
    expected: str | None = None
    ground_truth_source: str | None = None
    context_available: str | None = None
    adversarial_input: Literal["yes", "no", "unknown"] | None = None
    autonomy: Literal["suggests", "acts_with_approval", "acts_alone"] | None = None
    reproducible: Literal["yes", "no", "flaky"] | None = None
    reruns: Reruns | None = None

    @model_validator(mode="after")
    def _trace_or_why_not(self) -> ModelInference:
        if self.trace_id and self.trace_unavailable is not None:
            raise ValueError("trace_id and trace_unavailable exclude each other: keep the one that is true")
        return self

    @property
    def all_failure_modes(self) -> list[str]:
        """failure_mode then failure_modes, each once."""
        found: list[str] = [self.failure_mode] if self.failure_mode else []
        return found + [str(m) for m in self.failure_modes if m not in found]

    @property
    def all_models(self) -> list[ModelRef]:
        return ([self.model] if self.model is not None else []) + list(self.models)

    @property
    def all_agents(self) -> list[AgentRef]:
        return ([self.agent] if self.agent is not None else []) + list(self.agents)


class Telemetry(Strict):
    """OpenTelemetry attribute names where one exists (the GenAI semantic conventions kb pins:
    kb.model.semconv); other attributes are kept, and KB414 flags names not in the registry."""

    model_config = ConfigDict(extra="allow")

    trace_id: str | None = None
    span_id: str | None = None
    schema_url: str | None = Field(None, description="The semantic-convention version the names follow.")
    cost_usd: Float | None = None
    provider_name: str | None = Field(None, alias="gen_ai.provider.name")
    operation_name: str | None = Field(None, alias="gen_ai.operation.name")
    agent_name: str | None = Field(None, alias="gen_ai.agent.name")
    agent_version: str | None = Field(None, alias="gen_ai.agent.version")
    request_model: str | None = Field(None, alias="gen_ai.request.model")
    response_model: str | None = Field(None, alias="gen_ai.response.model")
    input_tokens: Int | None = Field(None, alias="gen_ai.usage.input_tokens")
    output_tokens: Int | None = Field(None, alias="gen_ai.usage.output_tokens")
    cache_read_input_tokens: Int | None = Field(None, alias="gen_ai.usage.cache_read.input_tokens")
    cache_creation_input_tokens: Int | None = Field(None, alias="gen_ai.usage.cache_creation.input_tokens")
    tool_name: str | None = Field(None, alias="gen_ai.tool.name")
    error_type: str | None = Field(None, alias="error.type")


class FiveQuestions(Strict):
    trigger: str | None = Field(None, description="What exactly triggered the incident.")
    guardrail_missed: str | None = Field(
        None, description="Which guardrail should have blocked it, and why it did not."
    )
    observability_gap: str | None = Field(None, description="Why observability did not fire earlier.")
    rollback_speed: str | None = Field(None, description="Why rollback was fast or slow.")
    prevention: str | None = Field(None, description="Which mechanism changes prevent recurrence.")


class Recovery(Strict):
    switchback_minutes: Float | None = Field(None, ge=0)
    core_recovery_minutes: Float | None = Field(None, ge=0)
    first_update_minutes: Float | None = Field(None, ge=0)


class ReplaySeries(Strict):
    series: Text = Field(description="A series selector with labels, as promtool writes it.")
    values: Text = Field(description="promtool expanding notation, e.g. '0+10x30 300x20'.")


class Replay(Strict):
    interval: Duration = "1m"
    series: list[ReplaySeries] = Field(min_length=1)
    fires_at: Duration = Field(description="It must fire by then, and not before `for` has passed.")
    silent_at: Duration | None = Field(
        None,
        description="When it must still be silent; default fires_at - for - interval, so the alert fires "
        "because the incident crossed the threshold, not because the rule is always true.",
    )
    expect_labels: dict[str, str] = Field(
        default_factory=dict,
        description="Labels the alert carries from its expression (e.g. {agent: research-agent} after sum by (agent)).",
    )


class AlertSpec(Strict):
    name: AlertName
    expr: Text
    for_: Duration = Field(alias="for")
    priority: Priority
    card: Id = Field(description="The card the alert pages to: its runbook_url.")
    summary: Text
    description: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    replay: Replay | None = None


class GateSpec(Strict):
    name: Id
    applies_to: list[Text] = Field(min_length=1)
    check: Text
    blocking: Bool = True


class TestSpec(Strict):
    name: Text
    path: Text
    asserts: Text


class EvalSpec(Strict):
    input: Text
    expected: Text
    forbidden: str | None = None


class TaskSpec(Strict):
    description: Text
    ticket: str | None = Field(None, description="Where the work is tracked (an issue URL or key).")


class CardChange(Strict):
    id: Id
    change: Text
    narrows_authority: Bool = Field(
        False, description="The change narrows what the agent may do (counts as an inference-level fix)."
    )


_PAYLOADS = ("alert", "gate", "test", "eval", "card", "task")


class Reinforcement(Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
    kind: ReinforcementKind
    owner: str | None = None
    due: Date | None = None
    status: Literal["open", "done", "wont_do"] = "open"
    why: str | None = Field(None, description="Required when status is wont_do.")
    addresses: list[str] = Field(default_factory=list, description="The ids of the root causes it addresses.")
    alert: AlertSpec | None = None
    gate: GateSpec | None = None
    test: TestSpec | None = None
    eval: EvalSpec | None = None
    card: CardChange | None = None
    task: TaskSpec | None = None

    @property
    def is_mechanism(self) -> bool:
        return self.kind in MECHANISM_KINDS

    @model_validator(mode="after")
    def _payload_matches_kind(self) -> Reinforcement:
        if getattr(self, self.kind) is None:
            raise ValueError(f"a '{self.kind}' reinforcement needs its '{self.kind}:' payload")
        extra = [p for p in _PAYLOADS if p != self.kind and getattr(self, p) is not None]
        if extra:
            raise ValueError(f"kind is '{self.kind}' but it also carries {', '.join(extra)}: one payload, the kind's")
        if self.status == "wont_do" and not self.why:
            raise ValueError("status wont_do needs a 'why'")
        return self


def _postmortem_schema(schema: dict) -> None:
    # KB403 (a rule) reports a postmortem without the model_inference row; the schema requires
    # it too, so that the editor flags what kb check flags (issue #15)
    schema.setdefault("required", []).append("model_inference")


class Postmortem(Bulk):
    model_config = ConfigDict(json_schema_extra=_postmortem_schema)

    id: PostmortemId
    title: Text
    status: Literal["draft", "review", "complete"]
    kind: Literal["incident", "near_miss"] = "incident"
    priority: Priority
    services: list[Text] = Field(default_factory=list)
    cards: list[Id] = Field(default_factory=list, description="The cards used during the incident.")
    started_at: IncidentTime
    detected_at: IncidentTime | None = None
    mitigated_at: IncidentTime | None = None
    resolved_at: IncidentTime | None = None
    detection: Detection | None = None
    summary: str | None = None
    impact: Impact | None = None
    timeline: list[TimelineEntry] = Field(default_factory=list)
    decision_points: list[DecisionPoint] = Field(default_factory=list)
    trigger: str | None = None
    root_causes: list[RootCause] = Field(default_factory=list)
    model_inference: ModelInference | None = Field(None, description="Always present (kb check KB403).")
    telemetry: Telemetry | None = None
    five_questions: FiveQuestions | None = None
    recovery: Recovery | None = None
    reinforcements: list[Reinforcement] = Field(default_factory=list)
