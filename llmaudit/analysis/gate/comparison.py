"""Comparison for ``llmaudit check``: hold a measurement against the baseline and grade each metric.

Noise. A metric fails only when it is over the fail threshold *and* the change is not noise: the
current interval's lower bound must sit above the baseline interval's upper bound. Otherwise it is
at worst a warning that says "within noise" (intervals: ``gate.statistics``).

Cost is never guessed: a group with any unpriced request has no cost (``None``), and says so.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING

from llmaudit.analysis.gate.findings import STATUS_ORDER, CheckReport, Finding
from llmaudit.analysis.gate.measurement import ALL, GroupMetrics, Measurement
from llmaudit.analysis.gate.paired import PairedStat, paired_stats
from llmaudit.analysis.gate.statistics import Interval, point_of
from llmaudit.analysis.gate.thresholds import Band, Thresholds
from llmaudit.errors import BaselineError

if TYPE_CHECKING:
    from llmaudit.analysis.gate.policy import Policies

__all__ = ["compare"]


def _rel(cur: float, base: float) -> float | None:
    return None if base == 0 else (cur - base) / base


def _significant_increase(cur: Interval | None, base: Interval | None) -> bool:
    """True when the current interval lies wholly above the baseline interval."""
    if cur is None or base is None or cur.lo is None or base.hi is None:
        return False
    return cur.lo > base.hi


def _significant_decrease(cur: Interval | None, base: Interval | None) -> bool:
    if cur is None or base is None or cur.hi is None or base.lo is None:
        return False
    return cur.hi < base.lo


def _grade_increase(
    cur: Interval, base: Interval, band: Band, *, noisy_hint: str
) -> tuple[str, str, float | None]:
    """Status for a metric where up is bad, using relative change against ``band``."""
    rel = _rel(cur.value, base.value)
    if rel is None:
        rel = math.inf if cur.value > 0 else 0.0
    significant = _significant_increase(cur, base)
    if rel > band.fail:
        if significant:
            return "fail", "", rel
        return "warn", f"over the fail threshold but within noise ({noisy_hint})", rel
    if rel > band.warn:
        return "warn", "" if significant else "within noise", rel
    if rel < -band.warn and _significant_decrease(cur, base):
        return "improved", "", rel
    return "pass", "", rel


def compare(
    baseline: Measurement,
    current: Measurement,
    thresholds: Thresholds,
    *,
    volume: int | None = None,
    baseline_path: str = "",
    notes: list[str] | None = None,
    policies: Policies | None = None,
) -> CheckReport:
    """Hold ``current`` against ``baseline``; never raises for a regression (the CLI decides).
    ``notes``: said first in every output (e.g. which traffic mix weighted the figures; the notes
    that follow from the figures themselves are worded by ``render.check_text.check_notes``);
    ``policies``: thresholds per model and category and a cap on the whole change
    (``analysis.gate.policy``), over ``thresholds`` as the global ones."""
    if baseline.mode != current.mode:
        hint = "--estimate" if baseline.mode == "estimate" else "a replay run directory"
        raise BaselineError(
            f"{baseline_path or 'baseline'}: the baseline was written from a {baseline.mode} run and this check is "
            f"{current.mode}; compare like with like (use {hint}) or rewrite the baseline with --write-baseline"
        )
    volume = volume if volume is not None else current.volume if current.volume is not None else baseline.volume
    findings: list[Finding] = []
    notes = list(notes or [])
    keys = sorted(set(baseline.groups) | set(current.groups), key=lambda k: (k[0], k[1] != ALL, k[1]))
    for key in keys:
        b, c = baseline.groups.get(key), current.groups.get(key)
        if key[1] != ALL and ((key[0], ALL) not in current.groups or (key[0], ALL) not in baseline.groups):
            continue  # the whole model is new or removed: one finding says so
        if c is None and b is not None:
            what = "model" if key[1] == ALL else "category"
            findings.append(
                Finding(key[0], key[1], "model" if key[1] == ALL else "category", None, None, None, None, "removed",
                        f"{what} is in the baseline but not in this run; rewrite the baseline to accept")
            )  # fmt: skip
            continue
        if b is None and c is not None:
            what = "model" if key[1] == ALL else "category"
            if c.cost_per_request is not None:
                now = f"now ${c.cost_per_request.value:.6g}/request"
            elif c.unpriced:
                now = f"unpriced: {c.price_status}"
            else:
                now = "no successful request"
            findings.append(
                Finding(key[0], key[1], "model" if key[1] == ALL else "category", None, None, None, None, "new",
                        f"{what} is not in the baseline; {now}; rewrite the baseline to start tracking it")
            )  # fmt: skip
            continue
        assert b is not None and c is not None
        paired: dict[str, PairedStat] = {}
        # Estimates are deterministic (nothing to test); a measured run is paired prompt by prompt.
        if current.mode == "measured" and key[0] in baseline.prompt_rows and key[0] in current.prompt_rows:
            paired = paired_stats(baseline.prompt_rows[key[0]], current.prompt_rows[key[0]],
                                  None if key[1] == ALL else key[1])  # fmt: skip
        t = policies.for_group(*key) if policies is not None else thresholds
        findings.extend(_compare_group(b, c, t, volume if key[1] == ALL else None, paired))
    if policies is not None:
        notes.extend(policies.describe())
        total = policies.overall(baseline, current, volume)
        if total is not None:
            findings.append(total)

    status = "pass"
    worst = max((STATUS_ORDER.get(f.status, 0) for f in findings), default=0)
    if worst == 2:
        status = "fail"
    elif worst == 1:
        status = "warn"
    return CheckReport(
        status=status,
        findings=findings,
        notes=notes,
        volume=volume,
        thresholds=thresholds,
        baseline=baseline,
        current=current,
        baseline_path=baseline_path,
    )


def _compare_group(
    b: GroupMetrics, c: GroupMetrics, t: Thresholds, volume: int | None, paired: dict[str, PairedStat]
) -> list[Finding]:
    out: list[Finding] = []
    model, cat = c.model, c.category
    noisy = "add repeats to narrow the interval"

    def numeric(metric: str, bi: Interval | None, ci: Interval | None, band: Band, exact: bool) -> Finding:
        if bi is None and ci is None:
            return Finding(model, cat, metric, None, None, None, None, "n/a", "not measured on either side", exact)
        if ci is None or bi is None:
            side = "this run" if ci is None else "the baseline"
            return Finding(model, cat, metric, point_of(bi), point_of(ci), None, None, "warn",
                           f"not measured in {side}", exact, ci, bi)  # fmt: skip
        # The paired bootstrap is reported, not decisive: prompts are the fixed population and
        # the repeat spread (the interval) is the noise; resampling prompts would hide a change
        # confined to a few of them. Pass rate is different: McNemar decides it (``_pass_rate``).
        status, note, rel = _grade_increase(ci, bi, band, noisy_hint=noisy)
        return Finding(model, cat, metric, bi.value, ci.value, ci.value - bi.value,
                       None if math.isinf(rel or 0) else rel, status, note, exact, ci, bi,
                       paired=paired.get(metric))  # fmt: skip

    out.append(numeric("input_tokens", b.input_tokens, c.input_tokens, t.tokens, c.input_exact and b.input_exact))
    out.append(numeric("output_tokens", b.output_tokens, c.output_tokens, t.tokens, True))

    exact_cost = c.input_exact and b.input_exact
    # An unpriced model is one fact: counted once, on its all-prompts row.
    per_category = cat != ALL
    if c.cost_per_request is None and c.unpriced:
        out.append(Finding(model, cat, "cost_per_request", point_of(b.cost_per_request), None, None, None, "unpriced",
                           f"{c.unpriced} unpriced request(s) ({c.price_status})", exact_cost,
                           derived=per_category))
    elif b.cost_per_request is None and b.unpriced:
        out.append(Finding(model, cat, "cost_per_request", None, point_of(c.cost_per_request), None, None, "unpriced",
                           f"unpriced in the baseline ({b.price_status})", exact_cost, derived=per_category))
    else:
        out.append(numeric("cost_per_request", b.cost_per_request, c.cost_per_request, t.cost, exact_cost))
    cost = out[-1]

    if volume is not None and cost.baseline is not None and cost.current is not None:
        bm, cm = cost.baseline * volume, cost.current * volume
        status, note, derived = cost.status, "", True
        delta = cm - bm
        if t.monthly is not None and cost.status not in ("improved",):
            significant = cost.status == "fail" or _significant_increase(cost.current_ci, cost.baseline_ci)
            if delta > t.monthly.fail and significant:
                status, note, derived = "fail", f"over the ${t.monthly.fail:,.0f}/month limit", cost.status == "fail"
            elif delta > t.monthly.warn and STATUS_ORDER.get(status, 0) < 1:
                status, note, derived = "warn", f"over the ${t.monthly.warn:,.0f}/month warning level", False
        out.append(Finding(model, cat, "monthly_cost", bm, cm, delta, _rel(cm, bm), status, note, exact_cost,
                           cost.current_ci, cost.baseline_ci, derived=derived))  # fmt: skip

    if c.p95_latency_ms is None and b.p95_latency_ms is not None:
        # Cached replays (--offline) and estimates have no latency: nothing to hold against the
        # baseline, which is not a regression; the row stays visible as n/a.
        out.append(Finding(model, cat, "p95_latency_ms", b.p95_latency_ms.value, None, None, None, "n/a",
                           "no latency in this run (cached or estimated responses)", True, None, b.p95_latency_ms))
    else:
        out.append(numeric("p95_latency_ms", b.p95_latency_ms, c.p95_latency_ms, t.p95, True))
    p95 = out[-1]
    if p95.status in ("warn", "fail") and c.p95_latency_ms is not None and c.p95_latency_ms.hi is None:
        out[-1] = replace(p95, note=_join(p95.note, f"n={c.latency_n} is too few for a bounded p95"))
    out.append(_pass_rate(b, c, t, paired.get("pass_rate")))
    if c.goodput is not None or b.goodput is not None:
        out.append(_goodput_finding(b, c, t))
    # Metrics neither side measured (latency and pass rate in estimate mode) are not checks.
    return [f for f in out if not (f.status == "n/a" and f.baseline is None and f.current is None)]


def _pass_rate(b: GroupMetrics, c: GroupMetrics, t: Thresholds, paired: PairedStat | None = None) -> Finding:
    model, cat = c.model, c.category
    bi, ci = b.pass_rate, c.pass_rate
    if ci is None:
        status = "n/a" if bi is None else "warn"
        return Finding(model, cat, "pass_rate", point_of(bi), None, None, None, status,
                       "no checks in this run" if bi is not None else "no checks", True, None, bi)  # fmt: skip
    status, notes = "pass", []
    floor = t.min_pass_rate
    if floor is not None:
        assert ci.hi is not None and ci.lo is not None
        if ci.hi < floor.fail:
            status = "fail"
            notes.append(f"below the {floor.fail:.0%} floor ({c.passed}/{c.checked})")
        elif ci.value < floor.fail:
            status = "warn"
            notes.append(f"below the {floor.fail:.0%} floor but within noise (n={c.checked})")
        elif ci.value < floor.warn:
            status = "warn"
            notes.append(f"below the {floor.warn:.0%} warning level")
    delta = None
    if bi is not None:
        delta = ci.value - bi.value
        drop = -delta
        # McNemar over the shared prompts sees a drop the two Wilson intervals, taken as
        # independent samples, would still call noise
        significant = _significant_decrease(ci, bi) or (paired is not None and paired.worse)
        if drop > t.pass_drop.fail and significant:
            status = "fail"
            notes.append(f"dropped {drop * 100:.1f} points")
        elif drop > t.pass_drop.warn and STATUS_ORDER[status] < 1:
            status = "warn"
            notes.append(f"dropped {drop * 100:.1f} points" + ("" if significant else ", within noise"))
        elif -drop > t.pass_drop.warn and _significant_increase(ci, bi) and status == "pass":
            status = "improved"
    return Finding(model, cat, "pass_rate", point_of(bi), ci.value, delta, None, status, "; ".join(notes), True, ci, bi,
                   paired=paired)


def _goodput_finding(b: GroupMetrics, c: GroupMetrics, t: Thresholds) -> Finding:
    """Goodput against its floor (``--min-goodput``): fails only when the Wilson interval's top is
    below it, so a handful of requests cannot fail a build on noise."""
    model, cat = c.model, c.category
    bi, ci = b.goodput, c.goodput
    if ci is None:
        return Finding(model, cat, "goodput", point_of(bi), None, None, None, "warn",
                       "no goodput in this run (pass --slo, and send requests rather than read the cache)", True,
                       None, bi)
    status, note = "pass", ""
    floor = t.min_goodput
    if floor is not None:
        assert ci.hi is not None
        if ci.hi < floor.fail:
            status, note = "fail", f"below the {floor.fail:.0%} floor ({c.good}/{c.slo_sent} met the SLO)"
        elif ci.value < floor.fail:
            status, note = "warn", f"below the {floor.fail:.0%} floor but within noise (n={c.slo_sent})"
        elif ci.value < floor.warn:
            status, note = "warn", f"below the {floor.warn:.0%} warning level"
    delta = ci.value - bi.value if bi is not None else None
    return Finding(model, cat, "goodput", point_of(bi), ci.value, delta, None, status, note, True, ci, bi)


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)
