"""Reading the audit trail back (``clearsight guard audit-summary``): JSONL and SQLite agree, malformed lines are
located, large files stream, and each route's busiest client-day is counted as the volume signal counts."""

from __future__ import annotations

import json
import tracemalloc
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from audit_support import T0, day_of_traffic, make_record, volume_reasons

from clearsight.core.errors import InputError
from clearsight.guard.audit import AuditSink, JsonlSink, SqlSink
from clearsight.guard.audit_summary import summarise


def write_sample(sink: AuditSink) -> None:
    records = [make_record(i, client="key:aaaa", action="block") for i in range(5)]
    records += [make_record(10 + i, client="key:bbbb", action="alert") for i in range(3)]
    records += [make_record(20 + i, client="ip:10.0.0.1", action="block") for i in range(3)]
    records += [make_record(30 + i, client=f"ip:10.0.1.{i}", action="allow") for i in range(4)]
    sink.write_batch(records)
    sink.close()


def check_sample(summary_json: dict[str, object]) -> None:
    assert summary_json["total"] == 15
    assert summary_json["actions"] == {"alert": 3, "allow": 4, "block": 8}
    assert summary_json["clients"] == 7
    assert summary_json["first"] == "2026-11-26T12:00:00+00:00"
    assert summary_json["last"] == "2026-11-26T12:00:00.033000+00:00"
    assert summary_json["top_clients"] == [
        {"client": "key:aaaa", "blocks": 5, "alerts": 0},
        {"client": "ip:10.0.0.1", "blocks": 3, "alerts": 0},
        {"client": "key:bbbb", "blocks": 0, "alerts": 3},
    ]


def test_summarise_jsonl_and_sqlite_agree(tmp_path: Path) -> None:
    jsonl = tmp_path / "audit.jsonl"
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    write_sample(JsonlSink(jsonl))
    write_sample(SqlSink(url))
    from_file = summarise(str(jsonl)).to_json()
    from_db = summarise(url).to_json()
    check_sample(from_file)
    check_sample(from_db)
    assert json.loads(json.dumps(from_file)) == from_file
    assert summarise(str(jsonl), top=1).top_clients[0].client == "key:aaaa"


def test_summarise_finds_each_routes_busiest_client_day(tmp_path: Path) -> None:
    jsonl = tmp_path / "audit.jsonl"
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    for sink in (JsonlSink(jsonl), SqlSink(url)):
        sink.write_batch(day_of_traffic())
        sink.close()
    for source in (str(jsonl), url):
        busiest = summarise(source).busiest
        assert [(b.route, b.client, b.queries) for b in busiest] == [("/v1/explain", "key:other", 3),
                                                                      ("/v1/score", "key:busy", 48)]
        assert busiest[1].at == T0 + timedelta(hours=24.75)
    assert summarise(str(jsonl)).to_json()["busiest"][1] == {
        "route": "/v1/score", "client": "key:busy", "queries_in_a_day": 48,
        "at": (T0 + timedelta(hours=24.75)).isoformat()}


def test_the_audit_summary_command_shows_the_busiest_client_day(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from clearsight.cli.app import main

    jsonl = tmp_path / "audit.jsonl"
    sink = JsonlSink(jsonl)
    sink.write_batch(day_of_traffic())
    sink.close()
    assert main(["guard", "audit-summary", str(jsonl)]) == 0
    out = capsys.readouterr().out
    assert ("busiest client-day on /v1/score: key:busy, 48 answered queries (the day to 2026-11-27T12:45:00+00:00)"
            in out)


def test_summarise_counts_answers_judged_without_the_shared_volume(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    jsonl = tmp_path / "audit.jsonl"
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    for sink in (JsonlSink(jsonl), SqlSink(url)):
        sink.write_batch(volume_reasons())
        sink.close()
    assert summarise(str(jsonl)).unshared == summarise(url).unshared == 2
    assert summarise(str(jsonl)).to_json()["volume_unshared"] == 2
    from clearsight.cli.app import main

    assert main(["guard", "audit-summary", str(jsonl)]) == 0
    assert "2 answers judged on one replica's volume count" in capsys.readouterr().out


def test_summarise_counts_malformed_lines_with_their_location(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_sample(JsonlSink(path))
    with path.open("a", encoding="utf-8") as handle:
        handle.write("\n")  # blank lines are not records and not errors
        handle.write('{"request_id": "x"}\n')
        handle.write("not json at all\n")
        handle.write('{"time": "2026-11-26T12:00:00+00:00", "torn')  # a crash mid-write
    summary = summarise(f"jsonl:{path}")
    assert summary.total == 15
    assert summary.malformed == 3
    assert [e.split(": ")[0] for e in summary.malformed_examples] == [f"{path}:17", f"{path}:18", f"{path}:19"]
    with pytest.raises(InputError) as info:
        summarise(str(path), strict=True)
    assert info.value.line == 17
    assert f"{path}:17" in info.value.diagnostic()


def test_summarise_streams_a_large_file(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    sink = JsonlSink(path)
    for start in range(0, 20_000, 5_000):
        sink.write_batch([make_record(i) for i in range(start, start + 5_000)])
    sink.close()
    size = path.stat().st_size
    tracemalloc.start()
    try:
        summary = summarise(str(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert summary.total == 20_000
    assert peak < size / 10  # far less than the file: it was read line by line


def test_summarise_reports_missing_sources(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        summarise(str(tmp_path / "nope.jsonl"))
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    sa.create_engine(url).dispose()
    with pytest.raises(InputError, match="no audit table"):
        summarise(url)
    with pytest.raises(InputError, match="unknown audit target"):
        summarise("whatever")


def test_summarise_an_empty_log(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    JsonlSink(path).close()
    summary = summarise(str(path))
    assert (summary.total, summary.clients, summary.first, summary.last) == (0, 0, None, None)


def test_clients_silent_for_a_day_are_let_go_so_memory_stays_bounded() -> None:
    from clearsight.guard.audit_summary import _Peaks

    peaks = _Peaks()
    for hour in range(24 * 30):  # a month; 200 new clients an hour, each sending three queries in its hour
        for k in range(200):
            for minute in (0, 10, 20):
                peaks.add("/v1/score", f"key:{hour}-{k}", 200, T0 + timedelta(hours=hour, minutes=minute))
        peaks.add("/v1/score", "key:steady", 200, T0 + timedelta(hours=hour, minutes=30))
    assert len(peaks._counts) < 2 * 24 * 200 + 1_024  # about a day's clients, not the month's 144,000
    (peak,) = peaks.peaks()
    assert (peak.client, peak.queries) == ("key:steady", 24)
