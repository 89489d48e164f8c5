"""Routing strategies simulated on a replay run's prompt × model matrix.

Every strategy is scored on the same prompts with the outcomes the run actually observed:

* **single model** — every prompt to one model (a baseline per model);
* **provider best** — every prompt to one provider's best model (highest pass rate, then cheapest);
* **oracle** — per prompt, the cheapest model that passed (the upper bound no real router reaches;
  when no model passed, the cheapest model is charged and the prompt fails);
* **category router** — per prompt, the cheapest model whose pass rate in the prompt's category
  reaches a threshold. Pass rates are learned with k-fold cross-validation, so a prompt is always
  routed by a table fitted on *other* prompts and is never scored on its own training data;
* **cascade** — cheapest model first, escalate to the next when the call errors or its check fails,
  paying for every attempt (latency adds up too);
* **fallback** — one primary model, the next one only when the call errors (no quality escalation).

For each: total cost, cost per prompt, pass rate, p50/p95 latency, and the saving against every
single-model and provider baseline whose quality it matches or beats. The cost–quality Pareto
frontier, RouterBench's AIQ and RouteLLM's APGR/CPT come on top (see :mod:`routermetrics`); the category
router's cross-validated training is :mod:`crossvalidation`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from llmaudit.analysis.routing.crossvalidation import EPS, CategoryFold, cv_routes
from llmaudit.analysis.routing.matrix import Matrix, build_matrix

__all__ = [
    "RoutingOptions",
    "StrategyResult",
    "cascade",
    "category_router",
    "fallback",
    "oracle",
    "pareto_frontier",
    "provider_best",
    "single_model",
    "strategy_table",
]


@dataclass(frozen=True)
class RoutingOptions:
    threshold: float = 0.9  # category router: required pass rate in the prompt's category
    folds: int = 5  # k of the k-fold cross-validation
    seed: int = 0
    cascade: tuple[str, ...] | None = None  # models, cheapest first; default: the Pareto-frontier models
    fallback: tuple[str, ...] | None = None  # primary, then fallbacks; default: best, then another provider's
    reference: str | None = None  # --reference MODEL: fill unchecked prompts by agreement with it
    volume: Any = None  # savings.Volume: scale the savings table to it
    fee_pct: Decimal = Decimal("5.5")  # aggregator platform fee on routed spend (pricing.fees)


@dataclass
class StrategyResult:
    name: str
    kind: str  # model | provider | oracle | category | cascade | fallback
    description: str
    models: list[str]
    prompts: int
    cost_total: float | None  # None when a chosen cell is unpriced
    pass_rate: float
    passes: int
    latency_p50: float | None
    latency_p95: float | None
    attempts_mean: float
    error_rate: float  # share of prompts whose final call errored
    share: dict[str, float]  # model -> share of prompts it answered in the end
    unpriced_prompts: int = 0
    realizable: bool = True  # False for the oracle (it needs to know the answers)
    savings: dict[str, float | None] = field(default_factory=dict)  # baseline name -> fraction saved
    on_frontier: bool = False
    # Per-prompt outcome, kept for the report's aggregates (not serialized in full).
    cost_per_prompt_values: np.ndarray | None = field(default=None, repr=False)
    latency_values: np.ndarray | None = field(default=None, repr=False)
    final_values: np.ndarray | None = field(default=None, repr=False)   # the model index each prompt ended on
    # RouterArena (``analysis.routing.arena``): its leaderboard score, and closeness to the oracle.
    arena_score: float | None = None
    optimal_share: float | None = None
    cost_gap: float | None = None
    accuracy_gap: float | None = None

    @property
    def cost_per_prompt(self) -> float | None:
        if self.cost_total is None or self.prompts == 0:
            return None
        return self.cost_total / self.prompts

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "description": self.description,
            "models": self.models,
            "prompts": self.prompts,
            "cost_total_usd": self.cost_total,
            "cost_per_prompt_usd": self.cost_per_prompt,
            "pass_rate": self.pass_rate,
            "passes": self.passes,
            "latency_p50_ms": self.latency_p50,
            "latency_p95_ms": self.latency_p95,
            "attempts_mean": self.attempts_mean,
            "error_rate": self.error_rate,
            "share": self.share,
            "unpriced_prompts": self.unpriced_prompts,
            "realizable": self.realizable,
            "on_frontier": self.on_frontier,
            "savings_vs": self.savings,
            "routerarena": {"arena_score": self.arena_score, "optimal_selection": self.optimal_share,
                            "cost_gap_vs_oracle": self.cost_gap, "accuracy_gap_vs_oracle": self.accuracy_gap},
        }


def _percentile(values: np.ndarray, q: float) -> float | None:
    finite = values[~np.isnan(values)]
    if finite.size == 0:
        return None
    return float(np.percentile(finite, q))


def _result(
    m: Matrix,
    name: str,
    kind: str,
    description: str,
    models: Sequence[str],
    final: np.ndarray,
    cost: np.ndarray,
    success: np.ndarray,
    latency: np.ndarray,
    attempts: np.ndarray,
    *,
    realizable: bool = True,
) -> StrategyResult:
    n = m.n_prompts
    unpriced = int(np.isnan(cost).sum())
    total = None if unpriced or n == 0 else float(cost.sum())
    share: dict[str, float] = {}
    if n:
        for j, model in enumerate(m.models):
            count = int((final == j).sum())
            if count:
                share[model] = count / n
    rows = np.arange(n)
    errored = ~m.ok[rows, final] if n else np.zeros(0, dtype=bool)
    return StrategyResult(
        name=name,
        kind=kind,
        description=description,
        models=list(models),
        prompts=n,
        cost_total=total,
        pass_rate=float(success.mean()) if n else 0.0,
        passes=int(success.sum()),
        latency_p50=_percentile(latency, 50),
        latency_p95=_percentile(latency, 95),
        attempts_mean=float(attempts.mean()) if n else 0.0,
        error_rate=float(errored.mean()) if n else 0.0,
        share=share,
        unpriced_prompts=unpriced,
        realizable=realizable,
        cost_per_prompt_values=cost,
        latency_values=latency,
        final_values=np.asarray(final),
    )


def single_model(m: Matrix, model: str) -> StrategyResult:
    j = m.model_index(model)
    n = m.n_prompts
    final = np.full(n, j)
    return _result(
        m,
        model,
        "model",
        f"every prompt to {model}",
        [model],
        final,
        m.cost[:, j].copy(),
        m.success[:, j].copy(),
        m.latency[:, j].copy(),
        np.ones(n),
    )


def _best_model(m: Matrix, candidates: Sequence[int]) -> int:
    """Highest pass rate; ties go to the cheaper model (unpriced last), then the name."""

    def key(j: int) -> tuple[float, float, str]:
        col = m.cost[:, j]
        mean_cost = float(col.mean()) if col.size and not np.isnan(col).any() else float("inf")
        return (-float(m.success[:, j].mean()) if m.n_prompts else 0.0, mean_cost, m.models[j])

    return min(candidates, key=key)


def provider_best(m: Matrix, provider: str) -> StrategyResult:
    candidates = [j for j, model in enumerate(m.models) if m.providers[model] == provider]
    j = _best_model(m, candidates)
    res = single_model(m, m.models[j])
    res.name = f"{provider} (best: {m.models[j]})"
    res.kind = "provider"
    res.description = f"every prompt to {provider}'s best-passing model, {m.models[j]}"
    return res


def oracle(m: Matrix, candidates: Sequence[int] | None = None) -> StrategyResult:
    """Per prompt, the cheapest passing model; if none passed, the cheapest model (and a fail)."""
    cand = list(candidates) if candidates is not None else m.priced_models()
    n = m.n_prompts
    final = np.zeros(n, dtype=int)
    by_name = sorted(cand, key=lambda j: m.models[j])
    cost = m.cost[:, by_name] if by_name else np.zeros((n, 0))
    if by_name and not np.isnan(cost).any():
        # Vectorized: candidates in name order, so argmin's first minimum is the (cost, name) minimum.
        passing = m.success[:, by_name]
        masked = np.where(passing, cost, np.inf)
        pick = np.where(passing.any(axis=1), np.argmin(masked, axis=1), np.argmin(cost, axis=1))
        final = np.asarray(by_name)[pick]
    else:  # NaN costs (an unpriced cell) compare oddly: keep the exact per-prompt rule
        for i in range(n):
            passing_j = [j for j in cand if m.success[i, j]]
            pool = passing_j or cand
            final[i] = min(pool, key=lambda j: (m.cost[i, j], m.models[j]))
    rows = np.arange(n)
    names = [m.models[j] for j in cand]
    return _result(
        m,
        "oracle",
        "oracle",
        "the cheapest model that passed, per prompt (upper bound, not realizable)",
        names,
        final,
        m.cost[rows, final],
        m.success[rows, final],
        m.latency[rows, final],
        np.ones(n),
        realizable=False,
    )


# ---- category router ------------------------------------------------------------------------


def category_router(
    m: Matrix,
    threshold: float = 0.9,
    k: int = 5,
    seed: int = 0,
    candidates: Sequence[int] | None = None,
    on_fold: Callable[[CategoryFold], None] | None = None,
) -> StrategyResult:
    cand = list(candidates) if candidates is not None else m.priced_models()
    n = m.n_prompts
    final = cv_routes(m, cand, threshold, k, seed, on_fold)
    n_folds = max(1, min(k, n))
    rows = np.arange(n)
    return _result(
        m,
        f"category router (≥{threshold:.0%})",
        "category",
        f"cheapest model reaching a {threshold:.0%} pass rate in the prompt's category; {n_folds}-fold cross-validated",
        [m.models[j] for j in cand],
        final,
        m.cost[rows, final],
        m.success[rows, final],
        m.latency[rows, final],
        np.ones(n),
    )


# ---- cascade and fallback -------------------------------------------------------------------


def _chain(
    m: Matrix, chain: Sequence[int], escalate: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Walk ``chain`` for every prompt at once; ``escalate[i, j]``: after model j, prompt i moves on.

    Vectorized over prompts (a Python loop per prompt took seconds on 100k prompts); each
    prompt's cost and latency are still summed in chain order, so the floats are the same.
    """
    n = m.n_prompts
    final = np.zeros(n, dtype=int)
    cost = np.zeros(n)
    latency = np.zeros(n)
    attempts = np.zeros(n)
    lat_known = np.ones(n, dtype=bool)
    active = np.ones(n, dtype=bool)
    for step, j in enumerate(chain):
        cost[active] += m.cost[active, j]  # every attempt is paid for (errors cost 0, unpriced stays NaN)
        nan = np.isnan(m.latency[:, j])
        lat_known &= ~(active & nan)
        known = active & ~nan
        latency[known] += m.latency[known, j]
        attempts[active] = step + 1
        final[active] = j
        active = active & escalate[:, j]
    latency[~lat_known] = np.nan
    rows = np.arange(n)
    return final, cost, m.success[rows, final], latency, attempts


def cascade(m: Matrix, chain: Sequence[str]) -> StrategyResult:
    return _chain_strategy(m, chain, "cascade", ~m.success,
                           "cheapest first; escalate when the call errors or its check fails; every attempt is paid")


def fallback(m: Matrix, chain: Sequence[str]) -> StrategyResult:
    return _chain_strategy(m, chain, "fallback", ~m.ok, "primary model; the next one only when the call errors")


def _chain_strategy(m: Matrix, chain: Sequence[str], kind: str, escalate: Any, description: str) -> StrategyResult:
    """A chain of models tried in order; ``escalate`` (prompt × model) says when to try the next."""
    idx = [m.model_index(x) for x in chain]
    final, cost, success, latency, attempts = _chain(m, idx, escalate)
    return _result(m, f"{kind}: " + " → ".join(chain), kind, description, list(chain), final, cost, success,
                   latency, attempts)


# ---- frontier and savings -------------------------------------------------------------------


def pareto_frontier(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the non-dominated (cost, quality) points, cheapest first.

    A point is dominated when another costs no more and passes no less, and is strictly better
    on one of the two.
    """
    keep = []
    for a, (ca, qa) in enumerate(points):
        dominated = False
        for b, (cb, qb) in enumerate(points):
            if b == a:
                continue
            if cb <= ca + EPS and qb >= qa - EPS and (cb < ca - EPS or qb > qa + EPS):
                dominated = True
                break
        if not dominated:
            keep.append(a)
    # Exact duplicates: keep the first only.
    seen: set[tuple[float, float]] = set()
    unique = []
    for a in sorted(keep, key=lambda i: (points[i][0], -points[i][1], i)):
        if points[a] in seen:
            continue
        seen.add(points[a])
        unique.append(a)
    return unique


def savings_against(strategy: StrategyResult, baselines: Sequence[StrategyResult]) -> dict[str, float | None]:
    """Fraction saved against each baseline it matches or beats on pass rate; None otherwise."""
    out: dict[str, float | None] = {}
    for b in baselines:
        if b.name == strategy.name:
            continue
        if (
            strategy.cost_total is None
            or b.cost_total is None
            or b.cost_total <= 0
            or strategy.pass_rate < b.pass_rate - EPS
        ):
            out[b.name] = None
        else:
            out[b.name] = 1.0 - strategy.cost_total / b.cost_total
    return out


def strategy_table(
    results_or_matrix: Any, options: RoutingOptions | None = None
) -> tuple[Matrix, list[StrategyResult]]:
    """Run every strategy on a results table (or a ready :class:`Matrix`)."""
    options = options or RoutingOptions()
    m = results_or_matrix if isinstance(results_or_matrix, Matrix) else build_matrix(results_or_matrix)
    results: list[StrategyResult] = [single_model(m, model) for model in m.models]
    providers = sorted(set(m.providers.values()))
    # A provider baseline only adds information when the provider offers more than one model.
    for p in providers:
        if sum(1 for model in m.models if m.providers[model] == p) > 1:
            results.append(provider_best(m, p))
    priced = m.priced_models()
    if m.n_prompts and priced:
        results.append(oracle(m, priced))
        results.append(category_router(m, options.threshold, options.folds, options.seed, priced))
        chain = list(options.cascade) if options.cascade else default_cascade(m, results)
        if len(chain) >= 2:
            results.append(cascade(m, chain))
        fb = list(options.fallback) if options.fallback else default_fallback(m)
        if len(fb) >= 2:
            results.append(fallback(m, fb))
    baselines = [r for r in results if r.kind in ("model", "provider")]
    for r in results:
        r.savings = savings_against(r, baselines)
    _arena(results, m.n_prompts)
    priced_results = [(i, r) for i, r in enumerate(results) if r.cost_total is not None]
    front = pareto_frontier([(r.cost_total or 0.0, r.pass_rate) for _, r in priced_results])
    for pos in front:
        priced_results[pos][1].on_frontier = True
    return m, results


def _arena(results: list[StrategyResult], n: int) -> None:
    """RouterArena's score for every strategy, and each one's closeness to the oracle."""
    from llmaudit.analysis.routing.arena import arena_score, closeness

    best = next((r for r in results if r.kind == "oracle"), None)
    for r in results:
        per_1k = None if r.cost_total is None or not n else r.cost_total / n * 1000
        r.arena_score = arena_score(per_1k, r.pass_rate)
        if best is not None and best.final_values is not None and r.final_values is not None:
            c = closeness(r.final_values, best.final_values, r.cost_total, best.cost_total, r.pass_rate,
                          best.pass_rate)
            r.optimal_share, r.cost_gap, r.accuracy_gap = c.optimal_share, c.cost_gap, c.accuracy_gap


def default_cascade(m: Matrix, results: Sequence[StrategyResult]) -> list[str]:
    """The single models on the cost–quality frontier, cheapest first (dominated ones add nothing)."""
    singles = [r for r in results if r.kind == "model" and r.cost_total is not None]
    front = pareto_frontier([(r.cost_total or 0.0, r.pass_rate) for r in singles])
    return [singles[i].name for i in front]


def default_fallback(m: Matrix) -> list[str]:
    """The best model, then the best model of another provider (one-provider runs: the runner-up)."""
    priced = m.priced_models()
    if len(priced) < 2:
        return []
    first = _best_model(m, priced)
    others = [j for j in priced if m.providers[m.models[j]] != m.providers[m.models[first]]]
    if not others:
        others = [j for j in priced if j != first]
    second = _best_model(m, others)
    return [m.models[first], m.models[second]]
