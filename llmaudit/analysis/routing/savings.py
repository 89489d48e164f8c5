"""The savings table: observed costs scaled to a stated monthly volume, money in exact Decimals.

``--volume`` is read by ``llmaudit.units.parse_volume`` (``10B-tokens/month``, ``2M-requests/month``).

Scaling is linear: a request volume multiplies the observed cost per request; a token volume is
first turned into requests at the observed tokens per request (input + output), which the table
states. Routed spend pays the aggregator's platform fee (``pricing.fees(config).platform_pct``,
5.5% by default, on top of the provider prices); going direct to one provider does not.

:func:`scale_factor` is shared with the what-if analysis of logged traffic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from llmaudit.errors import UsageError
from llmaudit.units import Volume

__all__ = [
    "FailoverCostRow",
    "SavingsRow",
    "SavingsTable",
    "build_savings",
    "money",
    "scale_factor",
]


def money(value: float | Decimal | None) -> Decimal | None:
    """Float costs from Arrow as Decimal, without binary noise (repr is the shortest exact text)."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value
    return Decimal(repr(float(value)))


def scale_factor(volume: Volume, *, observed_requests: float, observed_tokens: float | None = None) -> Decimal:
    """How many times the observed traffic one month of ``volume`` is."""
    if volume.unit == "requests":
        if observed_requests <= 0:
            raise UsageError("cannot scale to a request volume: no requests observed")
        return volume.monthly / money(observed_requests)  # type: ignore[operator]
    if not observed_tokens or observed_tokens <= 0:
        raise UsageError("cannot scale to a token volume: no tokens observed")
    return volume.monthly / money(observed_tokens)  # type: ignore[operator]


@dataclass(frozen=True)
class SavingsRow:
    baseline: str
    baseline_pass_rate: float
    monthly_single: Decimal | None
    routed: str | None  # the cheapest realizable routing strategy at equal or better quality
    routed_pass_rate: float | None
    monthly_routed_before_fee: Decimal | None
    platform_fee: Decimal | None
    monthly_routed: Decimal | None
    monthly_savings: Decimal | None
    annual_savings: Decimal | None
    savings_pct: float | None
    oracle_monthly: Decimal | None  # upper bound, fee included
    oracle_savings_pct: float | None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class FailoverCostRow:
    chain: list[str]
    multi_provider: bool
    availability: float
    monthly: Decimal | None
    extra_monthly: Decimal | None

    def as_dict(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in self.__dict__.items()}


@dataclass
class SavingsTable:
    volume: Volume
    monthly_requests: Decimal
    tokens_per_request: float | None
    fee_pct: Decimal
    rows: list[SavingsRow] = field(default_factory=list)
    failover: list[FailoverCostRow] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "volume": self.volume.text,
            "monthly_requests": str(self.monthly_requests),
            "tokens_per_request": self.tokens_per_request,
            "platform_fee_pct": str(self.fee_pct),
            "rows": [r.as_dict() for r in self.rows],
            "failover": [f.as_dict() for f in self.failover],
        }


_CENT = Decimal("0.01")


def _monthly(cost_per_prompt: float | None, requests: Decimal) -> Decimal | None:
    if cost_per_prompt is None:
        return None
    return (money(cost_per_prompt) * requests).quantize(_CENT)  # type: ignore[operator]


def build_savings(
    strategies: Sequence[Any],
    volume: Volume,
    *,
    prompts: int,
    tokens_per_request: float | None,
    fee_pct: Decimal = Decimal("5.5"),
    failover: Sequence[Any] = (),
) -> SavingsTable:
    """Scale each baseline and its best routed alternative to one month of ``volume``.

    ``strategies`` are :class:`~llmaudit.analysis.routing.strategies.StrategyResult`; ``failover`` are
    :class:`~llmaudit.analysis.routing.failover.ChainAvailability`.
    """
    if volume.unit == "requests":
        requests = volume.monthly
    else:
        if not tokens_per_request:
            raise UsageError("cannot scale to a token volume: the run reports no tokens")
        requests = volume.monthly / money(tokens_per_request)  # type: ignore[operator]
    fee_rate = fee_pct / 100
    table = SavingsTable(volume, requests, tokens_per_request, fee_pct)
    baselines = [s for s in strategies if s.kind in ("model", "provider")]
    routed = [
        s for s in strategies if s.kind not in ("model", "provider") and s.realizable and s.cost_total is not None
    ]
    oracle = next((s for s in strategies if s.kind == "oracle" and s.cost_total is not None), None)
    for b in baselines:
        single = _monthly(b.cost_per_prompt, requests)
        fits = [s for s in routed if s.pass_rate >= b.pass_rate - 1e-12]
        best = min(fits, key=lambda s: (s.cost_total, -s.pass_rate)) if fits else None
        before = fee = after = saved = annual = None
        pct = None
        note = ""
        if best is not None:
            before = _monthly(best.cost_per_prompt, requests)
            fee = (before * fee_rate).quantize(_CENT) if before is not None else None
            after = before + fee if before is not None and fee is not None else None
            if single is not None and after is not None:
                saved = single - after
                annual = saved * 12
                pct = float(saved / single) if single > 0 else None
        else:
            note = "no routing strategy matches this quality"
        if single is None:
            note = "baseline unpriced"
        o_month = None
        o_pct = None
        if oracle is not None and oracle.pass_rate >= b.pass_rate - 1e-12:
            o_before = _monthly(oracle.cost_per_prompt, requests)
            if o_before is not None:
                o_month = o_before + (o_before * fee_rate).quantize(_CENT)
                if single:
                    o_pct = float((single - o_month) / single)
        table.rows.append(
            SavingsRow(
                baseline=b.name,
                baseline_pass_rate=b.pass_rate,
                monthly_single=single,
                routed=best.name if best else None,
                routed_pass_rate=best.pass_rate if best else None,
                monthly_routed_before_fee=before,
                platform_fee=fee,
                monthly_routed=after,
                monthly_savings=saved,
                annual_savings=annual,
                savings_pct=pct,
                oracle_monthly=o_month,
                oracle_savings_pct=o_pct,
                note=note,
            )
        )
    for c in failover:
        per_prompt = c.cost_total / prompts if c.cost_total is not None and prompts else None
        extra = c.extra_cost / prompts if c.extra_cost is not None and prompts else None
        table.failover.append(
            FailoverCostRow(
                chain=list(c.chain),
                multi_provider=c.multi_provider,
                availability=c.availability_expected,
                monthly=_monthly(per_prompt, requests),
                extra_monthly=_monthly(extra, requests),
            )
        )
    return table
