"""``RateGrid.cost_matrix`` and ``usage_arrays`` against the straightforward code they replaced,
bit for bit: the what-if compares these floats for ties, so "close" is not enough."""

from __future__ import annotations

import numpy as np
import pytest

from llmaudit.pricing import load_catalog, rate_grid, usage_arrays
from llmaudit.pricing.table import _TOKENS, RateGrid, UsageArrays, Workspace, _ints
from llmaudit.schema import from_pylist
from tests.pricing.test_pricing_table import _random_rows


def _reference_cost_matrix(grid: RateGrid, usage: UsageArrays, missing: float = np.nan) -> np.ndarray:
    """The previous implementation: a fresh (points, rows) array, one outer product per token type."""
    n = len(usage.batch)
    q = usage.quantities
    used = np.flatnonzero(q.any(axis=0))
    plain = grid.plain_rates()[:, used]
    out = np.zeros((grid.points, n))
    for j, c in enumerate(used):
        rate = plain[:, j]
        if np.any(rate):
            out += np.multiply.outer(np.nan_to_num(rate, nan=0.0), q[:, c])
    for j, c in enumerate(used):
        absent = np.flatnonzero(np.isnan(plain[:, j]))
        if len(absent):
            out[absent] = np.where(q[:, c] != 0, missing, out[absent])
    special = grid.special(usage)
    if special.any():
        rows = np.flatnonzero(special)
        sub = usage.take(rows)
        sub_q = sub.quantities[:, used]
        sub_needed = sub_q != 0
        for g in range(grid.points):
            at_g = np.full(len(rows), g, dtype=np.int64)
            full = grid.rates[grid._combo(at_g, sub)]
            factor = grid._multipliers(at_g, sub, grid._residency(sub))  # off-peak windows, residency
            if factor is not None:
                full[:, :_TOKENS] *= factor[:, None]
            rates = full[:, used]
            cost = np.zeros(len(rows))
            for j in range(len(used)):
                cost += sub_q[:, j] * np.nan_to_num(rates[:, j], nan=0.0)
            out[g, rows] = np.where((sub_needed & np.isnan(rates)).any(axis=1), missing, cost)
    return out


def _reference_quantities(table) -> np.ndarray:
    inp, cr, cw, cw1h = (_ints(table, c, 0) for c in ("input_tokens", "cache_read_tokens", "cache_write_tokens",
                                                       "cache_write_1h_tokens"))
    out, reasoning = _ints(table, "output_tokens", 0), _ints(table, "reasoning_tokens", 0)
    return np.stack([inp - cr - cw, cr, cw - cw1h, cw1h, out - reasoning, reasoning, _ints(table, "requests", 1),
                     _ints(table, "web_search_requests", 0)], axis=1).astype(np.float64)


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.fixture(scope="module")
def usage():
    rows = _random_rows(3_000, seed=7)
    # Edge cases: empty rows, negative plain input (cache reads above the prompt), huge counts.
    rows[0].update(input_tokens=0, output_tokens=0, cache_read_tokens=0, cache_write_tokens=0,
                   cache_write_1h_tokens=0, reasoning_tokens=0, web_search_requests=0, requests=0)
    rows[1].update(input_tokens=10, cache_read_tokens=500, cache_write_tokens=0, cache_write_1h_tokens=0)
    rows[2].update(input_tokens=3_000_000_000, output_tokens=900_000_000, batch=False)
    table = from_pylist(rows)
    u = usage_arrays(table)
    assert u.quantities.flags.c_contiguous
    np.testing.assert_array_equal(u.quantities, _reference_quantities(table))
    assert u.batch.any() and (u.quantities < 0).any()
    return u


def test_cost_matrix_is_the_previous_float_for_float(catalog, usage) -> None:
    points = [p for e in catalog.entries[::25] for p in e.prices[-2:]]
    grid = rate_grid(points)
    work = Workspace()
    for missing in (np.nan, np.inf):
        want = _reference_cost_matrix(grid, usage, missing)
        for w in (None, work, work):  # a fresh buffer, then the same one reused
            got = grid.cost_matrix(usage, missing=missing, work=w)
            np.testing.assert_array_equal(got, want)
    # Subsets of rows and points, priced in a reused (larger) buffer: each figure unchanged.
    rows = np.arange(0, len(usage.batch), 7)
    sub = grid.select(np.arange(0, grid.points, 3))
    np.testing.assert_array_equal(sub.cost_matrix(usage.take(rows), work=work),
                                  _reference_cost_matrix(grid, usage)[::3][:, rows])


def test_per_row_costs_unchanged_by_how_the_quantities_are_built(catalog) -> None:
    # price_table's per-row engine sums each row's (row, component) products: the same floats with
    # the quantities filled column by column as with the old stacked copy.
    table = from_pylist(_random_rows(2_000, seed=11))
    usage = usage_arrays(table)
    reference = UsageArrays(_reference_quantities(table), usage.input_tokens, usage.output_tokens,
                            usage.requests, usage.batch)
    points = [e.price_at(None) for e in catalog.entries[:40] if e.price_at(None) is not None]
    grid = rate_grid(points)
    pos = np.arange(len(usage.batch)) % grid.points
    for a, b in zip(grid.costs(pos, usage), grid.costs(pos, reference), strict=True):
        np.testing.assert_array_equal(a, b)


def _reference_costs(grid: RateGrid, pos: np.ndarray, usage: UsageArrays) -> tuple[np.ndarray, np.ndarray]:
    """The previous per-row engine: (rows, components) products, summed along each row."""
    rates = grid.rates[grid._combo(pos, usage)]
    # Off-peak windows and data residency scale the token rates (the catalog's DeepSeek points).
    factor = grid._multipliers(pos, usage, grid._residency(usage))
    if factor is not None:
        rates[:, :_TOKENS] *= factor[:, None]
    needed = usage.quantities != 0
    missing = (needed & np.isnan(rates)).any(axis=1)
    cost = np.where(needed, usage.quantities * np.nan_to_num(rates, nan=0.0), 0.0).sum(axis=1)
    return cost, missing


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_per_row_costs_are_the_previous_floats(catalog, seed: int) -> None:
    rows = _random_rows(4_000, seed=100 + seed)
    rows[0].update(input_tokens=10, cache_read_tokens=500, cache_write_tokens=0, cache_write_1h_tokens=0)
    rows[1].update(input_tokens=0, output_tokens=0, cache_read_tokens=0, cache_write_tokens=0,
                   cache_write_1h_tokens=0, reasoning_tokens=0, web_search_requests=0, requests=0)
    usage = usage_arrays(from_pylist(rows))
    points = [p for e in catalog.entries[seed::20] for p in e.prices]
    grid = rate_grid(points)
    pos = np.random.default_rng(seed).integers(0, len(points), len(usage.batch))
    (cost, missing), (want_cost, want_missing) = grid.costs(pos, usage), _reference_costs(grid, pos, usage)
    assert missing.any() and not missing.all()
    np.testing.assert_array_equal(missing, want_missing)
    np.testing.assert_array_equal(cost, want_cost)
    np.testing.assert_array_equal(np.signbit(cost), np.signbit(want_cost))
    # A batch where some token type is absent from every row (its term is +0.0).
    none = UsageArrays(np.where(np.arange(8) == 1, 0.0, usage.quantities), usage.input_tokens,
                       usage.output_tokens, usage.requests, usage.batch)
    np.testing.assert_array_equal(grid.costs(pos, none)[0], _reference_costs(grid, pos, none)[0])


def test_days_by_integer_division_match_the_date32_cast() -> None:
    import pyarrow as pa
    import pyarrow.compute as pc

    from llmaudit.pricing.table import _days

    rng = np.random.default_rng(1)
    for unit, scale in (("s", 1), ("ms", 10**3), ("us", 10**6), ("ns", 10**9)):
        values = rng.integers(-2_000_000_000, 4_000_000_000, 5_000) * scale + rng.integers(0, scale, 5_000)
        for tz in (None, "UTC", "Europe/Paris"):
            table = pa.table({"timestamp": pa.array(values, pa.timestamp(unit, tz))})
            col = table.column("timestamp")
            if tz:
                col = pc.cast(col, pa.timestamp(unit, "UTC"))
            want = pc.cast(pc.cast(col, pa.date32()), pa.int32()).to_numpy()
            np.testing.assert_array_equal(_days(table), want)


@pytest.mark.parametrize("pairs", [1, 1_000, 1 << 30])   # a point per step, several, all at once
def test_rows_off_the_plain_rates_cost_the_same_however_many_points_at_a_time(catalog, usage, pairs,
                                                                           monkeypatch) -> None:
    from llmaudit.pricing import table

    monkeypatch.setattr(table, "_SPECIAL_PAIRS", pairs)
    grid = rate_grid([p for e in catalog.entries[::40] for p in e.prices[-2:]])
    assert grid.special(usage).any()
    np.testing.assert_array_equal(grid.cost_matrix(usage, missing=np.inf), _reference_cost_matrix(grid, usage, np.inf))
