"""The vectorized OpenAI path must produce exactly what the per-line path produces."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from llmaudit.ingest import fastjson, scan

FIX = Path(__file__).parent / "fixtures"
sys.path.insert(0, str(Path(__file__).parent))
from gen_openai_log import line as gen_line  # noqa: E402


def _both(path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int = 700) -> tuple[pa.Table, pa.Table, list, list]:
    monkeypatch.setattr(fastjson, "CHUNK_BYTES", chunk)   # many chunks: boundaries and line numbers
    fast = scan([str(path)])
    fast_table = fast.table()
    with monkeypatch.context() as m:
        m.setattr(fastjson, "_plan", lambda head: None)
        slow = scan([str(path)])
        slow_table = slow.table()
    return fast_table, slow_table, fast.summary.rejects, slow.summary.rejects


def _sorted(t: pa.Table) -> pa.Table:
    return t.sort_by("source_line")


@pytest.mark.parametrize("wrapped", [False, True])
def test_generated_log_same_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wrapped: bool) -> None:
    import random

    rng = random.Random(1)
    lines = [gen_line(i, rng, wrapped) for i in range(40)]
    path = tmp_path / "gen.jsonl"
    path.write_text("\n".join(lines) + "\n")
    fast, slow, _, _ = _both(path, monkeypatch)
    assert fast.num_rows == slow.num_rows == 40
    assert _sorted(fast).equals(_sorted(slow))


def test_iso_wrapped_and_mixed_bad_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = json.loads((FIX / "openai_chat.jsonl").read_text().splitlines()[3])
    lines = []
    for i in range(30):
        rec = json.loads(json.dumps(base))
        rec["response"]["id"] = f"chatcmpl-{i}"
        rec["timestamp"] = f"2026-01-01T02:{i:02d}:00.5+01:00" if i < 15 else f"2026-01-01 02:{i:02d}:00"
        rec["api_key"] = "sk-proj-abcdefghijklmnop" if i == 3 else "team-key"
        if i == 5:
            rec["response"]["usage"]["prompt_tokens"] = -1
        if i == 7:
            rec["response"]["usage"]["completion_tokens"] = "x"
        if i == 9:
            del rec["response"]["usage"]
        lines.append(json.dumps(rec))
    lines.insert(12, lines[12][:40])   # truncated line mid-file
    path = tmp_path / "w.jsonl"
    path.write_text("\n".join(lines) + "\n")
    fast, slow, fast_rej, slow_rej = _both(path, monkeypatch, chunk=2000)
    assert fast.num_rows == slow.num_rows == 27
    assert _sorted(fast).equals(_sorted(slow))
    assert sorted((r.line, r.reason) for r in fast_rej) == sorted((r.line, r.reason) for r in slow_rej)
    assert {r.line for r in fast_rej} == {6, 8, 10, 13}
    assert "sk-proj" not in str(fast["api_key"].to_pylist())   # a secret in the alias field is redacted
    first = fast.sort_by("source_line").to_pylist()[0]
    assert first["timestamp"].isoformat() == "2026-01-01T01:00:00.500000+00:00"


def test_fixture_same_both_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    fast, slow, _, _ = _both(FIX / "openai_chat.jsonl", monkeypatch, chunk=1 << 20)
    assert _sorted(fast).equals(_sorted(slow))


def test_vectorized_path_is_taken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import random

    calls: list[int] = []
    real = fastjson._normalize_chunk

    def spy(table: pa.Table, first_line: int, wrapped: bool) -> object:
        calls.append(table.num_rows)
        return real(table, first_line, wrapped)

    monkeypatch.setattr(fastjson, "_normalize_chunk", spy)
    rng = random.Random(2)
    path = tmp_path / "gen.jsonl"
    path.write_text("\n".join(gen_line(i, rng, False) for i in range(20)) + "\n")
    assert scan([str(path)]).table().num_rows == 20
    assert sum(calls) == 20


def test_naive_iso_timestamps_are_utc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = json.loads((FIX / "openai_chat.jsonl").read_text().splitlines()[3])
    lines = []
    for i in range(10):
        rec = json.loads(json.dumps(base))
        rec["response"]["id"] = f"c-{i}"
        rec["timestamp"] = f"2026-01-01 02:{i:02d}:00.250"
        lines.append(json.dumps(rec))
    path = tmp_path / "naive.jsonl"
    path.write_text("\n".join(lines) + "\n")
    fast, slow, _, _ = _both(path, monkeypatch, chunk=1 << 20)
    assert _sorted(fast).equals(_sorted(slow))
    assert fast.sort_by("source_line")["timestamp"][0].as_py().isoformat() == "2026-01-01T02:00:00.250000+00:00"
