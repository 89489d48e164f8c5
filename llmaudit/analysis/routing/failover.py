"""Failover: availability from observed error rates, one provider vs several, and what it costs.

Per model, the observed error rate e is the share of calls that still failed after the runner's
retries; availability is 1 − e. A fallback chain fails only when every model in it fails, so its
*composite* availability is 1 − Π eᵢ — which assumes the providers fail independently (true of
separate providers far more often than of two models behind one provider's gateway; chains within
one provider are marked so). Next to the formula we show what the replay actually observed when the
chain is simulated, and the extra cost: retries (``attempts`` > 1) and prompts that fell over to a
(usually dearer) second model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from llmaudit.analysis.routing.matrix import Matrix
from llmaudit.analysis.routing.strategies import _best_model, fallback, single_model

__all__ = ["ChainAvailability", "FailoverReport", "ModelAvailability", "build_failover", "composite_availability"]


def composite_availability(error_rates: Sequence[float]) -> float:
    """1 − Π eᵢ: the chain fails only when every member fails (independence assumed)."""
    prod = 1.0
    for e in error_rates:
        prod *= e
    return 1.0 - prod


@dataclass(frozen=True)
class ModelAvailability:
    model: str
    provider: str
    calls: int
    errors: int
    error_rate: float
    availability: float
    retries: int  # extra attempts the runner made (attempts − 1, summed)
    retry_rate: float  # retries per call

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class ChainAvailability:
    chain: list[str]
    multi_provider: bool
    availability_expected: float  # 1 − Π eᵢ
    availability_observed: float  # simulated on the run
    cost_total: float | None
    primary_cost_total: float | None
    extra_cost: float | None  # chain − primary alone
    extra_cost_pct: float | None
    fell_over: int  # prompts answered by a fallback model

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class FailoverReport:
    models: list[ModelAvailability] = field(default_factory=list)
    chains: list[ChainAvailability] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"models": [m.as_dict() for m in self.models], "chains": [c.as_dict() for c in self.chains]}


def _model_stats(table: Any, providers: dict[str, str]) -> list[ModelAvailability]:
    import pandas as pd

    df = table if isinstance(table, pd.DataFrame) else table.to_pandas()
    out = []
    attempts = pd.to_numeric(df["attempts"], errors="coerce") if "attempts" in df else pd.Series(1, index=df.index)
    ok = df["status"].astype(str).eq("ok")
    for model, idx in df.groupby("model", sort=False).groups.items():
        calls = len(idx)
        errors = int((~ok.loc[idx]).sum())
        retries = int((attempts.loc[idx].fillna(1).clip(lower=1) - 1).sum())
        rate = errors / calls if calls else 0.0
        name = str(model)
        out.append(
            ModelAvailability(
                model=name,
                provider=providers.get(name, name.split("/", 1)[0]),
                calls=calls,
                errors=errors,
                error_rate=rate,
                availability=1.0 - rate,
                retries=retries,
                retry_rate=retries / calls if calls else 0.0,
            )
        )
    return out


def chain_availability(m: Matrix, chain: Sequence[str], error_rates: dict[str, float]) -> ChainAvailability:
    res = fallback(m, chain)
    primary = single_model(m, chain[0])
    j0 = m.model_index(chain[0])
    fell = int((~m.ok[:, j0]).sum()) if m.n_prompts else 0
    observed = 1.0 - res.error_rate
    extra = None
    extra_pct = None
    if res.cost_total is not None and primary.cost_total is not None:
        extra = res.cost_total - primary.cost_total
        extra_pct = extra / primary.cost_total if primary.cost_total > 0 else None
    providers = {m.providers[x] for x in chain}
    return ChainAvailability(
        chain=list(chain),
        multi_provider=len(providers) > 1,
        availability_expected=composite_availability([error_rates.get(x, 0.0) for x in chain]),
        availability_observed=observed,
        cost_total=res.cost_total,
        primary_cost_total=primary.cost_total,
        extra_cost=extra,
        extra_cost_pct=extra_pct,
        fell_over=fell,
    )


def build_failover(table: Any, m: Matrix, chains: Sequence[Sequence[str]] | None = None) -> FailoverReport:
    """Per-model availability and, per provider, its best model alone vs with a fallback.

    Default chains: for each provider's best model, itself alone, then with the best model of the
    other providers as fallback (multi-provider), and with the provider's own runner-up when it
    has one (single-provider).
    """
    report = FailoverReport(models=_model_stats(table, m.providers))
    rates = {x.model: x.error_rate for x in report.models}
    priced = m.priced_models()
    if not m.n_prompts or not priced:
        return report
    if chains is None:
        built: list[list[str]] = []
        for provider in sorted({m.providers[m.models[j]] for j in priced}):
            own = [j for j in priced if m.providers[m.models[j]] == provider]
            first = _best_model(m, own)
            built.append([m.models[first]])
            rest_own = [j for j in own if j != first]
            if rest_own:
                built.append([m.models[first], m.models[_best_model(m, rest_own)]])
            others = [j for j in priced if m.providers[m.models[j]] != provider]
            if others:
                built.append([m.models[first], m.models[_best_model(m, others)]])
        chains = built
    report.chains = [chain_availability(m, list(c), rates) for c in chains]
    return report
