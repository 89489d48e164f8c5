"""Pass rates measured by a replay run, per prompt category: what ``report --spend --quality
RUN_DIR`` routes logged traffic by, instead of the capability-tier table.

A logged request's category is its ``category:NAME`` tag (set it where the request is made, or map
a column to it at ingest); a request without one, or of a category the run did not measure, is
routed by the run's pass rates over all its prompts. A model may take a category's traffic when
its pass rate there reaches the threshold; each route then cites the evidence (passes, prompts,
95% Wilson interval).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from llmaudit.analysis.common.intervals import wilson

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["ALL", "CATEGORY_TAG", "MeasuredQuality", "measured_quality", "row_categories"]

ALL = ""                    # the run's prompts as a whole
CATEGORY_TAG = "category:"  # a logged request's tag naming its category


@dataclass(frozen=True)
class MeasuredQuality:
    source: str                                   # the run directory
    threshold: float
    # category (ALL = every prompt) -> model id (the catalog's) -> (passes, prompts)
    counts: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)

    @property
    def models(self) -> set[str]:
        return {m for per in self.counts.values() for m in per}

    def stats(self, category: str | None) -> dict[str, tuple[int, int]]:
        return self.counts.get(category or ALL) or self.counts.get(ALL, {})

    def passes(self, category: str | None) -> set[str]:
        """Models whose measured pass rate on ``category`` reaches the threshold."""
        return {m for m, (p, n) in self.stats(category).items() if n and p / n >= self.threshold - 1e-12}

    def evidence(self, model: str, category: str | None) -> str:
        used = category if category in self.counts else None
        p, n = self.stats(category).get(model, (0, 0))
        low, high = wilson(p, n) or (0.0, 1.0)
        where = f"'{used}' prompts" if used else "all prompts"
        return (f"measured: passed {p}/{n} {where} ({p / n:.0%}, 95% CI {low:.0%}–{high:.0%}) in {self.source}"
                if n else f"measured: not run in {self.source}")


def measured_quality(results: Any, catalog: Any, *, threshold: float = 0.9, source: str = "run") -> MeasuredQuality:
    """Per category and model, passes and prompts of a replay run's results table."""
    from llmaudit.analysis.routing.matrix import build_matrix

    m = build_matrix(results)
    ids = []
    for model in m.models:
        res = catalog.resolve(model) if catalog is not None else None
        ids.append(res.entry.id if res is not None else model)
    counts: dict[str, dict[str, tuple[int, int]]] = {}
    cats = list(m.categories)
    for cat in [ALL, *sorted(set(cats))]:
        rows = [i for i, c in enumerate(cats) if cat == ALL or c == cat]
        per: dict[str, tuple[int, int]] = {}
        for j, model_id in enumerate(ids):
            passes = int(m.success[rows, j].sum()) if rows else 0
            per[model_id] = (passes, len(rows))
        counts[cat] = per
    return MeasuredQuality(source, threshold, counts)


def row_categories(table: pa.Table) -> pa.Array:
    """Each row's category: the name in its first ``category:NAME`` tag, "" where there is none."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    n = table.num_rows
    out = np.full(n, "", dtype=object)
    if "tags" in table.column_names:
        tags = table.column("tags").combine_chunks()
        flat = pc.list_flatten(tags)
        parents = np.asarray(pc.list_parent_indices(tags).to_numpy(zero_copy_only=False))
        hit = np.asarray(pc.fill_null(pc.starts_with(flat, CATEGORY_TAG), False).to_numpy(zero_copy_only=False))
        values = flat.to_numpy(zero_copy_only=False)
        for at in np.flatnonzero(hit)[::-1]:   # reversed: the first tag of a row wins
            out[parents[at]] = str(values[at])[len(CATEGORY_TAG):]
    return pa.array(out.tolist(), pa.string())
