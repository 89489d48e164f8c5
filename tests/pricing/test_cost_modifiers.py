"""Service tiers, fast mode, data residency, off-peak windows and per-request long-context tiers:
each rule on the exact path, and the vectorized engine (``price_table``, ``RateGrid.costs`` and
``cost_matrix``) equal to it on random tables that mix every modifier."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest

from llmaudit.config import Config
from llmaudit.pricing import (
    Catalog,
    Conditions,
    ModelEntry,
    PricePoint,
    Rates,
    Tier,
    Usage,
    cost_breakdown,
    load_catalog,
    price_table,
    rate_grid,
    usage_arrays,
)
from llmaudit.pricing.cost import context_bounds, price_usage, service_mode
from llmaudit.pricing.model import OffPeak, ServiceRates
from llmaudit.schema import from_pylist
from tests.pricing.test_pricing_table import _random_rows

UTC = dt.UTC
d = Decimal
MODIFIER_COLUMNS = ("service_tier", "speed", "inference_geo", "context_tier")


def _table(rows: list[dict]) -> pa.Table:
    """A usage table with the modifier columns, whether or not the schema lists them yet."""
    table = from_pylist([{k: v for k, v in row.items() if k not in MODIFIER_COLUMNS} for row in rows])
    for name in MODIFIER_COLUMNS:
        if any(name in row for row in rows):
            values = pa.array([row.get(name) for row in rows], pa.string())
            if name in table.column_names:
                table = table.set_column(table.column_names.index(name), name, values)
            else:
                table = table.append_column(name, values)
    return table


def _conditions(row: dict) -> Conditions:
    return Conditions(row.get("service_tier"), row.get("speed"), row.get("inference_geo"), row.get("context_tier"))


def _usage(row: dict) -> Usage:
    return Usage(row["input_tokens"], row["output_tokens"], row["cache_read_tokens"], row["cache_write_tokens"],
                 row["cache_write_1h_tokens"], row["reasoning_tokens"], row["requests"],
                 row.get("web_search_requests", 0))


# ----------------------------------------------------------------------------- a catalog with modifiers
def _modified(point: PricePoint, provider: str) -> PricePoint:
    """Invented modifier data on real prices: each provider gets a different mix."""
    r = point.rates
    if r.input is None or r.output is None:
        return point
    if provider == "openai":
        return replace(point, service_tiers=(
            ServiceRates("flex", Rates(input=r.input / 2, output=r.output / 2)),  # no cache rate: flex input
            ServiceRates("priority", Rates(input=r.input * d("1.7"), output=r.output * d("1.7"),
                                           cache_read=r.input * d("0.17"), per_request=d("0.001")),
                         (Tier(100_000, Rates(input=r.input * 4, output=r.output * 3)),)),
        ))
    if provider == "anthropic":
        # Fast mode without long-context tiers of its own; US-only inference at 1.1x.
        return replace(point, residency=(("us", d("1.1")),), service_tiers=(
            ServiceRates("fast", Rates(input=r.input * 6, output=r.output * 6, cache_read=r.input * d("0.6"))),))
    if provider == "google":
        return replace(point, residency=(("EU", d("1.2")), ("us", d("1.1"))), service_tiers=(
            ServiceRates("priority", Rates(input=r.input * 2, output=r.output * 2),
                         (Tier(200_000, Rates(input=r.input * 3, output=r.output * 3)),)),
            ServiceRates("flex", Rates(input=r.input / 2, output=r.output / 2)),
        ))
    if provider == "deepseek":
        # Overlapping windows, one across midnight: the first covering window wins.
        return replace(point, off_peak=(OffPeak("16:30", "00:30", d("0.5")), OffPeak("00:00", "01:00", d("0.25"))))
    if provider == "xai":
        return replace(point, off_peak=(OffPeak("08:00", "09:00", d("0.75")),), residency=(("us", d("1.05")),),
                       service_tiers=(ServiceRates("fast", Rates(input=r.input * 2, output=r.output * 2)),))
    return point


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    base = load_catalog(Config({"pricing": {"overrides": {"acme/input-only": {"input": "1.5"}}}}))
    entries = [replace(e, prices=tuple(_modified(p, e.provider) for p in e.prices)) for e in base.entries]
    return Catalog(entries, base.as_of, base.sources, base.origin)


TIERS = [None, "standard", "default", "auto", "scale", "on_demand", "batch", "flex", "flex", "priority", "priority",
         "FLEX", "reserved"]
SPEEDS = [None, None, None, "fast", "Fast", "standard"]
GEOS = [None, None, "us", "US", " eu", "global"]
LABELS = [None, None, "0-200k", "200k-1M", ">200k", "bogus"]
REQUESTS = [1, 1, 1, 1, 2, 1000, None, 0]


def _modifier_rows(n: int, seed: int) -> list[dict]:
    rows = _random_rows(n, seed)
    rng = np.random.default_rng(seed + 1)

    def pick(values: list) -> object:
        return values[rng.integers(len(values))]

    for row in rows:
        row.update(service_tier=pick(TIERS), speed=pick(SPEEDS), inference_geo=pick(GEOS),
                   context_tier=pick(LABELS), requests=pick(REQUESTS), batch=bool(row["batch"] and rng.random() < 0.5))
        if rng.random() < 0.2:  # many rows in and around the off-peak windows
            row["timestamp"] = row["timestamp"].replace(hour=int(pick([0, 8, 16, 23])), minute=int(rng.integers(60)))
    return rows


# ----------------------------------------------------------------------------- exact vs vectorized
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_price_table_equals_the_exact_path_with_every_modifier(catalog, seed: int) -> None:
    rows = _modifier_rows(1500, seed)
    priced = price_table(_table(rows), catalog)
    costs = priced.column("cost_usd").to_pylist()
    statuses = priced.column("price_status").to_pylist()
    flags = priced.column("tier_undetermined").to_pylist()
    seen: set[tuple[str, bool]] = set()
    for row, cost, status, flag in zip(rows, costs, statuses, flags, strict=True):
        exact = cost_breakdown(catalog, row["model"], _usage(row), at=row["timestamp"], batch=row["batch"],
                               conditions=_conditions(row))
        assert (status, flag) == (exact.status, exact.tier_undetermined), row
        seen.add((status, flag))
        seen.add((exact.service, exact.residency != 1 or exact.off_peak != 1))
        if exact.total is None:
            assert cost is None, row
        else:
            assert cost is not None, row
            assert abs(Decimal(repr(cost)) - exact.total) <= exact.total * d("1e-9") + d("1e-15"), row
    # Every rule was exercised: each rate set, multipliers, undetermined tiers and missing service tiers.
    assert {("priced", True), ("priced", False), ("missing_rate", False), ("unknown_model", False)} <= seen
    assert {(m, True) for m in ("standard", "batch", "fast")} <= seen
    assert {("flex", False), ("priority", False)} <= seen


def _exact_at(point: PricePoint, row: dict) -> Decimal | None:
    entry = ModelEntry("test/point", "test", "point", (point,))
    _point, eff, lines = price_usage(entry, _usage(row), at=row["timestamp"], batch=row["batch"],
                                     conditions=_conditions(row))
    assert eff is not None
    if eff.missing or any(cost is None for *_x, cost in lines):
        return None
    return sum((cost for *_x, cost in lines if cost is not None), d(0))


def _close(got: float, want: Decimal | None) -> bool:
    if want is None:
        return bool(np.isnan(got))
    return abs(Decimal(repr(float(got))) - want) <= want * d("1e-9") + d("1e-15")


def test_cost_matrix_and_costs_equal_the_exact_path_on_every_point(catalog) -> None:
    """The what-if engine (every row on every point) honours the same modifiers as price_table."""
    rows = _modifier_rows(400, seed=9)
    usage = usage_arrays(_table(rows))
    assert usage.mode is not None and usage.geo is not None and usage.minute is not None
    assert usage.tier_tokens is not None
    providers = ("openai", "anthropic", "google", "deepseek", "xai", "mistral")
    points = [e.prices[-1] for p in providers
              for e in [next(e for e in catalog.entries if e.provider == p and e.prices[-1].rates.input)]]
    points.append(catalog.resolve("gemini-2.5-pro").entry.prices[-1])  # long-context tiers, service tiers
    grid = rate_grid(points)
    matrix = grid.cost_matrix(usage)
    pos = np.arange(len(rows)) % len(points)
    per_row, missing = grid.costs(pos, usage)
    for i, row in enumerate(rows):
        for g, point in enumerate(points):
            want = _exact_at(point, row)
            assert _close(matrix[g, i], want), (g, row, matrix[g, i], want)
            if g == pos[i]:
                assert bool(missing[i]) == (want is None), row
                if want is not None:
                    assert _close(per_row[i], want), row
    # Pricing a subset of the points changes no figure.
    np.testing.assert_array_equal(grid.select(np.array([4, 1])).cost_matrix(usage), matrix[[4, 1]])


# ----------------------------------------------------------------------------- long-context per request
def _one_row(catalog: Catalog, model: str, **fields: object) -> dict:
    row = {"timestamp": dt.datetime(2026, 11, 10, 12, 0, tzinfo=UTC), "provider": None, "model": model,
           "model_raw": model, "cost_usd": None, "billed_cost_usd": None, "source_format": "test", "requests": 1,
           "input_tokens": 0, "cache_read_tokens": 0, "cache_write_tokens": 0, "cache_write_1h_tokens": 0,
           "output_tokens": 0, "reasoning_tokens": 0, "web_search_requests": 0, "batch": False}
    row.update(fields)
    return row


def _both(catalog: Catalog, row: dict) -> tuple[object, object, bool]:
    """(exact breakdown, vectorized cost, vectorized tier_undetermined) of one row."""
    exact = cost_breakdown(catalog, row["model"], _usage(row), at=row["timestamp"], batch=row["batch"],
                           conditions=_conditions(row))
    priced = price_table(_table([row]), catalog)
    return exact, priced.column("cost_usd")[0].as_py(), priced.column("tier_undetermined")[0].as_py()


def test_a_bucket_of_requests_is_not_one_long_prompt() -> None:
    """1,000 requests, 5M in / 400k out on gpt-5.4: no single prompt passed 272k as far as we know,
    so base rates ($2.50/$15 per 1M: $18.50), not the >272k tier ($34), flagged not determinable."""
    catalog = load_catalog()
    row = _one_row(catalog, "openai/gpt-5.4", input_tokens=5_000_000, output_tokens=400_000, requests=1000)
    exact, cost, flag = _both(catalog, row)
    assert exact.total == d("18.5") and exact.tier_threshold is None and exact.tier_undetermined
    assert cost == pytest.approx(18.5, rel=1e-12) and flag is True
    # The same tokens as ONE request do pass the threshold.
    exact, cost, flag = _both(catalog, {**row, "requests": 1})
    assert exact.total == d("34") and exact.tier_threshold == 272_000 and not exact.tier_undetermined
    assert cost == pytest.approx(34.0, rel=1e-12) and flag is False
    # A bucket whose total stays under the threshold is determinable: no request of it passed.
    exact, _cost, flag = _both(catalog, {**row, "input_tokens": 200_000})
    assert not exact.tier_undetermined and flag is False


def test_anthropic_usage_report_window_label_picks_the_tier() -> None:
    """Usage-report rows have no request count (null) and say their window: "0-200k" is base rates
    however many tokens the bucket holds, "200k-1M" the >200k tier; both are determined."""
    catalog = load_catalog()
    # Sonnet 4.5's >200k tier: the 1M-context beta was retired 2026-04-30 (genai-prices), so a date before it.
    row = _one_row(catalog, "claude-sonnet-4-5", provider="anthropic", requests=None, input_tokens=5_000_000,
                   output_tokens=100_000, context_tier="0-200k",
                   timestamp=dt.datetime(2026, 1, 15, 12, 0, tzinfo=UTC))
    exact, cost, flag = _both(catalog, row)
    assert exact.total == 5 * d(3) + d("0.1") * 15 and exact.tier_threshold is None  # $3 / $15 per 1M
    assert not exact.tier_undetermined and flag is False
    assert cost == pytest.approx(float(exact.total), rel=1e-12)
    exact, cost, flag = _both(catalog, {**row, "context_tier": "200k-1M"})
    assert exact.tier_threshold == 200_000 and exact.total == 5 * d(6) + d("0.1") * d("22.5")
    assert not exact.tier_undetermined and flag is False
    assert cost == pytest.approx(float(exact.total), rel=1e-12)
    # No label: base rates, and the tier is not determinable.
    exact, cost, flag = _both(catalog, {**row, "context_tier": None})
    assert exact.tier_threshold is None and exact.tier_undetermined and flag is True


def test_window_labels() -> None:
    assert context_bounds("0-200k") == (0, 200_000)
    assert context_bounds("200k-1M") == (200_000, 1_000_000)
    assert context_bounds(" 128K – 1m ") == (128_000, 1_000_000)
    assert context_bounds(">200k") == (200_000, None)
    assert context_bounds("200k+") == (200_000, None)
    assert context_bounds("1.5M-2M") == (1_500_000, 2_000_000)
    assert context_bounds(None) is None and context_bounds("") is None and context_bounds("long") is None


def test_a_label_straddling_a_threshold_is_not_determinable() -> None:
    # "200k-1M" on gpt-5.4 (threshold 272k): requests between 200k and 272k were base, others not.
    catalog = load_catalog()
    row = _one_row(catalog, "openai/gpt-5.4", input_tokens=5_000_000, output_tokens=0, requests=20,
                   context_tier="200k-1M")
    exact, _cost, flag = _both(catalog, row)
    assert exact.tier_threshold is None and exact.tier_undetermined and flag is True


# ----------------------------------------------------------------------------- service tiers
def test_service_tiers_bill_at_their_own_rates(catalog) -> None:
    point = catalog.resolve("gpt-4o").entry.price_at(dt.date(2026, 11, 10))
    row = _one_row(catalog, "gpt-4o", input_tokens=1_000_000, cache_read_tokens=400_000, output_tokens=1_000_000)
    standard, *_ = _both(catalog, row)
    assert standard.service == "standard"
    assert standard.total == d("0.6") * point.input + d("0.4") * point.cache_read + point.output
    for name in ("standard", "default", "auto", "scale", "on_demand", "reserved", None):
        same, cost, _flag = _both(catalog, {**row, "service_tier": name})
        assert same.total == standard.total and same.service == "standard", name
        assert cost == pytest.approx(float(standard.total), rel=1e-12)
    flex, cost, _flag = _both(catalog, {**row, "service_tier": "flex"})
    # Flex lists no cache rate: cached tokens bill at flex input, not at standard cache_read.
    assert flex.service == "flex" and flex.total == (point.input / 2) + (point.output / 2)
    assert cost == pytest.approx(float(flex.total), rel=1e-12)
    # Priority: its own rates and per-request fee (a prompt at its 100k threshold is not above it).
    priority, cost, _flag = _both(catalog, {**row, "service_tier": "Priority", "input_tokens": 100_000,
                                            "cache_read_tokens": 40_000})
    assert priority.tier_threshold is None
    assert priority.total == (d("0.06") * point.input * d("1.7") + d("0.04") * point.input * d("0.17")
                              + point.output * d("1.7") + d("0.001"))
    assert cost == pytest.approx(float(priority.total), rel=1e-12)
    # Priority's own long-context tier (100k) applies to a single long request.
    long, cost, _flag = _both(catalog, {**row, "service_tier": "priority", "input_tokens": 150_000,
                                        "cache_read_tokens": 0})
    assert long.tier_threshold == 100_000 and long.total == d("0.15") * point.input * 4 + point.output * 3 + d("0.001")
    assert cost == pytest.approx(float(long.total), rel=1e-12)
    # "batch" as a service tier is the batch path.
    batch, cost, _flag = _both(catalog, {**row, "service_tier": "batch"})
    assert batch.batch and batch.service == "batch"
    assert batch.total == cost_breakdown(catalog, "gpt-4o", _usage(row), at=row["timestamp"], batch=True).total


def test_a_missing_service_tier_rate_is_unknown_not_standard(catalog) -> None:
    # Anthropic points here have fast mode but no flex; mistral has no service tiers at all.
    for model, tier in (("claude-sonnet-4-5", "flex"), ("mistral/mistral-large-latest", "priority")):
        row = _one_row(catalog, model, input_tokens=1000, output_tokens=1000, service_tier=tier)
        exact, cost, _flag = _both(catalog, row)
        assert exact.status == "missing_rate" and exact.total is None
        assert exact.missing == (f"service_tier:{tier}",)
        assert cost is None
        priced = price_table(_table([row]), catalog)
        assert priced.column("price_status").to_pylist() == ["missing_rate"]
    # Fast mode on a model without fast rates is unknown too.
    row = _one_row(catalog, "gpt-4o", input_tokens=1000, output_tokens=1000, speed="fast")
    exact, cost, _flag = _both(catalog, row)
    assert exact.missing == ("service_tier:fast",) and cost is None


def test_fast_mode_uses_its_rates_and_no_long_context_tier_of_its_own(catalog) -> None:
    point = catalog.resolve("claude-sonnet-4-5").entry.price_at(dt.date(2026, 11, 10))
    row = _one_row(catalog, "claude-sonnet-4-5", provider="anthropic", input_tokens=300_000,
                   cache_read_tokens=100_000, output_tokens=10_000, speed="fast", service_tier="standard")
    exact, cost, flag = _both(catalog, row)
    # 300k prompt: above the standard 200k threshold, but the fast rates list no tier.
    assert exact.service == "fast" and exact.tier_threshold is None and not exact.tier_undetermined
    assert exact.total == d("0.2") * point.input * 6 + d("0.1") * point.input * d("0.6") + d("0.01") * point.output * 6
    assert cost == pytest.approx(float(exact.total), rel=1e-12) and flag is False
    assert service_mode("priority", "fast") == "fast" and service_mode("flex", "fast", batch=True) == "batch"


# ----------------------------------------------------------------------------- residency, off-peak
def test_residency_multiplies_every_token_rate_not_the_fees(catalog) -> None:
    row = _one_row(catalog, "gemini-2.5-pro", input_tokens=100_000, cache_read_tokens=50_000, output_tokens=10_000,
                   web_search_requests=2)
    base, *_ = _both(catalog, row)
    for geo, factor in (("eu", d("1.2")), ("US", d("1.1")), ("global", d(1)), (None, d(1))):
        exact, cost, _flag = _both(catalog, {**row, "inference_geo": geo})
        assert exact.residency == factor, geo
        lines = {name: (rate, line) for name, _q, rate, line in exact.lines}
        plain = {name: (rate, line) for name, _q, rate, line in base.lines}
        for name in ("input", "cache_read", "output"):
            assert lines[name][0] == plain[name][0] * factor, (geo, name)
        assert lines["per_search"] == plain["per_search"]  # per-call fees are not token rates
        if exact.total is not None:
            assert cost == pytest.approx(float(exact.total), rel=1e-12)


def test_off_peak_windows_discount_single_requests_only(catalog) -> None:
    point = catalog.resolve("deepseek-chat").entry.price_at(dt.date(2026, 11, 10))
    row = _one_row(catalog, "deepseek-chat", input_tokens=1_000_000, output_tokens=1_000_000)
    full = point.input + point.output
    cases = [((12, 0), d(1)), ((16, 29), d(1)), ((16, 30), d("0.5")), ((23, 59), d("0.5")), ((0, 15), d("0.5")),
             ((0, 30), d("0.25")), ((0, 59), d("0.25")), ((1, 0), d(1))]
    for (hour, minute), factor in cases:
        when = dt.datetime(2026, 11, 10, hour, minute, 30, tzinfo=UTC)
        exact, cost, _flag = _both(catalog, {**row, "timestamp": when})
        assert exact.off_peak == factor and exact.total == full * factor, (hour, minute)
        assert cost == pytest.approx(float(exact.total), rel=1e-12)
    # The window is UTC: 18:00 in Berlin (UTC+1 in November) is 17:00 UTC, off-peak.
    berlin = dt.datetime(2026, 11, 10, 18, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    exact, cost, _flag = _both(catalog, {**row, "timestamp": berlin})
    assert exact.off_peak == d("0.5") and cost == pytest.approx(float(full / 2), rel=1e-12)
    # An aggregated row's timestamp is its bucket start, not a time of day: base rates.
    at_night = dt.datetime(2026, 11, 10, 17, 0, tzinfo=UTC)
    for requests in (2, None):
        exact, cost, _flag = _both(catalog, {**row, "timestamp": at_night, "requests": requests})
        assert exact.off_peak == 1 and exact.total == full, requests
        assert cost == pytest.approx(float(full), rel=1e-12)
