"""Thresholds of ``llmaudit check``: warn and fail bands from the ``[check]`` config and the flags."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from llmaudit.errors import UsageError
from llmaudit.units import parse_fraction, parse_usd

__all__ = ["Band", "Thresholds", "thresholds_from"]


@dataclass(frozen=True)
class Band:
    """Warn above ``warn``, fail above ``fail`` (fractions: 0.05 = 5%)."""

    warn: float
    fail: float


@dataclass(frozen=True)
class Thresholds:
    cost: Band = Band(0.05, 0.10)  # relative increase of cost per request
    tokens: Band = Band(0.05, 0.10)  # relative increase of input or output tokens per request
    p95: Band = Band(0.10, 0.25)  # relative increase of p95 latency
    pass_drop: Band = Band(0.02, 0.05)  # absolute drop of pass rate (0.05 = five points)
    min_pass_rate: Band | None = None  # absolute floor: warn below .warn, fail below .fail
    monthly: Band | None = None  # absolute USD increase of cost per month at the declared volume
    min_goodput: Band | None = None  # absolute floor on goodput, like min_pass_rate

    def to_dict(self) -> dict[str, Any]:
        def band(b: Band | None) -> dict[str, float] | None:
            return None if b is None else {"warn": b.warn, "fail": b.fail}

        return {
            "cost_increase": band(self.cost),
            "token_increase": band(self.tokens),
            "p95_increase": band(self.p95),
            "pass_rate_drop": band(self.pass_drop),
            "min_pass_rate": band(self.min_pass_rate),
            "monthly_increase_usd": band(self.monthly),
            "min_goodput": band(self.min_goodput),
        }


_CONFIG_KEYS = {
    "baseline", "volume", "models", "comment_mode", "mix", "policy", "allowed_max_increase",
    "max_cost_increase", "warn_cost_increase", "max_token_increase", "warn_token_increase",
    "max_p95_increase", "warn_p95_increase", "max_pass_rate_drop", "warn_pass_rate_drop",
    "min_pass_rate", "warn_pass_rate", "max_monthly_increase", "warn_monthly_increase",
    "slo", "min_goodput", "warn_goodput",
}  # fmt: skip


def _band(fail: Any, warn: Any, default: Band, parse: Callable[[Any], float], *, floor: bool = False) -> Band:
    """Combine a fail and a warn value; an unset warn sits at half the fail threshold (or, for a
    floor, five points above it), an unset fail stays at the default but never below warn."""
    f = parse(fail) if fail is not None else None
    w = parse(warn) if warn is not None else None
    if f is None and w is None:
        return default
    if floor:
        f_val = f if f is not None else w
        assert f_val is not None
        w_val = w if w is not None else min(1.0, f_val + 0.05)
        return Band(max(w_val, f_val), f_val)
    f_val = f if f is not None else max(default.fail, w if w is not None else 0.0)
    w_val = w if w is not None else f_val / 2
    return Band(min(w_val, f_val), f_val)


def thresholds_from(config: dict[str, Any], flags: dict[str, Any], config_name: str = "[check]") -> Thresholds:
    """Thresholds from the ``[check]`` config section overridden by command-line flags.

    Keys (config) / flags: ``max_cost_increase`` / ``--max-cost-increase`` (and ``warn_…``),
    ``max_token_increase``, ``max_p95_increase``, ``max_pass_rate_drop``, ``min_pass_rate`` (and
    ``warn_pass_rate``), ``max_monthly_increase`` (dollars). Flags win over config.
    """
    unknown = sorted(set(config) - _CONFIG_KEYS)
    if unknown:
        allowed = ", ".join(sorted(_CONFIG_KEYS))
        raise UsageError(f"{config_name}: unknown key(s) {', '.join(unknown)}; allowed: {allowed}")
    merged = {**config, **{k: v for k, v in flags.items() if v is not None}}

    def pct(key: str) -> Any:
        return lambda v: parse_fraction(v, key.replace("_", "-"))

    def rate(key: str) -> Any:
        return lambda v: parse_fraction(v, key.replace("_", "-"), rate=True)

    base = Thresholds()
    monthly = None
    if merged.get("max_monthly_increase") is not None or merged.get("warn_monthly_increase") is not None:
        monthly = _band(
            merged.get("max_monthly_increase"),
            merged.get("warn_monthly_increase"),
            Band(math.inf, math.inf),
            lambda v: parse_usd(v, "max-monthly-increase"),
        )
    floor = None
    if merged.get("min_pass_rate") is not None or merged.get("warn_pass_rate") is not None:
        floor = _band(merged.get("min_pass_rate"), merged.get("warn_pass_rate"), Band(0.0, 0.0),
                      rate("min_pass_rate"), floor=True)  # fmt: skip
    goodput_floor = None
    if merged.get("min_goodput") is not None or merged.get("warn_goodput") is not None:
        goodput_floor = _band(merged.get("min_goodput"), merged.get("warn_goodput"), Band(0.0, 0.0),
                              rate("min_goodput"), floor=True)
    return Thresholds(
        cost=_band(merged.get("max_cost_increase"), merged.get("warn_cost_increase"), base.cost,
                   pct("max_cost_increase")),
        tokens=_band(merged.get("max_token_increase"), merged.get("warn_token_increase"), base.tokens,
                     pct("max_token_increase")),
        p95=_band(merged.get("max_p95_increase"), merged.get("warn_p95_increase"), base.p95,
                  pct("max_p95_increase")),
        pass_drop=_band(merged.get("max_pass_rate_drop"), merged.get("warn_pass_rate_drop"), base.pass_drop,
                        rate("max_pass_rate_drop")),
        min_pass_rate=floor,
        monthly=monthly,
        min_goodput=goodput_floor,
    )  # fmt: skip
