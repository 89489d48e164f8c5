"""What a check found: one ``Finding`` per metric of a (model, category), and the ``CheckReport``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmaudit.analysis.gate.measurement import ALL, Measurement
from llmaudit.analysis.gate.paired import PairedStat
from llmaudit.analysis.gate.statistics import Interval, interval_dict, rounded_number
from llmaudit.analysis.gate.thresholds import Thresholds

__all__ = ["METRICS", "STATUS_ORDER", "CheckReport", "Finding"]

METRICS: dict[str, str] = {
    "input_tokens": "input tokens / request",
    "output_tokens": "output tokens / request",
    "cost_per_request": "cost / request",
    "monthly_cost": "cost / month",
    "p95_latency_ms": "p95 latency",
    "pass_rate": "pass rate",
    "goodput": "goodput",
}

STATUS_ORDER = {"pass": 0, "improved": 0, "n/a": 0, "new": 1, "removed": 1, "unpriced": 1, "warn": 1, "fail": 2}



@dataclass(frozen=True)
class Finding:
    """One metric of one (model, category), compared with the baseline."""

    model: str
    category: str
    metric: str
    baseline: float | None
    current: float | None
    delta: float | None  # current - baseline (points for pass rate)
    delta_pct: float | None  # relative change; None when the baseline is 0 or a side is missing
    status: str  # pass | improved | warn | fail | new | removed | unpriced | n/a
    note: str = ""
    exact: bool = True  # False: the figure rests on estimated or assumed token counts
    current_ci: Interval | None = None
    baseline_ci: Interval | None = None
    derived: bool = False  # restates another finding (cost/month mirrors cost/request): not counted twice
    paired: PairedStat | None = None  # the paired test over the prompts both runs share

    @property
    def label(self) -> str:
        return METRICS.get(self.metric, self.metric)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "category": None if self.category == ALL else self.category,
            "metric": self.metric,
            "baseline": rounded_number(self.baseline),
            "current": rounded_number(self.current),
            "delta": rounded_number(self.delta),
            "delta_pct": rounded_number(self.delta_pct),
            "status": self.status,
            "note": self.note,
            "exact": self.exact,
            "baseline_ci": interval_dict(self.baseline_ci),
            "current_ci": interval_dict(self.current_ci),
            **({"paired": self.paired.to_dict()} if self.paired is not None else {}),
        }


@dataclass(frozen=True)
class CheckReport:
    status: str  # pass | warn | fail
    findings: list[Finding]
    notes: list[str]
    volume: int | None
    thresholds: Thresholds
    baseline: Measurement
    current: Measurement
    baseline_path: str = ""

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if f.status == "fail" and not f.derived]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if STATUS_ORDER.get(f.status, 0) == 1 and not f.derived]

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "exit_code": 1 if self.status == "fail" else 0,
            "notes": self.notes,
            "volume_requests_per_month": self.volume,
            "thresholds": self.thresholds.to_dict(),
            "baseline": {
                "path": self.baseline_path,
                "mode": self.baseline.mode,
                "created_at": self.baseline.created_at,
                "catalog_as_of": self.baseline.catalog_as_of,
                "source": self.baseline.source,
            },
            "current": {
                "mode": self.current.mode,
                "catalog_as_of": self.current.catalog_as_of,
                "source": self.current.source,
            },
            "counts": {
                "fail": len(self.failures),
                "warn": len(self.warnings),
                "checked": len(self.findings),
            },
            "findings": [f.to_dict() for f in self.findings],
        }
