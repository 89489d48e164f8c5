"""Check policies: thresholds per model and per prompt category, and one cap on the whole change.

    [check]
    max_cost_increase = "5%"              # everyone
    allowed_max_increase = "8%"           # the sum over all models: "8%" of cost/request or "$500"/month
    [check.policy."category:extraction"]
    max_cost_increase = "10%"             # extraction prompts, every model
    [check.policy."model:openai/gpt-4o"]
    max_token_increase = "20%"

A policy takes the same keys as ``[check]``'s thresholds and refines the global settings (config
and command-line flags) for its scope; a category policy is more specific than a model policy and
applies last. A model's all-prompts row gets its model policy only.

``allowed_max_increase`` (``--allowed-max-increase``) caps the change of the whole check: the
cost per request summed over the models both runs measured (a percentage), or that sum's cost per
month at the declared volume (dollars). It fails above the cap when the sum's intervals are apart
(estimates: always), warns above half of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from llmaudit.analysis.gate.findings import Finding
from llmaudit.analysis.gate.measurement import ALL
from llmaudit.analysis.gate.statistics import Interval
from llmaudit.analysis.gate.thresholds import Band, Thresholds, thresholds_from
from llmaudit.errors import UsageError
from llmaudit.units import parse_fraction, parse_usd

if TYPE_CHECKING:
    from llmaudit.analysis.gate.measurement import Measurement

__all__ = ["OVERALL", "Policies", "policies_from"]

OVERALL = "(all models)"
_NOT_THRESHOLDS = ("baseline", "volume", "models", "comment_mode", "mix", "policy", "allowed_max_increase")


@dataclass(frozen=True)
class Policies:
    base: Thresholds
    models: dict[str, Thresholds] = field(default_factory=dict)
    categories: dict[str, Thresholds] = field(default_factory=dict)
    both: dict[tuple[str, str], Thresholds] = field(default_factory=dict)  # model policy, then category
    overall_pct: Band | None = None
    overall_usd: Band | None = None

    def for_group(self, model: str, category: str) -> Thresholds:
        if category != ALL and (model, category) in self.both:
            return self.both[(model, category)]
        if category != ALL and category in self.categories:
            return self.categories[category]
        return self.models.get(model, self.base)

    def describe(self) -> list[str]:
        scopes = [f"model:{m}" for m in sorted(self.models)] + [f"category:{c}" for c in sorted(self.categories)]
        notes = [f"policies for {', '.join(scopes)} refine the thresholds below"] if scopes else []
        if self.overall_pct is not None:
            notes.append(f"allowed max increase of the summed cost/request: {self.overall_pct.fail:.0%}")
        if self.overall_usd is not None:
            notes.append(f"allowed max increase of the summed cost/month: ${self.overall_usd.fail:,.2f}")
        return notes

    def overall(self, baseline: Measurement, current: Measurement, volume: int | None) -> Finding | None:
        """One finding for the summed cost per request (or per month), or None without a cap."""
        if self.overall_pct is None and self.overall_usd is None:
            return None
        pairs = []
        for model in sorted(set(baseline.models) & set(current.models)):
            b, c = baseline.group(model), current.group(model)
            if b is None or c is None or b.cost_per_request is None or c.cost_per_request is None:
                return Finding(OVERALL, ALL, "cost_per_request", None, None, None, None, "unpriced",
                               f"{model} is unpriced on one side: the total can't be capped")  # fmt: skip
            pairs.append((b.cost_per_request, c.cost_per_request))
        base, cur = _sum([b for b, _ in pairs]), _sum([c for _, c in pairs])
        significant = cur.lo is not None and base.hi is not None and cur.lo > base.hi
        rel = (cur.value - base.value) / base.value if base.value else (math.inf if cur.value > base.value else 0.0)
        status, note = "pass", ""
        if self.overall_usd is not None:
            if volume is None:
                raise UsageError("allowed-max-increase in dollars needs a volume (--volume or [check] volume)")
            delta = (cur.value - base.value) * volume
            status, note = _grade(delta, self.overall_usd, significant, f"${self.overall_usd.fail:,.2f}/month")
            metric, shown_b, shown_c = "monthly_cost", base.value * volume, cur.value * volume
        else:
            assert self.overall_pct is not None
            status, note = _grade(rel, self.overall_pct, significant, f"{self.overall_pct.fail:.0%}")
            metric, shown_b, shown_c = "cost_per_request", base.value, cur.value
        return Finding(OVERALL, ALL, metric, shown_b, shown_c, shown_c - shown_b,
                       None if math.isinf(rel) else rel, status, note, True, cur, base)  # fmt: skip


def _grade(change: float, band: Band, significant: bool, limit: str) -> tuple[str, str]:
    if change > band.fail:
        if significant:
            return "fail", f"over the allowed max increase ({limit}) of all models together"
        return "warn", f"over the allowed max increase ({limit}) but within noise"
    if change > band.warn:
        return "warn", f"over half the allowed max increase ({limit})"
    return "pass", ""


def _sum(intervals: list[Interval]) -> Interval:
    def bound(name: str) -> float | None:
        values = [getattr(iv, name) for iv in intervals]
        return None if any(v is None for v in values) else math.fsum(values)

    value = bound("value")
    return Interval(value or 0.0, bound("lo"), bound("hi"))


def policies_from(section: dict[str, Any], flags: dict[str, Any], config_name: str = "[check]") -> Policies:
    """Global thresholds (config + flags), each policy's refinement, and the overall cap."""
    base = thresholds_from(section, flags, config_name)
    globals_ = {k: v for k, v in section.items() if k not in _NOT_THRESHOLDS}
    globals_.update({k: v for k, v in flags.items() if v is not None and k != "allowed_max_increase"})
    raw = section.get("policy", {})
    if not isinstance(raw, dict):
        raise UsageError(f"{config_name}: policy must be a table of [check.policy.\"category:NAME\"] sections")
    scoped: dict[str, dict[str, dict[str, Any]]] = {"model": {}, "category": {}}
    for scope, keys in raw.items():
        kind, _, name = str(scope).partition(":")
        where = f'[check.policy."{scope}"]'
        if kind not in scoped or not name:
            raise UsageError(f'{where}: name a scope as "category:NAME" or "model:PROVIDER/MODEL"')
        if not isinstance(keys, dict):
            raise UsageError(f"{where}: expected a table of thresholds")
        bad = sorted(set(keys) & set(_NOT_THRESHOLDS))
        if bad:
            raise UsageError(f"{where}: {', '.join(bad)} can't be set per policy")
        scoped[kind][name] = keys
    def build(*scopes: tuple[str, dict[str, Any]]) -> Thresholds:
        merged = dict(globals_)
        for _, keys in scopes:
            merged.update(keys)
        return thresholds_from(merged, {}, " and ".join(f'[check.policy."{s}"]' for s, _ in scopes))

    models = {m: build((f"model:{m}", keys)) for m, keys in scoped["model"].items()}
    categories = {c: build((f"category:{c}", keys)) for c, keys in scoped["category"].items()}
    both = {(m, c): build((f"model:{m}", mk), (f"category:{c}", ck))
            for m, mk in scoped["model"].items() for c, ck in scoped["category"].items()}  # fmt: skip
    cap = flags.get("allowed_max_increase") or section.get("allowed_max_increase")
    overall_pct = overall_usd = None
    if cap is not None:
        what = "allowed-max-increase"
        if str(cap).strip().startswith("$"):
            usd = parse_usd(cap, what)
            overall_usd = Band(usd / 2, usd)
        else:
            frac = parse_fraction(cap, what)
            overall_pct = Band(frac / 2, frac)
    return Policies(base, models, categories, both, overall_pct, overall_usd)
