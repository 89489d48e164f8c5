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

How a request was served changes its rates (``Conditions``):

* service tier: ``flex`` / ``priority`` (``service_tier``) and ``fast`` (``speed``) bill at the
  price point's own ``ServiceRates`` of that name, with the same fallbacks inside the tier as for
  standard (and its own long-context tiers, none when it lists none); per-call fees the tier does
  not list are the base ones. A tier the price point has no rates for makes the cost unknown
  (``missing_rate``, missing ``service_tier:NAME``), never the standard price. ``batch`` (or
  ``batch`` true) is the batch path above; every other name (standard, default, auto, scale,
  on_demand, null, or one we do not know) bills at standard rates.
* data residency: every token rate times the point's multiplier for ``inference_geo`` (×1 when the
  geo is absent or not in the point's table).
* off-peak: a single request (``requests == 1``) whose UTC minute of day falls in one of the point's
  off-peak windows has every token rate times that window's multiplier.
* long-context tiers apply to ONE request (DESIGN §4.3). A row standing for several requests (or an
  unknown number) is billed at the tier its source's window label names (``context_tier``, e.g.
  Anthropic's ``"200k-1M"``), else at base rates; when some request of it could have passed a
  threshold it is flagged ``tier_undetermined``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation

from llmaudit.pricing.model import SERVICE_TIERS, ModelEntry, PricePoint, Rates, Tier
from llmaudit.usage import Usage

__all__ = [
    "COMPONENTS",
    "MODES",
    "Conditions",
    "CostBreakdown",
    "EffectiveRates",
    "context_bounds",
    "cost_breakdown",
    "effective_rates",
    "geo_key",
    "is_fast",
    "mode_tiers",
    "off_peak_multiplier",
    "residency_multiplier",
    "service_mode",
    "tier_undetermined",
    "tier_window",
    "utc_minute",
]

MILLION = Decimal(1_000_000)
# Per-token components, in display order, with the rate name each one uses.
COMPONENTS = ("input", "cache_read", "cache_write_5m", "cache_write_1h", "output", "reasoning",
              "per_request", "per_search")
TOKEN_COMPONENTS = COMPONENTS[:6]  # the ones residency and off-peak multipliers scale
# The rate sets a request can be billed at, in the vectorized grid's order.
MODES = ("standard", "batch", *SERVICE_TIERS)


@dataclass(frozen=True)
class Conditions:
    """How a request was served, beyond its token counts: the usage columns of the same names."""

    service_tier: str | None = None  # standard | batch | flex | priority | scale | ...; None = standard
    speed: str | None = None  # "fast" (Anthropic fast mode) or None
    inference_geo: str | None = None  # data residency, e.g. "us"
    context_tier: str | None = None  # the source's long-context window label of an aggregated row

    def to_json(self) -> dict[str, str | None]:
        return {"service_tier": self.service_tier, "speed": self.speed, "inference_geo": self.inference_geo,
                "context_tier": self.context_tier}


def _name(value: str | None) -> str:
    return (value or "").strip().lower()


def is_fast(speed: str | None) -> bool:
    return _name(speed) == "fast"


def service_mode(service_tier: str | None, speed: str | None = None, batch: bool = False) -> str:
    """The rate set (one of ``MODES``) a request is billed at.

    Batch wins (a batch row keeps ``batch`` true whatever else it says), then fast mode, then a
    service tier with rates of its own. Every other name, including ones we do not know, is billed
    at standard rates: standard, default, auto, scale and on_demand are all list price.
    """
    name = _name(service_tier)
    if batch or name == "batch":
        return "batch"
    if is_fast(speed):
        return "fast"
    return name if name in SERVICE_TIERS else "standard"


def geo_key(geo: str | None) -> str:
    return _name(geo)


def residency_multiplier(point: PricePoint, geo: str | None) -> Decimal:
    """The point's multiplier for an ``inference_geo``; 1 when the geo is absent or not in its table."""
    key = geo_key(geo)
    if key:
        for name, multiplier in point.residency:
            if geo_key(name) == key:
                return multiplier
    return Decimal(1)


def off_peak_multiplier(point: PricePoint, minute: int | None) -> Decimal:
    """The multiplier of the first off-peak window covering ``minute`` (UTC minute of day); 1 when
    none does or the minute is unknown (an aggregated row, a date without a time)."""
    if minute is not None:
        for window in point.off_peak:
            if window.covers(minute):
                return window.multiplier
    return Decimal(1)


def utc_minute(at: date | datetime | None) -> int | None:
    """The UTC minute of day of a timestamp (naive ones are UTC, as in the schema); None for a date."""
    if not isinstance(at, datetime):
        return None
    if at.tzinfo is not None:
        at = at.astimezone(UTC)
    return at.hour * 60 + at.minute


_SIZE = r"(\d+(?:\.\d+)?)\s*([km]?)"
_RANGE = re.compile(rf"^{_SIZE}\s*[-–]\s*{_SIZE}$")
_ABOVE = re.compile(rf"^(?:>\s*=?\s*{_SIZE}|{_SIZE}\s*\+)$")
_UNITS = {"": 1, "k": 1_000, "m": 1_000_000}


def _tokens(number: str, unit: str) -> int:
    return int(Decimal(number) * _UNITS[unit])


def context_bounds(label: str | None) -> tuple[int, int | None] | None:
    """A source's long-context window label as (lower, upper) prompt sizes, upper None when open:
    ``"0-200k"`` → (0, 200000), ``"200k-1M"`` → (200000, 1000000), ``">200k"`` → (200000, None).
    None when there is no label or it is not one we can read."""
    text = _name(label)
    if not text:
        return None
    try:
        if m := _RANGE.match(text):
            return _tokens(m[1], m[2]), _tokens(m[3], m[4])
        if m := _ABOVE.match(text):
            return (_tokens(m[1], m[2]) if m[1] else _tokens(m[3], m[4])), None
    except InvalidOperation:
        return None
    return None


def tier_window(input_tokens: int, requests: int | None, context_tier: str | None) -> tuple[int, int]:
    """The prompt size that picks a row's long-context tier, and the largest prompt one of its
    requests could have had (0 for a single request, whose tier is known).

    A threshold applies to ONE request, so the total of a row standing for several (or an unknown
    number) says nothing about any of them. Its source's window label decides: every request in
    "200k-1M" had more than 200k, so the lower bound + 1 picks the tier. Without a label: base rates.
    """
    if requests == 1:
        return input_tokens, 0
    lo, hi = context_bounds(context_tier) or (0, None)
    return lo + 1, input_tokens if hi is None else min(hi, input_tokens)


def tier_undetermined(tiers: tuple[Tier, ...], prompt: int, cap: int) -> bool:
    """Whether some request of the row could have been billed at another tier than ``prompt``
    picks: a threshold at or above ``prompt`` (not applied) that a request of up to ``cap`` could pass."""
    return any(prompt <= t.threshold_tokens < cap for t in tiers)


def mode_tiers(point: PricePoint, mode: str) -> tuple[Tier, ...] | None:
    """The long-context tiers of a rate set; None when the point has no rates for that service tier."""
    if mode in SERVICE_TIERS:
        own = point.service(mode)
        return None if own is None else own.long_context
    return point.long_context


@dataclass(frozen=True)
class EffectiveRates:
    """Per-component rates (USD per 1M tokens; per call for per_request/per_search) after fallbacks.

    ``None`` = no rate, which only matters when the component has a non-zero quantity, unless
    ``missing`` names a whole rate set the point lacks (``service_tier:flex``): then the cost is
    unknown whatever the quantities.
    """

    rates: dict[str, Decimal | None]
    tier_threshold: int | None
    batch: bool
    service: str = "standard"  # one of MODES
    residency: Decimal = Decimal(1)
    off_peak: Decimal = Decimal(1)
    missing: str | None = None
    tier_undetermined: bool = False


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


def _token_rates(base: Rates, tier_rates: Rates | None, batch: bool) -> dict[str, Decimal | None]:
    """The six token rates of one rate set (standard or a service tier's) at one long-context tier."""

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
    return {"input": inp, "cache_read": cache_read, "cache_write_5m": cache_5m, "cache_write_1h": cache_1h,
            "output": out, "reasoning": reasoning}


def effective_rates(point: PricePoint, *, batch: bool = False, prompt_tokens: int = 0, service: str | None = None,
                    residency: Decimal = Decimal(1), off_peak: Decimal = Decimal(1)) -> EffectiveRates:
    """The rates one request is billed at on ``point``.

    ``service``: one of ``MODES`` (``service_mode`` maps a row's columns to it; ``batch`` true is
    ``"batch"``). ``prompt_tokens`` picks the long-context tier of that rate set (strictly above a
    threshold). ``residency`` and ``off_peak`` multiply every token rate, not the per-call fees.
    """
    mode = "batch" if batch or service == "batch" else (service or "standard")
    tiers = mode_tiers(point, mode)
    if tiers is None:
        # The point publishes no rates for this service tier: unknown, never the standard price.
        return EffectiveRates(dict.fromkeys(COMPONENTS), None, False, mode, residency, off_peak,
                              f"service_tier:{mode}")
    own = point.service(mode)
    base = own.rates if own is not None else point.rates
    tier = None
    for candidate in tiers:
        if prompt_tokens > candidate.threshold_tokens:
            tier = candidate
    rates = _token_rates(base, tier.rates if tier else None, mode == "batch")
    multiplier = residency * off_peak
    if multiplier != 1:
        rates = {name: None if rate is None else rate * multiplier for name, rate in rates.items()}
    # Per-call fees do not depend on the service tier unless it lists its own.
    per_request = base.per_request if base.per_request is not None else point.rates.per_request
    rates["per_request"] = per_request if per_request is not None else Decimal(0)
    rates["per_search"] = base.per_search if base.per_search is not None else point.rates.per_search
    return EffectiveRates(rates, tier.threshold_tokens if tier else None, mode == "batch", mode, residency, off_peak)


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
    conditions: Conditions = Conditions()
    service: str = "standard"  # the rate set billed: one of MODES
    residency: Decimal = Decimal(1)  # multipliers applied to every token rate
    off_peak: Decimal = Decimal(1)
    # Several requests, no window label, and one of them could have passed a threshold: billed at
    # base rates, the tier is not determinable (DESIGN §4.3).
    tier_undetermined: bool = False


def _line_cost(component: str, quantity: int, rate: Decimal | None) -> Decimal | None:
    if quantity == 0:
        return Decimal(0)
    if rate is None:
        return None
    if component in ("per_request", "per_search"):
        return quantity * rate
    return quantity * rate / MILLION


def price_usage(entry: ModelEntry, usage: Usage, *, at: date | datetime | None = None, batch: bool = False,
                conditions: Conditions | None = None) -> tuple[PricePoint | None, EffectiveRates | None,
                                                               list[tuple[str, int, Decimal | None, Decimal | None]]]:
    point = entry.price_at(at)
    if point is None:
        return None, None, []
    cond = conditions or Conditions()
    mode = service_mode(cond.service_tier, cond.speed, batch)
    prompt, cap = tier_window(usage.input_tokens, usage.requests, cond.context_tier)
    # Off-peak is a time of day: only a single request has one (a bucket's timestamp is its start).
    minute = utc_minute(at) if usage.requests == 1 else None
    eff = effective_rates(point, service=mode, prompt_tokens=prompt,
                          residency=residency_multiplier(point, cond.inference_geo),
                          off_peak=off_peak_multiplier(point, minute))
    tiers = mode_tiers(point, mode)
    if tiers and tier_undetermined(tiers, prompt, cap):
        eff = EffectiveRates(eff.rates, eff.tier_threshold, eff.batch, eff.service, eff.residency, eff.off_peak,
                             eff.missing, True)
    lines = []
    for component, quantity in usage.quantities().items():
        rate = eff.rates[component]
        lines.append((component, quantity, rate, _line_cost(component, quantity, rate)))
    return point, eff, lines


def cost_breakdown(catalog: object, model: str, usage: Usage, *, at: date | datetime | None = None,
                   batch: bool = False, provider: str | None = None,
                   conditions: Conditions | None = None) -> CostBreakdown:
    """Exact cost of ``usage`` on ``model`` at ``at``; unknown model or rate → ``total`` None.

    ``at`` is a date or a timestamp (a timestamp also places a single request in or out of an
    off-peak window); ``conditions`` says how the request was served (service tier, fast mode, data
    residency, the source's long-context window label).
    """
    from llmaudit.pricing.catalog import Catalog

    assert isinstance(catalog, Catalog)
    cond = conditions or Conditions()
    day = at.date() if isinstance(at, datetime) else at
    hit = catalog.resolve(model, provider)
    if hit is None:
        return CostBreakdown(model, None, None, usage, batch, day, None, None, (), None, "unknown_model",
                             conditions=cond)
    point, eff, lines = price_usage(hit.entry, usage, at=at, batch=batch, conditions=cond)
    if point is None or eff is None:
        return CostBreakdown(model, hit.entry.id, hit.matched_by, usage, batch, day, None, None, (), None,
                             "missing_rate", ("input", "output"), conditions=cond)
    missing = (eff.missing,) if eff.missing else tuple(c for c, q, _r, cost in lines if cost is None)
    total = None if missing else sum((c for _n, _q, _r, c in lines if c is not None), Decimal(0))
    return CostBreakdown(model, hit.entry.id, hit.matched_by, usage, eff.batch, day, point, eff.tier_threshold,
                         tuple(lines), total, "missing_rate" if missing else "priced", missing, cond, eff.service,
                         eff.residency, eff.off_peak, eff.tier_undetermined)
