"""The vectorized OpenAI path must produce exactly what the per-line path produces."""

from __future__ import annotations

import json
import sys
from decimal import Decimal
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


def _chat(i: int, **extra: object) -> dict:
    rec: dict = {"id": f"chatcmpl-{i}", "object": "chat.completion", "created": 1767225600 + i,
                 "model": "gpt-4o-mini", "usage": {"prompt_tokens": 100 + i, "completion_tokens": 10,
                                                   "prompt_tokens_details": {"cached_tokens": 64}}}
    rec.update(extra)
    return rec


def _responses(i: int, **extra: object) -> dict:
    rec: dict = {"id": f"resp_{i}", "object": "response", "created_at": 1767225600 + i, "model": "gpt-4o",
                 "usage": {"input_tokens": 200 + i, "output_tokens": 20,
                           "input_tokens_details": {"cached_tokens": 128},
                           "output_tokens_details": {"reasoning_tokens": 5}}}
    rec.update(extra)
    return rec


@pytest.mark.parametrize("first", ["chat", "responses"])
def test_mixed_shapes_and_statuses_same_both_ways(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  first: str) -> None:
    """Chat Completions and Responses records in one file, in either order, with the statuses and
    odd spellings that once differed between the paths (an unwrapped "error" status is not an
    error per line; a Chat usage never borrows Responses detail names)."""
    recs: list[dict] = []
    for i in range(60):
        make = _chat if (i < 30) == (first == "chat") else _responses
        recs.append(make(i))
    recs[3]["status"] = "error"          # not a Responses status: stays ok
    recs[4]["status"] = "Failed"         # case matters on the response itself
    recs[5]["status"] = "cancelled"
    recs[6]["status"] = "failed"
    recs[7]["usage"]["input_tokens_details"] = {"cached_tokens": 99}   # stray name next to chat names
    recs[40]["status"] = "failed"
    recs[41]["usage"].pop("prompt_tokens", None)                       # either spelling, incomplete
    recs[41]["usage"].pop("input_tokens", None)
    for i, tier in ((8, "flex"), (9, "default"), (10, "priority"), (44, "flex"), (45, "auto"), (46, "")):
        recs[i]["service_tier"] = tier
    recs[11]["usage"]["service_tier"] = "scale"                       # a gateway's usage.service_tier
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    fast, slow, fast_rejects, slow_rejects = _both(path, monkeypatch, chunk=1 << 20)
    assert _sorted(fast).equals(_sorted(slow))
    assert [(r.line, r.reason) for r in fast_rejects] == [(r.line, r.reason) for r in slow_rejects]
    statuses = dict(zip(_sorted(fast)["source_line"].to_pylist(), _sorted(fast)["status"].to_pylist(), strict=True))
    assert [statuses[n] for n in (4, 5, 6, 7, 41)] == ["ok", "ok", "error", "error", "error"]
    tiers = dict(zip(_sorted(fast)["source_line"].to_pylist(), _sorted(fast)["service_tier"].to_pylist(), strict=True))
    assert [tiers[n] for n in (9, 10, 11, 12, 45, 46, 47, 1)] == \
        ["flex", "standard", "priority", "scale", "flex", "standard", None, None]


def test_chat_plan_widens_for_responses_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Chat-first file that turns out to hold Responses records is re-read with both spellings,
    not sent line by line."""
    per_line: list[int] = []
    real = fastjson._redo_rows

    def spy(chunk: bytes, first_line: int, rows: object, *args: object) -> None:
        per_line.append(len(rows))  # type: ignore[arg-type]
        real(chunk, first_line, rows, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(fastjson, "_redo_rows", spy)
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(json.dumps(_chat(i) if i % 2 else _responses(i)) for i in range(1, 101)) + "\n")
    assert scan([str(path)]).table().num_rows == 100
    assert per_line == []


def test_cache_hits_beside_prompt_tokens_same_both_ways(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Mistral's usage.num_cached_tokens and DeepSeek's usage.prompt_cache_hit_tokens are cache reads
    (a part of prompt_tokens) on both read paths; the details' cached_tokens wins when present."""
    import json

    lines = [
        {"id": "a", "created": 1767225600, "model": "mistral-large-latest",
         "usage": {"prompt_tokens": 70, "completion_tokens": 12, "num_cached_tokens": 69}},
        {"id": "b", "created": 1767225601, "model": "deepseek-chat",
         "usage": {"prompt_tokens": 100, "completion_tokens": 5, "prompt_cache_hit_tokens": 64}},
        {"id": "c", "created": 1767225602, "model": "gpt-4o-mini",
         "usage": {"prompt_tokens": 100, "completion_tokens": 5, "prompt_tokens_details": {"cached_tokens": 32},
                   "num_cached_tokens": 99}},
    ]
    path = tmp_path / "log.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    fast, slow, _, _ = _both(path, monkeypatch)
    for table in (fast, slow):
        assert _sorted(table).column("cache_read_tokens").to_pylist() == [69, 64, 32]


@pytest.mark.parametrize("wrapped", [False, True])
def test_openrouter_generations_are_filed_under_openrouter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          wrapped: bool) -> None:
    """A response whose id is an OpenRouter generation id went through OpenRouter, which billed it at
    its own price: the row's provider is openrouter, not the vendor its ``vendor/model`` names
    (deepseek-chat costs more there than direct). A wrapper's own provider still wins."""
    recs = [
        _chat(0, id="gen-1793079044-30828522d84558399fbaecb1f", model="deepseek/deepseek-chat"),
        _chat(1, id="gen-1793089151-7578d55cd6cec8dd9ec97251b", model="google/gemini-2.5-flash"),
        _chat(2, id="chatcmpl-9", model="deepseek/deepseek-chat"),
        _chat(3, id="generation-42", model="google/gemini-2.5-flash"),
    ]
    if wrapped:
        recs = [{"timestamp": f"2026-01-01T00:00:0{i}Z", "request_id": f"r{i}", "response": r}
                for i, r in enumerate(recs)]
        recs.append({"timestamp": "2026-01-01T00:00:05Z", "provider": "azure",
                     "response": _chat(5, id="gen-1793089151-x", model="gpt-4o-mini")})
    path = tmp_path / "log.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    fast, slow, _, _ = _both(path, monkeypatch)
    expected = ["openrouter", "openrouter", "deepseek", "google"] + (["azure"] if wrapped else [])
    for table in (fast, slow):
        assert _sorted(table).column("provider").to_pylist() == expected
    assert _sorted(fast).equals(_sorted(slow))


def test_openrouter_gateway_example_is_priced_at_openrouter(run_cli) -> None:  # type: ignore[no-untyped-def]
    """The bundled gateway log: every priced model is OpenRouter's, and the billed charges (written at
    OpenRouter's list price, a few rows perturbed) agree with the recomputed cost per model within
    the perturbed rows' share."""
    repo = Path(__file__).resolve().parents[2]
    r = run_cli(["report", "--spend", str(repo / "examples/logs/openrouter-gateway.jsonl"), "--format", "json",
                 "--no-store", "--no-whatif"])
    assert r.exit_code == 0, r.stderr
    data = json.loads(r.stdout)
    assert [row["provider"] for row in data["breakdowns"]["provider"]["rows"]] == ["openrouter"]
    b = data["billed_vs_recomputed"]
    # Only the deliberately perturbed rows (about 6%) differ; the rest match OpenRouter's price to
    # the 9 decimals the file carries. At the vendors' direct prices every deepseek row differed.
    assert 0 < b["differing_rows"] < 0.1 * b["compared_rows"]
    agreeing_billed = Decimal(str(b["billed"])) - Decimal(str(b["differing_billed"]))
    agreeing_recomputed = Decimal(str(b["recomputed"])) - Decimal(str(b["differing_recomputed"]))
    assert abs(agreeing_billed - agreeing_recomputed) < Decimal("0.000001")
