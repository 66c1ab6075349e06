"""`kb new postmortem --from-trace`: real traces made with the OpenTelemetry SDK, written as
OTLP/JSON by the OpenTelemetry JSON file exporter, read back into the postmortem.

Every prefilled field is checked against what the SDK recorded, ids byte for byte."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("opentelemetry.sdk.trace")
exporter_file = pytest.importorskip("opentelemetry.exporter.otlp.json.file")

from opentelemetry.sdk.metrics import MeterProvider  # noqa: E402
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader  # noqa: E402
from opentelemetry.sdk.resources import Resource  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402
from opentelemetry.trace import Status, StatusCode, set_span_in_context  # noqa: E402

from kb.analysis.otel import parse_trace_text  # noqa: E402
from kb.commands import new  # noqa: E402
from kb.core import yamlio  # noqa: E402
from kb.model.semconv import SCHEMA_URL  # noqa: E402

FIXTURE = Path(__file__).parent / "fixtures" / "base"
T0 = 1_795_000_000_000_000_000  # ns since the epoch: 2026-11-18T08:26:40+00:00
MS = 1_000_000


@pytest.fixture
def kb_root(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    shutil.copytree(FIXTURE, root)
    return root


def _agent_run(provider: TracerProvider, fail: bool = True) -> dict:
    """An agent run: invoke_agent, two chat calls, two tool calls, the second failing."""
    tracer = provider.get_tracer("triage-agent-tests")
    ids: dict = {}
    agent = tracer.start_span(
        "invoke_agent triage-agent",
        start_time=T0,
        attributes={
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": "triage-agent",
            "gen_ai.agent.version": "41",
            "gen_ai.provider.name": "anthropic",
        },
    )
    ctx = set_span_in_context(agent)
    chat1 = tracer.start_span(
        "chat claude-x",
        context=ctx,
        start_time=T0 + 10 * MS,
        attributes={
            "gen_ai.operation.name": "chat",
            "gen_ai.system": "anthropic",  # the deprecated name: read as gen_ai.provider.name
            "gen_ai.request.model": "claude-x",
            "gen_ai.response.model": "claude-x-2026-09-01",
            "gen_ai.request.temperature": 0.2,
            "gen_ai.request.seed": 7,
            "gen_ai.usage.input_tokens": 1000,
            "gen_ai.usage.output_tokens": 200,
            "gen_ai.usage.cache_read.input_tokens": 300,
            "gen_ai.usage.cache_creation.input_tokens": 50,
            "gen_ai.usage.cost": 0.0125,
            "gen_ai.response.finish_reasons": ["tool_use"],
        },
    )
    chat1.end(end_time=T0 + 900 * MS)
    tool1 = tracer.start_span(
        "execute_tool read_queue",
        context=ctx,
        start_time=T0 + 1000 * MS,
        attributes={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "read_queue"},
    )
    tool1.end(end_time=T0 + 1100 * MS)
    chat2 = tracer.start_span(
        "chat claude-x",
        context=ctx,
        start_time=T0 + 1200 * MS,
        attributes={
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "anthropic",
            "gen_ai.request.model": "claude-x",
            "gen_ai.response.model": "claude-x-2026-09-01",
            "gen_ai.request.temperature": 0.2,
            "gen_ai.request.seed": 7,
            "gen_ai.usage.input_tokens": 1500,
            "gen_ai.usage.output_tokens": 100,
            "gen_ai.usage.cache_read.input_tokens": 900,
            "gen_ai.usage.cost": 0.02,
        },
    )
    chat2.end(end_time=T0 + 2000 * MS)
    tool2 = tracer.start_span(
        "execute_tool run_script",
        context=ctx,
        start_time=T0 + 2100 * MS,
        attributes={
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": "run_script",
            "gen_ai.tool.call.id": "toolu_01",
        },
    )
    if fail:
        tool2.set_attribute("error.type", "wrong_recovery_action")
        tool2.set_status(Status(StatusCode.ERROR, "dlq-recover.sh ran on a paused queue"))
    tool2.end(end_time=T0 + 2500 * MS)
    if fail:
        agent.set_status(Status(StatusCode.ERROR, "tool failed"))  # propagated: not the failing step
    agent.end(end_time=T0 + 3000 * MS)
    for name, span in (("agent", agent), ("chat1", chat1), ("tool1", tool1), ("chat2", chat2), ("tool2", tool2)):
        ids[name] = span.get_span_context().span_id.to_bytes(8, "big")
    ids["trace"] = agent.get_span_context().trace_id.to_bytes(16, "big")
    return ids


def _export(path: Path, batch: bool, runs: int = 1, fail: bool = True) -> list[dict]:
    exporter = exporter_file.FileSpanExporter(path)
    provider = TracerProvider(resource=Resource.create({"service.name": "triage-agent"}))
    provider.add_span_processor(BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter))
    ids = [_agent_run(provider, fail) for _ in range(runs)]
    provider.force_flush()
    provider.shutdown()
    return ids


def _ns(value: int) -> str:
    return dt.datetime.fromtimestamp(value // 1000 / 1_000_000, tz=dt.UTC).isoformat()


def _created(root: Path) -> list[Path]:
    return sorted((root / "postmortems").glob("*.yaml"))


def _new(root: Path, trace: Path, **extra) -> int:
    return new.postmortem(title="Triage ran the wrong script", priority="P1", root=root, from_trace=trace, **extra)


def _check_prefill(data: dict, ids: dict) -> None:
    trace_hex, failing_hex = ids["trace"].hex(), ids["tool2"].hex()
    row = data["model_inference"]
    assert row["involved"] is True and "why_not" not in row
    assert bytes.fromhex(row["trace_id"]) == ids["trace"] and len(bytes.fromhex(row["trace_id"])) == 16
    assert bytes.fromhex(row["span_id"]) == ids["tool2"]
    assert row["agent"] == {"name": "triage-agent", "version": "41"}
    assert row["model"] == {"provider": "anthropic", "requested": "claude-x", "served": "claude-x-2026-09-01"}
    assert row["sampling"] == {"temperature": 0.2, "top_p": None, "seed": 7}
    assert row["tool"] == "run_script"
    assert row["failure_mode"] is None and row["inferred"] is None  # never guessed
    telemetry = data["telemetry"]
    assert telemetry == {
        "trace_id": trace_hex,
        "span_id": failing_hex,
        "schema_url": SCHEMA_URL,
        "gen_ai.provider.name": "anthropic",
        "gen_ai.agent.name": "triage-agent",
        "gen_ai.agent.version": "41",
        "gen_ai.request.model": "claude-x",
        "gen_ai.response.model": "claude-x-2026-09-01",
        "gen_ai.usage.input_tokens": 2500,
        "gen_ai.usage.output_tokens": 300,
        "gen_ai.usage.cache_read.input_tokens": 1200,
        "gen_ai.usage.cache_creation.input_tokens": 50,
        "cost_usd": 0.0325,
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "run_script",
        "error.type": "wrong_recovery_action",
    }
    assert data["started_at"] == _ns(T0)
    assert data["timeline"] == [
        {"at": _ns(T0), "actor": "agent", "event": "Agent triage-agent 41: invoke_agent"},
        {
            "at": _ns(T0 + 10 * MS),
            "actor": "agent",
            "event": "Agent step: chat claude-x-2026-09-01 (in 1000, out 200 tokens, finish tool_use)",
        },
        {"at": _ns(T0 + 1000 * MS), "actor": "agent", "event": "Tool call read_queue"},
        {
            "at": _ns(T0 + 1200 * MS),
            "actor": "agent",
            "event": "Agent step: chat claude-x-2026-09-01 (in 1500, out 100 tokens)",
        },
        {"at": _ns(T0 + 2100 * MS), "actor": "agent", "event": "Tool call run_script (call toolu_01)"},
        {
            "at": _ns(T0 + 2500 * MS),
            "actor": "system",
            "event": f"Error wrong_recovery_action in execute_tool run_script (span {failing_hex}): "
            "dlq-recover.sh ran on a paused queue",
        },
    ]


def _load_yaml(path: Path) -> dict:
    """As kb reads it (YAML 1.2: timestamps stay the text written)."""
    return yamlio.load_mapping(path.read_bytes())


@pytest.mark.parametrize("form", ["otlp-json-request", "collector-json-lines"])
def test_prefill_from_a_real_trace(kb_root: Path, tmp_path: Path, capsys, form: str) -> None:
    path = tmp_path / "export.jsonl"
    (ids,) = _export(path, batch=form == "otlp-json-request")
    if form == "otlp-json-request":
        lines = [line for line in path.read_text().splitlines() if line.strip()]
        assert len(lines) == 1, "one batch: one OTLP/JSON request"
        request = tmp_path / "trace.json"
        request.write_text(json.dumps(json.loads(lines[0]), indent=2))  # a pretty-printed request
        path = request
    else:
        assert len([line for line in path.read_text().splitlines() if line.strip()]) == 5  # one request per span
    before = _created(kb_root)
    assert _new(kb_root, path) == 0, capsys.readouterr().err
    (created,) = [p for p in _created(kb_root) if p not in before]
    _check_prefill(_load_yaml(created), ids)
    # the file is a valid postmortem; what is left is for the author (failure mode, inferred, expected)
    from kb.check.engine import run_check
    from kb.load.loader import load_kb
    from kb.rules.context import RuleContext

    result = run_check(RuleContext(load_kb(kb_root)))
    mine = [d for d in result.diagnostics if d.path.endswith(created.name) and d.level.value == "error"]
    assert [(d.code, d.message) for d in mine] == [
        ("KB403", "model_inference.involved is true but these are empty: failure_mode, inferred, expected")
    ]
    assert not [d for d in result.diagnostics if d.code == "KB413"]  # every telemetry key is in the registry


def test_protobuf_json_parser_reads_hex_ids_as_base64(tmp_path: Path) -> None:
    """The pitfall kb avoids: protobuf's generic JSON parser takes the hex traceId for base64."""
    json_format = pytest.importorskip("google.protobuf.json_format")
    trace_service = pytest.importorskip("opentelemetry.proto.collector.trace.v1.trace_service_pb2")
    path = tmp_path / "export.jsonl"
    (ids,) = _export(path, batch=True)
    line = path.read_text().strip()
    parsed = json_format.Parse(line, trace_service.ExportTraceServiceRequest(), ignore_unknown_fields=True)
    wrong = parsed.resource_spans[0].scope_spans[0].spans[0].trace_id
    assert len(wrong) == 24 and wrong != ids["trace"]  # silently wrong
    spans = parse_trace_text(line).spans
    assert {bytes.fromhex(s.trace_id) for s in spans} == {ids["trace"]}
    assert {bytes.fromhex(s.span_id) for s in spans} == {ids[k] for k in ("agent", "chat1", "tool1", "chat2", "tool2")}


def test_base64_ids_from_protobuf_message_to_json_are_converted(kb_root: Path, tmp_path: Path, capsys) -> None:
    """protobuf's MessageToJson (bytes as base64) of the OTLP proto encoder's request."""
    json_format = pytest.importorskip("google.protobuf.json_format")
    trace_encoder = pytest.importorskip("opentelemetry.exporter.otlp.proto.common.trace_encoder")
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "triage-agent"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    ids = _agent_run(provider)
    request = trace_encoder.encode_spans(memory.get_finished_spans())
    path = tmp_path / "protobuf.json"
    path.write_text(json_format.MessageToJson(request))
    assert ids["trace"].hex() not in path.read_text()  # base64, not hex
    assert _new(kb_root, path) == 0
    assert "ids were base64" in capsys.readouterr().err
    created = [p for p in _created(kb_root) if "triage-ran" in p.name][0]
    _check_prefill(_load_yaml(created), ids)


def _assert_refused(kb_root: Path, path: Path, capsys, fragment: str, **extra) -> None:
    before = {p: p.read_bytes() for p in (kb_root / "postmortems").iterdir()}
    assert _new(kb_root, path, **extra) == 1
    err = capsys.readouterr().err
    assert fragment in err and "Traceback" not in err
    assert {p: p.read_bytes() for p in (kb_root / "postmortems").iterdir()} == before  # nothing written


def test_a_trace_without_gen_ai_spans_is_refused(kb_root: Path, tmp_path: Path, capsys) -> None:
    path = tmp_path / "plain.jsonl"
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter_file.FileSpanExporter(path)))
    with provider.get_tracer("web").start_as_current_span("GET /health", attributes={"http.route": "/health"}):
        pass
    provider.shutdown()
    _assert_refused(kb_root, path, capsys, "no GenAI spans: none of its 1 spans has a gen_ai.* attribute")


@pytest.mark.parametrize("cut", [0.5, 0.97])
def test_a_truncated_export_is_refused(kb_root: Path, tmp_path: Path, capsys, cut: float) -> None:
    path = tmp_path / "export.jsonl"
    _export(path, batch=False)
    text = path.read_text()
    truncated = tmp_path / "truncated.jsonl"
    truncated.write_text(text[: int(len(text) * cut)])
    _assert_refused(kb_root, truncated, capsys, "is not valid JSON")
    single = tmp_path / "truncated.json"
    single.write_text(text.splitlines()[0][:-40])
    _assert_refused(kb_root, single, capsys, "truncated or not OTLP/JSON")


def test_an_export_of_metrics_is_refused(kb_root: Path, tmp_path: Path, capsys) -> None:
    path = tmp_path / "metrics.jsonl"
    reader = PeriodicExportingMetricReader(exporter_file.FileMetricExporter(path), export_interval_millis=60_000)
    provider = MeterProvider(metric_readers=[reader])
    provider.get_meter("agent").create_counter("gen_ai.client.operation.count").add(
        3, {"gen_ai.operation.name": "chat"}
    )
    provider.shutdown()
    assert "resourceMetrics" in path.read_text()
    _assert_refused(kb_root, path, capsys, "an OTLP export of metrics, not of traces")


def test_several_traces_need_a_trace_id(kb_root: Path, tmp_path: Path, capsys) -> None:
    path = tmp_path / "two.jsonl"
    first, second = _export(path, batch=True, runs=2)
    _assert_refused(kb_root, path, capsys, "2 traces have GenAI spans; choose one with --trace-id")
    _assert_refused(kb_root, path, capsys, "no trace 00000000000000000000000000000001", trace_id="0" * 31 + "1")
    assert _new(kb_root, path, trace_id=second["trace"].hex().upper()) == 0
    created = [p for p in _created(kb_root) if "triage-ran" in p.name][0]
    _check_prefill(_load_yaml(created), second)


def test_a_run_without_errors_leaves_span_id_to_the_author(kb_root: Path, tmp_path: Path, capsys) -> None:
    path = tmp_path / "ok.jsonl"
    (ids,) = _export(path, batch=True, fail=False)
    assert _new(kb_root, path) == 0
    assert "no span has status error" in capsys.readouterr().err
    data = _load_yaml([p for p in _created(kb_root) if "triage-ran" in p.name][0])
    assert data["model_inference"]["trace_id"] == ids["trace"].hex()
    assert data["model_inference"]["span_id"] is None and "error.type" not in data["telemetry"]
    assert [row["actor"] for row in data["timeline"]] == ["agent"] * 5


def test_other_hostile_files(kb_root: Path, tmp_path: Path, capsys) -> None:
    cases = {
        "empty.json": ("", "the file is empty"),
        "list.json": ("[1, 2]", "expected a JSON object"),
        "zero.json": (
            json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "0" * 32, "spanId": "1" * 16}]}]}]}),
            "all-zero traceId",
        ),
        "short.json": (
            json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "abcd", "spanId": "1" * 16}]}]}]}),
            "OTLP/JSON ids are 32 hex digits",
        ),
        "binary.json": (b"\xff\xfe\x00", "not UTF-8"),
    }
    for name, (content, fragment) in cases.items():
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        _assert_refused(kb_root, path, capsys, fragment)
    _assert_refused(kb_root, tmp_path / "missing.json", capsys, "cannot read the file")


def test_started_at_a_date(kb_root: Path, capsys) -> None:
    assert new.postmortem(title="Routing bug", priority="P2", started_at="2025-08-05", root=kb_root) == 0
    created = [p for p in _created(kb_root) if "routing-bug" in p.name][0]
    assert created.name.startswith("PM-2025-")
    assert "started_at: 2025-08-05\n" in created.read_text()
    for value in ("2025-08-05+00:00", "2025-08-05T10:00"):
        assert new.postmortem(title="x", priority="P2", started_at=value, root=kb_root) == 1
        err = capsys.readouterr().err
        assert "2025-08-05+00:00" not in err.replace(f"'{value}'", "")  # never a date with an offset appended


def test_cli_smoke(kb_root: Path, tmp_path: Path) -> None:
    path = tmp_path / "export.jsonl"
    (ids,) = _export(path, batch=False)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "kb",
            "new",
            "postmortem",
            "--title",
            "Smoke",
            "--priority",
            "P1",
            "--from-trace",
            str(path),
        ],
        cwd=kb_root,
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    created = [p for p in _created(kb_root) if "smoke" in p.name][0]
    _check_prefill(_load_yaml(created), ids)


def test_an_export_of_logs_is_refused(kb_root: Path, tmp_path: Path, capsys) -> None:
    logs_module = pytest.importorskip("opentelemetry.exporter.otlp.json.file._log_exporter")
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor

    path = tmp_path / "logs.jsonl"
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(logs_module.FileLogExporter(path)))
    provider.get_logger("agent").emit(body="tool run_script failed", attributes={"gen_ai.tool.name": "run_script"})
    provider.shutdown()
    assert "resourceLogs" in path.read_text()
    _assert_refused(kb_root, path, capsys, "an OTLP export of logs, not of traces")


def test_odd_attribute_values_do_not_break_the_postmortem(kb_root: Path, tmp_path: Path, capsys) -> None:
    """An instrumentation may put a list where a name belongs, or NaN where a number does:
    the file kb writes still validates, and nothing is made of a value that is not one."""
    path = tmp_path / "odd.jsonl"
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter_file.FileSpanExporter(path)))
    tracer = provider.get_tracer("odd")
    with tracer.start_as_current_span(
        "chat",
        attributes={
            "gen_ai.operation.name": "chat",
            "gen_ai.agent.name": ["a", "b"],
            "gen_ai.request.model": 42,
            "gen_ai.request.temperature": float("nan"),
            "gen_ai.usage.input_tokens": -5,
            "gen_ai.usage.cost": float("inf"),
        },
    ):
        pass
    provider.shutdown()
    assert _new(kb_root, path) == 0, capsys.readouterr().err
    created = [p for p in _created(kb_root) if "triage-ran" in p.name][0]
    data = _load_yaml(created)
    assert data["model_inference"]["agent"]["name"] == "a, b"
    assert data["model_inference"]["model"]["requested"] == "42"
    assert data["model_inference"]["sampling"] == {"temperature": None, "seed": None}  # the template's, untouched
    assert "gen_ai.usage.input_tokens" not in data["telemetry"] and "cost_usd" not in data["telemetry"]
    from kb.load.loader import load_kb

    doc = next(d for d in load_kb(kb_root).postmortems if d.path.endswith(created.name))
    assert doc.model is not None


def test_a_failure_below_the_tool_span_names_the_tool_and_injects_nothing(
    kb_root: Path, tmp_path: Path, capsys
) -> None:
    """The failing step is an HTTP span inside a tool call: the tool is the enclosing one.
    Names from the trace land as quoted values: a name carrying a newline and a `kb: ignore`
    comment neither breaks the file nor suppresses anything."""
    path = tmp_path / "nested.jsonl"
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter_file.FileSpanExporter(path)))
    tracer = provider.get_tracer("nested")
    hostile = "run_script\n# kb: ignore[KB403]\nx: " + "y" * 500
    with tracer.start_as_current_span(
        "execute_tool", attributes={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": hostile}
    ) as tool:
        with tracer.start_as_current_span("POST /recover", attributes={"http.request.method": "POST"}) as http:
            http.set_status(Status(StatusCode.ERROR, "503"))
            http.set_attribute("error.type", "503")
            http_id = http.get_span_context().span_id.to_bytes(8, "big")
        tool.set_status(Status(StatusCode.ERROR))
    provider.shutdown()
    assert _new(kb_root, path) == 0, capsys.readouterr().err
    created = [p for p in _created(kb_root) if "triage-ran" in p.name][0]
    data = _load_yaml(created)
    assert bytes.fromhex(data["model_inference"]["span_id"]) == http_id
    defused = hostile.replace("kb: ignore", "kb ignore")
    assert data["model_inference"]["tool"] == defused and data["telemetry"]["gen_ai.tool.name"] == defused
    assert data["telemetry"]["error.type"] == "503"
    assert all(len(row["event"]) <= 300 and "\n" not in row["event"] for row in data["timeline"])
    from kb.check.engine import run_check
    from kb.load.loader import load_kb
    from kb.rules.context import RuleContext

    codes = {d.code for d in run_check(RuleContext(load_kb(kb_root))).diagnostics if d.path.endswith(created.name)}
    assert "KB403" in codes and "KB190" not in codes  # the row is still reported as unfilled


def test_parent_links_that_loop_are_refused(kb_root: Path, tmp_path: Path, capsys) -> None:
    """Two errored spans naming each other as parent hid the failure (outside review)."""
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"

    def span(span_id: str, parent: str) -> dict:
        return {
            "traceId": trace_id,
            "spanId": span_id,
            "parentSpanId": parent,
            "name": "chat",
            "startTimeUnixNano": "1764460800000000000",
            "endTimeUnixNano": "1764460801000000000",
            "status": {"code": 2},
            "attributes": [{"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}}],
        }

    export = {
        "resourceSpans": [
            {
                "scopeSpans": [
                    {
                        "spans": [
                            span("00f067aa0ba902b7", "00f067aa0ba902b8"),
                            span("00f067aa0ba902b8", "00f067aa0ba902b7"),
                        ]
                    }
                ]
            }
        ]
    }
    path = tmp_path / "loop.json"
    path.write_text(json.dumps(export))
    _assert_refused(kb_root, path, capsys, "loop back")
