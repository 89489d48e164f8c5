"""The spend report's one-group-by-per-batch fold gives exactly what a group-by per breakdown gives."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

import llmaudit.analysis.spend as spend
from llmaudit.analysis.records import open_records
from llmaudit.config import data_path
from llmaudit.pricing import load_catalog


@pytest.mark.parametrize("by", [None, "day,model", "user,project,key,model,provider,source,week,month",
                                "model,tag,day", "model+day,provider"])
def test_folded_breakdowns_equal_one_group_by_each(by: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = load_catalog()
    tables = list(open_records([str(data_path("examples") / "logs")]).batches())
    options = spend.SpendOptions(by=spend.parse_by(by) if by else (), now=datetime(2025, 11, 1, tzinfo=UTC))
    folded = spend.build_spend(tables, catalog, options).to_dict()
    monkeypatch.setattr(spend, "_FOLD_GROUPS", -1)  # every breakdown grouped on its own, as before
    separate = spend.build_spend(tables, catalog, options).to_dict()
    for report in (folded, separate):
        report.pop("generated_at")
    assert folded == separate
    assert folded["totals"]["requests"] > 3_000
