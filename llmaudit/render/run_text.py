"""A replay run's warnings in English: one function per kind of notice (``analysis.routing.runnotices``).

Said in the run's table and Markdown notes and in the JSON (``run_json_data`` wraps
``RunStats.to_json()``: the ``notice`` first when simulated, ``warnings`` after ``models``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llmaudit.analysis.routing.runnotices import (
    MaxTokensLowered,
    ModelCached,
    ModelNoChunkTimes,
    ModelUnpriced,
    ModelUsageEstimated,
    ProviderCutOff,
    RequestsMissing,
    RunNotice,
    RunSimulated,
    RunUnfinished,
)
from llmaudit.analysis.routing.runstats import RunStats
from llmaudit.replay.breaker import describe_cut_off

__all__ = ["run_json_data", "run_notice_text", "run_warnings"]

SIMULATED_NOTICE = "SIMULATED: results from the offline sim provider, not real models"


def run_json_data(stats: RunStats) -> dict[str, Any]:
    """``stats.to_json()`` with the worded warnings where ``--format json`` has always had them."""
    data: dict[str, Any] = {"notice": SIMULATED_NOTICE} if stats.simulated else {}
    for key, value in stats.to_json().items():
        data[key] = value
        if key == "models":
            data["warnings"] = run_warnings(stats)
    return data


def run_warnings(stats: RunStats, *, leave_out: tuple[type, ...] = ()) -> list[str]:
    return [run_notice_text(n) for n in stats.notices if not isinstance(n, leave_out)]


def run_notice_text(notice: RunNotice) -> str:
    return _WORDS[type(notice)](notice)


def _missing(n: RequestsMissing) -> str:
    reason = {"budget": "stopped by --max-cost", "interrupted": "interrupted"}.get(n.status, "not run yet")
    return f"{n.missing} of {n.planned} requests have no result ({reason})"


_WORDS: dict[type, Callable[[Any], str]] = {
    RunSimulated: lambda n: "SIMULATED: sim/* models are the offline simulator, not real providers",
    RunUnfinished: lambda n: ("the run did not finish (killed or still running); "
                              "`llmaudit replay --resume` continues it"),
    RequestsMissing: _missing,
    MaxTokensLowered: lambda n: (f"{n.requests} requests were sent with max_tokens lowered to fit what was left of "
                                 "--max-cost; their answers may be cut short"),
    ModelUnpriced: lambda n: f"{n.model}: {n.requests} answered requests have no price; its cost is unknown, not zero",
    ModelUsageEstimated: lambda n: f"{n.model}: {n.requests} requests reported no usage; tokens were estimated",
    ModelNoChunkTimes: lambda n: (f"{n.model}: no chunk arrival times (a run made before they were recorded, or "
                                  "answers not streamed); its ITL is unknown"),
    ModelCached: lambda n: f"{n.model}: {n.requests} answers came from the cache and are left out of latency",
    ProviderCutOff: lambda n: describe_cut_off(dict(n.record)),
}
