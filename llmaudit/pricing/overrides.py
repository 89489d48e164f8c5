"""User pricing from the config file: per-model rates, negotiated discounts, aggregator fees.

```toml
[pricing.overrides."openai/gpt-4o"]   # USD per 1M tokens (per call for per_request/per_search)
input = "2.00"
output = "8.00"

[pricing.discounts]                    # percent off every rate; glob on the model id
"anthropic/*" = 15
"openai/gpt-4o" = 20

[fees]                                 # aggregator what-ifs (OpenRouter: 5.5% credits, 5% BYOK)
platform_pct = 5.5
byok_pct = 5
```
Overrides replace the named rates in every dated price of the model (a contract price has no
history in the public sources); a model absent from the catalog is added. The most specific
discount pattern wins (longest pattern).
"""

from __future__ import annotations

import fnmatch
from collections.abc import MutableMapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from llmaudit.config import Config
from llmaudit.errors import ConfigError
from llmaudit.pricing.model import RATE_FIELDS, ModelEntry, PricePoint, Rates, Tier, dec_str

__all__ = ["Fees", "apply_overrides", "fees", "override_entries"]

_DEFAULT_PLATFORM_PCT = Decimal("5.5")
_DEFAULT_BYOK_PCT = Decimal("5")
# OpenRouter's platform fee has a floor per credit purchase (5.5%, at least $0.80).
_DEFAULT_PLATFORM_MIN_USD = Decimal("0.80")
# OpenRouter charges no BYOK fee on a month's first million BYOK requests (formats.md B6:
# BYOK_FEE_MONTHLY_REQUEST_THRESHOLD = '1M').
_DEFAULT_BYOK_FREE_REQUESTS = 1_000_000


@dataclass(frozen=True)
class Fees:
    platform_pct: Decimal = _DEFAULT_PLATFORM_PCT
    byok_pct: Decimal = _DEFAULT_BYOK_PCT
    platform_min_usd: Decimal = _DEFAULT_PLATFORM_MIN_USD
    byok_free_requests: int = _DEFAULT_BYOK_FREE_REQUESTS   # per month, before the BYOK fee applies

    def platform_fee(self, cost: Decimal) -> Decimal:
        return cost * self.platform_pct / 100

    def byok_fee(self, cost: Decimal) -> Decimal:
        return cost * self.byok_pct / 100


# No API lists a token above a few hundred dollars per 1M (per call for fees); a rate beyond this
# is a typo or an attack on the arithmetic (1e308 overflowed Arrow and Decimal: exit 70).
MAX_RATE = Decimal(1_000_000)


def _decimal(value: Any, where: str, *, cap: Decimal | None = None) -> Decimal:
    if isinstance(value, bool):
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        raise ConfigError(f"{where}: expected a number, got {value!r}") from None
    if not result.is_finite() or result < 0:
        raise ConfigError(f"{where}: expected a non-negative number, got {value!r}")
    if cap is not None and result > cap:
        raise ConfigError(f"{where}: {value!r} is not a plausible price (USD per 1M tokens, or per call for "
                          f"per_request/per_search; at most {cap:,})")
    return result


def _pct(value: Any, where: str) -> Decimal:
    pct = _decimal(value, where)
    if pct > 100:
        raise ConfigError(f"{where}: a percentage must be between 0 and 100, got {value!r}")
    return pct


def fees(config: Config | None) -> Fees:
    section = config.section("fees") if config is not None else {}
    where = f"{config.path or 'config'}: [fees]" if config is not None else "[fees]"
    unknown = set(section) - {"platform_pct", "byok_pct", "platform_min_usd", "byok_free_requests"}
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} "
                          "(expected platform_pct, byok_pct, platform_min_usd, byok_free_requests)")
    free = section.get("byok_free_requests", _DEFAULT_BYOK_FREE_REQUESTS)
    if isinstance(free, bool) or not isinstance(free, int) or free < 0:
        raise ConfigError(f"{where} byok_free_requests: expected a whole number of requests, got {free!r}")
    return Fees(
        platform_pct=_pct(section.get("platform_pct", _DEFAULT_PLATFORM_PCT), f"{where} platform_pct"),
        byok_pct=_pct(section.get("byok_pct", _DEFAULT_BYOK_PCT), f"{where} byok_pct"),
        platform_min_usd=_decimal(section.get("platform_min_usd", _DEFAULT_PLATFORM_MIN_USD),
                                  f"{where} platform_min_usd"),
        byok_free_requests=free,
    )


def _scale_point(point: PricePoint, factor: Decimal, note: str) -> PricePoint:
    tiers = tuple(Tier(t.threshold_tokens, t.rates.scaled(factor)) for t in point.long_context)
    services = tuple(replace(s, rates=s.rates.scaled(factor),
                             long_context=tuple(Tier(t.threshold_tokens, t.rates.scaled(factor))
                                                for t in s.long_context))
                     for s in point.service_tiers)
    joined = f"{point.note}; {note}" if point.note else note
    return replace(point, rates=point.rates.scaled(factor), long_context=tiers, service_tiers=services,
                   note=joined)


def apply_overrides(entries: list[ModelEntry], config: Config) -> list[ModelEntry]:
    result = {e.id: e for e in entries}
    override_entries(result, config)
    return list(result.values())


def override_entries(result: MutableMapping[str, ModelEntry], config: Config) -> None:
    """Apply ``[pricing.overrides]`` and ``[pricing.discounts]`` to models keyed by id, in place.

    Only the models an override names or a discount pattern matches are read from ``result`` (the
    lazy catalog builds an entry when it is read); a model an override adds is appended.
    """
    origin = str(config.path or "config")
    overrides = config.section("pricing", "overrides")
    discounts = config.section("pricing", "discounts")
    if not overrides and not discounts:
        return
    by_id = {model_id.lower(): model_id for model_id in result}

    for model_id, spec in overrides.items():
        where = f"{origin}: [pricing.overrides.\"{model_id}\"]"
        if not isinstance(spec, dict):
            raise ConfigError(f"{where} must be a table of rates")
        unknown = set(spec) - set(RATE_FIELDS) - {"context_window", "max_output_tokens"}
        if unknown:
            raise ConfigError(f"{where}: unknown rate(s) {', '.join(sorted(unknown))}; "
                              f"known: {', '.join(RATE_FIELDS)}")
        rates = {k: _decimal(v, f"{where} {k}", cap=MAX_RATE) for k, v in spec.items() if k in RATE_FIELDS}
        if "/" not in model_id:
            raise ConfigError(f"{where}: model ids are 'provider/model', e.g. openai/gpt-4o")
        current_id = by_id.get(model_id.lower())
        source = f"config override ({origin})"
        if current_id is None:
            if "input" not in rates and "output" not in rates:
                raise ConfigError(f"{where}: a model that is not in the catalog needs at least input or output")
            provider, _, name = model_id.partition("/")
            point = PricePoint(date(1970, 1, 1), source, date.today(), Rates(**rates))
            result[model_id] = ModelEntry(model_id, provider, name, (point,), (),
                                          spec.get("context_window"), spec.get("max_output_tokens"), "chat")
            by_id[model_id.lower()] = model_id
            continue
        current = result[current_id]
        points = tuple(
            replace(p, rates=p.rates.patched(**rates), source=f"{p.source} + {source}",
                    note=(f"{p.note}; " if p.note else "") + "rates " + ", ".join(
                        f"{k}={dec_str(v)}" for k, v in rates.items()) + " from config")
            for p in current.prices
        )
        result[current.id] = replace(current, prices=points)
        by_id[current.id.lower()] = current.id

    if discounts:
        parsed = sorted(((str(pattern), _pct(pct, f"{origin}: [pricing.discounts] \"{pattern}\""))
                         for pattern, pct in discounts.items()), key=lambda x: -len(x[0]))
        for model_id in list(result):
            for pattern, pct in parsed:
                if fnmatch.fnmatchcase(model_id.lower(), pattern.lower()):
                    factor = (Decimal(100) - pct) / Decimal(100)
                    note = f"{dec_str(pct)}% discount from config ({pattern})"
                    entry = result[model_id]
                    result[model_id] = replace(entry, prices=tuple(_scale_point(p, factor, note)
                                                                   for p in entry.prices))
                    break
