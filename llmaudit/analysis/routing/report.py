"""The routing report for a replay run: ``build_routing(results, catalog, options) -> RoutingReport``.

It gathers, from one results table (DESIGN §4.4): per-model quality (Wilson intervals), cost and
latency; every routing strategy (:mod:`strategies`) with savings against each baseline; the
cost–quality frontier; AIQ / APGR / CPT (:mod:`routermetrics`); failover (:mod:`failover`); and,
given a volume, the savings table (:mod:`savings`). Renderers read the typed result; the JSON
comes from :meth:`RoutingReport.as_dict`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from llmaudit.analysis.routing.failover import FailoverReport, build_failover
from llmaudit.analysis.routing.matrix import Matrix, build_matrix
from llmaudit.analysis.routing.quality import ModelQuality, apply_reference, model_quality
from llmaudit.analysis.routing.routermetrics import RouterMetrics, router_metrics
from llmaudit.analysis.routing.savings import SavingsTable, build_savings
from llmaudit.analysis.routing.strategies import RoutingOptions, StrategyResult, strategy_table

__all__ = ["ModelRow", "RoutingOptions", "RoutingReport", "build_routing"]


@dataclass
class ModelRow:
    model: str
    provider: str
    quality: ModelQuality
    cost_total: float | None  # over the matrix prompts (unpriced → None)
    cost_per_prompt: float | None
    unpriced_calls: int
    latency_p50: float | None
    latency_p95: float | None
    error_rate: float
    tokens_in: int
    tokens_out: int
    estimated_usage: int  # rows whose tokens were estimated, not reported by the provider

    def as_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.__dict__.items() if k != "quality"}
        d.update(self.quality.as_dict())
        return d


@dataclass
class RoutingReport:
    prompts: int
    models: list[ModelRow]
    strategies: list[StrategyResult]
    metrics: RouterMetrics
    failover: FailoverReport
    savings: SavingsTable | None
    options: RoutingOptions
    incomplete_prompts: list[str] = field(default_factory=list)
    unchecked_prompts: int = 0  # prompts with no verdict at all: judged on "the call succeeded"
    excluded_models: dict[str, str] = field(default_factory=dict)  # model -> why routing skips it
    categories: dict[str, dict[str, float]] = field(default_factory=dict)  # category -> model -> pass rate
    latency_hist: dict[str, Any] = field(default_factory=dict)  # shared bins, counts per model
    catalog_as_of: str | None = None
    failed_prompts: list[dict[str, Any]] = field(default_factory=list)  # no model passed (first 20)
    failed_prompts_total: int = 0
    quality_sources: dict[str, int] = field(default_factory=dict)  # check | reference | judge -> rows
    judge: Any = None  # judge.JudgeSummary when --judge graded the unchecked answers

    @property
    def simulated(self) -> bool:
        """Any sim/* model: every output must say the numbers come from the offline simulator."""
        return any(r.provider == "sim" or r.model.startswith("sim/") for r in self.models)

    @property
    def baselines(self) -> list[StrategyResult]:
        return [s for s in self.strategies if s.kind in ("model", "provider")]

    @property
    def frontier(self) -> list[StrategyResult]:
        return sorted((s for s in self.strategies if s.on_frontier), key=lambda s: s.cost_total or 0.0)

    @property
    def top_baseline(self) -> StrategyResult | None:
        """The priced baseline with the best pass rate (the cheaper one on a tie): what savings headline against."""
        base = [b for b in self.baselines if b.cost_total is not None]
        return max(base, key=lambda b: (b.pass_rate, -(b.cost_total or 0.0)), default=None)

    def best_saving(self) -> tuple[StrategyResult, StrategyResult, float] | None:
        """(strategy, baseline, fraction): the largest realizable saving at equal or better quality
        against the best-quality baseline."""
        top = self.top_baseline
        if top is None:
            return None
        best: tuple[StrategyResult, StrategyResult, float] | None = None
        for s in self.strategies:
            if s.kind in ("model", "provider", "oracle") or not s.realizable:
                continue
            value = s.savings.get(top.name)
            if value is not None and value > 0 and (best is None or value > best[2]):
                best = (s, top, value)
        return best

    def as_dict(self) -> dict[str, Any]:
        return {
            "simulated": self.simulated,
            "prompts": self.prompts,
            "incomplete_prompts": self.incomplete_prompts,
            "unchecked_prompts": self.unchecked_prompts,
            "catalog_as_of": self.catalog_as_of,
            "options": {
                "threshold": self.options.threshold,
                "folds": self.options.folds,
                "seed": self.options.seed,
                "reference": self.options.reference,
                "platform_fee_pct": str(self.options.fee_pct),
            },
            "models": [m.as_dict() for m in self.models],
            "excluded_models": self.excluded_models,
            "strategies": [s.as_dict() for s in self.strategies],
            "frontier": [s.name for s in self.frontier],
            "metrics": self.metrics.as_dict(),
            "failover": self.failover.as_dict(),
            "savings": self.savings.as_dict() if self.savings else None,
            "categories": self.categories,
            "failed_prompts_total": self.failed_prompts_total,
            "failed_prompts": self.failed_prompts,
            "quality_sources": self.quality_sources,
            "judge": self.judge.as_dict() if self.judge is not None else None,
        }


def _latency_hist(df: Any, models: list[str], bins: int = 24) -> dict[str, Any]:
    """Log-spaced latency histogram shared by all models (the HTML charts embed counts, not rows)."""
    lat = df.loc[df["status"].astype(str).eq("ok"), ["model", "latency_ms"]].dropna()
    lat = lat[lat["latency_ms"] > 0]
    if lat.empty:
        return {}
    lo, hi = float(lat["latency_ms"].min()), float(lat["latency_ms"].max())
    if hi <= lo:
        hi = lo * 1.01 + 1
    edges = np.geomspace(lo, hi, bins + 1)
    counts = {}
    for model in models:
        values = lat.loc[lat["model"].astype(str) == model, "latency_ms"].to_numpy(dtype=float)
        counts[model] = np.histogram(values, bins=edges)[0].astype(int).tolist()
    return {"edges": [float(e) for e in edges], "counts": counts}


def _failed_prompts(df: Any, m: Matrix, limit: int = 20, excerpt: int = 240) -> tuple[int, list[dict[str, Any]]]:
    """Prompts no model passed, with the best model's answer (or error) as an excerpt."""
    from llmaudit.analysis.routing.quality import output_column

    if not m.n_prompts:
        return 0, []
    failing = [i for i in range(m.n_prompts) if not m.success[i].any()]
    best = max(range(len(m.models)), key=lambda j: float(m.success[:, j].mean()))
    model = m.models[best]
    text_col = output_column(df.columns)
    prompt_col = next((c for c in ("prompt", "prompt_text") if c in df.columns), None)
    sub = df[df["model"].astype(str) == model].drop_duplicates("prompt_id").set_index("prompt_id")
    out = []
    for i in failing[:limit]:
        pid = m.prompts[i]
        row = sub.loc[pid] if pid in sub.index else None
        answer = None
        if row is not None:
            if str(row.get("status")) != "ok":
                answer = f"error: {row.get('error')}"
            elif text_col is not None and isinstance(row.get(text_col), str):
                answer = row.get(text_col)
        prompt = row.get(prompt_col) if row is not None and prompt_col else None
        out.append(
            {
                "prompt_id": pid,
                "category": m.categories[i],
                "prompt": prompt[:excerpt] if isinstance(prompt, str) else None,
                "model": model,
                "answer": answer[:excerpt] if isinstance(answer, str) else None,
            }
        )
    return len(failing), out


def _token_sum(df: Any, column: str) -> int:
    import pandas as pd

    if column not in df:
        return 0
    return int(pd.to_numeric(df[column], errors="coerce").fillna(0).sum())


def build_routing(
    results: Any, catalog: Any = None, options: RoutingOptions | None = None, *, judge: Any = None
) -> RoutingReport:
    """Everything the routing report shows, from a results table (pyarrow or pandas).

    ``options.reference`` fills unchecked answers by agreement with that model; to use an LLM judge,
    grade the table first with :func:`llmaudit.analysis.routing.judge.judge_results` and pass its summary
    as ``judge`` so the report says where the verdicts came from.
    """
    import pandas as pd

    options = options or RoutingOptions()
    df = results if isinstance(results, pd.DataFrame) else results.to_pandas()
    if options.reference:
        df = apply_reference(df, options.reference)
    m: Matrix = build_matrix(df)
    _, strategies = strategy_table(m, options)
    quality = {q.model: q for q in model_quality(df)}

    ok = df["status"].astype(str).eq("ok")
    rows: list[ModelRow] = []
    singles = {s.name: s for s in strategies if s.kind == "model"}
    for model in m.models:
        sub = df[df["model"].astype(str) == model]
        sub_ok = ok.loc[sub.index]
        cost = pd.to_numeric(sub["cost_usd"], errors="coerce") if "cost_usd" in sub else pd.Series(np.nan)
        unpriced = int((sub_ok & cost.isna()).sum())
        s = singles[model]
        usage_est = 0
        if "usage_source" in sub:
            usage_est = int(sub["usage_source"].astype(str).eq("estimated").sum())
        rows.append(
            ModelRow(
                model=model,
                provider=m.providers[model],
                quality=quality[model],
                cost_total=s.cost_total,
                cost_per_prompt=s.cost_per_prompt,
                unpriced_calls=unpriced,
                latency_p50=s.latency_p50,
                latency_p95=s.latency_p95,
                error_rate=float((~sub_ok).mean()) if len(sub) else 0.0,
                tokens_in=_token_sum(sub, "input_tokens"),
                tokens_out=_token_sum(sub, "output_tokens"),
                estimated_usage=usage_est,
            )
        )
    priced = set(m.priced_models())
    excluded = {
        model: "unpriced: routing compares priced models only" for j, model in enumerate(m.models) if j not in priced
    }

    failover = build_failover(df, m)
    savings = None
    if options.volume is not None:
        tokens = None
        if {"input_tokens", "output_tokens"} <= set(df.columns):
            tok = (
                pd.to_numeric(df.loc[ok, "input_tokens"], errors="coerce")
                + pd.to_numeric(df.loc[ok, "output_tokens"], errors="coerce")
            ).dropna()
            tokens = float(tok.mean()) if len(tok) else None
        savings = build_savings(
            strategies,
            options.volume,
            prompts=m.n_prompts,
            tokens_per_request=tokens,
            fee_pct=options.fee_pct,
            failover=[c for c in failover.chains if len(c.chain) > 1],
        )

    categories: dict[str, dict[str, float]] = {}
    cats = np.array(m.categories, dtype=object)
    for cat in sorted(set(m.categories)):
        mask = cats == cat
        categories[cat] = {model: float(m.success[mask, j].mean()) for j, model in enumerate(m.models)}

    failed_total, failed = _failed_prompts(df, m)
    sources: dict[str, int] = {}
    if "quality_source" in df:
        sources = {str(k): int(v) for k, v in df["quality_source"].dropna().value_counts().items()}
    elif "passed" in df:
        sources = {"check": int(df["passed"].notna().sum())}
    unchecked = int((~m.checked.any(axis=1)).sum()) if m.n_prompts else 0
    as_of = getattr(catalog, "as_of", None)
    return RoutingReport(
        prompts=m.n_prompts,
        models=rows,
        strategies=strategies,
        metrics=router_metrics(m, options.folds, options.seed),
        failover=failover,
        savings=savings,
        options=options,
        incomplete_prompts=m.incomplete,
        unchecked_prompts=unchecked,
        excluded_models=excluded,
        categories=categories,
        latency_hist=_latency_hist(df, m.models) if "latency_ms" in df else {},
        catalog_as_of=str(as_of) if as_of is not None else None,
        failed_prompts=failed,
        failed_prompts_total=failed_total,
        quality_sources=sources,
        judge=judge,
    )
