"""How a request was served (service tier, fast mode, inference geo, long-context window) is a
column of the usage record, filled by every reader that sees it, the same on every path.

Fixtures: ``fixtures/served/`` (one file per reader, each modifier set on some line)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from llmaudit.ingest import fastjson, scan
from llmaudit.ingest.registry import READERS
from llmaudit.schema import (
    COLUMN_DOCS,
    MODIFIER_COLUMNS,
    USAGE_SCHEMA,
    empty_table,
    from_pylist,
    normalize_context_tier,
    normalize_inference_geo,
    normalize_service_tier,
    normalize_speed,
    validate,
)

SERVED = Path(__file__).parent / "fixtures" / "served"
_COLS = ("service_tier", "speed", "inference_geo", "context_tier", "batch")


def _served(path: Path | str, fmt: str = "auto", mapping: dict[str, str] | None = None) -> list[tuple[Any, ...]]:
    """(service_tier, speed, inference_geo, context_tier, batch) per row, in line order."""
    table = scan([str(path)], fmt, mapping).table().sort_by("source_line")
    validate(table)
    return [tuple(r[c] for c in _COLS) for r in table.select(list(_COLS)).to_pylist()]


def _tags(path: Path | str) -> list[Any]:
    return scan([str(path)]).table().sort_by("source_line").column("tags").to_pylist()


# ------------------------------------------------------------------------------------ the schema

def test_columns_are_in_the_schema_documented_and_null_by_default() -> None:
    for name in MODIFIER_COLUMNS:
        assert USAGE_SCHEMA.field(name).type == pa.string()
    assert set(MODIFIER_COLUMNS) <= set(empty_table().column_names) <= set(COLUMN_DOCS)
    row = {"timestamp": datetime(2026, 1, 1, tzinfo=UTC), "provider": "openai", "model": "m", "model_raw": "m",
           "input_tokens": 1, "cache_read_tokens": 0, "cache_write_tokens": 0, "output_tokens": 1,
           "reasoning_tokens": 0, "requests": 1, "billed_cost_usd": None, "source_format": "test"}
    table = validate(from_pylist([row]))
    assert all(table.column(name).null_count == 1 for name in MODIFIER_COLUMNS)


@pytest.mark.parametrize(("raw", "tier"), [
    ("default", "standard"), ("auto", "standard"), ("Default", "standard"), (" flex ", "flex"),
    ("PRIORITY", "priority"), ("scale", "scale"), ("batch", "batch"), ("standard", "standard"),
    ("ON_DEMAND", "standard"), ("ON_DEMAND_FLEX", "flex"), ("ON_DEMAND_PRIORITY", "priority"),
    ("PROVISIONED_THROUGHPUT", "provisioned_throughput"), ("TRAFFIC_TYPE_UNSPECIFIED", None),
    ("brand_new_tier", "brand_new_tier"), ("", None), (None, None), ({}, None),
])
def test_service_tier_spelling(raw: Any, tier: str | None) -> None:
    assert normalize_service_tier(raw) == tier
    assert normalize_service_tier(tier) == tier   # idempotent: readers and finish_table may both apply it


def test_other_spellings() -> None:
    assert [normalize_speed(v) for v in ("fast", "FAST", "standard", "", None, "turbo")] == \
        ["fast", "fast", None, None, None, "turbo"]
    assert [normalize_inference_geo(v) for v in ("us", "US", "global", "not_available", "", None)] == \
        ["us", "us", "global", None, None, None]
    assert [normalize_context_tier(v) for v in ("0-200k", "200k-1M", " ", None)] == ["0-200k", "200k-1M", None, None]


# ----------------------------------------------------------------------------------- each reader

def test_openai_response_service_tier() -> None:
    assert _served(SERVED / "openai_tiers.jsonl") == [
        ("flex", None, None, None, False),
        ("standard", None, None, None, False),          # "default" is how OpenAI answers the standard tier
        ("priority", None, None, None, False),
        ("scale", None, None, None, False),
        ("standard", None, None, None, False),          # "auto"
        (None, None, None, None, False),                # not said: null, not a guess
        ("flex", None, None, None, False),              # "Flex"
        ("some_new_tier", None, None, None, False),     # unknown tiers are kept
        ("flex", None, None, None, False),              # OpenRouter: usage.service_tier
        ("flex", None, None, None, False),              # Responses API
    ]
    assert all(t is None for t in _tags(SERVED / "openai_tiers.jsonl"))


def test_openai_wrapped_batch_flag_makes_a_batch_row() -> None:
    assert _served(SERVED / "openai_wrapped_tiers.jsonl") == [
        ("standard", None, None, None, False),
        ("flex", None, None, None, False),
        ("batch", None, None, None, True),              # the wrapper says batch: the echoed "default" loses
        (None, None, None, None, False),
    ]


def test_openai_batch_rows_are_batch_tier() -> None:
    assert _served(SERVED / "openai_batch_tiers.jsonl") == [("batch", None, None, None, True)] * 2


def test_openai_usage_buckets() -> None:
    assert _served(SERVED / "openai_usage_tiers.json") == [
        ("standard", None, None, None, False),
        ("flex", None, None, None, False),
        ("priority", None, None, None, False),
        ("batch", None, None, None, True),              # grouped by batch: batch rows are tier batch
        (None, None, None, None, False),
    ]
    assert all(t is None for t in _tags(SERVED / "openai_usage_tiers.json"))


def test_anthropic_messages() -> None:
    assert _served(SERVED / "anthropic_messages_tiers.jsonl") == [
        ("priority", "fast", "us", None, False),
        ("standard", None, "global", None, False),      # standard speed is no modifier: null
        ("batch", None, None, None, True),              # "not_available" says nothing about the place
        (None, None, None, None, False),
    ]


def test_anthropic_usage_report_context_window_is_the_context_tier() -> None:
    assert _served(SERVED / "anthropic_usage_tiers.json") == [
        ("standard", None, "global", "0-200k", False),
        ("priority", "fast", "us", "200k-1M", False),
        ("batch", None, None, "0-200k", True),
        (None, None, None, None, False),
    ]
    # The report's group-by values are columns now, not tags.
    assert _tags(SERVED / "anthropic_usage_tiers.json") == [None] * 4


def test_anthropic_cost_report() -> None:
    assert _served(SERVED / "anthropic_cost_tiers.json") == [
        ("batch", None, "us", "200k-1M", True),
        (None, None, None, None, False),
    ]
    tags = _tags(SERVED / "anthropic_cost_tiers.json")
    assert tags[0] == ["cost-report", "cost_type:tokens", "token_type:uncached_input_tokens",
                       "description:Claude Sonnet 4.5 Usage - Input Tokens"]
    assert not any(t.startswith(("service_tier:", "context_window:", "inference_geo:")) for t in tags[0])


def test_claude_code_transcript() -> None:
    path = SERVED / "claude" / "projects" / "-home-dev-tiers" / "tiers-1.jsonl"
    assert _served(path) == [
        ("standard", "fast", "us", None, False),        # fast mode: speed == "fast"
        ("priority", None, "global", None, False),
        ("batch", None, None, None, True),
        (None, None, None, None, False),
    ]
    assert _tags(path) == [None, ["sidechain"], None, None]   # no "speed:fast" tag any more


def test_gemini_traffic_type() -> None:
    assert _served(SERVED / "gemini_tiers.jsonl") == [
        ("standard", None, None, None, False),
        ("flex", None, None, None, False),
        ("priority", None, None, None, False),
        ("provisioned_throughput", None, None, None, False),
        (None, None, None, None, False),
        (None, None, None, None, False),
    ]


def test_litellm_spend_logs() -> None:
    assert _served(SERVED / "litellm_tiers.json") == [
        ("flex", None, None, None, False),              # the stored response's service_tier
        ("priority", "fast", "us", None, False),        # metadata.usage_object
        ("standard", None, None, None, False),
        (None, None, None, None, False),
    ]


def test_portkey_response_body() -> None:
    assert _served(SERVED / "portkey_tiers.jsonl") == [
        ("priority", None, None, None, False),
        ("standard", None, None, None, False),
        (None, None, None, None, False),
    ]


def test_generic_mapping(tmp_path: Path) -> None:
    path = tmp_path / "usage.csv"
    path.write_text("ts,llm,p,c,tier,spd,geo,ctx\n"
                    "2026-01-01T00:00:00Z,gpt-4o,10,1,Default,,,\n"
                    "2026-01-01T00:01:00Z,claude-opus-4-6,10,1,priority,fast,US,200k-1M\n"
                    "2026-01-01T00:02:00Z,claude-opus-4-6,10,1,batch,,,\n")
    mapping = {"timestamp": "ts", "model": "llm", "input_tokens": "p", "output_tokens": "c",
               "service_tier": "tier", "speed": "spd", "inference_geo": "geo", "context_tier": "ctx"}
    assert _served(path, "generic", mapping) == [
        ("standard", None, None, None, False),
        ("priority", "fast", "us", "200k-1M", False),
        ("batch", None, None, None, True),
    ]


# ------------------------------------------------------------------- fast and per-line paths agree

def _both_openai(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[pa.Table, pa.Table]:
    monkeypatch.setattr(fastjson, "CHUNK_BYTES", 900)   # several chunks
    calls: list[int] = []
    real = fastjson._normalize_chunk

    def spy(table: pa.Table, first_line: int, wrapped: bool) -> Any:
        calls.append(table.num_rows)
        return real(table, first_line, wrapped)

    with monkeypatch.context() as m:
        m.setattr(fastjson, "_normalize_chunk", spy)
        fast = scan([str(path)]).table().sort_by("source_line")
    assert sum(calls) >= fast.num_rows - 2   # the vectorized path did read (nearly) every row
    with monkeypatch.context() as m:
        m.setattr(fastjson, "_plan", lambda head: None)
        slow = scan([str(path)]).table().sort_by("source_line")
    return fast, slow


@pytest.mark.parametrize("name", ["openai_tiers.jsonl", "openai_wrapped_tiers.jsonl"])
def test_openai_fast_path_agrees(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, slow = _both_openai(SERVED / name, monkeypatch)
    assert fast.equals(slow)
    assert fast.column("service_tier").null_count < fast.num_rows


def test_openai_fast_path_agrees_on_odd_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Values pyarrow refuses (a number, an object) or that spell nothing ("") end alike."""
    lines = (SERVED / "openai_tiers.jsonl").read_text().splitlines()
    recs = [json.loads(line) for line in lines]
    recs[1]["service_tier"] = ""
    recs[2]["service_tier"] = 7
    recs[3]["service_tier"] = {"x": 1}
    recs[4]["service_tier"] = None
    recs[4]["usage"]["service_tier"] = "priority"
    path = tmp_path / "odd.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    fast, slow = _both_openai_no_spy(path, monkeypatch)
    assert fast.equals(slow)
    tiers = fast.column("service_tier").to_pylist()
    assert tiers[1:5] == [None, "7", None, "priority"]


def _both_openai_no_spy(path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[pa.Table, pa.Table]:
    monkeypatch.setattr(fastjson, "CHUNK_BYTES", 900)
    fast = scan([str(path)]).table().sort_by("source_line")
    with monkeypatch.context() as m:
        m.setattr(fastjson, "_plan", lambda head: None)
        slow = scan([str(path)]).table().sort_by("source_line")
    return fast, slow


def test_claude_code_paths_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    import llmaudit.ingest.readers.claude_code as reader

    root = SERVED / "claude"
    many = scan([str(root)], "claude-code").table()
    with monkeypatch.context() as m:
        m.setitem(READERS, "claude-code", dataclasses.replace(READERS["claude-code"], read_many=None))
        one = scan([str(root)], "claude-code").table()

        def refuse(*args: object, **kwargs: object) -> None:
            raise pa.ArrowInvalid("forced per-line path")

        m.setattr(reader.pj, "read_json", refuse)
        per_line = scan([str(root)], "claude-code").table()
    assert many.equals(one)
    assert many.equals(per_line)
    assert many.column("speed").to_pylist()[0] == "fast"


def test_parquet_round_trip_keeps_the_columns(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    table = scan([str(SERVED / "anthropic_usage_tiers.json")]).table()
    out = tmp_path / "u.parquet"
    pq.write_table(table, out)
    back = scan([str(out)]).table()
    for name in _COLS:
        assert back.column(name).to_pylist() == table.column(name).to_pylist()


def test_old_parquet_without_the_columns_reads_as_null(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    table = scan([str(SERVED / "anthropic_usage_tiers.json")]).table()
    old = table.drop_columns(list(MODIFIER_COLUMNS))
    out = tmp_path / "old.parquet"
    pq.write_table(old, out)
    back = scan([str(out)]).table()
    assert back.schema.names[: len(USAGE_SCHEMA)] == USAGE_SCHEMA.names
    assert all(back.column(n).null_count == back.num_rows for n in MODIFIER_COLUMNS)
