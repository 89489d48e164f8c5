"""A routing policy to deploy: which model takes which traffic, and what to fall back to.

Two sources:

* a replay run (``policy_from_run``): per prompt category, the cheapest model whose measured pass
  rate in that category reaches the threshold (the category router's rule, fitted on every prompt
  of the run rather than cross-validated: this is the table you deploy), then the other models that
  reach it, cheapest first, with one on another provider when there is one; a default route for
  prompts of no known category, by the same rule over all prompts;
* logs (``policy_from_whatif``): per logged model, the model the routed what-if sent most of its
  traffic to, then its failover alternatives, and finally the logged model itself.

Each route says which rule chose it and on what evidence (pass rate and its 95% Wilson interval,
or the what-if's traffic share), so a reviewer can see why before deploying.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from llmaudit.analysis.common.intervals import wilson

__all__ = ["Policy", "Route", "policy_from_run", "policy_from_whatif"]

_FALLBACKS = 2   # after the primary: enough for resilience, few enough to stay cheap


@dataclass(frozen=True)
class Route:
    name: str                      # a name gateways can use: "extraction", "default", "claude-sonnet-4-5"
    match: tuple[str, str] | None  # ("category", "extraction") | ("model", "anthropic/claude-sonnet-4-5") | None
    models: tuple[str, ...]        # llmaudit ids (provider/model): the primary, then fallbacks in order
    rule: str                      # which rule chose them, on what evidence


@dataclass(frozen=True)
class Policy:
    source: str                    # "run RUN_DIR" | "logs PATH..."
    routes: tuple[Route, ...]      # specific routes first, the default (match None) last when there is one
    notes: tuple[str, ...] = ()


def _slug(text: str) -> str:
    out = "".join(c if c.isalnum() or c in "-_." else "-" for c in text.strip().lower()).strip("-")
    return out or "route"


def _ranked(m: Any, mask: np.ndarray, cand: list[int], threshold: float
            ) -> tuple[list[int], dict[int, tuple[int, int]]]:
    """Candidates for prompts ``mask``: those reaching ``threshold`` by mean cost, then the rest by
    pass rate; and each one's (passes, prompts)."""
    from llmaudit.analysis.routing.crossvalidation import EPS, _train_stats

    rates, costs = _train_stats(m, mask, cand)
    n = int(mask.sum())
    counts = {j: (int(m.success_by_model[j, mask].sum()), n) for j in cand}
    good = sorted((j for j in cand if rates[j] >= threshold - EPS), key=lambda j: (costs[j], m.models[j]))
    rest = sorted((j for j in cand if rates[j] < threshold - EPS), key=lambda j: (-rates[j], costs[j], m.models[j]))
    return good + rest, counts


def _chain(m: Any, ranked: list[int], good: int) -> list[int]:
    """The primary and its fallbacks: the next models that reach the threshold, with at least one
    on another provider than the primary when any such model exists (a provider outage is the
    failure a fallback is for)."""
    primary = ranked[0]
    provider = m.providers.get(m.models[primary], m.models[primary].split("/", 1)[0])
    pool = ranked[1:good] or ranked[1:]
    chain = pool[:_FALLBACKS]
    if chain and all(m.providers.get(m.models[j], m.models[j].split("/", 1)[0]) == provider for j in chain):
        other = next((j for j in ranked[1:] if m.providers.get(m.models[j], m.models[j].split("/", 1)[0]) != provider),
                     None)
        if other is not None:
            chain = [*chain[:_FALLBACKS - 1], other]
    return [primary, *chain]


def _evidence(m: Any, j: int, counts: dict[int, tuple[int, int]]) -> str:
    passes, n = counts[j]
    low, high = wilson(passes, n) or (0.0, 1.0)
    return f"{m.models[j]} passed {passes}/{n} ({passes / n:.0%}, 95% CI {low:.0%}–{high:.0%})" if n else m.models[j]


def policy_from_run(results: Any, *, threshold: float = 0.9, source: str = "run") -> Policy:
    """Per category of a replay run's prompts, the route its measured pass rates choose."""
    from llmaudit.analysis.routing.matrix import build_matrix

    m = build_matrix(results)
    cand = m.priced_models()
    if not cand:
        from llmaudit.errors import UsageError

        raise UsageError("no priced model in this run: a policy needs at least one model with a known price")
    notes = []
    unpriced = sorted(set(m.models) - {m.models[j] for j in cand})
    if unpriced:
        notes.append(f"left out (no known price): {', '.join(unpriced)}")
    cats = np.asarray(m.categories, dtype=object)
    routes = []
    for cat in sorted(set(m.categories)):
        mask = cats == cat
        ranked, counts = _ranked(m, mask, cand, threshold)
        good = sum(1 for j in ranked if counts[j][1] and counts[j][0] / counts[j][1] >= threshold - 1e-9)
        chain = _chain(m, ranked, good)
        if good:
            rule = (f"cheapest model reaching a {threshold:.0%} pass rate on the {counts[chain[0]][1]} "
                    f"'{cat}' prompts: {_evidence(m, chain[0], counts)}")
        else:
            rule = (f"no model reached {threshold:.0%} on '{cat}': the highest pass rate, "
                    f"{_evidence(m, chain[0], counts)}")
        routes.append(Route(_slug(cat), ("category", cat), tuple(m.models[j] for j in chain), rule))
    everything = np.ones(m.n_prompts, dtype=bool)
    ranked, counts = _ranked(m, everything, cand, threshold)
    good = sum(1 for j in ranked if counts[j][0] / max(counts[j][1], 1) >= threshold - 1e-9)
    chain = _chain(m, ranked, good)
    routes.append(Route("default", None, tuple(m.models[j] for j in chain),
                        f"prompts of no category above, by the same rule over all {m.n_prompts} prompts: "
                        f"{_evidence(m, chain[0], counts)}"))
    return Policy(source, tuple(routes), tuple(notes))


def policy_from_whatif(whatif: Any, *, source: str = "logs") -> Policy:
    """Per logged model, where the routed what-if sent its traffic, then its failover models."""
    routes = []
    notes = []
    for row in whatif.savings:
        if not row.routes_to:
            continue
        target, moved = max(row.routes_to, key=lambda kv: (kv[1], kv[0]))
        share = moved / max(row.requests, 1)
        chain = [target, *(f for f in row.failover if f != target)][:1 + _FALLBACKS]
        if row.model not in chain:
            chain.append(row.model)   # the model it runs on today: the last resort
        if target == row.model:
            rule = f"stays: no cheaper model of its tier ({row.tier_label}) fits its traffic"
        else:
            rule = (f"cheapest model of tier {row.tier_label} or better that fits its requests: "
                    f"{share:.0%} of {row.requests:,} requests moved there in the what-if")
        routes.append(Route(_slug(row.model.split("/", 1)[-1]), ("model", row.model), tuple(chain), rule))
    if whatif.untiered_models:
        notes.append(f"not routed (no capability tier): {', '.join(whatif.untiered_models)}")
    return Policy(source, tuple(routes), tuple(notes))
