"""``llmaudit policy export RUN_DIR|LOGS``: the routing to deploy on a gateway.

From a replay run: per prompt category, the cheapest model that reached the pass rate, with
fallbacks. From usage logs: per logged model, the model the routed what-if chose. The CLI writes
the policy in the gateway's format (``render.policy``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from llmaudit.errors import UsageError

if TYPE_CHECKING:
    from llmaudit.analysis.routing.policy import Policy
    from llmaudit.pricing.catalog import Catalog

__all__ = ["PolicyOptions", "RoutingPolicy", "routing_policy"]


@dataclass(frozen=True)
class PolicyOptions:
    sources: tuple[str, ...]  # one replay run directory, or usage logs
    threshold: float = 0.9  # a run: the pass rate a category's model must reach
    log_format: str = "auto"
    config: Path | None = None


@dataclass(frozen=True)
class RoutingPolicy:
    policy: Policy
    catalog: Catalog  # the gateway formats name models the way the catalog resolves them


def routing_policy(options: PolicyOptions) -> RoutingPolicy:
    from llmaudit.analysis.routing.policy import policy_from_run, policy_from_whatif
    from llmaudit.config import load_config
    from llmaudit.pricing import load_catalog
    from llmaudit.replay import is_run_dir, read_results

    source = list(options.sources)
    cfg = load_config(options.config)
    catalog = load_catalog(cfg)
    if len(source) == 1 and is_run_dir(source[0]):
        policy = policy_from_run(read_results(source[0]), threshold=options.threshold, source=f"run {source[0]}")
        return RoutingPolicy(policy, catalog)
    from llmaudit.analysis.common.records import open_records
    from llmaudit.analysis.spend.builder import build_spend
    from llmaudit.analysis.spend.report import SpendOptions

    records = open_records(source, fmt=options.log_format, store=True)
    report = build_spend(records.batches(), catalog, SpendOptions(), config=cfg, inputs=source,
                         ingest_summary=records.summary)
    if report.whatif is None:
        raise UsageError("no priced traffic in these logs to route")
    return RoutingPolicy(policy_from_whatif(report.whatif, source=f"logs {' '.join(source)}"), catalog)
