"""Capability tiers: which models can stand in for which, for the routed what-if.

Shipped in ``pricing_data/tiers/capability_tiers.json`` (each entry names its source; the file carries an as-of date)
and overridable in the config file::

    [tiers]
    "openai/gpt-4o" = 2                                   # just the tier
    "mistral/my-finetune" = { tier = 3, source = "our eval, 2026-10" }

Tier 1 is the most capable; "equal or better" means a tier number less than or equal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from llmaudit.config import Config, data_path
from llmaudit.errors import ConfigError, PricingError

__all__ = ["TierInfo", "TierTable", "load_tiers"]


@dataclass(frozen=True)
class TierInfo:
    model: str
    tier: int
    source: str


@dataclass(frozen=True)
class TierTable:
    as_of: date | None
    scale: dict[int, str]
    method: str
    models: dict[str, TierInfo]

    def label(self, tier: int | None) -> str:
        if tier is None:
            return "unknown"
        return self.scale.get(tier, f"tier {tier}")


def load_tiers(config: Config | None = None) -> TierTable:
    path = data_path("pricing_data") / "tiers" / "capability_tiers.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raw = {"tiers": {}}
    except (OSError, json.JSONDecodeError) as exc:
        raise PricingError(f"{path}: cannot read tier list: {exc}") from None
    models: dict[str, TierInfo] = {}
    for name, entry in raw.get("tiers", {}).items():
        models[name] = _info(name, entry, str(path))
    if config is not None:
        for name, entry in config.section("tiers").items():
            models[name] = _info(name, entry, str(config.path or "config"), default_source="config [tiers]")
    as_of = raw.get("as_of")
    return TierTable(
        as_of=date.fromisoformat(as_of) if as_of else None,
        scale={int(k): str(v) for k, v in raw.get("scale", {}).items()},
        method=str(raw.get("method", "")),
        models=models,
    )


def _info(name: str, entry: Any, where: str, default_source: str = "") -> TierInfo:
    if isinstance(entry, bool):
        entry = None
    if isinstance(entry, int):
        return TierInfo(name, entry, default_source)
    if isinstance(entry, dict) and isinstance(entry.get("tier"), int):
        return TierInfo(name, int(entry["tier"]), str(entry.get("source", default_source)))
    error = ConfigError if default_source else PricingError
    raise error(f"{where}: tier for {name!r} must be an integer or {{tier = N, source = \"...\"}}")
