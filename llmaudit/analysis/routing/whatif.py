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
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from llmaudit.analysis.routing.candidates import CandidateSet
from llmaudit.analysis.routing.measured import row_categories
from llmaudit.analysis.routing.retokenization import cache_family, scaled_usage, text_profile
from llmaudit.analysis.routing.scenarios import (
    DAYS_PER_MONTH,
    DAYS_PER_YEAR,
    ProviderScenario,
    Retokenized,
    RoutedScenario,
    SavingsRow,
    WhatIf,
)
from llmaudit.analysis.routing.tiers import TierTable, load_tiers
from llmaudit.errors import UsageError

__all__ = ["WhatIfAccumulator", "whatif_from_tables"]


# The window label decides an aggregated row's long-context tier, so it travels. Service tier, fast
# mode, residency and off-peak do not: the what-if compares models at their list (standard) prices.
_WHATIF_COLUMNS = ("model", "cost_usd", "input_tokens", "cache_read_tokens", "cache_write_tokens",
                   "cache_write_1h_tokens", "output_tokens", "reasoning_tokens", "requests", "web_search_requests",
                   "batch", "context_tier")


# --------------------------------------------------------------------------------------- compute
@dataclass
class _Model:
    """Per current model, per day: [requests, tokens, current, best, equal] plus pick counts."""

    days: dict[str, list[float]]
    picks: dict[str, int]
    alt_cost: np.ndarray  # per candidate: cost of all this model's rows on it
    alt_misfit: np.ndarray  # per candidate: rows that would not fit
    rules: dict[str, str] = field(default_factory=dict)  # target -> the rule (and evidence) that allowed it


class WhatIfAccumulator(CandidateSet):
    """Logged traffic folded over the candidates, batch by batch: per model and day, what it cost,
    what it would cost routed (tier-equal and equal-or-better) and on each provider alone."""

    def __init__(self, catalog: Any, *, config: Any = None, byok: bool = False,
                 tiers: TierTable | None = None, quality: Any = None) -> None:
        from llmaudit.pricing import fees

        self.byok = byok
        fee = fees(config)
        self.fee_pct = Decimal(str(fee.byok_pct if byok else fee.platform_pct))
        self.fee_minimum = Decimal(0) if byok else fee.platform_min_usd
        self.fee_free_requests = fee.byok_free_requests if byok else 0
        table = tiers if tiers is not None else load_tiers(config)
        self._category: str | None = None
        self.text = text_profile(config)
        self.moves: list[tuple[str, str, Any, bool]] = []   # (from, to, token factor, caches lost)
        super().__init__(catalog, table, quality)
        self.models: dict[str, _Model] = {}
        self.prov: dict[str, dict[str, Any]] = {p: {"cost": 0.0, "covered": 0, "uncovered": 0, "map": {}}
                                                for p in self.providers}
        self.excluded_unpriced = 0
        self.untiered: dict[str, int] = {}

    def add(self, table: pa.Table, day: Any, usage: Any = None) -> None:
        """Fold one priced batch in; ``day`` is the batch's local-day label column; ``usage`` its
        ``pricing.usage_arrays`` when the caller has them already (they are read otherwise)."""

        priced = pc.is_valid(table.column("cost_usd"))
        if table.column("cost_usd").null_count:
            self.excluded_unpriced += int(pc.sum(pc.if_else(priced, 0, pc.fill_null(table.column("requests"), 1)))
                                          .as_py() or 0)
        if self.quality is not None:
            self._add_by_category(table, day, priced)
            return
        self._add_rows(table, day, priced, usage)

    def _add_by_category(self, table: pa.Table, day: Any, priced: Any) -> None:
        """Quality mode: each category's rows are routed among the models that passed it."""
        codes = pc.dictionary_encode(row_categories(table))
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

    def _add_rows(self, table: pa.Table, day: Any, priced: Any, usage: Any = None) -> None:
        from llmaudit.pricing import list_price_usage, usage_arrays

        # Only the columns the what-if reads: every model's rows are taken out of the batch below.
        needed = [c for c in _WHATIF_COLUMNS if c in table.column_names]
        table = table.select(needed).append_column("_day", day)
        if table.column("cost_usd").null_count:
            table = table.filter(priced)
            if usage is not None:
                usage = usage.take(np.asarray(pc.fill_null(priced, False).to_numpy(zero_copy_only=False), dtype=bool))
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
        # At list price: the pricing's quantities without service tier, speed, residency or hour.
        usage = usage_arrays(table) if usage is None else list_price_usage(usage, table)
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
        own = cache_family(model)
        for c in np.unique(pick).tolist():
            if c == k:
                continue
            target = self.candidates[c].model
            f = token_factor(model, target, self.text)
            lost = cache_family(target) != own
            self.moves.append((model, target, f, lost))
            # The same tokens with the same caches (the same tokenizer family, the same provider's
            # caches) cost on the target what the routing already priced them at: ``best`` is that
            # float (a row costs the same on a point whatever else is priced beside it), so it is
            # kept rather than priced again.
            again_low = f.low != 1.0
            again_high = f.high != 1.0 or lost
            if not (again_low or again_high):
                continue
            rows = np.flatnonzero(pick == c)
            grid = self._sub_grid(np.array([c], dtype=np.int64))
            sub = u.take(rows)
            if again_low:
                opt[rows] = grid.cost_matrix(scaled_usage(sub, f.low), missing=np.inf)[0]
            if again_high:
                pes[rows] = grid.cost_matrix(scaled_usage(sub, f.high, lose_cache=lost), missing=np.inf)[0]
        # A rate the pessimistic traffic needs and the target lacks cannot happen (input is always
        # priced); were it to, the request's logged cost stands in rather than infinity.
        return np.where(np.isfinite(opt), opt, best), np.where(np.isfinite(pes), pes, best)

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


def whatif_from_tables(tables: Iterable[pa.Table], catalog: Any, *, config: Any = None, byok: bool = False,
                       timezone: str = "UTC") -> WhatIf:
    """Stand-alone what-if over priced record tables (the spend report builds it alongside)."""
    acc = WhatIfAccumulator(catalog, config=config, byok=byok)
    for table in tables:
        local = pc.local_timestamp(table.column("timestamp").cast(pa.timestamp("us", tz=timezone)))
        acc.add(table, pc.strftime(local, "%Y-%m-%d"))
    return acc.result()
