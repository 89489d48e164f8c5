"""``llmaudit mix LOGS...``: the traffic mix of production logs, for ``llmaudit check --mix``.

The share of requests and tokens per prompt category (each request's ``category:NAME`` tag) or per
project, with the rows read, kept, rejected and counted as duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmaudit.analysis.gate.mix import Mix

__all__ = ["MixOptions", "TrafficMix", "traffic_mix"]


@dataclass(frozen=True)
class MixOptions:
    paths: tuple[str, ...]
    by: str = "category"  # category | project
    log_format: str = "auto"


@dataclass(frozen=True)
class TrafficMix:
    mix: Mix
    summary: Any  # ingest.reader summary: rows read / kept / rejected / duplicates


def traffic_mix(options: MixOptions) -> TrafficMix:
    from llmaudit.analysis.common.records import open_records
    from llmaudit.analysis.gate.mix import build_mix

    paths = list(options.paths)
    records = open_records(paths, fmt=options.log_format)
    return TrafficMix(build_mix(records, options.by, sources=paths), records.summary)
