"""What a reader of a replay run's report must know besides the figures: typed facts, one class per kind.

``runstats.build_runstats`` says that something happened and how much (requests without a result,
answers without a price); ``render.run_text`` words each kind once, for the table, the Markdown
and the JSON ``warnings``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "MaxTokensLowered",
    "ModelCached",
    "ModelNoChunkTimes",
    "ModelUnpriced",
    "ModelUsageEstimated",
    "ProviderCutOff",
    "RequestsMissing",
    "RunNotice",
    "RunSimulated",
    "RunUnfinished",
]


@dataclass(frozen=True)
class RunSimulated:
    """Some models are the offline simulator (``sim/*``)."""


@dataclass(frozen=True)
class RunUnfinished:
    """The manifest still says running: killed, or not done yet."""


@dataclass(frozen=True)
class RequestsMissing:
    """Planned requests with no result; ``status`` is the run's (budget, interrupted, …)."""

    missing: int
    planned: int | None
    status: str


@dataclass(frozen=True)
class MaxTokensLowered:
    """Requests sent with max_tokens lowered to fit what was left of ``--max-cost``."""

    requests: int


@dataclass(frozen=True)
class ModelUnpriced:
    model: str
    requests: int


@dataclass(frozen=True)
class ModelUsageEstimated:
    model: str
    requests: int


@dataclass(frozen=True)
class ModelNoChunkTimes:
    """Timed answers without chunk arrival times: the model's ITL is unknown."""

    model: str


@dataclass(frozen=True)
class ModelCached:
    """Answers from the cache, left out of latency."""

    model: str
    requests: int


@dataclass(frozen=True)
class ProviderCutOff:
    """The replay's circuit breaker stopped sending to a provider or a model (the manifest's
    ``cut_off`` record: scope, name, failures, reason, not_sent)."""

    record: tuple[tuple[str, object], ...]


RunNotice = (
    RunSimulated | RunUnfinished | RequestsMissing | MaxTokensLowered | ModelUnpriced | ModelUsageEstimated
    | ModelNoChunkTimes | ModelCached | ProviderCutOff
)
