"""Router metrics from the literature, computed on the replay matrix.

* **AIQ** (RouterBench, Hu et al. 2024): the area under the non-decreasing convex hull of a
  router family's (cost, quality) points, divided by the cost range. We compare the category
  router swept over its threshold against the "zero router" (the single models and their
  mixtures) on one common cost range, so the two numbers are comparable.
* **APGR / CPT** (RouteLLM, Ong et al. 2024): between a weak (cheapest) and a strong (best) model,
  PGR = (q − q_weak) / (q_strong − q_weak); APGR is the mean PGR over the share of calls sent to
  the strong model (0…1); CPT(x%) is the share of strong calls needed to recover x% of the gap.
  They apply only when the strong model is strictly better than the weak one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from llmaudit.analysis.routing.crossvalidation import cv_routes_sweep, fold_assignment
from llmaudit.analysis.routing.matrix import Matrix

__all__ = ["RouterMetrics", "aiq", "router_metrics", "upper_hull"]


def upper_hull(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The non-decreasing upper convex hull of (cost, quality) points, by increasing cost."""
    pts = sorted(set(points))
    if not pts:
        return []
    # Keep only points that improve quality as cost grows (a dearer, worse point is never chosen).
    mono: list[tuple[float, float]] = []
    for c, q in pts:
        if mono and q <= mono[-1][1]:
            continue
        mono.append((c, q))
    hull: list[tuple[float, float]] = []
    for p in mono:
        while len(hull) >= 2:
            (x1, y1), (x2, y2) = hull[-2], hull[-1]
            # Drop the middle point when it lies on or below the chord (not concave).
            if (x2 - x1) * (p[1] - y1) - (y2 - y1) * (p[0] - x1) >= 0:
                hull.pop()
            else:
                break
        hull.append(p)
    return hull


def aiq(points: Sequence[tuple[float, float]], c_min: float, c_max: float) -> float | None:
    """Mean of the hull over [c_min, c_max]; the hull is flat after its last point and 0 before its first."""
    hull = upper_hull(points)
    if not hull or c_max <= c_min:
        return None
    grid = np.linspace(c_min, c_max, 2001)
    xs = np.array([c for c, _ in hull])
    ys = np.array([q for _, q in hull])
    values = np.interp(grid, xs, ys, left=0.0, right=float(ys[-1]))
    values[grid < xs[0]] = 0.0
    return float(_trapz(values, grid) / (c_max - c_min))


@dataclass
class RouterMetrics:
    weak: str | None = None
    strong: str | None = None
    apgr: float | None = None
    cpt: dict[str, float | None] = field(default_factory=dict)  # "50%" -> share of strong calls
    curve: list[tuple[float, float]] = field(default_factory=list)  # (strong share, pass rate)
    aiq_router: float | None = None
    aiq_models: float | None = None
    sweep: list[tuple[float, float, float]] = field(default_factory=list)  # (threshold, cost, pass rate)
    note: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "weak": self.weak,
            "strong": self.strong,
            "apgr": self.apgr,
            "cpt": self.cpt,
            "aiq_category_router": self.aiq_router,
            "aiq_single_models": self.aiq_models,
            "note": self.note,
        }


def _trapz(y: np.ndarray, x: np.ndarray) -> float:
    fn = getattr(np, "trapezoid", None) or getattr(np, "trapz")  # noqa: B009 - numpy < 2 only has trapz
    return float(fn(y, x))


THRESHOLDS = tuple(round(x, 2) for x in np.linspace(0.0, 1.0, 11))


def router_metrics(m: Matrix, k: int = 5, seed: int = 0) -> RouterMetrics:
    cand = m.priced_models()
    res = RouterMetrics()
    if m.n_prompts == 0 or len(cand) < 2:
        res.note = "needs at least two priced models"
        return res
    rows = np.arange(m.n_prompts)
    cost = {j: float(m.cost[:, j].sum()) for j in cand}
    rate = {j: float(m.success[:, j].mean()) for j in cand}
    folds = np.array(fold_assignment(m, k, seed), dtype=int)  # the same for every threshold below

    # AIQ: category router swept over thresholds vs the single models, on one cost range.
    sweep = []
    for t, final in zip(THRESHOLDS, cv_routes_sweep(m, cand, THRESHOLDS, k, seed, folds=folds), strict=True):
        sweep.append((t, float(m.cost[rows, final].sum()), float(m.success[rows, final].mean())))
    res.sweep = sweep
    model_pts = [(cost[j], rate[j]) for j in cand]
    router_pts = [(c, q) for _, c, q in sweep]
    all_costs = [c for c, _ in model_pts + router_pts]
    c_min, c_max = min(all_costs), max(all_costs)
    res.aiq_router = aiq(router_pts, c_min, c_max)
    res.aiq_models = aiq(model_pts, c_min, c_max)

    # APGR / CPT between the cheapest model and the best one.
    weak = min(cand, key=lambda j: (cost[j], -rate[j], m.models[j]))
    strong = max(cand, key=lambda j: (rate[j], -cost[j]))
    res.weak, res.strong = m.models[weak], m.models[strong]
    q_weak, q_strong = rate[weak], rate[strong]
    if q_strong <= q_weak:
        res.note = f"APGR/CPT do not apply: {m.models[strong]} does not pass more prompts than {m.models[weak]}"
        return res
    pair = [weak, strong]
    curve = {(0.0, q_weak), (1.0, q_strong)}
    for final in cv_routes_sweep(m, pair, THRESHOLDS, k, seed, folds=folds):
        curve.add((float((final == strong).mean()), float(m.success[rows, final].mean())))
    pts = sorted(curve)
    # One point per strong share: keep the best quality reached at that share.
    by_share: dict[float, float] = {}
    for s, q in pts:
        by_share[s] = max(q, by_share.get(s, q))
    xs = np.array(sorted(by_share))
    pgr = np.array([(by_share[x] - q_weak) / (q_strong - q_weak) for x in xs])
    grid = np.linspace(0, 1, 1001)
    res.apgr = float(_trapz(np.interp(grid, xs, pgr), grid))
    res.curve = [(float(x), by_share[float(x)]) for x in xs]
    mono = np.maximum.accumulate(pgr)  # RouteLLM reads CPT off the running best
    for target in (0.2, 0.5, 0.8):
        hits = np.flatnonzero(mono >= target - 1e-12)
        if hits.size == 0:
            res.cpt[f"{target:.0%}"] = None
            continue
        i = int(hits[0])
        if i == 0 or mono[i] == mono[i - 1]:
            res.cpt[f"{target:.0%}"] = float(xs[i])
        else:
            frac = (target - mono[i - 1]) / (mono[i] - mono[i - 1])
            res.cpt[f"{target:.0%}"] = float(xs[i - 1] + frac * (xs[i] - xs[i - 1]))
    return res
