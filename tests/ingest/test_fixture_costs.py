"""Every fixture format, read and priced end to end by `report --spend`: exact rows, tokens and cost.

Expected costs were computed with the exact Decimal path (``pricing.cost_breakdown``, row by row);
the report uses the vectorized engine, so this also proves the two agree on every format.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from tests.conftest import REPO, RunCli

FIXTURES = REPO / "tests" / "ingest" / "fixtures"

CASES = [
    ("anthropic_cost_report.json", 2, 0, 0, "0", 0),  # money-only rows: 0 requests, billed cost kept
    ("anthropic_messages.jsonl", 2, 21870, 690, "0.035184", 0),
    ("anthropic_usage_report.json", 2, 3500, 600, "0.119935", 1),
    ("claude", 3, 149919, 532, "0.0942842", 0),
    ("gemini.jsonl", 2, 23265, 1780, "0.02844375", 0),
    ("helicone_export.csv", 3, 2120, 530, "0.013536", 0),
    ("helicone_export_cost_usd.csv", 1, 1000, 100, "0.0035", 0),
    # gpt-4o-mini $0.0003372 + Sonnet 4.5 with every write at the 5-minute rate (Helicone has no TTL
    # split): 100 x $3 + 5000 x $0.30 + 1000 x $3.75 + 50 x $15 = $0.0063
    ("helicone_export.jsonl", 2, 8100, 352, "0.0066372", 0),
    # gemini-2.5-pro on 2026-02-01: cache reads at $0.125/M, first shown 2026-01-14 (tokencostauto).
    ("langfuse_observations.json", 3, 22770, 1290, "0.033909", 0),
    # AGENT gpt-4o-mini 1200 x $0.15 + 300 x $0.60, EMBEDDING 5000 x $0.02, GENERATION 800 x $0.15 +
    # 1200 x $0.075 + 100 x $0.60 (only the generation, $0.00027, was read before)
    ("langfuse_observation_types.json", 3, 8200, 400, "0.00073", 0),
    ("litellm_spendlogs.csv", 4, 22270, 690, "0.026979", 0),
    ("litellm_spendlogs.json", 2, 1300, 130, "0.004665", 0),
    # Sonnet 4.5 100 x $3 + 5000 x $0.30 + 50 x $15 + writes: 400 x $3.75 + 600 x $6 = $0.00765, and
    # 1000 x $6 = $0.00855 (every write at the 5-minute rate before: $0.0063 each, $0.0126)
    ("litellm_spendlogs_1h.json", 2, 12200, 100, "0.0162", 0),
    ("openai_batch_errors.jsonl", 0, 0, 0, "0", 0),
    ("openai_batch_output.jsonl", 2, 42, 11, "0.00001875", 0),
    ("openai_chat.jsonl", 4, 9420, 4445, "0.0652284", 0),
    ("openai_costs.json", 2, 0, 0, "0", 0),  # money-only rows: 0 requests, billed cost kept
    ("openai_usage.json", 2, 191201, 11756, "0.003975", 1),
    # Filed under provider openrouter, the dated deepseek-v4.1-flash permaslug takes OpenRouter's own
    # listing (its oldest price, $0.15/$0.60: the row predates it), no longer azure_ai's $0.375/$1.50.
    ("openrouter_activity.csv", 3, 21700, 1350, "0.062105", 0),
    ("openrouter_activity_2025.csv", 1, 1000, 100, "0.00055", 0),
    # native counts: gpt-4o-mini 80 x $0.15 + 1920 x $0.075 + 302 x $0.60; OpenRouter's Sonnet 4.5 listing
    # 2000 x $3 + 8000 x $0.30 + 500 x $15; Gemini 2.5 Flash (BYOK) 1000 x $0.30 + 100 x $2.50;
    # gpt-4o-mini (normalized counts only) 1000 x $0.15 + 100 x $0.60
    ("openrouter_generation.jsonl", 4, 14000, 1002, "0.0169972", 0),
    ("portkey_logs.jsonl", 2, 1500, 200, "0.005125", 0),
    # gpt-4o-mini 80 x $0.15 + 1920 cached x $0.075 + 302 x $0.60 = $0.0003372 (was $0.0004812 with
    # the cache missed); Sonnet 4.5 100 x $3 + 5000 x $0.30 + 400 x $3.75 + 600 x $6 + 50 x $15 = $0.00765
    ("portkey_logs_body.jsonl", 2, 8100, 352, "0.0079872", 0),
]


@pytest.mark.parametrize(("name", "rows", "input_tokens", "output_tokens", "cost", "unpriced_requests"), CASES)
def test_fixture_totals(run_cli: RunCli, name: str, rows: int, input_tokens: int, output_tokens: int, cost: str,
                        unpriced_requests: int) -> None:
    result = run_cli(["report", "--spend", str(FIXTURES / name), "--format", "json", "--no-whatif"])
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    totals = report["totals"]
    assert totals["rows"] == rows
    assert totals["input_tokens"] == input_tokens
    assert totals["output_tokens"] == output_tokens
    assert abs(Decimal(str(totals["cost"] or 0)) - Decimal(cost)) <= Decimal(cost) * Decimal("1e-9")
    assert (totals["unpriced_requests"] > 0) == (unpriced_requests > 0)  # unpriced is shown, never $0
    assert report["rows_read"] == sum(s["rows_read"] for s in report["sources"]) - sum(
        s["rows_rejected"] + s["duplicates"] for s in report["sources"])


@pytest.mark.parametrize(
    ("name", "billed"),
    [("anthropic_cost_report.json", "1.3378912"),  # "123.78912" + "10" cents, as Decimal
     ("openai_costs.json", "1.31"),                 # USD floats, not cents
     ("openrouter_activity.csv", "0.1292")],
)
def test_billed_totals(run_cli: RunCli, name: str, billed: str) -> None:
    result = run_cli(["report", "--spend", str(FIXTURES / name), "--format", "json", "--no-whatif"])
    assert Decimal(str(json.loads(result.stdout)["totals"]["billed"])) == Decimal(billed)
