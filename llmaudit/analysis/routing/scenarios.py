"""The what-if's result: each provider's single-provider scenario and the routed one, with the
savings range (``routing.whatif`` computes it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

__all__ = [
    "DAYS_PER_MONTH",
    "DAYS_PER_YEAR",
    "Candidate",
    "ProviderScenario",
    "Retokenized",
    "RoutedScenario",
    "SavingsRow",
    "WhatIf",
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
        from llmaudit.analysis.common.money import money

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
