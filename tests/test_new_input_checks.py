"""Finding 24 (outside review): what kb writes from flags and files is checked first.

`kb new card --alert` validates the name as KB110 does before writing anything; a round-trip
edit (`kb card verified`) keeps a UTF-8 byte order mark; `--from-trace` refuses timestamps
that are not Unix nanoseconds (microseconds or milliseconds read as nanoseconds land in 1970)."""

from __future__ import annotations

import json
from pathlib import Path

from kb.commands import card as card_verb
from kb.commands import new as new_verb


def test_new_card_refuses_an_alert_name_kb110_would_refuse(base_kb: Path, call) -> None:
    router = (base_kb / "router.md").read_bytes()
    ran = call(
        new_verb.card,
        title="Foo qux",
        rotation="sre-primary",
        priority="P3",
        owner="s",
        alert=["GoodAlert", "bad alert{x}"],
        root=base_kb,
    )
    assert ran.returncode != 0
    assert "--alert 'bad alert{x}' is not an alert name" in ran.stderr
    assert not (base_kb / "cards" / "foo-qux.yaml").exists()
    assert (base_kb / "router.md").read_bytes() == router


def test_new_postmortem_refuses_a_bad_alert_name(base_kb: Path, call) -> None:
    ran = call(new_verb.postmortem, title="t", priority="P2", alert="9lives", root=base_kb)
    assert ran.returncode != 0 and "--alert '9lives' is not an alert name" in ran.stderr
    assert not list((base_kb / "postmortems").glob("*-t.yaml"))


def test_a_round_trip_edit_keeps_a_byte_order_mark(base_kb: Path, call) -> None:
    path = base_kb / "cards" / "queue-stuck.yaml"
    original = path.read_bytes()
    path.write_bytes(b"\xef\xbb\xbf" + original)
    assert call(card_verb.run, "verified", "queue-stuck", root=base_kb).returncode == 0
    edited = path.read_bytes()
    assert edited.startswith(b"\xef\xbb\xbf") and not edited.startswith(b"\xef\xbb\xbf" * 2)
    assert edited != b"\xef\xbb\xbf" + original  # the stamp was written


def trace(start_ns: int) -> dict:
    span = {
        "traceId": "4bf92f3577b34da6a3ce929d0e0e4736",
        "spanId": "00f067aa0ba902b7",
        "name": "chat claude",
        "kind": 3,
        "startTimeUnixNano": str(start_ns),
        "endTimeUnixNano": str(start_ns + 1_000_000),
        "attributes": [{"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}}],
        "status": {"code": 2},
    }
    return {"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"spans": [span]}]}]}


def test_from_trace_refuses_microsecond_and_millisecond_timestamps(base_kb: Path, tmp_path: Path, call) -> None:
    for value, unit in ((1_764_470_000_000_000, "microseconds"), (1_764_470_000_000, "milliseconds")):
        path = tmp_path / "trace.json"
        path.write_text(json.dumps(trace(value)))
        ran = call(new_verb.postmortem, title="t", priority="P2", from_trace=path, root=base_kb)
        assert ran.returncode == 1, ran.stdout
        assert "before 2000" in ran.stderr and unit in ran.stderr
    assert not list((base_kb / "postmortems").glob("PM-19*"))
    path.write_text(json.dumps(trace(1_764_470_000_000_000_000)))  # nanoseconds: 2025-11-30
    assert call(new_verb.postmortem, title="t", priority="P2", from_trace=path, root=base_kb).returncode == 0
    assert list((base_kb / "postmortems").glob("PM-2025-*-t.yaml"))
