"""Every reader on its hand-written fixture (real field names, formats.md): exact counts and totals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pytest

from llmaudit.ingest import scan
from llmaudit.schema import USAGE_SCHEMA, validate

FIX = Path(__file__).parent / "fixtures"


def _totals(table: Any) -> dict[str, Any]:
    def s(name: str) -> Any:
        return pc.sum(table[name]).as_py() or 0

    return {
        "rows": table.num_rows,
        "input": s("input_tokens"),
        "output": s("output_tokens"),
        "cache_read": s("cache_read_tokens"),
        "cache_write": s("cache_write_tokens"),
        "cache_write_1h": s("cache_write_1h_tokens"),
        "reasoning": s("reasoning_tokens"),
    }


# (fixture, reader, read, kept, rejected, duplicates, totals)
CASES = [
    ("openai_chat.jsonl", "openai", 5, 4, 0, 1,
     {"input": 9420, "output": 4445, "cache_read": 5120, "cache_write": 0, "reasoning": 3164}),
    ("anthropic_messages.jsonl", "anthropic", 3, 2, 1, 0,
     # 412+2048+18310 + 100+1000+0: Anthropic input is made inclusive of cache reads and writes
     {"input": 21870, "output": 690, "cache_read": 18310, "cache_write": 3048, "cache_write_1h": 1000,
      "reasoning": 20}),
    ("gemini.jsonl", "gemini", 2, 2, 0, 0,
     # output = candidates + thoughts; input = prompt + toolUsePrompt
     {"input": 22015 + 1200 + 50, "output": 378 + 1102 + 300, "cache_read": 16000, "reasoning": 1102}),
    ("openai_batch_output.jsonl", "openai-batch", 2, 2, 0, 0, {"input": 42, "output": 11}),
    ("openai_batch_errors.jsonl", "openai-batch", 0, 0, 0, 0, {"rows": 0}),
    ("openai_usage.json", "openai-usage", 2, 2, 0, 0, {"input": 191201, "output": 11756, "cache_read": 10000}),
    ("openai_costs.json", "openai-costs", 2, 2, 0, 0, {"input": 0, "output": 0}),
    ("anthropic_usage_report.json", "anthropic-usage", 2, 2, 0, 0,
     {"input": 1500 + 1000 + 500 + 200 + 300, "output": 600, "cache_read": 200, "cache_write": 1500,
      "cache_write_1h": 1000}),
    ("anthropic_cost_report.json", "anthropic-cost", 2, 2, 0, 0, {"input": 0, "output": 0}),
    ("openrouter_activity.csv", "openrouter", 3, 3, 0, 0,
     {"input": 21700, "output": 1350, "cache_read": 15200, "reasoning": 100}),
    ("openrouter_activity_2025.csv", "openrouter", 1, 1, 0, 0, {"input": 1000, "output": 100}),
    # GET /api/v1/generation answers, one {"data": {...}} a line: native counts (10000, not the
    # normalized 9650); the last line repeats the second
    ("openrouter_generation.jsonl", "openrouter-generation", 5, 4, 0, 1,
     {"input": 2000 + 10000 + 1000 + 1000, "output": 302 + 500 + 100 + 100, "cache_read": 1920 + 8000,
      "reasoning": 120}),
    # prompt_tokens already include cache tokens (LiteLLM); the cache hit row counts 0 tokens
    ("litellm_spendlogs.csv", "litellm", 4, 4, 0, 0,
     {"input": 1500 + 20770, "output": 50 + 640, "cache_read": 1024 + 18310, "cache_write": 2048}),
    ("litellm_spendlogs.json", "litellm", 2, 2, 0, 0, {"input": 1300, "output": 130}),
    # Anthropic's 5m/1h split from usage_object.prompt_tokens_details.cache_creation_token_details
    ("litellm_spendlogs_1h.json", "litellm", 2, 2, 0, 0,
     {"input": 12200, "output": 100, "cache_read": 10000, "cache_write": 2000, "cache_write_1h": 600 + 1000}),
    ("langfuse_observations.json", "langfuse", 3, 3, 0, 0,
     {"input": 1000 + 20770 + 1000, "output": 250 + 640 + 400, "cache_read": 100 + 18310 + 200,
      "cache_write": 2048, "reasoning": 50 + 100}),
    # AGENT and EMBEDDING observations carry usage and are rows; TOOL/SPAN/EVENT/RETRIEVER are skipped
    ("langfuse_observation_types.json", "langfuse", 3, 3, 0, 0,
     {"input": 1200 + 5000 + 2000, "output": 300 + 100, "cache_read": 1200}),
    ("helicone_export.csv", "helicone", 3, 3, 0, 0, {"input": 2120, "output": 530}),
    ("helicone_export_cost_usd.csv", "helicone", 1, 1, 0, 0, {"input": 1000, "output": 100}),
    # @helicone/export's default JSONL: cache reads a subset of prompt_tokens (OpenAI), Anthropic's
    # kept apart and added in (100 + 5000 + 1000); a 500 with no counts rejected; a repeat a duplicate
    ("helicone_export.jsonl", "helicone", 4, 2, 1, 1,
     {"input": 2000 + 6100, "output": 302 + 50, "cache_read": 1920 + 5000, "cache_write": 1000}),
    ("portkey_logs.jsonl", "portkey", 2, 2, 0, 0, {"input": 1500, "output": 200, "cache_read": 500}),
    # the provider response under response.body: OpenAI cached tokens; Anthropic's disjoint cache
    # reads/writes (with the 1h split) make req_units 100 inclusive: 100 + 5000 + 1000
    ("portkey_logs_body.jsonl", "portkey", 2, 2, 0, 0,
     {"input": 2000 + 6100, "output": 302 + 50, "cache_read": 1920 + 5000, "cache_write": 1000,
      "cache_write_1h": 600, "reasoning": 0}),
    ("claude", "claude-code", 5, 3, 0, 2,
     {"input": 147759 + 2010 + 150, "output": 412 + 100 + 20, "cache_read": 147449 + 100,
      "cache_write": 306 + 2000, "cache_write_1h": 2000}),
]


@pytest.mark.parametrize(("fixture", "reader", "read", "kept", "rejected", "dups", "totals"), CASES,
                         ids=[c[0] for c in CASES])
def test_fixture(fixture: str, reader: str, read: int, kept: int, rejected: int, dups: int,
                 totals: dict[str, int]) -> None:
    s = scan([str(FIX / fixture)])
    table = s.table()
    summary = s.summary
    assert {f.reader for f in summary.files} == {reader}
    assert (summary.rows_read, summary.rows_kept, summary.rows_rejected, summary.duplicate_count) == (
        read, kept, rejected, dups)
    assert summary.rows_read == summary.rows_kept + summary.rows_rejected + summary.duplicate_count
    assert table.num_rows == kept
    got = _totals(table)
    for key, value in totals.items():
        assert got[key] == value, key
    # Conforming, valid, unpriced.
    assert table.schema.names[: len(USAGE_SCHEMA)] == USAGE_SCHEMA.names
    validate(table)
    if table.num_rows:
        assert set(table["price_status"].to_pylist()) == {"unpriced"}
        assert table["cost_usd"].null_count == table.num_rows
        assert set(table["source_format"].to_pylist()) == {reader}
        assert table["timestamp"].null_count == 0
        assert all(line >= 1 for line in table["source_line"].to_pylist())


def test_openai_fields() -> None:
    t = scan([str(FIX / "openai_chat.jsonl")]).table()
    rows = {r["request_id"]: r for r in t.to_pylist()}
    assert rows["chatcmpl-AAA1"]["timestamp"].isoformat() == "2026-01-01T00:00:00+00:00"
    assert rows["chatcmpl-AAA1"]["provider"] == "openai"
    assert rows["chatcmpl-AAA1"]["model"] == rows["chatcmpl-AAA1"]["model_raw"] == "gpt-4o-mini-2024-07-18"
    assert rows["resp_67ccd2bed1ec8190"]["web_search_requests"] == 1
    wrapped = rows["chatcmpl-AAA4"]
    assert wrapped["timestamp"].isoformat() == "2026-01-01T02:00:00+00:00"
    assert wrapped["tags"] == ["search", "prod"]
    assert (wrapped["latency_ms"], wrapped["ttft_ms"]) == (812.5, 140)
    assert (wrapped["user"], wrapped["project"]) == ("u42", "web")
    assert all(r["requests"] == 1 and r["batch"] is False for r in rows.values())


def test_duplicates_reported() -> None:
    s = scan([str(FIX / "openai_chat.jsonl")])
    s.table()
    [dup] = s.summary.duplicates
    assert (dup.request_id, dup.line) == ("chatcmpl-AAA1", 5)


def test_anthropic_fields() -> None:
    t = scan([str(FIX / "anthropic_messages.jsonl")]).table()
    first, second = t.to_pylist()
    assert first["request_id"] == "req_011CT9uFRGTsw9xDwb2qqehZ"
    assert first["web_search_requests"] == 1 and first["provider"] == "anthropic"
    assert second["batch"] is True and second["cache_write_1h_tokens"] == 1000
    assert second["timestamp"].isoformat() == "2026-01-02T10:00:00+00:00"


def test_batch_rows_are_batch_priced_and_errors_skipped() -> None:
    s = scan([str(FIX / "openai_batch_output.jsonl"), str(FIX / "openai_batch_errors.jsonl")])
    t = s.table()
    assert t["batch"].to_pylist() == [True, True]
    assert t["request_id"].to_pylist() == ["req_123", "req_789"]
    assert s.summary.files[1].skipped == {"batch request not executed (batch_expired), not billed": 1}


def test_usage_buckets() -> None:
    t = scan([str(FIX / "openai_usage.json")]).table()
    a, b = t.to_pylist()
    assert a["requests"] == 470 and a["model_raw"] == "(not grouped by model)"
    assert a["timestamp"].isoformat() == "2025-01-11T17:31:00+00:00"
    assert b["batch"] is True and b["project"] == "proj_abc" and b["api_key"] == "key_abc"
    t = scan([str(FIX / "anthropic_usage_report.json")]).table()
    a, b = t.to_pylist()
    assert a["requests"] is None and a["web_search_requests"] == 10
    assert a["project"] == "wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ"
    assert a["timestamp"].isoformat() == "2025-08-01T00:00:00+00:00"


def test_cost_reports_money_without_tokens() -> None:
    t = scan([str(FIX / "anthropic_cost_report.json")]).table()
    # "123.78912" cents = $1.2378912; "10" cents = $0.10
    assert t["billed_cost_usd"].to_pylist() == [pytest.approx(1.2378912), pytest.approx(0.10)]
    assert t["requests"].to_pylist() == [0, 0]
    assert t["model_raw"].to_pylist() == ["claude-sonnet-4-20250514", "(web_search)"]
    assert all("cost-report" in tags for tags in t["tags"].to_pylist())
    t = scan([str(FIX / "openai_costs.json")]).table()
    assert t["billed_cost_usd"].to_pylist() == [0.06, 1.25]
    assert t["model_raw"].to_pylist() == ["(all line items)", "gpt-4o-mini"]


def test_claude_code_dedup_and_skips() -> None:
    s = scan([str(FIX / "claude")])
    t = s.table()
    a, b = s.summary.files
    assert a.skipped == {"not a usage line": 2, "<synthetic> placeholder (API error)": 1}
    assert a.duplicates == 1 and b.duplicates == 1   # same message on 2 lines; replay in another session
    rows = {r["request_id"]: r for r in t.to_pylist()}
    assert rows["req_011CT9uFRGTsw9xDwb2qqehZ"]["output_tokens"] == 412   # larger of the two lines kept
    assert rows["req_011CTBBB"]["web_search_requests"] == 2
    assert rows["req_011CTCCC"]["billed_cost_usd"] == 0.00031
    assert {r["project"] for r in rows.values()} == {"-home-dev-shop"}


def _billed(fixture: str) -> list[float | None]:
    return scan([str(FIX / fixture)]).table()["billed_cost_usd"].to_pylist()


def test_gateway_fields() -> None:
    t = scan([str(FIX / "openrouter_activity.csv")]).table()
    rows = t.to_pylist()
    assert [r["provider"] for r in rows] == ["openrouter"] * 3   # who served and billed it, for every model
    assert rows[0]["model_raw"] == "openai/gpt-4.1-2025-04-14"
    assert rows[0]["timestamp"].isoformat() == "2026-06-28T03:46:57.713000+00:00"
    assert (rows[0]["latency_ms"], rows[0]["ttft_ms"], rows[0]["api_key"]) == (2300, 410, "prod-key")
    assert rows[2]["status"] == "error"
    assert [r["tags"] for r in rows] == [None] * 3   # vendor columns (variant, provider_name …) are not tags
    assert _billed("openrouter_activity.csv") == [0.0042, 0.0, 0.125]

    rows = scan([str(FIX / "litellm_spendlogs.csv")]).table().to_pylist()
    assert [r["provider"] for r in rows] == ["openai", "bedrock", "openai", "openai"]
    assert rows[0]["api_key"] == "prod" and rows[0]["project"] == "team-a" and rows[0]["tags"] == ["checkout"]
    assert rows[0]["ttft_ms"] == pytest.approx(296) and rows[0]["latency_ms"] == 800
    assert rows[2]["tags"] == ["cache-hit"] and rows[2]["input_tokens"] == 0
    assert rows[3]["status"] == "error"
    rows = scan([str(FIX / "litellm_spendlogs.json")]).table().to_pylist()
    assert rows[0]["provider"] == "google" and rows[0]["user"] == "cust-9" and rows[0]["api_key"] == "batch-jobs"

    rows = scan([str(FIX / "langfuse_observations.json")]).table().to_pylist()
    assert [r["request_id"] for r in rows] == ["obs-1", "obs-2", "obs-4"]
    assert (rows[0]["latency_ms"], rows[0]["ttft_ms"]) == (2500, 400)
    assert rows[2]["status"] == "error"
    assert _billed("langfuse_observations.json") == [0.00485, 0.024009, None]

    rows = scan([str(FIX / "helicone_export.csv")]).table().to_pylist()
    assert rows[0]["tags"] == ["environment:prod", "feature:search"] and rows[0]["user"] == "user-42"
    assert [r["status"] for r in rows] == ["ok", "error", "ok"]
    assert _billed("helicone_export_cost_usd.csv") == [0.0035]

    rows = scan([str(FIX / "portkey_logs.jsonl")]).table().to_pylist()
    assert rows[0]["billed_cost_usd"] == pytest.approx(0.005125)   # cents → USD
    assert rows[0]["user"] == "user-5" and rows[1]["status"] == "error"


def test_gemini_stream_chunks_count_once(tmp_path: Path) -> None:
    import json

    base = json.loads((FIX / "gemini.jsonl").read_text().splitlines()[1])
    chunks = []
    for n in (10, 150, 300):
        rec = json.loads(json.dumps(base))
        rec["usageMetadata"]["candidatesTokenCount"] = n
        chunks.append(json.dumps(rec))
    p = tmp_path / "stream.jsonl"
    p.write_text("\n".join(chunks) + "\n")
    s = scan([str(p)])
    t = s.table()
    assert t["output_tokens"].to_pylist() == [300] and t["input_tokens"].to_pylist() == [1250]
    assert s.summary.files[0].skipped == {"earlier chunk of a streamed response": 2}


def test_helicone_jsonl_forced_and_fields() -> None:
    s = scan([str(FIX / "helicone_export.jsonl")], "helicone")
    t = s.table()
    assert (s.summary.rows_read, s.summary.rows_kept, s.summary.rows_rejected, s.summary.duplicate_count) == (
        4, 2, 1, 1)
    first, second = t.sort_by("source_line").to_pylist()
    assert (first["provider"], second["provider"]) == ("openai", "anthropic")
    assert (first["latency_ms"], first["ttft_ms"]) == (1412.0, 310.0)
    assert first["tags"] == ["environment:prod", "feature:search"] and first["user"] == "user-42"
    assert first["billed_cost_usd"] == 0.0003372


def test_langfuse_types_without_usage_skipped_by_reason() -> None:
    s = scan([str(FIX / "langfuse_observation_types.json")])
    t = s.table()
    assert sorted(t["model"].to_pylist()) == ["gpt-4o-mini-2024-07-18", "gpt-4o-mini-2024-07-18",
                                              "text-embedding-3-small"]
    assert s.summary.files[0].skipped == {f"Langfuse {k} observation (no usage)": 1
                                          for k in ("TOOL", "SPAN", "EVENT", "RETRIEVER")}


def test_litellm_gateway_price_kept() -> None:
    t = scan([str(FIX / "litellm_spendlogs_1h.json")]).table().sort_by("source_line")
    first, second = t["gateway_price"].to_pylist()
    assert first == ("claude-sonnet-4-5-20250929: input $3/M, output $15/M, cache read $0.3/M, "
                     "cache write $3.75/M, 1h cache write $6/M")
    assert second.endswith("cache write $3.75/M")   # the map entry the gateway used had no 1h rate
    assert scan([str(FIX / "litellm_spendlogs.json")]).table()["gateway_price"].null_count == 2


def test_openrouter_generation_shapes(tmp_path: Path) -> None:
    line = (FIX / "openrouter_generation.jsonl").read_text().splitlines()[1]
    one = tmp_path / "gen.json"          # one answer as the endpoint returns it
    one.write_text(line)
    many = tmp_path / "gens.json"        # a JSON array of answers
    many.write_text(f"[{line}, {line.replace('gen-179302', 'gen-179309')}]")
    for path, kept in ((one, 1), (many, 2)):
        s = scan([str(path)])
        t = s.table()
        assert [f.reader for f in s.summary.files] == ["openrouter-generation"]
        assert t.num_rows == kept and set(t["provider"].to_pylist()) == {"openrouter"}
        assert t["billed_cost_usd"].to_pylist()[0] == 0.0159
    forced = scan([str(FIX / "openrouter_generation.jsonl")], "openrouter-generation").table()
    assert forced["tags"].to_pylist() == [None, None, ["byok"], None]   # is_byok: only OpenRouter's fee billed
