"""Read LiteLLM's ``model_prices_and_context_window.json`` into catalog records.

LiteLLM prices are floats in USD per token. They are converted exactly through ``repr`` to
``Decimal`` and scaled to USD per 1M tokens (``2.5e-06`` → ``2.5``), so no binary rounding error
enters the catalog. Used both by ``scripts/build_catalog.py`` (the shipped history) and by
``llmaudit pricing import litellm FILE`` (a user overlay).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from llmaudit.errors import PricingError
from llmaudit.pricing.model import Rates, Tier
from llmaudit.pricing.names import PROVIDER_ALIASES

__all__ = ["Record", "canonical_provider_of", "convert", "per_million", "rates_of"]

MILLION = Decimal(1_000_000)

# LiteLLM's ``litellm_provider`` → the catalog's provider id. Anything not listed keeps its name.
_PROVIDER_MAP = {
    "openai": "openai",
    "text-completion-openai": "openai",
    "anthropic": "anthropic",
    "gemini": "google",
    "vertex_ai-language-models": "google",
    "vertex_ai-vision-models": "google",
    "vertex_ai-text-models": "google",
    "vertex_ai-chat-models": "google",
    "vertex_ai-code-text-models": "google",
    "vertex_ai-code-chat-models": "google",
    "vertex_ai-embedding-models": "google",
    "bedrock": "bedrock",
    "bedrock_converse": "bedrock",
    "bedrock_mantle": "bedrock",
    "sagemaker": "sagemaker",
    "azure": "azure",
    "azure_ai": "azure",
    "azure_text": "azure",
    "mistral": "mistral",
    "codestral": "mistral",
    "text-completion-codestral": "mistral",
    "cohere": "cohere",
    "cohere_chat": "cohere",
    "fireworks_ai": "fireworks_ai",
    "fireworks_ai-embedding-models": "fireworks_ai",
    "meta_llama": "meta",
}
# First-party Google entries win over their Vertex copies when both spell the same model.
_KEY_RANK = {"vertex_ai-language-models": 1}
_MODES = {None, "chat", "completion", "responses", "embedding"}

# base LiteLLM field → catalog rate name
_BASE_FIELDS = {
    "input_cost_per_token": "input",
    "output_cost_per_token": "output",
    "cache_read_input_token_cost": "cache_read",
    "cache_creation_input_token_cost": "cache_write_5m",
    "cache_creation_input_token_cost_above_1hr": "cache_write_1h",
}
_BATCH_FIELDS = {
    "input": "input_batch",
    "output": "output_batch",
    "cache_read": "cache_read_batch",
    "cache_write_5m": "cache_write_batch",
}
_TIER_KEY = re.compile(
    r"^(?P<base>input_cost_per_token|output_cost_per_token|cache_read_input_token_cost"
    r"|cache_creation_input_token_cost|cache_creation_input_token_cost_above_1hr)"
    r"_above_(?P<n>\d+)k_tokens(?P<batch>_batches)?$"
)


@dataclass(frozen=True)
class Record:
    """One LiteLLM key, converted."""

    key: str
    provider: str
    name: str
    litellm_provider: str
    rates: Rates
    tiers: tuple[Tier, ...]
    context_window: int | None
    max_output_tokens: int | None
    mode: str | None
    rank: int

    @property
    def id(self) -> str:
        return f"{self.provider}/{self.name}"


def per_million(value: Any, key: str = "") -> Decimal:
    """USD per token (float/int/str) → exact ``Decimal`` USD per 1M tokens."""
    try:
        if isinstance(value, bool):
            raise InvalidOperation
        if isinstance(value, float):
            return Decimal(repr(value)) * MILLION
        return Decimal(str(value)) * MILLION
    except (InvalidOperation, ValueError):
        raise PricingError(f"{key}: not a number: {value!r}") from None


def _per_call(value: Any, key: str) -> Decimal:
    return per_million(value, key) / MILLION


def canonical_provider_of(litellm_provider: str) -> str:
    if litellm_provider in _PROVIDER_MAP:
        return _PROVIDER_MAP[litellm_provider]
    if litellm_provider.startswith("vertex_ai"):
        return "vertex_ai"
    return litellm_provider


def _model_part(key: str, litellm_provider: str, provider: str) -> str:
    head, sep, rest = key.partition("/")
    if sep and rest and (head in (litellm_provider, provider, "vertex_ai")
                         or PROVIDER_ALIASES.get(head) == provider):
        return rest
    return key


def rates_of(spec: dict[str, Any], key: str = "") -> tuple[Rates, tuple[Tier, ...]]:
    """The catalog rates and long-context tiers of one LiteLLM entry."""
    base: dict[str, Decimal] = {}
    for field_name, rate in _BASE_FIELDS.items():
        if isinstance(spec.get(field_name), int | float | str) and spec.get(field_name) is not None:
            base[rate] = per_million(spec[field_name], f"{key}.{field_name}")
        batch_value = spec.get(f"{field_name}_batches")
        if rate in _BATCH_FIELDS and batch_value is not None:
            base[_BATCH_FIELDS[rate]] = per_million(batch_value, f"{key}.{field_name}_batches")
    if "cache_read" not in base and spec.get("input_cost_per_token_cache_hit") is not None:
        base["cache_read"] = per_million(spec["input_cost_per_token_cache_hit"], key)
    if "input_batch" not in base and spec.get("input_cost_per_token_batch_requests") is not None:
        base["input_batch"] = per_million(spec["input_cost_per_token_batch_requests"], key)
    if spec.get("output_cost_per_reasoning_token") is not None:
        base["reasoning"] = per_million(spec["output_cost_per_reasoning_token"], key)
    if spec.get("input_cost_per_request") is not None:
        base["per_request"] = _per_call(spec["input_cost_per_request"], key)
    search = spec.get("search_context_cost_per_query")
    if isinstance(search, dict) and search.get("search_context_size_medium") is not None:
        # LiteLLM bills the medium search-context price per query.
        base["per_search"] = _per_call(search["search_context_size_medium"], key)

    tiers: dict[int, dict[str, Decimal]] = {}
    for field_name, value in spec.items():
        m = _TIER_KEY.match(field_name)
        if not m or value is None:
            continue
        rate = _BASE_FIELDS[m.group("base")]
        if m.group("batch"):
            if rate not in _BATCH_FIELDS:
                continue
            rate = _BATCH_FIELDS[rate]
        tiers.setdefault(int(m.group("n")) * 1000, {})[rate] = per_million(value, f"{key}.{field_name}")
    for band in spec.get("tiered_pricing") or ():
        if not isinstance(band, dict) or "range" not in band:
            continue
        low = int(float(band["range"][0]))
        rates = {_BASE_FIELDS[f]: per_million(band[f], key) for f in _BASE_FIELDS if band.get(f) is not None}
        if low == 0:
            for rate, value in rates.items():
                base.setdefault(rate, value)
        else:
            tiers.setdefault(low, {}).update(rates)
    tier_list = tuple(Tier(threshold, Rates(**values)) for threshold, values in sorted(tiers.items()) if values)
    return Rates(**base), tier_list


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def convert(data: dict[str, Any], *, strict: bool = False) -> list[Record]:
    """Every priced text model of a LiteLLM price JSON (image/audio/video-only entries are skipped)."""
    if not isinstance(data, dict):
        raise PricingError("LiteLLM price JSON must be an object keyed by model name")
    records: list[Record] = []
    for key, spec in data.items():
        if key == "sample_spec" or not isinstance(spec, dict):
            continue
        if spec.get("mode") not in _MODES:
            continue
        if spec.get("input_cost_per_token") is None and spec.get("output_cost_per_token") is None \
                and not spec.get("tiered_pricing"):
            continue
        litellm_provider = str(spec.get("litellm_provider") or "unknown")
        if " " in litellm_provider:
            continue
        try:
            rates, tiers = rates_of(spec, key)
        except PricingError:
            if strict:
                raise
            continue
        provider = canonical_provider_of(litellm_provider)
        name = _model_part(key, litellm_provider, provider)
        records.append(Record(
            key=key,
            provider=provider,
            name=name,
            litellm_provider=litellm_provider,
            rates=rates,
            tiers=tiers,
            context_window=_int_or_none(spec.get("max_input_tokens")),
            max_output_tokens=_int_or_none(spec.get("max_output_tokens") or spec.get("max_tokens")),
            mode=spec.get("mode"),
            rank=_KEY_RANK.get(litellm_provider, 0),
        ))
    return records
