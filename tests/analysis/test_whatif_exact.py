"""The what-if's fast path against the per-row reference it replaced, on varied data.

The reference prices every row on every candidate and takes each scenario's per-row minimum over
all of its candidates (the original implementation, kept here only). The fast path prices each row
only on the candidates that can win it and sums the linear figures per bucket; the results must be
the same: money to 1e-9 relative, counts and picks exactly.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from llmaudit.analysis.routing.candidates import _cheapest
from llmaudit.analysis.routing.scenarios import WhatIf
from llmaudit.analysis.routing.tiers import TierInfo, TierTable, load_tiers
from llmaudit.analysis.routing.whatif import WhatIfAccumulator, _Model
from llmaudit.config import Config
from llmaudit.pricing import Catalog, ModelEntry, PricePoint, Rates, Tier, load_catalog, price_table
from llmaudit.schema import from_pylist
from tests.pricing.test_cost_matrix_exact import _reference_cost_matrix


def _argmin_cheapest(cost: np.ndarray, among: np.ndarray, stay: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The original per-row choice: argmin over the scenario's candidates (first of equal costs), then
    stay unless strictly cheaper."""
    if len(among) == 0:
        return stay, np.full(stay.shape[0], -1)
    sub = cost[among]
    idx = np.argmin(sub, axis=0)
    best = sub[idx, np.arange(sub.shape[1])]
    take = best < stay
    return np.where(take, best, stay), np.where(take, among[idx], -1)


class _Reference(WhatIfAccumulator):
    """The original per-row what-if: every row × every candidate, each scenario's argmin per row
    (the previous engine and choice, ``_reference_cost_matrix`` and ``_argmin_cheapest``: the
    reference shares neither with the fast path)."""

    def add(self, table: pa.Table, day: Any) -> None:
        priced = pc.is_valid(table.column("cost_usd"))
        self.excluded_unpriced += int(pc.sum(pc.if_else(priced, 0, pc.fill_null(table.column("requests"), 1)))
                                      .as_py() or 0)
        table = table.append_column("_day", day).filter(priced)
        if table.num_rows == 0:
            return
        models = pc.dictionary_encode(table.column("model")).combine_chunks()
        days = pc.dictionary_encode(table.column("_day")).combine_chunks()
        model_codes = np.asarray(models.indices.to_numpy(zero_copy_only=False))
        day_codes = np.asarray(days.indices.to_numpy(zero_copy_only=False))
        day_labels = [str(d) for d in days.dictionary.to_pylist()]
        for code, name in enumerate(models.dictionary.to_pylist()):
            idx = np.flatnonzero(model_codes == code)
            if len(idx):
                self._ref_model(str(name), table.take(pa.array(idx)), day_codes[idx], day_labels)

    def _ref_model(self, model: str, rows: pa.Table, day_codes: np.ndarray, day_labels: list[str]) -> None:
        from llmaudit.pricing import rate_grid, usage_arrays

        u = usage_arrays(rows)
        n = rows.num_rows
        own = self._point(model)
        logged = np.asarray(rows.column("cost_usd").to_numpy(), dtype=np.float64)
        if own is None:
            current = logged
        else:
            today = _reference_cost_matrix(rate_grid([own]), u)[0]
            current = np.where(np.isnan(today), logged, today)
        tier = self.tier(model)
        context = (u.input_tokens + u.output_tokens).astype(np.float64)
        k = len(self.candidates)
        cost = np.nan_to_num(_reference_cost_matrix(self._cand_grid, u), nan=np.inf) if k else np.zeros((0, n))
        out = u.output_tokens.astype(np.float64)
        # A request fits a candidate when its context and its output are within the model's limits.
        fits = ((self.cand_ctx[:, None] >= context[None, :]) & (self.cand_out[:, None] >= out[None, :])) if k \
            else np.zeros((0, n), dtype=bool)
        acc = self.models.get(model)
        if acc is None:
            acc = self.models[model] = _Model({}, {}, np.zeros(k), np.zeros(k))
        acc.alt_cost += cost.sum(axis=1)
        acc.alt_misfit += (~fits).sum(axis=1)
        requests = u.requests.astype(np.float64)
        masked = np.where(fits, cost, np.inf)
        if tier is None:
            best = equal = current
            best_pick = np.full(n, -1)
            self.untiered[model] = self.untiered.get(model, 0) + int(requests.sum())
        else:
            best, best_pick = _argmin_cheapest(masked, np.flatnonzero(self.cand_tier <= tier), current)
            equal, _ = _argmin_cheapest(masked, np.flatnonzero(self.cand_tier == tier), current)
        picked = np.bincount(np.where(best_pick < 0, k, best_pick), weights=requests, minlength=k + 1)
        for c in np.flatnonzero(picked):
            name = model if c == k else self.candidates[c].model
            acc.picks[name] = acc.picks.get(name, 0) + int(picked[c])
            if c != k:   # which rule allowed the route: the accumulator's own wording (not a decision)
                acc.rules.setdefault(name, self._rule(model, int(c)))
        # The retokenized bounds re-price the chosen routes (not a decision): the accumulator's own.
        if tier is None:
            best_opt = best_pes = best
        else:
            best_opt, best_pes = self._moved(model, u, best, np.where(best_pick < 0, k, best_pick))
        per_day = [np.bincount(day_codes, weights=w, minlength=len(day_labels))
                   for w in (requests, context, current, best, equal, best_opt, best_pes)]
        for d in np.flatnonzero(np.bincount(day_codes, minlength=len(day_labels))):
            slot = acc.days.setdefault(day_labels[d], [0.0] * 7)
            for m, sums in enumerate(per_day):
                slot[m] += float(sums[d])
        own_provider = model.split("/", 1)[0] if "/" in model else ""
        for p in self.providers:
            idx = self.by_provider[p]
            if tier is not None:
                idx = idx[self.cand_tier[idx] <= tier]
            elif own_provider != p:
                idx = idx[:0]
            stay = current if own_provider == p or tier is None else np.full(n, np.inf)
            chosen, pick = _argmin_cheapest(masked, idx, stay)
            covered = np.isfinite(chosen)
            state = self.prov[p]
            state["cost"] += float(np.where(covered, chosen, current).sum())
            state["covered"] += int(requests[covered].sum())
            state["uncovered"] += int(requests[~covered].sum())
            moved = np.bincount(np.where(pick < 0, k, pick), weights=np.where(covered, requests, 0.0),
                                minlength=k + 1)
            for j in np.flatnonzero(moved):
                to = model if j == k else self.candidates[j].model
                state["map"][(model, to)] = state["map"].get((model, to), 0) + int(moved[j])


def _days(table: pa.Table) -> Any:
    return pc.strftime(table.column("timestamp"), "%Y-%m-%d")


def _both(tables: list[pa.Table], catalog: Any, tiers: TierTable | None = None, **kw: Any) -> tuple[WhatIf, WhatIf]:
    fast = WhatIfAccumulator(catalog, tiers=tiers)
    ref = _Reference(catalog, tiers=tiers)
    for t in tables:
        fast.add(t, _days(t))
        ref.add(t, _days(t))
    return fast.result(**kw), ref.result(**kw)


def _assert_same(fast: Any, ref: Any, path: str = "whatif") -> None:
    """Equal field by field: Decimals and floats to 1e-9 relative, everything else exactly."""
    if dataclasses.is_dataclass(fast):
        for f in dataclasses.fields(fast):
            _assert_same(getattr(fast, f.name), getattr(ref, f.name), f"{path}.{f.name}")
    elif isinstance(fast, tuple | list):
        assert len(fast) == len(ref), path
        for i, (a, b) in enumerate(zip(fast, ref, strict=True)):
            _assert_same(a, b, f"{path}[{i}]")
    elif isinstance(fast, Decimal | float) and not isinstance(fast, bool):
        assert abs(fast - ref) <= abs(ref) * type(ref)("1e-9") + type(ref)("1e-12"), (path, fast, ref)
    else:
        assert fast == ref, (path, fast, ref)


# ------------------------------------------------------------------------- a hand-built catalog
def _point(inp: str, out: str, **rates: Any) -> PricePoint:
    tiers = rates.pop("long_context", ())
    return PricePoint(date(2026, 1, 1), "test", date(2026, 1, 1),
                      Rates(input=Decimal(inp), output=Decimal(out), **{k: Decimal(v) for k, v in rates.items()}),
                      long_context=tiers)


def _entry(model_id: str, ctx: int | None, point: PricePoint) -> ModelEntry:
    provider, _, name = model_id.partition("/")
    return ModelEntry(id=model_id, provider=provider, name=name, prices=(point,), context_window=ctx)


TIER_200K = (Tier(200_000, Rates(input=Decimal("6"), output=Decimal("22.5"))),)
TIER_128K = (Tier(128_000, Rates(input=Decimal("0.5"), output=Decimal("1"))),)
ENTRIES = [
    _entry("alpha/big", 200_000, _point("3", "15", cache_read="0.3", cache_write_5m="3.75", cache_write_1h="6",
                                         input_batch="1.5", output_batch="7.5", long_context=TIER_200K)),
    _entry("alpha/twin", 200_000, _point("3", "15", cache_read="0.3", cache_write_5m="3.75", cache_write_1h="6",
                                          input_batch="1.5", output_batch="7.5", long_context=TIER_200K)),
    _entry("beta/big-cheap", 100_000, _point("2", "4")),                 # no cache rate: bills as input
    _entry("beta/mid", 8_000, _point("1", "2", cache_read="0.1")),
    _entry("beta/mid-wide", 1_000_000, _point("1", "2", cache_read="0.5", long_context=TIER_128K)),
    _entry("gamma/small", 32_000, _point("0.1", "0.2", input_batch="0.05", output_batch="0.1")),
    _entry("gamma/small-out", 32_000, _point("0.2", "0.1")),             # cheaper only for output-heavy rows
    _entry("gamma/untiered", 32_000, _point("5", "5")),
    _entry("delta/reasoner", 300_000, _point("1", "4", reasoning="8", per_request="0.001")),
    _entry("delta/searcher", 300_000, _point("1", "4", per_search="0.01")),
    _entry("delta/no-window", None, _point("0.01", "0.01")),            # fits no request
]
CATALOG = Catalog(ENTRIES, date(2026, 1, 1))
TIERS = TierTable(
    as_of=date(2026, 11, 1), scale={1: "frontier", 2: "strong", 3: "efficient"}, method="test",
    models={m: TierInfo(m, t, "test") for m, t in [
        ("alpha/big", 1), ("alpha/twin", 1), ("beta/big-cheap", 1), ("beta/mid", 2), ("beta/mid-wide", 2),
        ("gamma/small", 3), ("gamma/small-out", 3), ("delta/reasoner", 2), ("delta/searcher", 2),
        ("delta/no-window", 1)]},
)


def _rows(n: int, seed: int, models: list[str], start: datetime, days: int,
          small: bool = False) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        model = models[int(rng.integers(len(models)))]
        shape = 2 if small else rng.integers(5)
        if shape == 0:  # near a long-context threshold or a context window
            inp = int(rng.choice([8_000, 32_000, 100_000, 128_000, 200_000, 300_000])) + int(rng.integers(-3, 4))
        elif shape == 1:  # beyond every window
            inp = int(rng.integers(1_000_000, 2_000_000))
        else:
            inp = int(rng.integers(0, 60_000))
        cr = int(rng.integers(0, inp + 1)) if rng.random() < 0.4 else 0
        cw = int(rng.integers(0, inp - cr + 1)) if rng.random() < 0.3 else 0
        cw1h = int(rng.integers(0, cw + 1)) if rng.random() < 0.5 else 0
        out = int(rng.choice([0, int(rng.integers(0, 500)), int(rng.integers(0, 40_000))]))
        reasoning = int(rng.integers(0, out + 1)) if rng.random() < 0.3 else 0
        rows.append({
            "timestamp": start + timedelta(days=int(rng.integers(days)), seconds=int(rng.integers(86_400))),
            "provider": model.split("/")[0], "model": model, "model_raw": model, "input_tokens": inp,
            "cache_read_tokens": cr, "cache_write_tokens": cw, "cache_write_1h_tokens": cw1h, "output_tokens": out,
            "reasoning_tokens": reasoning, "requests": int(rng.choice([1, 1, 1, 0, 3])),
            "web_search_requests": int(rng.random() < 0.1), "batch": bool(rng.random() < 0.2),
            "cost_usd": None if rng.random() < 0.05 else float(rng.random()), "billed_cost_usd": None,
            "price_status": "priced", "source_format": "test", "request_id": f"r{seed}-{i}",
        })
    return rows


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fast_path_matches_reference_on_a_hand_built_catalog(seed: int) -> None:
    models = [e.id for e in ENTRIES] + ["alpha/big-2025-01-01", "omega/unknown"]
    start = datetime(2026, 11, 1, tzinfo=UTC)
    tables = [from_pylist(_rows(700, seed * 10 + b, models, start, 9)) for b in range(3)]
    fast, ref = _both(tables, CATALOG, TIERS)
    _assert_same(fast, ref)
    assert fast.untiered_requests and fast.excluded_unpriced_requests
    assert any(p.uncovered_requests for p in fast.providers)
    assert all(s.routes_to for s in fast.savings)


def test_fast_path_matches_reference_with_ties_and_zero_token_rows() -> None:
    # Twins with identical rates tie on every row: the lower candidate index must win, as before.
    start = datetime(2026, 11, 1, tzinfo=UTC)
    rows = _rows(400, 7, ["alpha/big", "alpha/twin", "beta/mid"], start, 3)
    for r in rows[:50]:
        r.update(input_tokens=0, cache_read_tokens=0, cache_write_tokens=0, cache_write_1h_tokens=0,
                 output_tokens=0, reasoning_tokens=0, web_search_requests=0)
    fast, ref = _both([from_pylist(rows)], CATALOG, TIERS)
    _assert_same(fast, ref)


@pytest.mark.parametrize("volume", [None, "10M-tokens/month"])
def test_fast_path_matches_reference_on_the_shipped_catalog(volume: str | None) -> None:
    from llmaudit.units import parse_volume

    catalog = load_catalog(Config({"pricing": {"overrides": {"acme/house": {"input": "0.3", "output": "0.9"}}}}))
    cands = WhatIfAccumulator(catalog).candidates
    models = [c.model for c in cands[::3]] + ["gpt-4o-mini-2024-07-18", "acme/house", "acme/unknown"]
    start = datetime(2026, 10, 20, tzinfo=UTC)
    tables = [price_table(from_pylist(_rows(1500, 40 + b, models, start, 12)), catalog) for b in range(2)]
    # Traffic that fits everywhere has failover alternatives.
    tables.append(price_table(from_pylist(_rows(300, 50, ["gpt-4o", "claude-haiku-4-5"], start, 5, small=True)),
                              catalog))
    kw = {"volume": parse_volume(volume)} if volume else {}
    fast, ref = _both(tables, catalog, load_tiers(), **kw)
    _assert_same(fast, ref)
    assert fast.untiered_requests and any(s.failover for s in fast.savings)


def test_running_minimum_picks_exactly_what_argmin_picks() -> None:
    rng = np.random.default_rng(3)
    cost = rng.integers(0, 4, (9, 5_000)).astype(np.float64)  # many exact ties
    cost[2, ::5] = np.inf
    cost[:, ::11] = np.inf  # rows no candidate can take
    stay = rng.integers(0, 5, 5_000).astype(np.float64)
    stay[::13] = np.inf
    for among in ([4], [0, 1], [8, 2, 5, 1], list(range(9)), [3, 3], []):
        idx = np.array(among, dtype=np.int64)
        got, want = _cheapest(cost, idx, stay), _argmin_cheapest(cost, idx, stay)
        np.testing.assert_array_equal(got[0], want[0])
        np.testing.assert_array_equal(got[1], want[1])
