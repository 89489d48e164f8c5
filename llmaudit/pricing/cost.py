"""Exact cost of one usage record (formats.md §B9), in ``Decimal``.

Token semantics are the schema's: ``input_tokens`` includes cache reads and writes,
``cache_write_1h_tokens`` is part of ``cache_write_tokens``, ``output_tokens`` includes
``reasoning_tokens``. So the billed parts are::

    uncached input = input - cache_read - cache_write           at input
    cache reads                                                  at cache_read     (absent → input)
    5-minute writes = cache_write - cache_write_1h               at cache_write_5m (absent → input)
    1-hour writes                                                at cache_write_1h (absent → 5m rate)
    output - reasoning                                           at output
    reasoning                                                    at reasoning      (absent → output)
    requests × per_request + web searches × per_search

Absent cache rates bill as input, as LiteLLM does (a provider that publishes no cache price bills
cached tokens as ordinary input; an explicit 0 stays 0). A missing input or output rate with
tokens to bill makes the cost unknown (``missing_rate``), never 0. When the prompt passes a
long-context threshold every token type of the request is billed at that tier's rates (the tier
falls back to the base rate for a type it does not list). Batch rows use the ``*_batch`` rates;
a batch row on a model with no published batch input/output rate is ``missing_rate``; a rate with
no published batch price (cache writes, 1-hour writes, reasoning, a long-context tier) is the
standard rate times the model's own batch discount (batch/standard input, or output for output
types).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from llmaudit.pricing.model import ModelEntry, PricePoint, Rates

__all__ = [
    "COMPONENTS",
    "CostBreakdown",
    "EffectiveRates",
    "Usage",
    "cost_breakdown",
    "effective_rates",
]

MILLION = Decimal(1_000_000)
# Per-token components, in display order, with the rate name each one uses.
COMPONENTS = ("input", "cache_read", "cache_write_5m", "cache_write_1h", "output", "reasoning",
              "per_request", "per_search")


@dataclass(frozen=True)
class Usage:
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0
    reasoning_tokens: int = 0
    requests: int = 1
    web_search_requests: int = 0

    def quantities(self) -> dict[str, int]:
        """Billable quantity per component (see the module docstring)."""
        return {
            "input": self.input_tokens - self.cache_read_tokens - self.cache_write_tokens,
            "cache_read": self.cache_read_tokens,
            "cache_write_5m": self.cache_write_tokens - self.cache_write_1h_tokens,
            "cache_write_1h": self.cache_write_1h_tokens,
            "output": self.output_tokens - self.reasoning_tokens,
            "reasoning": self.reasoning_tokens,
            "per_request": self.requests,
            "per_search": self.web_search_requests,
        }

    def validate(self) -> str | None:
        """A reason the counts are inconsistent, or None."""
        for name, value in vars(self).items():
            if value < 0:
                return f"{name} is negative"
        if self.cache_read_tokens + self.cache_write_tokens > self.input_tokens:
            return "cache_read_tokens + cache_write_tokens exceed input_tokens"
        if self.cache_write_1h_tokens > self.cache_write_tokens:
            return "cache_write_1h_tokens exceed cache_write_tokens"
        if self.reasoning_tokens > self.output_tokens:
            return "reasoning_tokens exceed output_tokens"
        return None


@dataclass(frozen=True)
class EffectiveRates:
    """Per-component rates (USD per 1M tokens; per call for per_request/per_search) after fallbacks.

    ``None`` = no rate, which only matters when the component has a non-zero quantity.
    """

    rates: dict[str, Decimal | None]
    tier_threshold: int | None
    batch: bool


_CACHE_RATES = ("cache_read", "cache_write_5m", "cache_write_1h")


def _pick(rates: Rates, tier: Rates | None, name: str) -> Decimal | None:
    if tier is not None and getattr(tier, name) is not None:
        return getattr(tier, name)  # type: ignore[no-any-return]
    base: Decimal | None = getattr(rates, name)
    if tier is not None and name in _CACHE_RATES and base is not None and tier.input and rates.input:
        # A tier that reprices input but lists no rate for this cache type: cache multipliers stack
        # on the tier's input (Anthropic's 1-hour write above 200k is 2x the $6 tier input, not the
        # base $6), so scale the base cache rate by the tier's input ratio.
        return base * tier.input / rates.input
    return base


def effective_rates(point: PricePoint, *, batch: bool = False, prompt_tokens: int = 0) -> EffectiveRates:
    tier = None
    for candidate in point.long_context:
        if prompt_tokens > candidate.threshold_tokens:
            tier = candidate
    tier_rates = tier.rates if tier else None
    base = point.rates

    def std(name: str) -> Decimal | None:
        return _pick(base, tier_rates, name)

    inp, out = std("input"), std("output")
    cache_read = std("cache_read")
    cache_5m = std("cache_write_5m")
    cache_1h = std("cache_write_1h")
    reasoning = std("reasoning")
    if batch:
        def ratio(batch_rate: Decimal | None, rate: Decimal | None) -> Decimal | None:
            return batch_rate / rate if batch_rate is not None and rate else None

        r_in = ratio(base.input_batch, base.input)
        r_out = ratio(base.output_batch, base.output)

        def batched(std_name: str, batch_name: str | None, factor: Decimal | None) -> Decimal | None:
            # A published batch rate wins (the tier's, then the base's when the tier does not
            # reprice this type); otherwise the standard rate times the model's batch discount.
            if batch_name and tier_rates is not None and getattr(tier_rates, batch_name) is not None:
                return getattr(tier_rates, batch_name)  # type: ignore[no-any-return]
            tier_std = getattr(tier_rates, std_name) if tier_rates is not None else None
            if batch_name and tier_std is None and getattr(base, batch_name) is not None:
                return getattr(base, batch_name)  # type: ignore[no-any-return]
            rate = std(std_name)
            return None if rate is None or factor is None else rate * factor

        inp = batched("input", "input_batch", r_in)
        out = batched("output", "output_batch", r_out)
        cache_read = batched("cache_read", "cache_read_batch", r_in) if cache_read is not None else None
        cache_5m = batched("cache_write_5m", "cache_write_batch", r_in) if cache_5m is not None else None
        cache_1h = batched("cache_write_1h", None, r_in) if cache_1h is not None else None
        reasoning = batched("reasoning", None, r_out) if reasoning is not None else None
    # LiteLLM fallbacks: absent cache rates bill as input; absent 1h write as the 5m write.
    if cache_read is None:
        cache_read = inp
    if cache_5m is None:
        cache_5m = inp
    if cache_1h is None:
        cache_1h = cache_5m
    if reasoning is None:
        reasoning = out
    rates: dict[str, Decimal | None] = {
        "input": inp,
        "cache_read": cache_read,
        "cache_write_5m": cache_5m,
        "cache_write_1h": cache_1h,
        "output": out,
        "reasoning": reasoning,
        "per_request": base.per_request if base.per_request is not None else Decimal(0),
        "per_search": base.per_search,
    }
    return EffectiveRates(rates, tier.threshold_tokens if tier else None, batch)


@dataclass(frozen=True)
class CostBreakdown:
    model: str
    model_id: str | None
    matched_by: str | None
    usage: Usage
    batch: bool
    at: date | None
    price: PricePoint | None
    tier_threshold: int | None
    # component → (quantity, rate, cost); rate/cost None when unknown
    lines: tuple[tuple[str, int, Decimal | None, Decimal | None], ...]
    total: Decimal | None
    status: str  # priced | unknown_model | missing_rate
    missing: tuple[str, ...] = ()


def _line_cost(component: str, quantity: int, rate: Decimal | None) -> Decimal | None:
    if quantity == 0:
        return Decimal(0)
    if rate is None:
        return None
    if component in ("per_request", "per_search"):
        return quantity * rate
    return quantity * rate / MILLION


def price_usage(entry: ModelEntry, usage: Usage, *, at: date | datetime | None = None,
                batch: bool = False) -> tuple[PricePoint | None, EffectiveRates | None,
                                              list[tuple[str, int, Decimal | None, Decimal | None]]]:
    point = entry.price_at(at)
    if point is None:
        return None, None, []
    eff = effective_rates(point, batch=batch, prompt_tokens=usage.input_tokens)
    lines = []
    for component, quantity in usage.quantities().items():
        rate = eff.rates[component]
        lines.append((component, quantity, rate, _line_cost(component, quantity, rate)))
    return point, eff, lines


def cost_breakdown(catalog: object, model: str, usage: Usage, *, at: date | datetime | None = None,
                   batch: bool = False, provider: str | None = None) -> CostBreakdown:
    """Exact cost of ``usage`` on ``model`` at ``at``; unknown model or rate → ``total`` None."""
    from llmaudit.pricing.catalog import Catalog

    assert isinstance(catalog, Catalog)
    day = at.date() if isinstance(at, datetime) else at
    hit = catalog.resolve(model, provider)
    if hit is None:
        return CostBreakdown(model, None, None, usage, batch, day, None, None, (), None, "unknown_model")
    point, eff, lines = price_usage(hit.entry, usage, at=at, batch=batch)
    if point is None or eff is None:
        return CostBreakdown(model, hit.entry.id, hit.matched_by, usage, batch, day, None, None, (), None,
                             "missing_rate", ("input", "output"))
    missing = tuple(c for c, q, _r, cost in lines if cost is None)
    total = None if missing else sum((c for _n, _q, _r, c in lines if c is not None), Decimal(0))
    return CostBreakdown(model, hit.entry.id, hit.matched_by, usage, batch, day, point, eff.tier_threshold,
                         tuple(lines), total, "missing_rate" if missing else "priced", missing)
