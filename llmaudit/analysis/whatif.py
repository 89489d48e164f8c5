"""What-if on logged traffic: the same requests on other providers, and routed per request.

Two scenarios, computed batch by batch from the priced usage records:

* **single provider** — every request moved to one provider's equivalent model: the cheapest model
  of that provider whose capability tier is equal or better and whose context window fits the
  request (input + output tokens). Requests no model of the provider can take stay where they are
  and are counted as not covered.
* **routed** — every request sent to the cheapest model, across all providers, of equal or better
  tier that fits its context, plus the aggregator fee (``pricing.fees(config)``: 5.5% on credit
  purchases by default, 5% for BYOK).

Both sides are priced at *today's* list price (the latest catalog price point), so a price change
since the log was written does not show up as a routing saving. Cache reads and writes keep their
volumes on the new model (the same prompts would hit the same caches); a model without a cache rate
bills those tokens as ordinary input. Requests of a model with no known tier are not re-routed.
Alternatives are models still listed by the catalog's sources (unlisted for 90+ days = retired).

Savings are scaled to a month (× 30.4375 / days observed) and a year (× 365.25 / days observed).
The annual range is documented in ``SavingsRow``: low = tier-*equal* routing (never move a request
up a tier) minus one standard error of the daily savings; high = tier-equal-or-*better* routing
plus one standard error. With a single observed day the range collapses to the point estimates.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from llmaudit.analysis.tiers import TierTable, load_tiers
from llmaudit.errors import UsageError
from llmaudit.lazy import lazy

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
else:   # a report answered from the store (ingest.answers) is rendered without them
    np, pa, pc = lazy("numpy"), lazy("pyarrow"), lazy("pyarrow.compute")

__all__ = [
    "Candidate",
    "ProviderScenario",
    "Retokenized",
    "RoutedScenario",
    "SavingsRow",
    "WhatIf",
    "WhatIfAccumulator",
    "whatif_from_tables",
]

DAYS_PER_MONTH = Decimal("30.4375")
DAYS_PER_YEAR = Decimal("365.25")


# --------------------------------------------------------------------------------------- result
@dataclass(frozen=True)
class Candidate:
    model: str
    provider: str
    tier: int
    context_window: int | None
    max_output_tokens: int | None = None


@dataclass(frozen=True)
class SavingsRow:
    """One current model's traffic and what routing it would save (money in report currency)."""

    model: str
    tier: int | None
    tier_label: str
    tier_source: str | None
    requests: int
    monthly_tokens: int
    avg_per_million: Decimal | None  # current spend per 1M tokens (input + output)
    monthly_spend: Decimal
    routed_monthly_spend: Decimal  # tier-equal-or-better routing, fee included
    annual_savings: Decimal  # point estimate, tier-equal-or-better
    annual_savings_low: Decimal
    annual_savings_high: Decimal
    routes_to: tuple[tuple[str, int], ...]  # (model, requests) the router picked, most used first
    failover: tuple[str, ...]  # equivalent models on other providers, cheapest first
    # The same routes priced as they could really come out (``WhatIfAccumulator._moved``): the
    # target's tokenizer at the low end of its range with every cache hit kept, and at the high end
    # with cache reads billed as input wherever the provider changes. Inside the range above.
    annual_savings_optimistic: Decimal = Decimal(0)
    annual_savings_pessimistic: Decimal = Decimal(0)
    route_rules: tuple[tuple[str, str], ...] = ()  # (target, the rule and evidence that allowed it)


@dataclass(frozen=True)
class ProviderScenario:
    provider: str
    cost: Decimal  # over the observed window, today's prices
    monthly_spend: Decimal
    delta: Decimal  # cost - current (negative = cheaper)
    covered_requests: int
    uncovered_requests: int
    mapping: tuple[tuple[str, str, int], ...]  # (from model, to model, requests)


@dataclass(frozen=True)
class RoutedScenario:
    fee_pct: Decimal
    byok: bool
    cost_before_fee: Decimal
    fee: Decimal  # over the observed window, as a percentage of it
    cost: Decimal
    monthly_spend: Decimal  # fee included: ``monthly_fee``, not the window's
    monthly_fee: Decimal  # on a month's routed spend (at --volume when given), at least the minimum
    fee_minimum: Decimal  # the platform fee's floor per purchase (one purchase a month assumed); 0 for BYOK
    annual_savings: Decimal
    annual_savings_low: Decimal
    annual_savings_high: Decimal
    cost_optimistic: Decimal = Decimal(0)      # fee included: tokenizer low end, caches kept
    cost_pessimistic: Decimal = Decimal(0)     # fee included: tokenizer high end, caches lost across providers
    annual_savings_optimistic: Decimal = Decimal(0)
    annual_savings_pessimistic: Decimal = Decimal(0)
    fee_free_requests: int = 0               # BYOK: a month's first requests carry no fee (OpenRouter: 1M)
    fee_pct_charged: Decimal = Decimal(0)    # the fee as a share of the month's routed spend, at this volume
    # Routed straight to each provider with its own key and bill (no aggregator, no fee).
    monthly_spend_direct: Decimal = Decimal(0)
    annual_savings_direct: Decimal = Decimal(0)


@dataclass(frozen=True)
class Retokenized:
    """Traffic moved from one model to another, and what the move does to its tokens and caches."""

    source: str
    target: str
    factor_low: float
    factor_mid: float
    factor_high: float
    basis: str          # measured | published | assumed | same tokenizer
    caches_lost: bool   # another provider: cache reads become input in the pessimistic figure


@dataclass(frozen=True)
class WhatIf:
    currency: str
    days_observed: int
    tiers_as_of: date | None
    tier_method: str
    current_cost: Decimal  # observed window, today's list prices
    current_monthly: Decimal
    requests: int
    excluded_unpriced_requests: int
    untiered_requests: int  # stayed on their model: no tier known
    untiered_models: tuple[str, ...]
    routed: RoutedScenario
    providers: tuple[ProviderScenario, ...]
    savings: tuple[SavingsRow, ...]
    candidates: tuple[Candidate, ...]
    volume: str | None = None  # --volume: monthly and annual figures scaled to it, not to the log's span
    text_profile: str = "english"
    route_rule: str = "capability tiers"   # what chose the routes: the tier table or a replay run's pass rates
    retokenized: tuple[Retokenized, ...] = ()
    excluded_candidates: tuple[tuple[str, str], ...] = ()   # (model, why no request may move there)

    def to_dict(self) -> dict[str, Any]:
        from llmaudit.analysis.money import money

        r = self.routed
        return {
            "method": "today's list prices; routed = cheapest model of equal-or-better tier that fits the "
                      "request's context, plus aggregator fee. The headline keeps the logged token counts and "
                      "cache hits; range = the lowest and highest of: tier-equal minus / tier-or-better plus "
                      "one standard error of daily savings, and the same routes retokenized (target tokenizer "
                      "at the low end with caches kept = optimistic, at the high end with cache reads billed "
                      "as input across providers = pessimistic)",
            "text_profile": self.text_profile,
            "route_rule": self.route_rule,
            "excluded_candidates": [{"model": m, "reason": why} for m, why in self.excluded_candidates],
            "retokenized": [
                {"from": m.source, "to": m.target, "token_factor": [round(m.factor_low, 4), round(m.factor_mid, 4),
                                                                   round(m.factor_high, 4)],
                 "basis": m.basis, "caches_lost": m.caches_lost}
                for m in self.retokenized
            ],
            "days_observed": self.days_observed,
            "scaled_to_volume": self.volume,
            "tiers_as_of": self.tiers_as_of.isoformat() if self.tiers_as_of else None,
            "tier_method": self.tier_method,
            "requests": self.requests,
            "excluded_unpriced_requests": self.excluded_unpriced_requests,
            "untiered_requests": self.untiered_requests,
            "untiered_models": list(self.untiered_models),
            "current_cost": money(self.current_cost),
            "current_monthly": money(self.current_monthly),
            "routed": {
                "fee_pct": float(r.fee_pct), "byok": r.byok, "cost_before_fee": money(r.cost_before_fee),
                "fee": money(r.fee), "monthly_fee": money(r.monthly_fee), "fee_minimum": money(r.fee_minimum),
                "cost": money(r.cost), "monthly_spend": money(r.monthly_spend),
                "annual_savings": money(r.annual_savings), "annual_savings_low": money(r.annual_savings_low),
                "annual_savings_high": money(r.annual_savings_high),
                "cost_optimistic": money(r.cost_optimistic), "cost_pessimistic": money(r.cost_pessimistic),
                "annual_savings_optimistic": money(r.annual_savings_optimistic),
                "annual_savings_pessimistic": money(r.annual_savings_pessimistic),
                "fee_free_requests_per_month": r.fee_free_requests,
                "fee_pct_charged": float(r.fee_pct_charged),
                "direct": {"monthly_spend": money(r.monthly_spend_direct),
                           "annual_savings": money(r.annual_savings_direct)},
            },
            "single_provider": [
                {"provider": p.provider, "cost": money(p.cost), "monthly_spend": money(p.monthly_spend),
                 "delta": money(p.delta), "covered_requests": p.covered_requests,
                 "uncovered_requests": p.uncovered_requests,
                 "mapping": [{"from": a, "to": b, "requests": n} for a, b, n in p.mapping]}
                for p in self.providers
            ],
            "savings": [
                {"model": s.model, "tier": s.tier, "tier_label": s.tier_label, "tier_source": s.tier_source,
                 "requests": s.requests,
                 "monthly_tokens": s.monthly_tokens, "avg_per_million": money(s.avg_per_million),
                 "monthly_spend": money(s.monthly_spend), "routed_monthly_spend": money(s.routed_monthly_spend),
                 "annual_savings": money(s.annual_savings), "annual_savings_low": money(s.annual_savings_low),
                 "annual_savings_high": money(s.annual_savings_high),
                 "annual_savings_optimistic": money(s.annual_savings_optimistic),
                 "annual_savings_pessimistic": money(s.annual_savings_pessimistic),
                 "route_rules": [{"model": m, "rule": r} for m, r in s.route_rules],
                 "routes_to": [{"model": m, "requests": n} for m, n in s.routes_to],
                 "failover": list(s.failover)}
                for s in self.savings
            ],
        }


# The window label decides an aggregated row's long-context tier, so it travels. Service tier, fast
# mode, residency and off-peak do not: the what-if compares models at their list (standard) prices.
_WHATIF_COLUMNS = ("model", "cost_usd", "input_tokens", "cache_read_tokens", "cache_write_tokens",
                   "cache_write_1h_tokens", "output_tokens", "reasoning_tokens", "requests", "web_search_requests",
                   "batch", "context_tier")
_RETIRED_AFTER_DAYS = 90  # unlisted this long before the catalog's as-of date → no longer offered


# --------------------------------------------------------------------------------------- compute
@dataclass
class _Model:
    """Per current model, per day: [requests, tokens, current, best, equal] plus pick counts."""

    days: dict[str, list[float]]
    picks: dict[str, int]
    alt_cost: np.ndarray  # per candidate: cost of all this model's rows on it
    alt_misfit: np.ndarray  # per candidate: rows that would not fit
    rules: dict[str, str] = field(default_factory=dict)  # target -> the rule (and evidence) that allowed it


class WhatIfAccumulator:
    def __init__(self, catalog: Any, *, config: Any = None, byok: bool = False,
                 tiers: TierTable | None = None, quality: Any = None) -> None:
        from llmaudit.pricing import fees

        self.catalog = catalog
        self.byok = byok
        fee = fees(config)
        self.fee_pct = Decimal(str(fee.byok_pct if byok else fee.platform_pct))
        self.fee_minimum = Decimal(0) if byok else fee.platform_min_usd
        self.fee_free_requests = fee.byok_free_requests if byok else 0
        self.tiers = tiers if tiers is not None else load_tiers(config)
        # ``analysis.measured.MeasuredQuality``: route by the pass rates a replay run measured, per
        # category, instead of by the tier table. Every candidate then has "tier" 0 and every logged
        # model tier 0; per category, candidates that did not pass are given tier 1 (out of reach).
        self.quality = quality
        self._category: str | None = None
        self.text = _text_profile(config)
        self.moves: list[tuple[str, str, Any, bool]] = []   # (from, to, token factor, caches lost)
        self._tier_ids: dict[str, int] = {}
        self._tier_families: dict[str, int] = {}
        self._sources: dict[int | str, str] = {}
        for name, info in self.tiers.models.items():
            res = catalog.resolve(name)
            entry_id = res.entry.id if res is not None else name
            self._tier_ids[entry_id] = info.tier
            self._tier_families.setdefault(_family(entry_id), info.tier)
            self._tier_families.setdefault(_name(entry_id), info.tier)
            self._sources[entry_id] = self._sources[_family(entry_id)] = info.source
            self._sources.setdefault(_name(entry_id), info.source)
        self.tier_of: dict[str, int | None] = {}
        self._points: dict[str, Any] = {}
        cands: list[Candidate] = []
        points: list[Any] = []  # today's price point of each candidate
        # Only models still on sale are proposed: a model the catalog's sources stopped listing
        # (e.g. claude-3-5-sonnet-20241022) still prices old logs, but nobody can move traffic to it.
        on_sale_since = catalog.as_of - timedelta(days=_RETIRED_AFTER_DAYS)
        from llmaudit.pricing.lifecycle import deprecation_dates, deprecation_source

        deprecated = deprecation_dates()
        excluded: list[tuple[str, str]] = []
        wanted = quality.models if quality is not None else self._tier_ids
        for entry in catalog.entries_for(wanted):  # most of the catalog has no tier: not built
            tier = 0 if quality is not None else self._tier_ids[entry.id]
            point = self._point(entry.id)
            if point is None:
                excluded.append((entry.id, "no input or output rate today"))
                continue
            if entry.prices[-1].as_of < on_sale_since:
                excluded.append((entry.id, f"retired: no source has listed it since {entry.prices[-1].as_of}"))
                continue
            gone = deprecated.get(entry.id)
            if gone is not None and gone <= catalog.as_of:
                excluded.append((entry.id, f"deprecated on {gone} ({deprecation_source()})"))
                continue
            cands.append(Candidate(entry.id, entry.provider, tier, getattr(entry, "context_window", None),
                                   getattr(entry, "max_output_tokens", None)))
            points.append(point)
        self.candidates = tuple(cands)
        self.excluded = tuple(sorted(excluded))   # tiered models no request may move to, with why
        from llmaudit.pricing import rate_grid
        from llmaudit.pricing.table import Workspace

        # Every candidate's rates, built once: a batch is then priced on all of them in one product.
        self._cand_grid = rate_grid(points)
        self._work = Workspace()  # the cost matrices' memory, reused batch after batch
        self._own_grids: dict[str, Any] = {}
        self._sub_grids: dict[bytes, Any] = {}
        self._prune_cache: dict[Any, tuple[np.ndarray, dict[str, np.ndarray]]] = {}
        self.cand_tier = np.array([c.tier for c in cands], dtype=np.int64)
        self.cand_ctx = np.array([c.context_window or 0 for c in cands], dtype=np.float64)
        # Output limits: a request that got more output tokens than a model may write cannot move
        # there. Unknown limits are not checked (the catalog lacks them for many models); the
        # context window above still applies.
        self.cand_out = np.array([c.max_output_tokens or np.inf for c in cands], dtype=np.float64)
        self._min_out = float(self.cand_out.min()) if len(cands) else np.inf
        # Rows a candidate's window cannot take are counted per gap between distinct windows.
        self._windows = np.unique(self.cand_ctx)
        self._window_gap = np.searchsorted(self._windows, self.cand_ctx, side="right")
        self.providers = sorted({c.provider for c in cands})
        self.by_provider = {p: np.array([i for i, c in enumerate(cands) if c.provider == p], dtype=np.int64)
                            for p in self.providers}
        self.models: dict[str, _Model] = {}
        self.prov: dict[str, dict[str, Any]] = {p: {"cost": 0.0, "covered": 0, "uncovered": 0, "map": {}}
                                                for p in self.providers}
        self.excluded_unpriced = 0
        self.untiered: dict[str, int] = {}

    def tier(self, model: str) -> int | None:
        """A model's tier: its own entry, else its family (dated snapshots and ``-latest`` aliases)."""
        if self.quality is not None:
            return 0   # measured quality decides, per category, what may take the traffic
        if model not in self.tier_of:
            tier = self._tier_ids.get(model)
            if tier is None:
                tier = self._tier_families.get(_family(model))
            if tier is None:
                res = self.catalog.resolve(model)
                if res is not None:
                    tier = self._tier_ids.get(res.entry.id, self._tier_families.get(_family(res.entry.id)))
            if tier is None:
                # The same open model on another host (``openrouter/meta-llama/llama-3.3-70b-instruct`` and
                # ``deepinfra/meta-llama/Llama-3.3-70B-Instruct``) has the same capability.
                tier = self._tier_families.get(_name(model))
            self.tier_of[model] = tier
        return self.tier_of[model]

    def tier_source(self, model: str) -> str | None:
        """Where a model's tier comes from (the capability_tiers.json / config entry it matched)."""
        if self.tier(model) is None:
            return None
        res = self.catalog.resolve(model)
        ids = [model, _family(model)] + ([res.entry.id, _family(res.entry.id)] if res is not None else [])
        ids.append(_name(model))
        return next((self._sources[i] for i in ids if i in self._sources), None)

    def _point(self, model: str) -> Any:
        """Today's price point of ``model``; None when it is unknown or lacks an input/output rate."""
        if model not in self._points:
            res = self.catalog.resolve(model)
            point = res.entry.price_at(None) if res is not None else None
            if point is not None and (point.rates.input is None or point.rates.output is None):
                point = None
            self._points[model] = point
        return self._points[model]

    def add(self, table: pa.Table, day: Any) -> None:
        """Fold one priced batch in; ``day`` is the batch's local-day label column."""

        priced = pc.is_valid(table.column("cost_usd"))
        if table.column("cost_usd").null_count:
            self.excluded_unpriced += int(pc.sum(pc.if_else(priced, 0, pc.fill_null(table.column("requests"), 1)))
                                          .as_py() or 0)
        if self.quality is not None:
            self._add_by_category(table, day, priced)
            return
        self._add_rows(table, day, priced)

    def _add_by_category(self, table: pa.Table, day: Any, priced: Any) -> None:
        """Quality mode: each category's rows are routed among the models that passed it."""
        codes = pc.dictionary_encode(_categories(table))
        index = np.asarray(codes.indices.to_numpy(zero_copy_only=False))
        day = day.combine_chunks() if isinstance(day, pa.ChunkedArray) else day
        priced = priced.combine_chunks() if isinstance(priced, pa.ChunkedArray) else priced
        base = self.cand_tier
        try:
            for k, name in enumerate(codes.dictionary.to_pylist()):
                rows = pa.array(np.flatnonzero(index == k))
                allowed = self.quality.passes(name or None)
                self.cand_tier = np.array([0 if c.model in allowed else 1 for c in self.candidates], dtype=np.int64)
                self._category = name or None
                self._add_rows(table.take(rows), day.take(rows), priced.take(rows))
        finally:
            self.cand_tier = base
            self._category = None

    def _add_rows(self, table: pa.Table, day: Any, priced: Any) -> None:
        from llmaudit.pricing import usage_arrays

        # Only the columns the what-if reads: every model's rows are taken out of the batch below.
        needed = [c for c in _WHATIF_COLUMNS if c in table.column_names]
        table = table.select(needed).append_column("_day", day)
        if table.column("cost_usd").null_count:
            table = table.filter(priced)
        if table.num_rows == 0:
            return
        # Group by model and label days with integer codes: no per-row Python strings. The batch's
        # quantities are extracted once; each model takes its rows out of the numpy arrays.
        models = pc.dictionary_encode(table.column("model")).combine_chunks()
        days = table.column("_day")
        days = (days.combine_chunks() if pa.types.is_dictionary(days.type) else pc.dictionary_encode(days)
                .combine_chunks())
        model_codes = np.asarray(models.indices.to_numpy(zero_copy_only=False))
        day_codes = np.asarray(days.indices.to_numpy(zero_copy_only=False))
        day_labels = [str(d) for d in days.dictionary.to_pylist()]
        usage = usage_arrays(table)
        logged = np.asarray(table.column("cost_usd").to_numpy(), dtype=np.float64)
        # A stable sort is a radix sort on 16-bit keys: twice as fast as on the 32-bit codes.
        narrow = model_codes.astype(np.int16) if len(models.dictionary) < 2**15 else model_codes
        order = np.argsort(narrow, kind="stable")
        bounds = np.searchsorted(model_codes[order], np.arange(len(models.dictionary) + 1))
        for code, name in enumerate(models.dictionary.to_pylist()):
            idx = order[bounds[code]:bounds[code + 1]]
            if len(idx):
                self._add_model(str(name), usage.take(idx), logged[idx], day_codes[idx], day_labels)

    def _add_model(self, model: str, u: Any, logged: np.ndarray, day_codes: np.ndarray,
                   day_labels: list[str]) -> None:
        from llmaudit.pricing import rate_grid

        n = len(u.batch)
        # One cost engine: the same vectorized formula that priced the log prices the what-if.
        own = self._point(model)
        if own is None:
            current = logged
        else:
            if model not in self._own_grids:
                self._own_grids[model] = rate_grid([own])
            today = self._own_grids[model].cost_matrix(u, work=self._work)[0]
            current = np.where(np.isnan(today), logged, today)
        tier = self.tier(model)
        context = (u.input_tokens + u.output_tokens).astype(np.float64)
        k = len(self.candidates)
        acc = self.models.get(model)
        if acc is None:
            acc = self.models[model] = _Model({}, {}, np.zeros(k), np.zeros(k))
        requests = u.requests.astype(np.float64)
        own_provider = model.split("/", 1)[0] if "/" in model else ""
        # Each scenario's candidates, then per row: its minimum over them (and staying put).
        among = {"best": np.flatnonzero(self.cand_tier <= tier), "equal": np.flatnonzero(self.cand_tier == tier)} \
            if tier is not None else {}
        stays: dict[str, np.ndarray] = {"best": current, "equal": current}
        for p in self.providers:
            idx = self.by_provider[p]
            if tier is not None:
                idx = idx[self.cand_tier[idx] <= tier]
            elif own_provider != p:
                idx = idx[:0]  # a model without a tier has no known equivalent elsewhere
            among[p] = idx
            stays[p] = current if own_provider == p or tier is None else np.full(n, np.inf)
        valid = bool((u.quantities >= 0).all())
        whole = self._whole(u, context, among, stays, current) if n and valid else {}
        chosen, picks, alt_cost = self._decide(u, context, {s: v for s, v in among.items() if s not in whole},
                                               stays, valid)
        acc.alt_cost += alt_cost
        # Rows a candidate's window cannot take: rows counted per gap between windows, then summed.
        above = np.cumsum(np.bincount(np.searchsorted(self._windows, context, side="left"),
                                      minlength=len(self._windows) + 1)[::-1])[::-1]
        acc.alt_misfit += above[self._window_gap]
        if len(self.candidates):
            outs = u.output_tokens.astype(np.float64)
            if len(outs) and outs.max() > self._min_out:
                # Rows that fit a candidate's window but not its output limit do not fit it either.
                ctx_ok = self.cand_ctx[:, None] >= context[None, :]
                acc.alt_misfit += (ctx_ok & (self.cand_out[:, None] < outs[None, :])).sum(axis=1)
        total_requests = int(requests.sum())
        if tier is None:
            best = equal = current
            best_pick = np.full(n, k)
            self.untiered[model] = self.untiered.get(model, 0) + total_requests
        else:
            best, best_pick = chosen["best"], picks["best"]
            equal = chosen["equal"]
        # Picks are candidate indices, k = stayed: the last bin.
        picked = np.bincount(best_pick, weights=requests, minlength=k + 1)
        for c in np.flatnonzero(picked):
            name = model if c == k else self.candidates[c].model
            acc.picks[name] = acc.picks.get(name, 0) + int(picked[c])
            if c != k and name not in acc.rules:
                acc.rules[name] = self._rule(model, int(c))
        if tier is None:
            best_opt = best_pes = best
        else:
            best_opt, best_pes = self._moved(model, u, best, best_pick)
        per_day = [np.bincount(day_codes, weights=w, minlength=len(day_labels))
                   for w in (requests, context, current, best, equal, best_opt, best_pes)]
        for d in np.flatnonzero(np.bincount(day_codes, minlength=len(day_labels))):
            slot = acc.days.setdefault(day_labels[d], [0.0] * 7)
            for m, sums in enumerate(per_day):
                slot[m] += float(sums[d])
        for p in self.providers:
            state = self.prov[p]
            if not len(among[p]) and stays[p] is not current:
                # Nothing of p's can take this model's traffic: every request stays, uncovered.
                state["cost"] += float(current.sum())
                state["uncovered"] += total_requests
                continue
            if p in whole:
                # One candidate of p takes every request (it fits all, has every rate they need, and the
                # model is not p's own): its cost is the linear sum already priced per bucket.
                only = whole[p]
                state["cost"] += float(alt_cost[only])
                state["covered"] += total_requests
                key = (model, self.candidates[only].model)
                state["map"][key] = state["map"].get(key, 0) + total_requests
                continue
            covered = np.isfinite(chosen[p])
            state["cost"] += float(np.where(covered, chosen[p], current).sum())
            # Requests are whole numbers: their float sums are exact, so covered + uncovered = all.
            moved = np.bincount(picks[p], weights=np.where(covered, requests, 0.0), minlength=k + 1)
            covered_requests = int(moved.sum())
            state["covered"] += covered_requests
            state["uncovered"] += total_requests - covered_requests
            for j in np.flatnonzero(moved):
                to = model if j == k else self.candidates[j].model
                key = (model, to)
                state["map"][key] = state["map"].get(key, 0) + int(moved[j])

    def _moved(self, model: str, u: Any, best: np.ndarray, pick: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The routed cost of each row again, as it could really come out: an optimistic and a
        pessimistic figure for the rows that move (the rows that stay cost what they cost).

        A moved request is retokenized: the target's tokenizer makes ``token_factor`` (a range) as
        many tokens of the same text. Its caches move only within one provider: elsewhere the
        pessimistic figure bills its cache reads as fresh input (the first writes, kept as writes,
        are the new provider's to pay); the optimistic one keeps every cache hit and takes the
        range's low end. The choice of route is not revisited: these are that routing's bounds."""
        from llmaudit.tokens import token_factor

        k = len(self.candidates)
        opt, pes = best.copy(), best.copy()
        own = _cache_family(model)
        for c in np.unique(pick).tolist():
            if c == k:
                continue
            rows = np.flatnonzero(pick == c)
            target = self.candidates[c].model
            f = token_factor(model, target, self.text)
            grid = self._sub_grid(np.array([c], dtype=np.int64))
            sub = u.take(rows)
            opt[rows] = grid.cost_matrix(_scaled(sub, f.low), missing=np.inf)[0]
            lost = _cache_family(target) != own
            pes[rows] = grid.cost_matrix(_scaled(sub, f.high, lose_cache=lost), missing=np.inf)[0]
            self.moves.append((model, target, f, lost))
        # A rate the pessimistic traffic needs and the target lacks cannot happen (input is always
        # priced); were it to, the request's logged cost stands in rather than infinity.
        return np.where(np.isfinite(opt), opt, best), np.where(np.isfinite(pes), pes, best)

    def _decide(self, u: Any, context: np.ndarray, among: dict[str, np.ndarray], stays: dict[str, np.ndarray],
                valid: bool) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray]:
        """Per scenario and row: the cheapest of ``among[s]`` that fits, or ``stays[s]`` when that is not
        cheaper, and the candidate picked (k = len(candidates) = stay); plus the cost of all rows on each
        candidate. ``valid``: no quantity is negative.

        Plain rows (no batch, no long-context tier) are priced only on the candidates that can win them:
        a candidate is dropped from a scenario when an earlier one (argmin keeps the first of equal
        costs) charges no more for any token type these rows carry and fits wherever it fits. With
        non-negative quantities the engine's sums are monotone in the rates, so the per-row minimum and
        the pick are exactly those over all candidates. The few batch and long-context rows are priced
        on every candidate. The per-candidate total is linear in the quantities: summed per bucket of
        rows billed alike (batch flag, side of every threshold), then priced.
        """
        k = len(self.candidates)
        n = len(context)
        chosen = {s: np.empty(n) for s in among}
        picks = {s: np.empty(n, dtype=np.int64) for s in among}
        if k == 0:
            for s in among:
                chosen[s], picks[s] = stays[s], np.full(n, k)
            return chosen, picks, np.zeros(0)
        special = self._cand_grid.special(u)
        alt_cost = self._bucket_cost(u, special) if valid else np.zeros(k)
        # Rows with more output than some candidate may produce are decided on the unpruned path,
        # where each candidate's own limit applies (pruning compares candidates on context alone).
        special = special | self._over_output(u)
        for plain in (True, False):
            part = ~special if plain else special
            if not part.any():
                continue
            whole = bool(part.all())
            rows = slice(None) if whole else np.flatnonzero(part)
            sub = u if whole else u.take(rows)
            ctx = context[rows]
            if valid and plain:
                cols, lists = self._pruned(sub, ctx, among)
                grid = self._sub_grid(cols)
            else:
                cols, lists, grid = np.arange(k), among, self._cand_grid
            # A candidate lacking a rate this traffic needs cannot take it: infinite cost, never picked.
            cost = grid.cost_matrix(sub, missing=np.inf, work=self._work)
            if not valid:
                alt_cost += cost.sum(axis=1)
            # A candidate whose context window a request does not fit cannot take it either.
            short = np.flatnonzero(self.cand_ctx[cols] < (ctx.max() if len(ctx) else 0.0))
            if len(short):
                cost[short] = np.where(self.cand_ctx[cols][short, None] >= ctx[None, :], cost[short], np.inf)
            # Nor one that may not write as many output tokens as the request got.
            if not plain:
                out = sub.output_tokens.astype(np.float64)
                capped = np.flatnonzero(self.cand_out[cols] < (out.max() if len(out) else 0.0))
                if len(capped):
                    cost[capped] = np.where(self.cand_out[cols][capped, None] >= out[None, :], cost[capped], np.inf)
            # Position -1 (stay) takes the last entry: k.
            to_candidate = np.append(cols, k)
            for s, idx in lists.items():
                value, pick = _cheapest(cost, idx, stays[s][rows])
                chosen[s][rows] = value
                picks[s][rows] = to_candidate[pick]
        return chosen, picks, alt_cost

    def _over_output(self, u: Any) -> np.ndarray:
        """Rows with more output tokens than the most limited candidate may write."""
        return u.output_tokens > self._min_out

    def _whole(self, u: Any, context: np.ndarray, among: dict[str, np.ndarray], stays: dict[str, np.ndarray],
               current: np.ndarray) -> dict[str, int]:
        """Provider scenarios that need no per-row decision: a single candidate, nothing to stay on
        (another provider's tiered model), and it takes every row (fits, and has the rates they need)."""
        if self._cand_grid.special(u).any() or self._over_output(u).any():
            return {}  # batch / long-context / long-output rows: decided per row, as everything else
        out: dict[str, int] = {}
        needed = u.quantities.any(axis=0)
        for s, idx in among.items():
            if len(idx) != 1 or s in ("best", "equal") or stays[s] is current:
                continue
            c = int(idx[0])
            if self.cand_ctx[c] < context.max():
                continue
            if not np.isnan(self._cand_grid.plain_rates()[c][needed]).any():
                out[s] = c
        return out

    def _pruned(self, u: Any, context: np.ndarray, among: dict[str, np.ndarray],
                ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The candidates that can win some of these plain rows (sorted), and each scenario's among them
        as positions into that list."""
        support = (u.quantities != 0).any(axis=0)
        fits_all = self.cand_ctx >= (context.max() if len(context) else 0.0)
        fits_none = self.cand_ctx < (context.min() if len(context) else 0.0)
        key = (tuple(sorted((s, v.tobytes()) for s, v in among.items())), support.tobytes(), fits_all.tobytes(),
               fits_none.tobytes())
        hit = self._prune_cache.get(key)
        if hit is None:
            rates = np.nan_to_num(self._cand_grid.plain_rates()[:, support], nan=np.inf)  # absent = never cheaper
            kept: dict[str, np.ndarray] = {}
            for s, idx in among.items():
                r = rates[idx]
                no_dearer = (r[:, None, :] <= r[None, :, :]).all(axis=2)  # [d, c]: d charges no more than c
                ctx = self.cand_ctx[idx]
                fits = (ctx[:, None] >= ctx[None, :]) | fits_all[idx][:, None]
                earlier = np.tri(len(idx), k=-1, dtype=bool).T  # [d, c]: d before c
                # A candidate that fits none of the rows can never be picked either.
                fits_some = ctx >= (context.min() if len(context) else 0.0)
                kept[s] = idx[~(no_dearer & fits & earlier).any(axis=0) & fits_some]
            cols = np.unique(np.concatenate(list(kept.values()) or [np.zeros(0, np.int64)])).astype(np.int64)
            hit = self._prune_cache[key] = (cols, {s: np.searchsorted(cols, v) for s, v in kept.items()})
        return hit

    def _sub_grid(self, cols: np.ndarray) -> Any:
        key = cols.tobytes()
        if key not in self._sub_grids:
            self._sub_grids[key] = self._cand_grid.select(cols)
        return self._sub_grids[key]

    def _bucket_cost(self, u: Any, special: np.ndarray) -> np.ndarray:
        """Every row on every candidate, summed (inf where a needed rate is missing): rows summed per
        bucket billed alike, each bucket priced once through the engine."""
        from llmaudit.pricing.table import UsageArrays

        bounds = np.unique(self._cand_grid.thresholds)
        totals = u.quantities.sum(axis=0)
        if not special.any() and bool((totals < 2.0**53).all()):
            # One bucket (no batch row, none above any threshold): the column sums of integer token
            # counts are exact, hence the same floats as the per-bucket sums below.
            one = UsageArrays(totals[None, :], bounds[:1], np.zeros(1, np.int64), np.zeros(1, np.int64),
                              np.zeros(1, dtype=bool))
            return self._cand_grid.cost_matrix(one, missing=np.inf, work=self._work).sum(axis=1)
        # Rows between two consecutive thresholds (of any candidate) get the same tier on every one;
        # the upper bound itself stands for the bucket's prompt size (a tier needs "more than").
        interval = np.searchsorted(bounds, u.prompt(), side="left") if len(bounds) > 1 \
            else np.zeros(len(u.batch), dtype=np.int64)
        bucket = interval * 2 + u.batch
        size = 2 * len(bounds)
        rows = np.bincount(bucket, minlength=size) > 0
        sums = np.stack([np.bincount(bucket, weights=u.quantities[:, c], minlength=size)[rows]
                         for c in range(u.quantities.shape[1])], axis=1)
        codes = np.flatnonzero(rows)
        grouped = UsageArrays(sums, bounds[codes // 2], np.zeros(len(codes), np.int64),
                              np.zeros(len(codes), np.int64), (codes % 2).astype(bool))
        return self._cand_grid.cost_matrix(grouped, missing=np.inf, work=self._work).sum(axis=1)

    # result ---------------------------------------------------------------------------------
    def result(self, *, fx: Decimal = Decimal(1), currency: str = "USD", span_days: int | None = None,
               volume: Any = None) -> WhatIf:
        """``span_days``: the observed window when the caller knows it (``--since``/``--until``); else the
        days from the first to the last day with traffic. ``volume`` (``savings.Volume``): scale the
        monthly and annual figures to that many tokens or requests a month instead."""
        all_days = sorted({d for m in self.models.values() for d in m.days})
        span = max(span_days, 1) if span_days else _span_days(all_days)
        month = DAYS_PER_MONTH / span
        year = DAYS_PER_YEAR / span
        scale = Decimal(1)
        if volume is not None:
            column = 1 if volume.unit == "tokens" else 0
            observed = sum(Decimal(int(v[column])) for m in self.models.values() for v in m.days.values())
            if observed <= 0:
                raise UsageError(f"--volume {volume.text}: no priced {volume.unit} observed to scale from")
            scale = volume.monthly / (observed * month)
            month, year = month * scale, year * scale
        # BYOK: the fee spares a month's first ``fee_free_requests`` requests, so at this volume it is
        # charged on the share beyond them (requests assumed to cost alike).
        monthly_requests = sum(Decimal(int(v[0])) for m in self.models.values() for v in m.days.values()) * month
        charged = Decimal(1)
        if self.fee_free_requests and monthly_requests > 0:
            charged = max(monthly_requests - self.fee_free_requests, Decimal(0)) / monthly_requests
        fee_mult = 1 + self.fee_pct * charged / 100
        rows: list[SavingsRow] = []
        tot_cur = tot_best = tot_eq = tot_opt = tot_pes = Decimal(0)
        daily_best: dict[str, float] = dict.fromkeys(all_days, 0.0)
        daily_eq: dict[str, float] = dict.fromkeys(all_days, 0.0)
        requests_total = 0
        for model, acc in self.models.items():
            req = sum(int(v[0]) for v in acc.days.values())
            tokens = sum(int(v[1]) for v in acc.days.values())
            cur = _d(sum(v[2] for v in acc.days.values()))
            best = _d(sum(v[3] for v in acc.days.values())) * fee_mult
            eq = _d(sum(v[4] for v in acc.days.values())) * fee_mult
            opt = _d(sum(v[5] for v in acc.days.values())) * fee_mult
            pes = _d(sum(v[6] for v in acc.days.values())) * fee_mult
            tot_opt += opt
            tot_pes += pes
            requests_total += req
            tot_cur += cur
            tot_best += best
            tot_eq += eq
            s_best = [float(_d(acc.days[d][2]) - _d(acc.days[d][3]) * fee_mult) if d in acc.days else 0.0
                      for d in all_days]
            s_eq = [float(_d(acc.days[d][2]) - _d(acc.days[d][4]) * fee_mult) if d in acc.days else 0.0
                    for d in all_days]
            for d, vb, ve in zip(all_days, s_best, s_eq, strict=True):
                daily_best[d] += vb
                daily_eq[d] += ve
            low, high = (x * scale for x in _range(s_eq, s_best, span))
            save_opt, save_pes = (cur - opt) * year, (cur - pes) * year
            low, high = min(low, save_pes, save_opt), max(high, save_opt, save_pes)
            tier = self.tier(model)
            rows.append(SavingsRow(
                model=model,
                tier=tier,
                tier_label="measured" if self.quality is not None else self.tiers.label(tier),
                tier_source=self.tier_source(model),
                requests=req,
                monthly_tokens=int(Decimal(tokens) * month),
                avg_per_million=(cur / tokens * 1_000_000 * fx) if tokens else None,
                monthly_spend=cur * month * fx,
                routed_monthly_spend=best * month * fx,
                annual_savings=(cur - best) * year * fx,
                annual_savings_low=low * fx,
                annual_savings_high=high * fx,
                routes_to=tuple(sorted(acc.picks.items(), key=lambda kv: (-kv[1], kv[0]))),
                failover=self._failover(model, acc),
                annual_savings_optimistic=save_opt * fx,
                annual_savings_pessimistic=save_pes * fx,
                route_rules=tuple(sorted(acc.rules.items())),
            ))
        rows.sort(key=lambda r: (-r.monthly_spend, r.model))
        low, high = (x * scale for x in _range(list(daily_eq.values()), list(daily_best.values()), span))
        save_opt, save_pes = (tot_cur - tot_opt) * year, (tot_cur - tot_pes) * year
        low, high = min(low, save_pes, save_opt), max(high, save_opt, save_pes)
        before_fee = tot_best / fee_mult if fee_mult else tot_best
        # The fee is paid on a month's purchases, so it scales with the month (and --volume) like the
        # spend it is charged on; below the floor, the floor is paid (one purchase a month assumed).
        pct_fee = (tot_best - before_fee) * month
        floor = self.fee_minimum if before_fee > 0 else Decimal(0)
        extra = max(floor - pct_fee, Decimal(0))
        routed = RoutedScenario(
            fee_pct=self.fee_pct,
            byok=self.byok,
            cost_before_fee=before_fee * fx,
            fee=(tot_best - before_fee) * fx,
            cost=tot_best * fx,
            monthly_spend=(tot_best * month + extra) * fx,
            monthly_fee=(pct_fee + extra) * fx,
            fee_minimum=floor * fx,
            annual_savings=((tot_cur - tot_best) * year - extra * (year / month)) * fx,
            annual_savings_low=(low - extra * (year / month)) * fx,
            annual_savings_high=(high - extra * (year / month)) * fx,
            cost_optimistic=tot_opt * fx,
            cost_pessimistic=tot_pes * fx,
            annual_savings_optimistic=(save_opt - extra * (year / month)) * fx,
            annual_savings_pessimistic=(save_pes - extra * (year / month)) * fx,
            fee_free_requests=self.fee_free_requests,
            fee_pct_charged=self.fee_pct * charged,
            monthly_spend_direct=before_fee * month * fx,
            annual_savings_direct=(tot_cur - before_fee) * year * fx,
        )
        providers = []
        for p in self.providers:
            state = self.prov[p]
            c = _d(state["cost"])
            mapping = tuple(sorted(((a, b, n) for (a, b), n in state["map"].items()), key=lambda t: (-t[2], t[0])))
            providers.append(ProviderScenario(p, c * fx, c * month * fx, (c - tot_cur) * fx, state["covered"],
                                              state["uncovered"], mapping))
        providers.sort(key=lambda p: (p.uncovered_requests > 0, p.cost, p.provider))
        return WhatIf(
            currency=currency,
            days_observed=span,
            tiers_as_of=self.tiers.as_of,
            tier_method=self.tiers.method,
            current_cost=tot_cur * fx,
            current_monthly=tot_cur * month * fx,
            requests=requests_total,
            excluded_unpriced_requests=self.excluded_unpriced,
            untiered_requests=sum(self.untiered.values()),
            untiered_models=tuple(sorted(self.untiered)),
            routed=routed,
            providers=tuple(providers),
            savings=tuple(rows),
            candidates=self.candidates,
            volume=None if volume is None else volume.text,
            text_profile=self.text,
            route_rule=self.route_rule(),
            retokenized=self._retokenized(),
            excluded_candidates=self.excluded,
        )

    def _rule(self, model: str, c: int) -> str:
        """Why candidate ``c`` may take ``model``'s traffic: the measured evidence, or the tiers."""
        target = self.candidates[c]
        if self.quality is not None:
            where = f" ('{self._category}')" if self._category else ""
            return f"{target.model}{where}: {self.quality.evidence(target.model, self._category)}"
        return (f"{target.model}: capability tier {self.tiers.label(target.tier)} for a "
                f"{self.tiers.label(self.tier(model))} model ({self.tier_source(target.model) or 'tier table'})")

    def route_rule(self) -> str:
        if self.quality is not None:
            return (f"measured pass rates: per category, models that passed at least {self.quality.threshold:.0%} "
                    f"of its prompts in {self.quality.source}")
        return f"capability tiers ({self.tiers.method})"

    def _retokenized(self) -> tuple[Retokenized, ...]:
        seen: dict[tuple[str, str], Retokenized] = {}
        for source, target, f, lost in self.moves:
            seen.setdefault((source, target), Retokenized(source, target, f.low, f.mid, f.high, f.basis, lost))
        return tuple(v for _, v in sorted(seen.items()))

    def _failover(self, model: str, acc: _Model) -> tuple[str, ...]:
        tier = self.tier(model)
        if tier is None:
            return ()
        own_provider = model.split("/", 1)[0]
        options = [
            (acc.alt_cost[i], c.model) for i, c in enumerate(self.candidates)
            if c.tier == tier and c.provider != own_provider and acc.alt_misfit[i] == 0
            and math.isfinite(acc.alt_cost[i])  # a model missing a rate this traffic needs is no alternative
        ]
        best_per_provider: dict[str, tuple[float, str]] = {}
        for cost, name in sorted(options):
            best_per_provider.setdefault(name.split("/", 1)[0], (cost, name))
        return tuple(name for _, name in sorted(best_per_provider.values())[:3])


_SNAPSHOT = re.compile(r"(-\d{4}-\d{2}-\d{2}|-\d{8}|-latest|@\d{8})$")


def _family(model_id: str) -> str:
    """``openai/gpt-4o-2024-08-06`` → ``openai/gpt-4o``; ``…-20250929`` and ``…-latest`` likewise."""
    return _SNAPSHOT.sub("", model_id.lower())


def _name(model_id: str) -> str:
    """The model's name without its host, as a family: ``…/Llama-3.3-70B-Instruct`` → ``llama-3.3-70b-instruct``."""
    return "name:" + _family(model_id.rsplit("/", 1)[-1])


def _cheapest(cost: np.ndarray, among: np.ndarray, stay: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row: min of ``stay`` and the cost on candidates ``among`` (rows of ``cost``, inf where a
    candidate cannot take the request); the candidate index picked, -1 = stay."""
    if len(among) == 0:
        return stay, np.full(stay.shape[0], -1)
    if len(among) == 1:
        only = cost[among[0]]
        take = only < stay
        return np.where(take, only, stay), np.where(take, among[0], -1)
    # A running minimum over the candidates: a strict ``<`` keeps the first of equal costs, as argmin
    # would, without argmin's transposed copy of the (candidates, rows) block.
    best = cost[among[0]].copy()
    pick = np.full(best.shape[0], among[0])
    lower = np.empty(best.shape[0], dtype=bool)
    for c in among[1:]:
        row = cost[c]
        np.less(row, best, out=lower)
        np.copyto(best, row, where=lower)
        np.copyto(pick, c, where=lower)
    take = best < stay
    return np.where(take, best, stay), np.where(take, pick, -1)


def _d(value: float) -> Decimal:
    return Decimal(repr(round(float(value), 10)))


def _span_days(days: list[str]) -> int:
    if not days:
        return 1
    return (date.fromisoformat(days[-1]) - date.fromisoformat(days[0])).days + 1


def _range(eq: list[float], best: list[float], span: int) -> tuple[Decimal, Decimal]:
    """Annual savings range: tier-equal − 1 s.e. … tier-or-better + 1 s.e. of the daily mean."""
    def stats(values: list[float]) -> tuple[float, float]:
        values = values + [0.0] * (span - len(values))
        mean = sum(values) / span
        if span < 2:
            return mean, 0.0
        var = sum((v - mean) ** 2 for v in values) / (span - 1)
        return mean, math.sqrt(var / span)

    m_eq, se_eq = stats(eq)
    m_best, se_best = stats(best)
    low = _d((m_eq - se_eq) * float(DAYS_PER_YEAR))
    high = _d((m_best + se_best) * float(DAYS_PER_YEAR))
    return min(low, high), max(low, high)


def _categories(table: pa.Table) -> pa.Array:
    """Each row's category: the name in its first ``category:NAME`` tag, "" where there is none."""
    from llmaudit.analysis.measured import CATEGORY_TAG

    n = table.num_rows
    out = np.full(n, "", dtype=object)
    if "tags" in table.column_names:
        tags = table.column("tags").combine_chunks()
        flat = pc.list_flatten(tags)
        parents = np.asarray(pc.list_parent_indices(tags).to_numpy(zero_copy_only=False))
        hit = np.asarray(pc.fill_null(pc.starts_with(flat, CATEGORY_TAG), False).to_numpy(zero_copy_only=False))
        values = flat.to_numpy(zero_copy_only=False)
        for at in np.flatnonzero(hit)[::-1]:   # reversed: the first tag of a row wins
            out[parents[at]] = str(values[at])[len(CATEGORY_TAG):]
    return pa.array(out.tolist(), pa.string())


def _cache_family(model: str) -> str:
    """Who holds a request's cached prefix: the provider that served it. A prompt cached at one
    provider is not cached at another, even for the same model (Anthropic direct and Bedrock)."""
    return model.split("/", 1)[0] if "/" in model else model


def _scaled(u: Any, factor: float, *, lose_cache: bool = False) -> Any:
    """``u`` with every token count × ``factor`` (the target's tokenizer), and with cache reads billed
    as uncached input when the cache does not move. Requests and per-call counts are not tokens."""
    from llmaudit.pricing.cost import TOKEN_COMPONENTS
    from llmaudit.pricing.table import UsageArrays

    q = u.quantities.copy()
    tokens = len(TOKEN_COMPONENTS)
    q[:, :tokens] *= factor
    if lose_cache:
        q[:, 0] += q[:, 1]   # COMPONENTS: uncached input, cache read, 5-minute write, 1-hour write, ...
        q[:, 1] = 0.0
    def scale(a: np.ndarray | None) -> np.ndarray | None:
        return None if a is None else np.rint(a * factor).astype(np.int64)

    return UsageArrays(q, np.rint(u.input_tokens * factor).astype(np.int64),
                       np.rint(u.output_tokens * factor).astype(np.int64), u.requests, u.batch,
                       scale(u.tier_tokens), scale(u.tier_cap), u.mode, u.geo, u.geos, u.minute)


_TEXT_PROFILES = ("english", "multilingual")


def _text_profile(config: Any) -> str:
    """``[whatif] text = "english" | "multilingual"``: which tokenizer ranges apply (tokens.FACTOR_RANGES)."""
    section = config.section("whatif") if config is not None else {}
    where = f"{getattr(config, 'path', None) or 'config'}: [whatif]"
    unknown = set(section) - {"text"}
    if unknown:
        raise UsageError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} (expected text)")
    text = section.get("text", "english")
    if text not in _TEXT_PROFILES:
        raise UsageError(f"{where} text = {text!r}: choose {' or '.join(repr(t) for t in _TEXT_PROFILES)}")
    return str(text)


def whatif_from_tables(tables: Iterable[pa.Table], catalog: Any, *, config: Any = None, byok: bool = False,
                       timezone: str = "UTC") -> WhatIf:
    """Stand-alone what-if over priced record tables (the spend report builds it alongside)."""
    acc = WhatIfAccumulator(catalog, config=config, byok=byok)
    for table in tables:
        local = pc.local_timestamp(table.column("timestamp").cast(pa.timestamp("us", tz=timezone)))
        acc.add(table, pc.strftime(local, "%Y-%m-%d"))
    return acc.result()
