"""Read LiteLLM's ``model_prices_and_context_window.json`` into catalog records.

LiteLLM prices are floats in USD per token. They are converted exactly through ``repr`` to
``Decimal`` and scaled to USD per 1M tokens (``2.5e-06`` → ``2.5``), so no binary rounding error
enters the catalog. Used both by ``scripts/build_catalog.py`` (the shipped history) and by
``llmaudit pricing import litellm FILE`` (a user overlay).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from llmaudit.errors import PricingError
from llmaudit.pricing.model import OffPeak, Rates, ServiceRates, Tier
from llmaudit.pricing.names import PROVIDER_ALIASES

__all__ = ["Record", "canonical_provider_of", "convert", "per_million", "rates_of"]

MILLION = Decimal(1_000_000)
# LiteLLM stores USD per token as binary floats; ``repr`` of a float sum such as 2.9999900000000002e-06
# carries noise past the 15th digit. Twelve significant digits keep every published price exact
# (no vendor prices below a tenth of a micro-dollar per token) and drop the noise, so a snapshot
# that only re-serialized a float shows no phantom change.
_SIGNIFICANT = 12
# LiteLLM's per-token suffixes for service tiers → the catalog's tier names. OpenAI's "ultrafast" is
# its fast tier; Anthropic's fast mode has no LiteLLM rates of its own (``supports_fast_mode`` only).
_SERVICE_SUFFIXES = {"_flex": "flex", "_priority": "priority", "_ultrafast": "fast"}

# LiteLLM's ``litellm_provider`` → the catalog's provider id. Anything not listed keeps its name:
# ``bedrock_mantle`` (Bedrock's OpenAI-compatible endpoint, priced 10% above Bedrock for the same
# model ids) keeps its own, or its keys would share Bedrock's ids and one price would win.
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
    "sagemaker": "sagemaker",
    "azure": "azure",
    # Azure AI Foundry (azure_ai) sells other makers' models at its own prices; Azure OpenAI is "azure".
    "azure_ai": "azure_ai",
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
# Providers whose LiteLLM cost code bills an absent cache-read rate at a share of the input rate
# rather than at the input rate: Fireworks bills cached prompt tokens at 50% of input
# (litellm/llms/fireworks_ai/cache_pricing.py, FIREWORKS_AI_DEFAULT_CACHE_READ_RATE_RATIO).
_DEFAULT_CACHE_READ_SHARE = {"fireworks_ai": Decimal("0.5")}
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
    services: tuple[ServiceRates, ...] = ()
    off_peak: tuple[OffPeak, ...] = ()
    deprecation_date: str | None = None
    alias_of: str | None = None
    placeholders: tuple[str, ...] = ()  # fields dropped as placeholders (negative, -1)
    residency: tuple[tuple[str, Decimal], ...] = ()  # inference_geo → multiplier of every token rate

    @property
    def id(self) -> str:
        return f"{self.provider}/{self.name}"


def _round_sig(value: Decimal) -> Decimal:
    if not value:
        return Decimal(0)
    exponent = value.adjusted() - _SIGNIFICANT + 1
    return value.quantize(Decimal(1).scaleb(exponent)).normalize()


def per_million(value: Any, key: str = "") -> Decimal:
    """USD per token (float/int/str) → exact ``Decimal`` USD per 1M tokens (float noise dropped)."""
    try:
        if isinstance(value, bool):
            raise InvalidOperation
        text = repr(value) if isinstance(value, float) else str(value)
        result = Decimal(text)
        if not result.is_finite():
            raise InvalidOperation
        return _round_sig(result * MILLION)
    except (InvalidOperation, ValueError):
        raise PricingError(f"{key}: not a number: {value!r}") from None


def _placeholder(value: Any) -> bool:
    """Negative prices (OpenRouter's and LiteLLM's ``-1`` for "depends on the routed model") are
    missing prices, never numbers."""
    return isinstance(value, int | float) and not isinstance(value, bool) and value < 0


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


def _clean(spec: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    dropped = tuple(sorted(k for k, v in spec.items() if _placeholder(v)))
    if not dropped:
        return spec, ()
    return {k: v for k, v in spec.items() if k not in dropped}, dropped


def _service_specs(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{"flex": {"input_cost_per_token": …, "…_above_272k_tokens": …}, …}`` from suffixed keys."""
    found: dict[str, dict[str, Any]] = {}
    for field_name, value in spec.items():
        for suffix, tier in _SERVICE_SUFFIXES.items():
            if field_name.endswith(suffix) and value is not None:
                found.setdefault(tier, {})[field_name[: -len(suffix)]] = value
    return found


def services_of(spec: dict[str, Any], key: str = "") -> tuple[ServiceRates, ...]:
    """Flex / priority / fast rates of one LiteLLM entry (each with its own long-context tiers)."""
    out = []
    for name, sub in sorted(_service_specs(spec).items()):
        if sub.get("input_cost_per_token") is None and sub.get("output_cost_per_token") is None:
            continue
        rates, tiers = rates_of(sub, f"{key}[{name}]")
        out.append(ServiceRates(name, rates, tiers))
    return tuple(out)


def off_peak_of(spec: dict[str, Any]) -> tuple[OffPeak, ...]:
    """DeepSeek-style ``off_peak_pricing``: absolute rates in daily UTC windows, as multipliers of the
    standard input rate (LiteLLM lists every off-peak rate at the same ratio)."""
    data = spec.get("off_peak_pricing")
    base = spec.get("input_cost_per_token")
    if not isinstance(data, dict) or not base or data.get("input_cost_per_token") is None:
        return ()
    multiplier = _round_sig(Decimal(repr(float(data["input_cost_per_token"]))) / Decimal(repr(float(base))))
    if not 0 < multiplier < 1:
        # An "off-peak" rate above the standard one (LiteLLM's OpenRouter copy of a DeepSeek key lists
        # DeepSeek's own rates against OpenRouter's lower base) is inconsistent data, not a discount.
        return ()
    offset = 480 if data.get("weekday_timezone") == "Asia/Shanghai" else 0
    windows = []
    for window in data.get("windows") or ():
        hours = window.get("hours_utc")
        for span in [hours] if isinstance(hours, str) else hours or ():
            start, _, end = str(span).partition("-")
            windows.append(OffPeak(start, end, multiplier, _weekdays(window.get("weekdays")), offset))
    return tuple(windows)


_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _weekdays(values: Any) -> tuple[int, ...]:
    """ISO weekday numbers from LiteLLM's list (numbers 1-7, or names such as "saturday")."""
    days = []
    for value in values or ():
        text = str(value).strip().lower()
        if text.isdigit() and 1 <= int(text) <= 7:
            days.append(int(text))
        elif text[:3] in (d[:3] for d in _DAY_NAMES):
            days.append([d[:3] for d in _DAY_NAMES].index(text[:3]) + 1)
    return tuple(sorted(set(days)))


def rates_of(spec: dict[str, Any], key: str = "") -> tuple[Rates, tuple[Tier, ...]]:
    """The catalog rates and long-context tiers of one LiteLLM entry."""
    spec, _ = _clean(spec)
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
    bands = [b for b in spec.get("tiered_pricing") or () if isinstance(b, dict) and "range" in b]
    # LiteLLM bills reasoning at the band's own reasoning rate, else at the band's output rate.
    band_reasoning = any(b.get("output_cost_per_reasoning_token") is not None for b in bands)
    for band in bands:
        low = int(float(band["range"][0]))
        rates = {_BASE_FIELDS[f]: per_million(band[f], key) for f in _BASE_FIELDS if band.get(f) is not None}
        if band.get("output_cost_per_reasoning_token") is not None:
            rates["reasoning"] = per_million(band["output_cost_per_reasoning_token"], key)
        elif band_reasoning and "output" in rates:
            rates["reasoning"] = rates["output"]
        if low == 0:
            for rate, value in rates.items():
                base.setdefault(rate, value)
        else:
            tiers.setdefault(low, {}).update(rates)
    share = _DEFAULT_CACHE_READ_SHARE.get(str(spec.get("litellm_provider")))
    if share is not None and "cache_read" not in base and base.get("input") is not None:
        base["cache_read"] = base["input"] * share
    tier_list = tuple(Tier(threshold, Rates(**values)) for threshold, values in sorted(tiers.items()) if values)
    return Rates(**base), tier_list


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def _expand_aliases(data: dict[str, Any]) -> list[tuple[str, Any, str | None]]:
    """``(key, spec, alias_of)`` for every key, alias rows served as their owner's spec.

    LiteLLM (1.110+) spells a moving name as a pointer row, ``"claude-opus-latest": {"alias_of":
    "claude-opus-5-5"}``, and an owner may list ``"aliases": [...]``; its loader serves each alias
    with the owner's prices (``get_model_cost_map._expand_model_aliases``). As there, an alias
    that is also a real key, an alias claimed twice, or a pointer to a missing key or to another
    pointer is skipped; list claims come first.
    """
    pointers = {k: v["alias_of"] for k, v in data.items() if isinstance(v, dict) and isinstance(v.get("alias_of"), str)}
    owners: dict[str, str] = {}
    for key, spec in data.items():
        if key in pointers or not isinstance(spec, dict) or not isinstance(spec.get("aliases"), list):
            continue
        for alias in spec["aliases"]:
            if isinstance(alias, str) and not (alias in data and alias not in pointers) and alias not in owners:
                owners[alias] = key
    for alias, target in pointers.items():
        if alias not in owners and isinstance(data.get(target), dict) and target not in pointers:
            owners[alias] = target
    out: list[tuple[str, Any, str | None]] = [(k, v, None) for k, v in data.items() if k not in pointers]
    out += [(alias, data[owner], owner) for alias, owner in owners.items()]
    return out


def convert(data: dict[str, Any], *, strict: bool = False) -> list[Record]:
    """Every priced text model of a LiteLLM price JSON (image/audio/video-only entries are skipped).

    Alias rows (``alias_of``, ``aliases``) become records of their own with the owner's prices.
    """
    if not isinstance(data, dict):
        raise PricingError("LiteLLM price JSON must be an object keyed by model name")
    records: list[Record] = []
    for key, spec, alias_of in _expand_aliases(data):
        if key == "sample_spec" or not isinstance(spec, dict):
            continue
        if spec.get("mode") not in _MODES:
            continue
        spec, dropped = _clean(spec)
        if spec.get("input_cost_per_token") is None and spec.get("output_cost_per_token") is None \
                and not spec.get("tiered_pricing"):
            continue
        litellm_provider = str(spec.get("litellm_provider") or "unknown")
        if " " in litellm_provider:
            continue
        try:
            rates, tiers = rates_of(spec, key)
            services = services_of(spec, key)
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
            services=services,
            off_peak=off_peak_of(spec),
            deprecation_date=str(spec["deprecation_date"]) if spec.get("deprecation_date") else None,
            alias_of=alias_of,
            placeholders=dropped,
            residency=_residency_of(spec),
        ))
        services_scale = _fast_multiplier(spec)
        if services_scale is not None and not any(s.name == "fast" for s in services):
            records[-1] = replace(records[-1], services=(*services, _scaled_service("fast", rates, tiers,
                                                                                     services_scale)))
    return _fold_modes(records)


def _residency_of(spec: dict[str, Any]) -> tuple[tuple[str, Decimal], ...]:
    """``provider_specific_entry: {"us": 1.1}`` (LiteLLM 1.9x+): Anthropic's US-only inference
    (``inference_geo: "us"``) bills every token rate at 1.1x."""
    entry = spec.get("provider_specific_entry")
    if not isinstance(entry, dict) or not isinstance(entry.get("us"), int | float) or isinstance(entry["us"], bool):
        return ()
    return (("us", _round_sig(Decimal(repr(float(entry["us"]))))),) if entry["us"] > 0 else ()


def _fast_multiplier(spec: dict[str, Any]) -> Decimal | None:
    entry = spec.get("provider_specific_entry")
    value = entry.get("fast") if isinstance(entry, dict) else None
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return _round_sig(Decimal(repr(float(value))))
    return None


def _scaled_service(name: str, rates: Rates, tiers: tuple[Tier, ...], factor: Decimal) -> ServiceRates:
    def scale(r: Rates) -> Rates:
        return Rates(**{k: (_round_sig(v * factor) if k in _TOKEN_RATE_NAMES and v is not None else v)
                        for k, v in vars(r).items()})

    return ServiceRates(name, scale(rates), tuple(Tier(t.threshold_tokens, scale(t.rates)) for t in tiers))


_TOKEN_RATE_NAMES = ("input", "output", "cache_read", "cache_write_5m", "cache_write_1h", "reasoning")


def _fold_modes(records: list[Record]) -> list[Record]:
    """LiteLLM spelled Anthropic's fast mode and US-only inference as keys of their own
    (``fast/claude-opus-4-6``, ``us/claude-opus-4-6``, ``fast/us/…``; 2026). They are the same model
    billed with a modifier: fold them into the model's record as its ``fast`` service tier and its
    ``us`` residency multiplier, instead of pricing a model named "fast/…"."""
    by_key = {r.key: i for i, r in enumerate(records)}
    drop: set[int] = set()
    out = list(records)
    for i, rec in enumerate(records):
        head, _, rest = rec.key.partition("/")
        if head not in ("fast", "us") or rest not in by_key:
            continue
        drop.add(i)
        if rest.startswith("us/"):
            continue  # fast/us/…: the product of the two modifiers
        j = by_key[rest]
        base = out[j]
        if head == "fast" and not any(s.name == "fast" for s in base.services):
            # A tier cheaper than the fast base rate is a copy of the standard tier (LiteLLM
            # 1.81): keep only tiers that are not below the fast price.
            tiers = tuple(t for t in rec.tiers if (t.rates.input or 0) >= (rec.rates.input or 0))
            out[j] = replace(base, services=(*base.services, ServiceRates("fast", rec.rates, tiers)))
        elif head == "us" and not base.residency and base.rates.input and rec.rates.input:
            out[j] = replace(base, residency=(("us", _round_sig(rec.rates.input / base.rates.input)),))
    return [r for i, r in enumerate(out) if i not in drop]
