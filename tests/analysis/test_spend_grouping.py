"""The spend report's one-group-by-per-batch fold gives exactly what a group-by per breakdown gives."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

import llmaudit.analysis.spend.builder as spend
import llmaudit.analysis.spend.columns as columns
from llmaudit.analysis.common.records import open_records
from llmaudit.analysis.spend.report import NONE_LABEL, SpendOptions
from llmaudit.config import data_path
from llmaudit.pricing import load_catalog
from llmaudit.units import parse_by


@pytest.mark.parametrize("by", [None, "day,model", "user,project,key,model,provider,source,week,month",
                                "model,tag,day", "model+day,provider"])
def test_folded_breakdowns_equal_one_group_by_each(by: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = load_catalog()
    tables = list(open_records([str(data_path("examples") / "logs")]).batches())
    options = SpendOptions(by=parse_by(by) if by else (), now=datetime(2025, 11, 1, tzinfo=UTC))
    folded = spend.build_spend(tables, catalog, options).to_dict()
    monkeypatch.setattr(spend, "_FOLD_GROUPS", -1)  # every breakdown grouped on its own, as before
    separate = spend.build_spend(tables, catalog, options).to_dict()
    for report in (folded, separate):
        report.pop("generated_at")
    assert folded == separate
    assert folded["totals"]["requests"] > 3_000


def test_dates_and_labels_match_the_arrow_kernels() -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    rng = np.random.default_rng(5)
    micros = rng.integers(-3 * 10**18, 4 * 10**18, 50_000)
    stamps = pa.chunked_array([pa.array(micros, pa.timestamp("us", tz="UTC"))])
    for tz in ("UTC", "America/New_York", "Asia/Kolkata"):
        zoned = stamps.cast(pa.timestamp("us", tz=tz))
        local = zoned if tz == "UTC" else pc.local_timestamp(zoned)
        assert columns._dates(local).equals(pc.cast(pc.local_timestamp(zoned), pa.date32()))
    for values in (["a", "", None, "b"], [None, None], ["x", "y"], []):
        col = pa.chunked_array([pa.array(values, pa.string())])
        want = pc.fill_null(pc.if_else(pc.equal(col, ""), None, col), NONE_LABEL)
        got = columns._label(col)
        assert pa.chunked_array([got] if isinstance(got, pa.Array) else got.chunks, pa.string()).equals(
            pa.chunked_array(want.chunks, pa.string()))


def test_a_batch_failing_on_the_worker_thread_fails_build_spend(monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = load_catalog()
    tables = list(open_records([str(data_path("examples") / "logs")]).batches())
    seen: list[int] = []
    real_add = spend._Builder.add

    def add(self: spend._Builder, table: object) -> None:
        seen.append(1)
        if len(seen) == 2:
            raise RuntimeError("boom")
        real_add(self, table)

    monkeypatch.setattr(columns, "_COALESCE_ROWS", 1)  # one batch per table: several batches
    monkeypatch.setattr(spend._Builder, "add", add)
    with pytest.raises(RuntimeError, match="boom"):
        spend.build_spend(tables, catalog, SpendOptions(now=datetime(2025, 11, 1, tzinfo=UTC)))
