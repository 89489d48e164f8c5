"""genai-prices' dataset of real provider response bodies (MIT; tests/ingest/corpora/genai_prices,
ATTRIBUTION.md), every body read: rows read = kept + rejected + duplicates per file, one row read
per body (none dropped), tokens by type equal to what each body's usage says under its provider's
documented semantics (computed here from the body, not by the reader), and cost equal to the
report's, the expected cost priced body by body with ``pricing.cost_breakdown`` on the wrapper's date.

Bodies llmaudit has no reader for (Bedrock Converse, Cohere) are listed "not read" with the reason
when sniffed, and forced through a reader every body is a reject with a reason.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from llmaudit.ingest import scan
from llmaudit.pricing import Conditions, Usage, cost_breakdown, load_catalog
from tests.conftest import REPO, RunCli

CORPUS = REPO / "tests" / "ingest" / "corpora" / "genai_prices"
DAY = "2026-08-21"


def _bodies(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line)["response"] for line in path.read_text().splitlines()]


def _n(value: Any) -> int:
    return int(value or 0)


def _openai(body: dict[str, Any]) -> dict[str, int]:
    """Chat Completions (formats.md A1) and Responses (A2): prompt/input already include cached
    (and cache-write) tokens, completion/output already include reasoning."""
    u = body["usage"]
    if "prompt_tokens" in u:
        inp, out, details, out_details = u["prompt_tokens"], u.get("completion_tokens"), \
            u.get("prompt_tokens_details"), u.get("completion_tokens_details")
    else:
        inp, out, details, out_details = u["input_tokens"], u.get("output_tokens"), \
            u.get("input_tokens_details"), u.get("output_tokens_details")
    details, out_details = details or {}, out_details or {}
    # Mistral reports its cache hits (a part of prompt_tokens) as usage.num_cached_tokens, DeepSeek
    # as usage.prompt_cache_hit_tokens.
    cached = details.get("cached_tokens")
    if cached is None:
        cached = u.get("prompt_cache_hit_tokens", u.get("num_cached_tokens"))
    return {"input_tokens": _n(inp), "cache_read_tokens": _n(cached),
            "cache_write_tokens": _n(details.get("cache_write_tokens")), "cache_write_1h_tokens": 0,
            "output_tokens": _n(out), "reasoning_tokens": _n(out_details.get("reasoning_tokens"))}


def _anthropic(body: dict[str, Any]) -> dict[str, int]:
    """Messages (A3): input_tokens is the uncached input only; total input = input + cache writes +
    cache reads; ``cache_creation.ephemeral_1h_input_tokens`` is the 1-hour part of the writes."""
    return _anthropic_usage(body["usage"])


def _anthropic_usage(u: dict[str, Any]) -> dict[str, int]:
    read, write = _n(u.get("cache_read_input_tokens")), _n(u.get("cache_creation_input_tokens"))
    return {"input_tokens": _n(u.get("input_tokens")) + read + write, "cache_read_tokens": read,
            "cache_write_tokens": write,
            "cache_write_1h_tokens": _n((u.get("cache_creation") or {}).get("ephemeral_1h_input_tokens")),
            "output_tokens": _n(u.get("output_tokens")),
            "reasoning_tokens": _n((u.get("output_tokens_details") or {}).get("thinking_tokens"))}


def _anthropic_rows(body: dict[str, Any]) -> list[tuple[Any, dict[str, int]]]:
    """The body's own row, then one per ``compaction`` iteration (the request's model) and one per
    ``advisor_message`` iteration (the advisor's model): neither is in the top-level counts
    (Anthropic's compaction and advisor tool docs; layouts/anthropic.py)."""
    iterations = body["usage"].get("iterations") or []
    compactions = [(body.get("model"), _anthropic_usage(it)) for it in iterations if it.get("type") == "compaction"]
    advisors = [(it.get("model"), _anthropic_usage(it)) for it in iterations if it.get("type") == "advisor_message"]
    return [(body.get("model"), _anthropic(body)), *compactions, *advisors]


def _gemini(body: dict[str, Any]) -> dict[str, int]:
    """usageMetadata (A4): promptTokenCount includes cachedContentTokenCount; tool-use prompt tokens
    are input counted apart; thoughts are billed as output but not in candidatesTokenCount."""
    m = body["usageMetadata"]
    thoughts = _n(m.get("thoughtsTokenCount"))
    return {"input_tokens": _n(m.get("promptTokenCount")) + _n(m.get("toolUsePromptTokenCount")),
            "cache_read_tokens": _n(m.get("cachedContentTokenCount")), "cache_write_tokens": 0,
            "cache_write_1h_tokens": 0, "output_tokens": _n(m.get("candidatesTokenCount")) + thoughts,
            "reasoning_tokens": thoughts}


def _one(model_of: Any, tokens: Any) -> Any:
    return lambda b: [(model_of(b), tokens(b))]


# file → (reader, the body's model, expected rows of a body: (model, tokens) each)
READ = {
    "anthropic_messages.jsonl": ("anthropic", lambda b: b.get("model"), _anthropic_rows),
    "gemini.jsonl": ("gemini", lambda b: b.get("modelVersion"), _one(lambda b: b.get("modelVersion"), _gemini)),
    "openai_chat.jsonl": ("openai", lambda b: b.get("model"), _one(lambda b: b.get("model"), _openai)),
    "openai_responses.jsonl": ("openai", lambda b: b.get("model"), _one(lambda b: b.get("model"), _openai)),
}
# Bodies without their model: genai-prices kept only the keys its extractors read, and these
# responses carry none (Gemini embeddings; Responses "compact" calls). Each must be a reject.
REJECTS = {"gemini.jsonl": 12, "openai_responses.jsonl": 7}
TOKENS = ("input_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens", "output_tokens",
          "reasoning_tokens")


def test_every_body_is_in_a_file_read_here() -> None:
    names = sorted(p.name for p in CORPUS.glob("*.jsonl"))
    assert names == sorted([*READ, "bedrock_converse.jsonl", "cohere.jsonl"])
    total = sum(len(_bodies(CORPUS / n)) for n in names)
    assert total == 1577  # every entry of genai-prices' usages.json (ATTRIBUTION.md)


@pytest.mark.parametrize("name", sorted(READ))
def test_bodies_read_tokens_and_cost(run_cli: RunCli, name: str) -> None:
    reader, model_of, expected_rows = READ[name]
    bodies = _bodies(CORPUS / name)
    s = scan([str(CORPUS / name)])
    table = s.table()
    (f,) = s.summary.files
    assert f.reader == reader
    # none dropped: one row read per body (and per advisor call it reports), each kept or
    # rejected (no ids, so no duplicates)
    expect_rejected = {i for i, b in enumerate(bodies, 1) if model_of(b) is None}
    want_rows = {i: expected_rows(b) for i, b in enumerate(bodies, 1) if i not in expect_rejected}
    assert f.rows_read == len(expect_rejected) + sum(map(len, want_rows.values()))
    assert f.rows_read == f.rows_kept + f.rows_rejected + f.duplicates
    assert f.duplicates == 0 and f.skipped == {}
    rejected = {r.line: r.reason for r in s.summary.rejects}
    assert set(rejected) == expect_rejected and len(expect_rejected) == REJECTS.get(name, 0)
    assert all("missing" in reason for reason in rejected.values()), rejected

    rows: dict[int, list[dict[str, Any]]] = {}
    for r in table.to_pylist():
        rows.setdefault(r["source_line"], []).append(r)
    assert sorted(rows) == [i for i in range(1, len(bodies) + 1) if i not in expect_rejected]
    catalog = load_catalog()
    cost, unpriced = Decimal(0), 0
    for line, got_rows in rows.items():
        body = bodies[line - 1]
        assert len(got_rows) == len(want_rows[line]), (name, line, body)
        for row, (model, want) in zip(got_rows, want_rows[line], strict=True):
            got = {k: row[k] or 0 for k in TOKENS}
            assert got == want, (name, line, body)
            assert row["model_raw"] == model
            priced = cost_breakdown(
                catalog, row["model_raw"],
                Usage(**want, web_search_requests=row["web_search_requests"] or 0),
                at=row["timestamp"], batch=bool(row["batch"]), provider=row["provider"],
                conditions=Conditions(row["service_tier"], row["speed"], row["inference_geo"], row["context_tier"]))
            if priced.total is None:
                unpriced += 1
            else:
                cost += priced.total
    # ... and the report, priced by the vectorized engine, says the same
    res = run_cli(["report", "--spend", str(CORPUS / name), "--format", "json", "--no-whatif"])
    assert res.exit_code == 0, res.stderr
    report = json.loads(res.stdout)
    (src,) = report["sources"]
    assert (src["rows_read"], src["rows_kept"], src["rows_rejected"], src["duplicates"]) == (
        f.rows_read, f.rows_kept, f.rows_rejected, f.duplicates)
    totals = report["totals"]
    assert totals["rows"] == sum(map(len, rows.values()))
    for k in ("input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens"):
        assert totals[k] == sum(want[k] for line in rows for _, want in want_rows[line]), k
    assert totals["unpriced_requests"] == unpriced
    assert abs(Decimal(str(totals["cost"] or 0)) - cost) <= cost * Decimal("1e-9"), (totals["cost"], cost)
    assert report["first_seen"].startswith(DAY) and report["last_seen"].startswith(DAY)


@pytest.mark.parametrize(("name", "forced"), [("bedrock_converse.jsonl", "anthropic"), ("cohere.jsonl", "openai")])
def test_bodies_without_a_reader_are_never_silently_dropped(name: str, forced: str) -> None:
    bodies = _bodies(CORPUS / name)
    s = scan([str(CORPUS / name), str(CORPUS / "openai_chat.jsonl")])
    listed = s.summary.files[0]
    assert listed.not_read == "not a known log format" and listed.rows_read == 0
    forced_scan = scan([str(CORPUS / name)], fmt=forced)
    assert forced_scan.table().num_rows == 0
    (f,) = forced_scan.summary.files
    assert f.rows_read == f.rows_rejected == len(bodies)
    assert [r.line for r in forced_scan.summary.rejects] == list(range(1, len(bodies) + 1))
    assert all(r.reason for r in forced_scan.summary.rejects)
