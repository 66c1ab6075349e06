"""`kb new postmortem --from-trace` renders every OTLP AnyValue faithfully (issue #15).

An attribute whose value is a kvlistValue, or an arrayValue of kvlists, was written as a
Python repr or an empty '{}'. The export here is made with the OpenTelemetry protobuf
classes (opentelemetry-proto) and turned into OTLP/JSON by protobuf's own JSON mapping,
with the two differences the OTLP/JSON spec makes (trace and span ids as hex, enums as
integers): the documented shape, as in opentelemetry-proto's examples/logs.json
(`"kvlistValue": {"values": [{"key": ..., "value": {...}}]}`)."""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path

from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status, TracesData

from kb.commands import new
from kb.core import yamlio

FIXTURE = Path(__file__).parent / "fixtures" / "base"
TRACE = bytes.fromhex("5b8efff798038103d269b633813fc60c")
T0 = 1_795_000_000_000_000_000


def value(v) -> AnyValue:
    if isinstance(v, str):
        return AnyValue(string_value=v)
    if isinstance(v, bool):
        return AnyValue(bool_value=v)
    if isinstance(v, int):
        return AnyValue(int_value=v)
    if isinstance(v, float):
        return AnyValue(double_value=v)
    if isinstance(v, list):
        return AnyValue(array_value=ArrayValue(values=[value(x) for x in v]))
    return AnyValue(kvlist_value=KeyValueList(values=[KeyValue(key=k, value=value(x)) for k, x in v.items()]))


def span(span_id: str, parent: str | None, name: str, start_s: int, end_s: int, attrs: dict, error: bool = False):
    return Span(
        trace_id=TRACE,
        span_id=bytes.fromhex(span_id),
        parent_span_id=bytes.fromhex(parent) if parent else b"",
        name=name,
        kind=Span.SPAN_KIND_INTERNAL,
        start_time_unix_nano=T0 + start_s * 1_000_000_000,
        end_time_unix_nano=T0 + end_s * 1_000_000_000,
        attributes=[KeyValue(key=k, value=value(v)) for k, v in attrs.items()],
        status=Status(code=Status.STATUS_CODE_ERROR, message="upstream refused") if error else Status(),
    )


def otlp_json(data: TracesData) -> str:
    """protobuf's JSON mapping, then OTLP/JSON's two exceptions: hex ids, integer enums."""
    out = MessageToDict(data, use_integers_for_enums=True)
    for resource in out["resourceSpans"]:
        for scope in resource["scopeSpans"]:
            for item in scope["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in item:
                        item[key] = base64.b64decode(item[key]).hex()
    return json.dumps(out, indent=2)


def test_kvlist_and_arrays_of_kvlists_are_written_as_opentelemetry_renders_them(tmp_path: Path) -> None:
    agent_identity = {"name": "triage-agent", "build": {"commit": "a1b2c3", "dirty": False}}
    error = [{"code": 503, "retryable": True}, {"code": 429, "retryable": False}]
    data = TracesData(
        resource_spans=[
            ResourceSpans(
                scope_spans=[
                    ScopeSpans(
                        spans=[
                            span(
                                "eee19b7ec3c1b174",
                                None,
                                "invoke_agent triage-agent",
                                0,
                                9,
                                {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": agent_identity},
                            ),
                            span(
                                "eee19b7ec3c1b175",
                                "eee19b7ec3c1b174",
                                "execute_tool deployctl",
                                2,
                                4,
                                {
                                    "gen_ai.operation.name": "execute_tool",
                                    "gen_ai.tool.name": "deployctl",
                                    "error.type": error,
                                },
                                error=True,
                            ),
                        ]
                    )
                ]
            )
        ]
    )
    text = otlp_json(data)
    assert '"kvlistValue": {' in text and '"arrayValue": {' in text  # the shapes under test are in the file
    export = tmp_path / "trace.json"
    export.write_text(text)
    root = tmp_path / "kb"
    shutil.copytree(FIXTURE, root)
    assert new.postmortem(title="Deploy refused", priority="P2", from_trace=export, root=root) == 0
    (path,) = root.glob("postmortems/PM-*-002-*.yaml")
    written = path.read_text()
    assert "{}" not in written.replace("{name:", "") and "'name':" not in written  # no empty map, no repr
    pm = yamlio.load_mapping(path.read_bytes())
    rendered_agent = '{"name": "triage-agent", "build": {"commit": "a1b2c3", "dirty": false}}'
    rendered_error = '[{"code": 503, "retryable": true}, {"code": 429, "retryable": false}]'
    assert pm["telemetry"]["gen_ai.agent.name"] == rendered_agent
    assert pm["telemetry"]["error.type"] == rendered_error
    assert json.loads(pm["telemetry"]["error.type"]) == error  # faithful: it reads back as the trace's value
    assert json.loads(pm["telemetry"]["gen_ai.agent.name"]) == agent_identity
    events = [row["event"] for row in pm["timeline"]]
    assert f"Agent {rendered_agent}: invoke_agent" in events
    assert any(re.fullmatch(rf"Error {re.escape(rendered_error)} in execute_tool deployctl .*", e) for e in events)
