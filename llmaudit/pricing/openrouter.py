"""Read OpenRouter's ``/api/v1/models`` JSON (formats.md §B8) into catalog records."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from llmaudit.errors import PricingError
from llmaudit.pricing.litellm import MILLION, Record
from llmaudit.pricing.model import Rates, Tier

__all__ = ["convert"]

# OpenRouter pricing field → catalog rate (per token → per 1M tokens)
_TOKEN_FIELDS = {
    "prompt": "input",
    "completion": "output",
    "input_cache_read": "cache_read",
    "input_cache_write": "cache_write_5m",
    "input_cache_write_1h": "cache_write_1h",
    "internal_reasoning": "reasoning",
}
_CALL_FIELDS = {"request": "per_request", "web_search": "per_search"}


def _dec(value: Any, where: str) -> Decimal:
    if isinstance(value, bool):
        raise PricingError(f"{where}: not a price: {value!r}")
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise PricingError(f"{where}: not a price: {value!r}") from None
    if not result.is_finite():
        raise PricingError(f"{where}: not a price: {value!r}")
    return result


def _rates(pricing: dict[str, Any], where: str, discount: Decimal) -> dict[str, Decimal]:
    rates: dict[str, Decimal] = {}
    for name, rate in _TOKEN_FIELDS.items():
        if pricing.get(name) not in (None, "") and _dec(pricing[name], f"{where}.{name}") >= 0:
            # "-1" is OpenRouter's placeholder for routers (openrouter/auto): the price of whatever
            # model serves the request, so no price at all here, never -$1,000,000 per 1M.
            rates[rate] = _dec(pricing[name], f"{where}.{name}") * MILLION * discount
    for name, rate in _CALL_FIELDS.items():
        if pricing.get(name) not in (None, "") and _dec(pricing[name], f"{where}.{name}") >= 0:
            value = _dec(pricing[name], f"{where}.{name}") * discount
            if value != 0 or name == "request":
                rates[rate] = value
    if rates.get("per_request") == 0:
        del rates["per_request"]
    if rates.get("reasoning") == 0 and rates.get("output"):
        # "0" here means "billed as output" rather than "free".
        del rates["reasoning"]
    return rates


def convert(data: Any, where: str = "openrouter", skipped: list[str] | None = None) -> list[Record]:
    """Records for every model of an OpenRouter models listing (``{"data": [...]}`` or a list).

    Models without a usable price (routers' ``-1`` placeholders, $0 listings that are not ``:free``)
    are left out and, when ``skipped`` is given, named there with the reason."""
    models = data.get("data") if isinstance(data, dict) else data
    if not isinstance(models, list):
        raise PricingError(f"{where}: expected {{\"data\": [...]}} as returned by /api/v1/models")
    records = []
    for index, model in enumerate(models):
        item = f"{where}: data[{index}]"
        if not isinstance(model, dict) or not isinstance(model.get("id"), str):
            raise PricingError(f"{item}: each model needs a string \"id\"")
        pricing = model.get("pricing")
        if not isinstance(pricing, dict):
            raise PricingError(f"{item} ({model['id']}): missing \"pricing\" object")
        discount = Decimal(1) - _dec(pricing.get("discount") or 0, f"{item}.pricing.discount")
        base = _rates(pricing, f"{item}.pricing", discount)
        if "input" not in base and "output" not in base:
            if skipped is not None:
                skipped.append(f"{model['id']}: no price (router placeholder)")
            continue
        if not base.get("input") and not base.get("output") and not str(model["id"]).endswith(":free"):
            # A $0 price counts only where OpenRouter says the model is free (a ":free" variant).
            if skipped is not None:
                skipped.append(f"{model['id']}: $0 listing that is not a :free variant")
            continue
        tiers = []
        for k, over in enumerate(pricing.get("overrides") or model.get("pricing_overrides") or ()):
            if not isinstance(over, dict) or "min_prompt_tokens" not in over:
                continue
            # "min_prompt_tokens": N applies from N on; catalog tiers apply above their threshold.
            threshold = int(_dec(over["min_prompt_tokens"], f"{item}.pricing.overrides[{k}]")) - 1
            tiers.append(Tier(threshold, Rates(**_rates(over, f"{item}.pricing.overrides[{k}]", discount))))
        top_value = model.get("top_provider")
        top: dict[str, Any] = top_value if isinstance(top_value, dict) else {}
        context = model.get("context_length") or top.get("context_length")
        records.append(Record(
            key=model["id"],
            provider="openrouter",
            name=model["id"],
            litellm_provider="openrouter",
            rates=Rates(**base),
            tiers=tuple(sorted(tiers, key=lambda t: t.threshold_tokens)),
            context_window=int(context) if context else None,
            max_output_tokens=int(top["max_completion_tokens"]) if top.get("max_completion_tokens") else None,
            mode="chat",
            rank=0,
        ))
    return records
