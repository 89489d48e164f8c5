"""The category router's training: per-category pass rates learned by k-fold cross-validation.

A prompt is always routed by a table fitted on *other* prompts (its category's folds without it), so it
is never scored on its own training data. ``strategies.category_router`` and ``routermetrics`` read
the routes chosen here."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from llmaudit.analysis.routing.matrix import Matrix

__all__ = ["EPS", "CategoryFold", "cv_routes", "cv_routes_sweep", "fold_assignment"]

EPS = 1e-12


@dataclass(frozen=True)
class CategoryFold:
    fold: int
    train: frozenset[str]
    test: frozenset[str]
    choice: dict[str, str]  # category -> model chosen from the training prompts


def fold_assignment(m: Matrix, k: int, seed: int = 0) -> list[int]:
    """Fold per prompt, stratified by category: each category is shuffled and dealt round-robin."""
    k = max(1, min(k, m.n_prompts))
    rng = random.Random(seed)
    folds = [0] * m.n_prompts
    by_cat: dict[str, list[int]] = {}
    for i, cat in enumerate(m.categories):
        by_cat.setdefault(cat, []).append(i)
    offset = 0
    for cat in sorted(by_cat):
        idx = sorted(by_cat[cat], key=lambda i: m.prompts[i])
        rng.shuffle(idx)
        for pos, i in enumerate(idx):
            folds[i] = (offset + pos) % k
        offset += len(idx)  # keep small categories from all landing in fold 0
    return folds


def _train_stats(m: Matrix, train: np.ndarray, cand: Sequence[int]) -> tuple[dict[int, float], dict[int, float]]:
    """Pass rate and mean cost of each candidate over the training prompts."""
    cols = list(cand)
    pick = np.ix_(np.asarray(cols, dtype=np.intp), np.asarray(train))
    # Each model's row is reduced on its own, contiguously: the same sums (and float rounding)
    # as taking each model's column and averaging it.
    rates = dict(zip(cols, map(float, m.success_by_model[pick].mean(axis=1)), strict=True))
    costs = dict(zip(cols, map(float, m.cost_by_model[pick].mean(axis=1)), strict=True))
    return rates, costs


def _pick(m: Matrix, cand: Sequence[int], rates: dict[int, float], costs: dict[int, float], threshold: float) -> int:
    """Cheapest candidate (mean training cost) whose training pass rate reaches the threshold;
    if none does, the one with the highest pass rate (then cheapest)."""
    good = [j for j in cand if rates[j] >= threshold - EPS]
    if good:
        return min(good, key=lambda j: (costs[j], m.models[j]))
    return min(cand, key=lambda j: (-rates[j], costs[j], m.models[j]))


def _choose(m: Matrix, train: np.ndarray, cand: Sequence[int], threshold: float) -> int:
    return _pick(m, cand, *_train_stats(m, train, cand), threshold)


def cv_routes(
    m: Matrix,
    cand: Sequence[int],
    threshold: float,
    k: int,
    seed: int = 0,
    on_fold: Callable[[CategoryFold], None] | None = None,
    folds: np.ndarray | None = None,
) -> np.ndarray:
    """The model index the cross-validated category router picks for each prompt.

    Prompts are split into k folds (stratified by category); each fold is routed by a
    category → model table fitted on the other folds only.
    """
    return cv_routes_sweep(m, cand, [threshold], k, seed, on_fold=on_fold, folds=folds)[0]


def cv_routes_sweep(
    m: Matrix,
    cand: Sequence[int],
    thresholds: Sequence[float],
    k: int,
    seed: int = 0,
    on_fold: Callable[[CategoryFold], None] | None = None,
    folds: np.ndarray | None = None,
) -> list[np.ndarray]:
    """``cv_routes`` for several thresholds at once (``on_fold`` sees the first threshold's choices).

    The folds and each training set's pass rates and costs do not depend on the threshold, so
    they are computed once and only the pick is made per threshold: the same routes as calling
    ``cv_routes`` per threshold, for a fraction of the work. ``folds`` is
    ``fold_assignment(m, k, seed)`` when the caller already has it.
    """
    n = m.n_prompts
    if folds is None:
        folds = np.array(fold_assignment(m, k, seed), dtype=int)
    # Integer category codes: comparing codes is much cheaper than comparing strings per prompt.
    index: dict[str, int] = {}
    codes = np.fromiter((index.setdefault(c, len(index)) for c in m.categories), dtype=np.int64, count=n)
    names = list(index)
    finals = [np.zeros(n, dtype=int) for _ in thresholds]
    for f in np.unique(folds).tolist():
        test_mask = folds == f
        train_mask = ~test_mask
        if train_mask.any():
            stats = _train_stats(m, train_mask, cand)
            overall = [_pick(m, cand, *stats, t) for t in thresholds]
        else:
            # One prompt in all: nothing to learn from, so take the cheapest model by name order.
            overall = [min(cand, key=lambda j: m.models[j])] * len(thresholds)
        choice: dict[str, int] = {}
        for cat in sorted(names[c] for c in np.unique(codes[test_mask]).tolist()):
            is_cat = codes == index[cat]
            in_cat = train_mask & is_cat
            target = test_mask & is_cat
            # A category unseen in training is routed by the pass rates over all training prompts.
            if in_cat.any():
                stats = _train_stats(m, in_cat, cand)
                picks = [_pick(m, cand, *stats, t) for t in thresholds]
            else:
                picks = overall
            for final, pick in zip(finals, picks, strict=True):
                final[target] = pick
            choice[cat] = picks[0]
        if on_fold is not None:
            on_fold(
                CategoryFold(
                    fold=f,
                    train=frozenset(m.prompts[i] for i in np.flatnonzero(train_mask)),
                    test=frozenset(m.prompts[i] for i in np.flatnonzero(test_mask)),
                    choice={c: m.models[j] for c, j in choice.items()},
                )
            )
    return finals
