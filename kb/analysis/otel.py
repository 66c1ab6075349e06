"""Reading an OpenTelemetry trace export: an OTLP/JSON request (`{"resourceSpans": [...]}`)
or the JSON Lines the Collector's file exporter writes (one such request per line).

Read by hand rather than with protobuf's generic JSON parser on purpose: OTLP/JSON writes
trace and span ids as hex, while protobuf's `json_format` reads every `bytes` field as
base64, so it silently turns a 32-hex-digit trace id into 24 wrong bytes. Here an id is
hex (the OTLP/JSON rule); a base64 id (written by protobuf's `MessageToJson`) is decoded
only when it is unambiguous (exactly 16 or 8 bytes), and anything else is an error.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb.core import safefile

MAX_TRACE_BYTES = 200_000_000  # a trace export larger than this is refused, not read into memory
_HEX = re.compile(r"^[0-9a-fA-F]+$")
OTHER_SIGNALS = {"resourceMetrics": "metrics", "resourceLogs": "logs", "resourceProfiles": "profiles"}
STATUS_ERROR = 2


class TraceProblem(Exception):
    """The file is not a trace kb can read; the message says why and where."""


@dataclass
class SpanEvent:
    name: str
    time_ns: int
    attributes: dict[str, Any]


@dataclass
class Span:
    trace_id: str  # 32 lowercase hex digits
    span_id: str  # 16 lowercase hex digits
    parent_span_id: str | None
    name: str
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    status_code: int = 0
    status_message: str = ""
    events: list[SpanEvent] = field(default_factory=list)
    resource: dict[str, Any] = field(default_factory=dict)
    schema_url: str = ""

    @property
    def is_error(self) -> bool:
        return self.status_code == STATUS_ERROR or "error.type" in self.attributes

    @property
    def start(self) -> dt.datetime:
        return from_unix_nanos(self.start_ns)

    @property
    def end(self) -> dt.datetime:
        return from_unix_nanos(self.end_ns)


@dataclass
class TraceExport:
    path: str
    spans: list[Span]
    converted_base64_ids: bool = False


LAST_NANOS = 253_402_214_400 * 10**9  # 9999-12-31T00:00:00Z: later times cannot be a datetime with an offset


FIRST_NANOS = 946_684_800 * 10**9  # 2000-01-01T00:00:00Z: earlier times are a unit mistake, not an incident
UNITS = (("microseconds", 946_684_800 * 10**6), ("milliseconds", 946_684_800 * 10**3))  # 2000 in each unit


def from_unix_nanos(value: int) -> dt.datetime:
    """UTC, with its offset, to the microsecond (Python's resolution)."""
    return dt.datetime.fromtimestamp(value // 1000 / 1_000_000, tz=dt.UTC)


def read_trace_file(path: Path) -> TraceExport:
    try:  # a regular file only (a FIFO would block for ever), bounded
        text = safefile.read_bytes(path, MAX_TRACE_BYTES).decode("utf-8")
    except OSError as exc:
        raise TraceProblem(f"{path}: cannot read the file: {safefile.describe(exc)}") from None
    except UnicodeDecodeError as exc:
        raise TraceProblem(f"{path}: not UTF-8 text (byte {exc.start}): not an OTLP/JSON export") from None
    return parse_trace_text(text, str(path))


def parse_trace_text(text: str, name: str = "<trace>") -> TraceExport:
    requests = _requests(text, name)
    export = TraceExport(name, [])
    for where, request in requests:
        if not isinstance(request, dict):
            raise TraceProblem(f"{where}: expected a JSON object (an OTLP/JSON request), got {type(request).__name__}")
        other = [signal for key, signal in OTHER_SIGNALS.items() if key in request]
        spans = _get(request, "resourceSpans", "resource_spans")
        if spans is None:
            if other:
                raise TraceProblem(f"{where}: this is an OTLP export of {other[0]}, not of traces (no resourceSpans)")
            raise TraceProblem(f"{where}: no resourceSpans: not an OTLP/JSON trace export")
        for span in _spans(spans, where, export):
            export.spans.append(span)
    if not export.spans:
        raise TraceProblem(f"{name}: the export holds no spans")
    _refuse_parent_loops(export, name)
    return export


def _refuse_parent_loops(export: TraceExport, name: str) -> None:
    """A span that is its own ancestor is no trace anyone recorded: refused, never prefilled
    (the failing step is found through the parent links, and a loop would hide it)."""
    parents = {(s.trace_id, s.span_id): s.parent_span_id for s in export.spans}
    for span in export.spans:
        seen = {span.span_id}
        parent = span.parent_span_id
        while parent is not None:
            if parent in seen:
                raise TraceProblem(f"{name}: span {span.span_id}'s parent links loop back to it: not a real trace")
            seen.add(parent)
            parent = parents.get((span.trace_id, parent))


def _requests(text: str, name: str) -> list[tuple[str, Any]]:
    stripped = text.strip()
    if not stripped:
        raise TraceProblem(f"{name}: the file is empty")
    try:
        return [(name, json.loads(stripped))]
    except RecursionError:
        raise TraceProblem(f"{name}: JSON nested too deeply: not an OTLP/JSON export") from None
    except ValueError as whole:  # JSONDecodeError, or an integer of over 4,300 digits
        lines = [(i, line) for i, line in enumerate(text.split("\n"), 1) if line.strip()]
        if len(lines) < 2:
            raise TraceProblem(
                f"{name}:{getattr(whole, 'lineno', 1)}:{getattr(whole, 'colno', 1)}: not valid JSON "
                f"({getattr(whole, 'msg', whole)}); truncated or not OTLP/JSON"
            ) from None
    found = []
    for number, line in lines:  # JSON Lines: the Collector's file exporter, one request per line
        try:
            found.append((f"{name}:{number}", json.loads(line)))
        except RecursionError:
            raise TraceProblem(f"{name}:{number}: JSON nested too deeply: not an OTLP/JSON export") from None
        except ValueError as exc:  # JSONDecodeError, or an integer of over 4,300 digits
            raise TraceProblem(
                f"{name}:{number}:{getattr(exc, 'colno', 1)}: line {number} is not valid JSON "
                f"({getattr(exc, 'msg', exc)}); "
                "the file is truncated or not OTLP/JSON Lines"
            ) from None
    return found


def _get(mapping: dict, camel: str, snake: str) -> Any:
    """OTLP/JSON keys are lowerCamelCase; protobuf JSON parsers also accept the field names."""
    return mapping[camel] if camel in mapping else mapping.get(snake)


def _list(value: Any, where: str, what: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise TraceProblem(f"{where}: {what} should be a list, got {type(value).__name__}")
    return value


def _spans(resource_spans: Any, where: str, export: TraceExport):
    for index, item in enumerate(_list(resource_spans, where, "resourceSpans")):
        if not isinstance(item, dict):
            raise TraceProblem(f"{where}: resourceSpans[{index}] is not an object")
        resource = attributes(_list((item.get("resource") or {}).get("attributes"), where, "resource.attributes"))
        schema_url = _get(item, "schemaUrl", "schema_url") or ""
        for scope_index, scope in enumerate(_list(_get(item, "scopeSpans", "scope_spans"), where, "scopeSpans")):
            if not isinstance(scope, dict):
                raise TraceProblem(f"{where}: resourceSpans[{index}].scopeSpans[{scope_index}] is not an object")
            scope_url = _get(scope, "schemaUrl", "schema_url") or schema_url
            for raw in _list(scope.get("spans"), where, "spans"):
                yield _span(raw, where, export, resource, scope_url)


def _span(raw: Any, where: str, export: TraceExport, resource: dict, schema_url: str) -> Span:
    if not isinstance(raw, dict):
        raise TraceProblem(f"{where}: a span is not an object")
    name = str(raw.get("name") or "")
    status = raw.get("status") or {}
    events = [
        SpanEvent(
            str(e.get("name") or ""),
            _nanos(_get(e, "timeUnixNano", "time_unix_nano"), where, name),
            attributes(_list(e.get("attributes"), where, "event attributes")),
        )
        for e in _list(raw.get("events"), where, "events")
        if isinstance(e, dict)
    ]
    parent = _get(raw, "parentSpanId", "parent_span_id")
    return Span(
        trace_id=_id(_get(raw, "traceId", "trace_id"), 16, where, name, export),
        span_id=_id(_get(raw, "spanId", "span_id"), 8, where, name, export),
        parent_span_id=_id(parent, 8, where, name, export) if parent else None,
        name=name,
        start_ns=_nanos(_get(raw, "startTimeUnixNano", "start_time_unix_nano"), where, name),
        end_ns=_nanos(_get(raw, "endTimeUnixNano", "end_time_unix_nano"), where, name),
        attributes=attributes(_list(raw.get("attributes"), where, "attributes")),
        status_code=_status_code(status.get("code") if isinstance(status, dict) else None),
        status_message=str(status.get("message") or "") if isinstance(status, dict) else "",
        events=events,
        resource=resource,
        schema_url=str(schema_url),
    )


def _id(value: Any, size: int, where: str, span: str, export: TraceExport) -> str:
    what = "traceId" if size == 16 else "spanId"
    if not isinstance(value, str) or not value:
        raise TraceProblem(f"{where}: span '{span}' has no {what}")
    if len(value) == size * 2 and _HEX.match(value):
        if int(value, 16) == 0:
            raise TraceProblem(f"{where}: span '{span}' has an all-zero {what} (invalid in W3C trace context)")
        return value.lower()
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        decoded = b""
    if len(decoded) == size:
        export.converted_base64_ids = True  # protobuf's MessageToJson writes bytes as base64
        return decoded.hex()
    raise TraceProblem(
        f"{where}: span '{span}' has {what} '{value}': OTLP/JSON ids are {size * 2} hex digits"
        + (f" (as base64 it is {len(decoded)} bytes, not {size})" if decoded else "")
    )


def _nanos(value: Any, where: str, span: str) -> int:
    try:
        number = int(value)  # OTLP/JSON writes 64-bit integers as strings
    except (TypeError, ValueError):
        raise TraceProblem(f"{where}: span '{span}' has no valid time in Unix nanoseconds ({value!r})") from None
    if number <= 0 or number >= LAST_NANOS:  # OTLP's fixed64 allows times Python cannot hold (year 10000+)
        raise TraceProblem(f"{where}: span '{span}' has time {number}: not a real timestamp")
    if number < FIRST_NANOS:  # no agent traced in the 1970s: the unit is wrong, and 1970 ids would be wrong
        unit = next((name for name, low in UNITS if number >= low), "seconds or less")
        raise TraceProblem(
            f"{where}: span '{span}' has time {number}, before 2000 as Unix nanoseconds "
            f"({from_unix_nanos(number).date()}): it looks like {unit}; OTLP/JSON times are Unix nanoseconds"
        )
    return number


def _status_code(value: Any) -> int:
    names = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}
    if isinstance(value, str) and value in names:
        return names[value]
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def attributes(items: list) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("key"), str):
            found[item["key"]] = any_value(item.get("value"))
    return found


def as_text(value: Any) -> str:
    """An attribute value as text, the way OpenTelemetry renders a non-string AnyValue where
    only a string fits (the spec's attribute-to-string mapping): a string as it is, anything
    else as JSON, so a kvlistValue reads {"name": "triage", "team": "sre"} and an array of
    them [{"code": 503}], never Python's repr nor an empty {}."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)


def any_value(value: Any) -> Any:
    """An OTLP AnyValue as a plain value (intValue arrives as a string in OTLP/JSON)."""
    if not isinstance(value, dict):
        return None
    if "stringValue" in value or "string_value" in value:
        return str(_get(value, "stringValue", "string_value"))
    if "boolValue" in value or "bool_value" in value:
        return bool(_get(value, "boolValue", "bool_value"))
    if "intValue" in value or "int_value" in value:
        try:
            return int(_get(value, "intValue", "int_value"))
        except (TypeError, ValueError):
            return None
    if "doubleValue" in value or "double_value" in value:
        raw = _get(value, "doubleValue", "double_value")
        try:
            return float(raw)
        except (TypeError, ValueError):
            return None
    if "arrayValue" in value or "array_value" in value:
        inner = _get(value, "arrayValue", "array_value") or {}
        return [any_value(v) for v in inner.get("values") or []]
    if "kvlistValue" in value or "kvlist_value" in value:
        inner = _get(value, "kvlistValue", "kvlist_value") or {}
        return attributes(inner.get("values") or [])
    if "bytesValue" in value or "bytes_value" in value:
        return str(_get(value, "bytesValue", "bytes_value"))
    return None
