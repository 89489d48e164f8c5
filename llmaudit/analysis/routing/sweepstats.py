"""A load sweep's figures: each level's per-model run statistics, in the order the levels ran.

Built from the levels' run directories (``replay --sweep`` / ``--rate``); nothing is recomputed
here beyond what ``runstats`` defines, so a level reads the same in the sweep as on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmaudit.analysis.routing.runstats import RunStats

__all__ = ["SweepPoint", "SweepStats"]


@dataclass(frozen=True)
class SweepPoint:
    kind: str  # "concurrency" | "rate"
    value: float
    stats: RunStats

    @property
    def label(self) -> str:
        return f"{self.kind}={self.value:g}"


@dataclass(frozen=True)
class SweepStats:
    sweep_dir: str
    points: list[SweepPoint]

    @property
    def models(self) -> list[str]:
        return list(dict.fromkeys(m.model for p in self.points for m in p.stats.models))

    @property
    def simulated(self) -> bool:
        return any(p.stats.simulated for p in self.points)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "llmaudit-sweep",
            "sweep_dir": self.sweep_dir,
            "levels": [{"level": p.label, "kind": p.kind, "value": p.value, "run": p.stats.to_json()}
                       for p in self.points],
        }
