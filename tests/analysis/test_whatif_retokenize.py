"""Issue 16: a routed saving carries the tokenizer and cache effects of moving a request.

The range's ends are the same routes priced with the target tokenizer's low end and every cache hit
kept, and with its high end and cache reads billed as input wherever the provider changes. Checked
against the truth where it can be computed offline: OpenAI's two tokenizers (o200k, cl100k) both
run here, so each request's text is tokenized again for the target and priced exactly.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pytest

from llmaudit.analysis.routing.tiers import TierInfo, TierTable
from llmaudit.analysis.routing.whatif import WhatIfAccumulator
from llmaudit.pricing import Catalog, ModelEntry, PricePoint, Rates
from llmaudit.schema import from_pylist
from llmaudit.tokens import FACTOR_RANGES, get_encoding, token_factor

SAMPLES = Path(__file__).resolve().parents[2] / "llmaudit" / "_tokenizers" / "samples"
PER_M = Decimal(1_000_000)


def _entry(model_id: str, inp: str, out: str, read: str | None = None) -> ModelEntry:
    provider, _, name = model_id.partition("/")
    rates = Rates(input=Decimal(inp), output=Decimal(out), cache_read=Decimal(read) if read else None)  # per 1M
    point = PricePoint(date(2026, 1, 1), "test", date(2026, 1, 1), rates)
    return ModelEntry(id=model_id, provider=provider, name=name, prices=(point,), context_window=1_000_000)


CATALOG = Catalog([
    _entry("openai/gpt-4o", "2.5", "10", "1.25"),          # o200k, the logged model
    _entry("openai/gpt-3.5-turbo", "0.5", "1.5"),          # cl100k, same provider, cheaper
    _entry("azure/gpt-4o-mini", "0.15", "0.6", "0.075"),   # o200k, another provider (another cache)
], date(2026, 1, 1))


def _tiers(*models: str) -> TierTable:
    return TierTable(as_of=date(2026, 11, 1), scale={1: "frontier"}, method="test",
                     models={m: TierInfo(m, 1, "test") for m in models})


def _row(model: str, inp: int, out: int, read: int = 0) -> dict[str, Any]:
    return {"timestamp": datetime(2026, 11, 2, 12, tzinfo=UTC), "provider": model.split("/")[0], "model": model,
            "model_raw": model, "input_tokens": inp, "cache_read_tokens": read, "cache_write_tokens": 0,
            "output_tokens": out, "reasoning_tokens": 0, "requests": 1, "cost_usd": 1.0,
            "billed_cost_usd": None, "price_status": "priced", "source_format": "test"}


def _run(rows: list[dict[str, Any]], tiers: TierTable, config: Any = None) -> Any:
    acc = WhatIfAccumulator(CATALOG, tiers=tiers, config=config)
    table = from_pylist(rows)
    acc.add(table, pc.strftime(table.column("timestamp"), "%Y-%m-%d"))
    return acc.result()


class _Config:
    def __init__(self, text: str) -> None:
        self._text = text
        self.path = None

    def section(self, name: str) -> dict[str, Any]:
        return {"text": self._text} if name == "whatif" else {}


def _texts(names: list[str]) -> list[str]:
    out = []
    for name in names:
        text = (SAMPLES / name).read_text()
        out.extend(text[i:i + 2000] for i in range(0, min(len(text), 8000), 2000))   # several requests a sample
    return out


@pytest.mark.parametrize(("profile", "samples"), [
    ("english", ["english-docs.txt", "code-python.txt", "data-json.txt", "math-latex.txt"]),
    ("multilingual", ["english-docs.txt", "german-prose.txt", "french-prose.txt", "chinese-prose.txt",
                      "japanese-prose.txt", "code-python.txt"]),
])
def test_the_range_contains_the_cost_of_the_requests_retokenized_for_the_target(profile: str,
                                                                             samples: list[str]) -> None:
    o200k, cl100k = get_encoding("o200k_base"), get_encoding("cl100k_base")
    texts = _texts(samples)
    # Each request: a prompt of one text, an answer of the next; logged with gpt-4o's (o200k) counts.
    pairs = list(zip(texts, texts[1:] + texts[:1], strict=True))
    rows = [_row("openai/gpt-4o", len(o200k.encode_ordinary(p)), len(o200k.encode_ordinary(a))) for p, a in pairs]
    result = _run(rows, _tiers("openai/gpt-4o", "openai/gpt-3.5-turbo"), _Config(profile))
    assert [(m.source, m.target) for m in result.retokenized] == [("openai/gpt-4o", "openai/gpt-3.5-turbo")]
    # The truth: every request tokenized again by gpt-3.5-turbo's tokenizer and priced at its rates.
    true = sum(Decimal(len(cl100k.encode_ordinary(p))) * Decimal("0.5") / PER_M
               + Decimal(len(cl100k.encode_ordinary(a))) * Decimal("1.5") / PER_M for p, a in pairs)
    fee = 1 + result.routed.fee_pct / 100
    assert result.routed.cost_optimistic / fee <= true * Decimal("1.0000001")
    assert true <= result.routed.cost_pessimistic / fee * Decimal("1.0000001")
    # The headline keeps the logged counts: it is inside the range too.
    assert result.routed.annual_savings_low <= result.routed.annual_savings <= result.routed.annual_savings_high


def test_caches_do_not_move_to_another_provider_in_the_pessimistic_figure() -> None:
    # 100k cached + 10k fresh prompt tokens, 1k out, on gpt-4o; routed to azure/gpt-4o-mini (same
    # tokenizer: factor exactly 1; another provider: its cache starts cold).
    result = _run([_row("openai/gpt-4o", 110_000, 1_000, read=100_000)], _tiers("openai/gpt-4o", "azure/gpt-4o-mini"))
    (move,) = result.retokenized
    assert (move.target, move.factor_low, move.factor_high, move.caches_lost) == ("azure/gpt-4o-mini", 1.0, 1.0, True)
    fee = 1 + result.routed.fee_pct / 100
    kept = (Decimal(10_000) * Decimal("0.15") + Decimal(100_000) * Decimal("0.075")
            + Decimal(1_000) * Decimal("0.6")) / PER_M
    lost = (Decimal(110_000) * Decimal("0.15") + Decimal(1_000) * Decimal("0.6")) / PER_M
    assert result.routed.cost_optimistic / fee == pytest.approx(kept, rel=Decimal('1e-9'))
    assert result.routed.cost_pessimistic / fee == pytest.approx(lost, rel=Decimal('1e-9'))
    assert result.routed.annual_savings_pessimistic < result.routed.annual_savings_optimistic
    assert result.routed.annual_savings_low <= result.routed.annual_savings_pessimistic


def test_a_model_moved_within_its_tokenizer_and_provider_has_no_spread() -> None:
    f = token_factor("openai/gpt-4o", "openai/gpt-4.1-mini")
    assert (f.low, f.high, f.basis) == (1.0, 1.0, "same tokenizer")
    claude = token_factor("openai/gpt-4o", "anthropic/claude-sonnet-4-5")
    assert (claude.low, claude.high, claude.basis) == (1.16, 1.30, "published")


def test_a_move_within_tokenizer_and_provider_costs_the_routed_figure_at_both_ends() -> None:
    # gpt-4o → gpt-4o-mini: the same tokenizer (factor exactly 1) and the same provider's caches, so
    # the optimistic and pessimistic figures are the routed cost itself (not priced a second time).
    catalog = Catalog([_entry("openai/gpt-4o", "2.5", "10", "1.25"),
                       _entry("openai/gpt-4o-mini", "0.15", "0.6", "0.075")], date(2026, 1, 1))
    rows = [_row("openai/gpt-4o", 110_000, 1_000, read=100_000), _row("openai/gpt-4o", 5_000, 300)]
    acc = WhatIfAccumulator(catalog, tiers=_tiers("openai/gpt-4o", "openai/gpt-4o-mini"))
    table = from_pylist(rows)
    acc.add(table, pc.strftime(table.column("timestamp"), "%Y-%m-%d"))
    result = acc.result()
    (move,) = result.retokenized
    assert (move.target, move.factor_low, move.factor_high, move.caches_lost) == ("openai/gpt-4o-mini", 1.0, 1.0, False)
    fee = 1 + result.routed.fee_pct / 100
    want = (Decimal(10_000 + 5_000) * Decimal("0.15") + Decimal(100_000) * Decimal("0.075")
            + Decimal(1_000 + 300) * Decimal("0.6")) / PER_M
    assert result.routed.cost / fee == pytest.approx(want, rel=Decimal("1e-9"))
    assert result.routed.cost_optimistic == result.routed.cost_pessimistic == result.routed.cost
    assert result.routed.annual_savings_optimistic == result.routed.annual_savings_pessimistic


def test_the_measured_factors_are_what_the_bundled_samples_give() -> None:
    o200k, cl100k = get_encoding("o200k_base"), get_encoding("cl100k_base")
    english = ("english-docs.txt", "code-python.txt", "data-json.txt", "math-latex.txt")
    ratios = {p.name: len(cl100k.encode_ordinary(t)) / len(o200k.encode_ordinary(t))
              for p in SAMPLES.glob("*.txt") for t in [p.read_text()]}
    for profile in ("english", "multilingual"):
        r = FACTOR_RANGES[profile]["cl100k"]
        names = english if profile == "english" else tuple(ratios)
        assert all(r.low <= ratios[n] <= r.high for n in names), (profile, ratios)


def test_an_unknown_text_profile_is_an_error() -> None:
    from llmaudit.errors import UsageError

    with pytest.raises(UsageError, match="multilingual"):
        _run([_row("openai/gpt-4o", 10, 10)], _tiers("openai/gpt-4o"), _Config("klingon"))


def test_a_request_with_more_output_than_a_model_may_write_does_not_move_there() -> None:
    from dataclasses import replace

    limited = replace(_entry("azure/gpt-4o-mini", "0.15", "0.6", "0.075"), max_output_tokens=4_096)
    catalog = Catalog([_entry("openai/gpt-4o", "2.5", "10", "1.25"), limited], date(2026, 1, 1))
    acc = WhatIfAccumulator(catalog, tiers=_tiers("openai/gpt-4o", "azure/gpt-4o-mini"))
    table = from_pylist([_row("openai/gpt-4o", 1_000, 500), _row("openai/gpt-4o", 1_000, 9_000)])
    acc.add(table, pc.strftime(table.column("timestamp"), "%Y-%m-%d"))
    result = acc.result()
    (row,) = result.savings
    assert dict(row.routes_to) == {"azure/gpt-4o-mini": 1, "openai/gpt-4o": 1}   # the long answer stays
    (azure,) = [p for p in result.providers if p.provider == "azure"]
    assert (azure.covered_requests, azure.uncovered_requests) == (1, 1)
    assert row.failover == ()   # it cannot take all of this traffic


def test_a_model_deprecated_by_the_priced_day_is_no_candidate(monkeypatch: pytest.MonkeyPatch) -> None:
    import llmaudit.pricing.lifecycle as lifecycle

    rows = [_row("openai/gpt-4o", 1_000, 500)]
    tiers = _tiers("openai/gpt-4o", "azure/gpt-4o-mini")
    assert _run(rows, tiers).retokenized   # it moves while azure/gpt-4o-mini is served
    # Deprecated on the catalog's day (2026-01-01): from that day on, nothing moves there.
    monkeypatch.setattr(lifecycle, "deprecation_dates", lambda: {"azure/gpt-4o-mini": date(2026, 1, 1)})
    result = _run(rows, tiers)
    assert not result.retokenized and dict(result.savings[0].routes_to) == {"openai/gpt-4o": 1}
    assert result.excluded_candidates == (
        ("azure/gpt-4o-mini", "deprecated on 2026-01-01 (LiteLLM 1.110.2 deprecation_date)"),)
    # A later date leaves it a candidate.
    monkeypatch.setattr(lifecycle, "deprecation_dates", lambda: {"azure/gpt-4o-mini": date(2026, 1, 2)})
    assert _run(rows, tiers).retokenized


def test_a_model_without_an_output_rate_is_no_candidate() -> None:
    half = ModelEntry(id="azure/half", provider="azure", name="half",
                      prices=(PricePoint(date(2026, 1, 1), "test", date(2026, 1, 1), Rates(input=Decimal("0.01"))),),
                      context_window=1_000_000)
    catalog = Catalog([_entry("openai/gpt-4o", "2.5", "10"), half], date(2026, 1, 1))
    acc = WhatIfAccumulator(catalog, tiers=_tiers("openai/gpt-4o", "azure/half"))
    assert [c.model for c in acc.candidates] == ["openai/gpt-4o"]
    assert acc.excluded == (("azure/half", "no input or output rate today"),)


def test_the_shipped_deprecation_dates_are_pinned_and_apply_to_the_makers_own_entries() -> None:
    import json

    from llmaudit.pricing import load_catalog
    from llmaudit.pricing.lifecycle import deprecation_dates, deprecation_source

    doc = json.loads((SAMPLES.parents[2] / "pricing_data" / "lifecycle" / "deprecations.json").read_text())
    lock = json.loads((SAMPLES.parents[2] / "pricing_data" / "sources.lock.json").read_text())
    pinned = {(i["file"], i["sha256"], i.get("member_sha256")) for i in lock["inputs"]}
    assert (doc["source"]["file"], doc["source"]["sha256"], doc["source"]["member_sha256"]) in pinned
    catalog = load_catalog()
    dates = deprecation_dates()
    assert len(dates) > 100 and deprecation_source().startswith("LiteLLM ")
    assert all(catalog.resolve(m) is not None and catalog.resolve(m).entry.id == m for m in list(dates)[:200])
