"""The candidates of the what-if: which models a logged request may move to, and what it costs there.

A candidate has every rate a request needs today (input and output at least), is still on sale (listed
by the catalog's sources within 90 days, not past a deprecation date) and has a capability tier (or,
with ``--quality``, a measured pass rate). Per row, the cheapest candidate that fits the request's
context window and output limit is chosen, in one cost product over all candidates.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import numpy as np

from llmaudit.analysis.routing.scenarios import Candidate
from llmaudit.analysis.routing.tiers import TierTable

__all__ = ["CandidateSet"]

_RETIRED_AFTER_DAYS = 90  # unlisted this long before the catalog's as-of date → no longer offered


class CandidateSet:
    """The models traffic may move to, with their rates, tiers and limits, priced against a batch at once.

    ``tiers``: the capability-tier table; ``quality`` (``routing.measured.MeasuredQuality``): route by a
    replay run's measured pass rates instead. ``WhatIfAccumulator`` folds logged traffic over one."""

    def __init__(self, catalog: Any, tiers: TierTable, quality: Any = None) -> None:
        self.catalog = catalog
        self.tiers = tiers
        # ``analysis.routing.measured.MeasuredQuality``: route by the pass rates a replay run measured, per
        # category, instead of by the tier table. Every candidate then has "tier" 0 and every logged
        # model tier 0; per category, candidates that did not pass are given tier 1 (out of reach).
        self.quality = quality
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
