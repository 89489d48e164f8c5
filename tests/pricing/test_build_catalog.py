"""The catalog builder's rules on small synthetic inputs (scripts/catalog_build)."""

from __future__ import annotations

import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from catalog_build.build import build
from catalog_build.history import collect
from catalog_build.inputs import Documented, Snapshot

from llmaudit.errors import PricingError
from llmaudit.pricing import litellm
from llmaudit.pricing.model import Rates

D = Decimal


def snap(day: str, data: dict, family: str = "litellm") -> Snapshot:
    label = f"{family}-{day}"
    return Snapshot(family, label, date.fromisoformat(day), litellm.convert(data), label, {"date": day})


def chat(inp: float, out: float, provider: str = "openai", **extra: object) -> dict:
    return {"input_cost_per_token": inp, "output_cost_per_token": out, "litellm_provider": provider,
            "mode": "chat", **extra}


def price(result, model_id: str, day: str):
    entry = next(e for e in result.entries if e.id == model_id)
    return entry.price_at(date.fromisoformat(day))


def test_a_change_is_dated_by_the_first_snapshot_then_by_the_documented_day() -> None:
    snaps = [snap("2025-05-01", {"o3": chat(1e-05, 4e-05)}), snap("2025-07-05", {"o3": chat(2e-06, 8e-06)})]
    histories, _, _ = collect(snaps)
    plain = build(histories, [], [])
    assert price(plain, "openai/o3", "2025-07-04").rates.input == D(10)
    doc = Documented("openai", "o3", date(2025, 6, 10), Rates(input=D(2), output=D(8)), (), "https://vendor/o3",
                     "curated", old=Rates(input=D(10), output=D(40)))
    result = build(histories, [], [doc])
    assert price(result, "openai/o3", "2025-06-09").rates.input == D(10)
    assert price(result, "openai/o3", "2025-06-10").rates.input == D(2)
    assert price(result, "openai/o3", "2025-06-10").source == "https://vendor/o3"
    assert any(d["kind"] == "redated" for d in result.discrepancies)


def test_documented_old_price_restored_when_the_first_listing_shows_the_new_one() -> None:
    snaps = [snap("2026-08-01", {"gpt-5.6-luna": chat(2e-07, 1.2e-06)})]
    histories, _, _ = collect(snaps)
    doc = Documented("openai", "gpt-5.6-luna", date(2026, 7, 30), Rates(input=D("0.2"), output=D("1.2")), (),
                     "https://vendor/luna", "curated", old=Rates(input=D(1), output=D(6)))
    result = build(histories, [], [doc])
    assert price(result, "openai/gpt-5.6-luna", "2026-07-29").rates.output == D(6)
    assert price(result, "openai/gpt-5.6-luna", "2026-07-30").rates.output == D("1.2")


def test_a_zero_between_paid_prices_is_a_hole_and_free_needs_a_free_name() -> None:
    snaps = [snap("2025-01-01", {"gemini/gemini-1.5-flash": chat(7.5e-08, 3e-07, "gemini"),
                                 "openrouter/auto": chat(0, 0, "openrouter"),
                                 "openrouter/meta-llama/llama-3-8b:free": chat(0, 0, "openrouter")}),
             snap("2025-02-01", {"gemini/gemini-1.5-flash": chat(7.5e-08, 0, "gemini"),
                                 "openrouter/auto": chat(0, 0, "openrouter"),
                                 "openrouter/meta-llama/llama-3-8b:free": chat(0, 0, "openrouter")})]
    histories, _, _ = collect(snaps)
    result = build(histories, [], [])
    assert price(result, "google/gemini-1.5-flash", "2025-02-15").rates.output == D("0.3")
    ids = {e.id for e in result.entries}
    assert "openrouter/auto" not in ids  # a $0 router placeholder is no price
    free = next(e for e in result.entries if e.id.endswith(":free"))
    assert free.prices[-1].free


def test_cloud_spelling_keeps_its_own_price_when_any_day_differs() -> None:
    same = {"gpt-4o": chat(2.5e-06, 1e-05), "azure/gpt-4o": chat(2.5e-06, 1e-05, "azure"),
            "vertex_ai/gemini-2.0-flash": chat(1.5e-07, 6e-07, "vertex_ai-language-models"),
            "gemini/gemini-2.0-flash": chat(1e-07, 4e-07, "gemini")}
    histories, _, _ = collect([snap("2025-01-01", same)])
    result = build(histories, [], [])
    ids = {e.id for e in result.entries}
    assert "azure/gpt-4o" not in ids  # always the same price: an alias of the maker's entry
    differs = dict(same, **{"azure/gpt-4o": chat(2.75e-06, 1.1e-05, "azure")})
    histories, _, _ = collect([snap("2025-01-01", same), snap("2025-03-01", differs)])
    result = build(histories, [], [])
    assert price(result, "azure/gpt-4o", "2025-01-15").rates.input == D("2.5")
    assert price(result, "azure/gpt-4o", "2025-03-15").rates.input == D("2.75")
    assert price(result, "openai/gpt-4o", "2025-03-15").rates.input == D("2.5")


def test_litellm_conversion_hygiene_aliases_and_service_tiers() -> None:
    data = {
        "gpt-5.4": chat(2.5e-06, 1.5e-05, input_cost_per_token_flex=1.25e-06, output_cost_per_token_flex=7.5e-06,
                        input_cost_per_token_priority=5e-06, output_cost_per_token_priority=3e-05),
        "gpt-mini-latest": {"alias_of": "gpt-5.4"},
        "openrouter/auto": chat(-1, -1, "openrouter"),
        "noisy": chat(2.9999900000000002e-06, 1e-05),
        "deepseek-flash": chat(3e-07, 1.2e-06, "deepseek", off_peak_pricing={
            "input_cost_per_token": 1.5e-07, "windows": [{"hours_utc": ["16:30-00:30"], "weekdays": ["saturday", 7]}]}),
    }
    recs = {r.key: r for r in litellm.convert(data)}
    assert "openrouter/auto" not in recs  # -1 placeholders are missing prices, never -$1,000,000/M
    assert recs["gpt-mini-latest"].rates == recs["gpt-5.4"].rates
    assert recs["gpt-mini-latest"].alias_of == "gpt-5.4"
    assert {s.name: s.rates.input for s in recs["gpt-5.4"].services} == {"flex": D("1.25"), "priority": D(5)}
    assert recs["noisy"].rates.input == D("2.99999")
    window = recs["deepseek-flash"].off_peak[0]
    assert (window.start, window.end, window.multiplier, window.weekdays) == ("16:30", "00:30", D("0.5"), (6, 7))
    assert window.covers(17 * 60) and window.covers(0) and not window.covers(12 * 60)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "x", True])
def test_per_million_refuses_non_numbers(bad: object) -> None:
    with pytest.raises(PricingError):
        litellm.per_million(bad, "k")
