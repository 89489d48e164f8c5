"""RouterArena's metrics (Lu et al., "RouterArena", arXiv:2510.00202, ICLR 2026) for each strategy.

* **Arena score**: accuracy A and cost c (USD per 1,000 queries) combined as RouterArena's
  leaderboard does (``router_evaluation/compute_scores.py``, Apache-2.0, read at commit 4714a9a):
  C = (log2 c_max − log2 c) / (log2 c_max − log2 c_min) with c_max = 200 and c_min = 0.0044, and
  S = (1 + β)·A·C / (β·A + C) with β = 0.1. The cost is clamped to [c_min, c_max] (outside it the
  formula leaves 0…1 or divides by zero); a strategy whose cost is unknown has no score.
* **Closeness to the oracle** (the cheapest passing model per prompt): the share of prompts where
  the strategy ends on the oracle's model, how much more it pays (cost / oracle cost − 1) and how
  much less often it passes (oracle pass rate − its pass rate). RouterArena reports optimal
  selection, cost and accuracy ratios; its repository does not publish their code, so these are
  llmaudit's own definitions of the same three ideas, stated here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["ARENA_BETA", "ARENA_C_MAX", "ARENA_C_MIN", "Closeness", "arena_score", "closeness"]

ARENA_BETA = 0.1
ARENA_C_MAX = 200.0     # USD per 1,000 queries
ARENA_C_MIN = 0.0044


def arena_score(cost_per_1k: float | None, accuracy: float) -> float | None:
    """RouterArena's leaderboard score of a router with this cost per 1,000 queries and accuracy."""
    if cost_per_1k is None or math.isnan(cost_per_1k):
        return None
    c = min(max(cost_per_1k, ARENA_C_MIN), ARENA_C_MAX)
    norm = (math.log2(ARENA_C_MAX) - math.log2(c)) / (math.log2(ARENA_C_MAX) - math.log2(ARENA_C_MIN))
    denom = ARENA_BETA * accuracy + norm
    return 0.0 if denom == 0 else (1 + ARENA_BETA) * accuracy * norm / denom


@dataclass(frozen=True)
class Closeness:
    optimal_share: float          # prompts where the strategy ends on the oracle's model
    cost_gap: float | None        # strategy cost / oracle cost − 1 (None: a cost unknown, or the oracle's is 0)
    accuracy_gap: float           # oracle pass rate − the strategy's


def closeness(final: np.ndarray, oracle_final: np.ndarray, cost: float | None, oracle_cost: float | None,
              pass_rate: float, oracle_pass_rate: float) -> Closeness:
    n = len(final)
    share = float((final == oracle_final).mean()) if n else 0.0
    gap = None if cost is None or not oracle_cost else cost / oracle_cost - 1
    return Closeness(share, gap, oracle_pass_rate - pass_rate)
