"""Paired tests for ``llmaudit check``: baseline and candidate ran the same prompts.

Comparing two independent intervals throws away the pairing: a prompt that is hard stays hard on
both sides, so the prompt-to-prompt spread cancels out of the per-prompt difference. Two tests:

* pass/fail per prompt: McNemar's test on the discordant prompts (passed before and fails now,
  ``losses``; failed before and passes now, ``wins``). Under no change a discordant prompt is
  equally likely to go either way, so ``losses ~ Binomial(losses + wins, 1/2)``. The p-value is
  one-sided, in the direction of the change (a gate asks "is it worse?", and a one-sided test at
  5% is what bounds false failures at 5%); exact (binomial) up to ``EXACT_LIMIT`` discordant
  prompts, the continuity-corrected normal approximation beyond.
* a number per prompt (cost, tokens, latency): a paired bootstrap of the mean difference,
  resampling prompts with a fixed seed so a CI run is reproducible; the interval is the 2.5th and
  97.5th percentile, the p-value the share of resampled means at or beyond zero (one-sided too).

Both return a ``PairedStat``: the effect (candidate - baseline), its 95% interval and p-value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = [
    "BOOTSTRAP_SEED",
    "EXACT_LIMIT",
    "PAIRED_FIELDS",
    "PairedStat",
    "PromptRow",
    "build_prompt_rows",
    "mcnemar",
    "mcnemar_p",
    "paired_bootstrap",
    "paired_stats",
    "read_prompt_rows",
]

EXACT_LIMIT = 100
BOOTSTRAP_SEED = 20240601
BOOTSTRAP_RESAMPLES = 2000
ALPHA = 0.05


@dataclass(frozen=True)
class PairedStat:
    """Effect of the candidate over the baseline on the prompts both ran."""

    method: str  # "mcnemar-exact" | "mcnemar-normal" | "paired-bootstrap"
    n: int  # prompts in both runs
    effect: float  # mean(candidate - baseline); pass rate in points as a fraction (-0.05 = -5 points)
    lo: float
    hi: float
    p_value: float  # one-sided, in the direction of ``effect``
    losses: int | None = None  # McNemar: passed before, fail now
    wins: int | None = None  # McNemar: failed before, pass now

    @property
    def worse(self) -> bool:
        """Significant at 5% in the bad direction (up for cost, tokens, latency; down for pass rate)."""
        if self.p_value >= ALPHA:
            return False
        return self.effect < 0 if self.method.startswith("mcnemar") else self.effect > 0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "method": self.method,
            "n": self.n,
            "effect": _num(self.effect),
            "lo": _num(self.lo),
            "hi": _num(self.hi),
            "p_value": _num(self.p_value),
        }
        if self.losses is not None:
            out["losses"] = self.losses
            out["wins"] = self.wins
        return out


def mcnemar_p(losses: int, wins: int) -> tuple[float, str]:
    """One-sided McNemar p-value in the direction of the change, and the method used: the
    chance of a split at least this lopsided (``max(losses, wins)`` or more of the discordant
    prompts on one side) when either way is equally likely."""
    n = losses + wins
    if n == 0:
        return 1.0, "mcnemar-exact"
    k = max(losses, wins)
    if n <= EXACT_LIMIT:
        return math.fsum(math.comb(n, i) for i in range(k, n + 1)) / 2**n, "mcnemar-exact"
    z = max(0.0, abs(losses - wins) - 1) / math.sqrt(n)
    return 0.5 * math.erfc(z / math.sqrt(2)), "mcnemar-normal"


def mcnemar(before: list[bool], after: list[bool]) -> PairedStat:
    """McNemar's test on paired pass/fail outcomes; the effect is the change of pass rate with a
    Wald interval for a paired difference of proportions."""
    n = len(before)
    if n == 0 or n != len(after):
        raise ValueError("mcnemar needs two equally long, non-empty lists")
    losses = sum(1 for b, a in zip(before, after, strict=True) if b and not a)
    wins = sum(1 for b, a in zip(before, after, strict=True) if a and not b)
    p, method = mcnemar_p(losses, wins)
    effect = (wins - losses) / n
    var = max(0.0, (wins + losses) / n - effect**2) / n
    half = 1.959963984540054 * math.sqrt(var)
    return PairedStat(method, n, effect, effect - half, effect + half, p, losses, wins)


def paired_bootstrap(
    before: list[float], after: list[float], *, seed: int = BOOTSTRAP_SEED, resamples: int = BOOTSTRAP_RESAMPLES
) -> PairedStat:
    """Paired bootstrap of mean(after - before) over prompts."""
    import numpy as np

    n = len(before)
    if n == 0 or n != len(after):
        raise ValueError("paired_bootstrap needs two equally long, non-empty lists")
    diff = np.asarray(after, dtype=float) - np.asarray(before, dtype=float)
    effect = float(diff.mean())
    if not diff.any():  # identical on every prompt: nothing to resample
        return PairedStat("paired-bootstrap", n, 0.0, 0.0, 0.0, 1.0)
    rng = np.random.default_rng(seed)
    # in blocks of about a million indices, so 50,000 prompts don't need an 800 MB index matrix
    block = max(1, 1_000_000 // n)
    means = np.concatenate([diff[rng.integers(0, n, size=(min(block, resamples - start), n))].mean(axis=1)
                            for start in range(0, resamples, block)])  # fmt: skip
    lo, hi = (float(x) for x in np.quantile(means, [0.025, 0.975]))
    # share of resampled means at or beyond zero, on the side opposite the effect
    far = float(np.mean(means <= 0)) if effect > 0 else float(np.mean(means >= 0))
    p = min(1.0, max(far, 1 / (resamples + 1)))
    return PairedStat("paired-bootstrap", n, effect, lo, hi, p)


def _num(x: float) -> float | None:
    return float(f"{x:.6g}") if math.isfinite(x) else None


# ---------------------------------------------------------------------------------------------
# Per-prompt rows: what a measurement keeps so the next run can be paired with it


@dataclass(frozen=True)
class PromptRow:
    """One prompt of one model: its category and the mean of each metric over its repeats."""

    category: str
    passed: bool | None  # a majority of its checked repeats passed; None: no check
    input_tokens: float | None
    output_tokens: float | None
    cost_usd: float | None
    latency_ms: float | None  # live responses only (cached ones have no latency)

    def to_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "passed": self.passed,
            "input_tokens": _num_opt(self.input_tokens),
            "output_tokens": _num_opt(self.output_tokens),
            "cost_usd": _num_opt(self.cost_usd, 12),
            "latency_ms": _num_opt(self.latency_ms),
        }


# metric key in a check → PromptRow field
PAIRED_FIELDS = {
    "input_tokens": "input_tokens",
    "output_tokens": "output_tokens",
    "cost_per_request": "cost_usd",
    "p95_latency_ms": "latency_ms",
}


def paired_stats(
    before: dict[str, PromptRow], after: dict[str, PromptRow], category: str | None
) -> dict[str, PairedStat]:
    """Paired tests per metric over the prompts both sides ran (of ``category``; None = all)."""
    common = sorted(pid for pid in set(before) & set(after) if category is None or before[pid].category == category)
    stats: dict[str, PairedStat] = {}
    checked = [p for p in common if before[p].passed is not None and after[p].passed is not None]
    if checked:
        stats["pass_rate"] = mcnemar([bool(before[p].passed) for p in checked],
                                     [bool(after[p].passed) for p in checked])  # fmt: skip
    for metric, name in PAIRED_FIELDS.items():
        pairs = [(getattr(before[p], name), getattr(after[p], name)) for p in common]
        pairs = [(b, a) for b, a in pairs if b is not None and a is not None]
        if len(pairs) >= 2:
            stats[metric] = paired_bootstrap([b for b, _ in pairs], [a for _, a in pairs])
    return stats


def _num_opt(x: float | None, digits: int = 9) -> float | None:
    return None if x is None or not math.isfinite(x) else float(f"{x:.{digits}g}")


def build_prompt_rows(cols: dict[str, list[Any]], categories: list[str]) -> dict[str, dict[str, PromptRow]]:
    """Per model and prompt id, the means over repeats of a results table's columns (``cols`` as
    ``regression.measure`` reads them; ``categories`` the category of each row as it groups them)."""
    from collections import defaultdict

    acc: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, (model, pid) in enumerate(zip(cols["model"], cols["prompt_id"], strict=True)):
        if pid is not None:
            acc[(str(model), str(pid))].append(i)
    out: dict[str, dict[str, PromptRow]] = defaultdict(dict)
    for (model, pid), idx in acc.items():
        ok = [i for i in idx if cols["status"][i] in (None, "ok")]

        def mean(name: str, rows: list[int]) -> float | None:
            vals = [float(cols[name][i]) for i in rows if cols[name][i] is not None]
            # cost: one unpriced repeat leaves the prompt unpriced (unknown is never zero)
            if not vals or (name == "cost_usd" and len(vals) < len(rows)):
                return None
            return math.fsum(vals) / len(vals)

        checks = [bool(cols["passed"][i]) for i in idx if cols["passed"][i] is not None]
        live = [i for i in ok if not cols["cached"][i]]
        out[model][pid] = PromptRow(
            category=categories[idx[0]],
            passed=(2 * sum(checks) > len(checks)) if checks else None,
            input_tokens=mean("input_tokens", ok),
            output_tokens=mean("output_tokens", ok),
            cost_usd=mean("cost_usd", ok),
            latency_ms=mean("latency_ms", live),
        )
    return dict(out)


def read_prompt_rows(data: Any, fail: Any) -> dict[str, PromptRow]:
    """Parse a baseline's ``prompts`` object; ``fail(field, what)`` builds the error to raise."""
    if not isinstance(data, dict):
        raise fail("prompts", "expected an object")
    rows: dict[str, PromptRow] = {}
    for pid, row in data.items():
        if not isinstance(row, dict) or not isinstance(row.get("category"), str):
            raise fail(f"prompts.{pid}", "expected an object with a category")
        passed = row.get("passed")
        if passed is not None and not isinstance(passed, bool):
            raise fail(f"prompts.{pid}.passed", f"expected true, false or null, got {passed!r}")
        values: dict[str, float | None] = {}
        for name in ("input_tokens", "output_tokens", "cost_usd", "latency_ms"):
            v = row.get(name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)):
                raise fail(f"prompts.{pid}.{name}", f"expected a number or null, got {v!r}")
            values[name] = None if v is None else float(v)
        rows[str(pid)] = PromptRow(row["category"], passed, **values)
    return rows
