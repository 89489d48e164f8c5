"""``render.jsontext.dumps`` is ``json.dumps(obj, indent=2, default=str)``, byte for byte."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from llmaudit.render.jsontext import dumps

_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=2**64, max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True), st.text(),
    st.decimals(allow_nan=False, allow_infinity=False, places=4).map(Decimal), st.dates(),
)
_keys = st.one_of(st.text(), st.integers(), st.floats(allow_nan=False), st.booleans(), st.none())
_flat_rows = st.lists(st.dictionaries(st.text(max_size=5), _scalars, min_size=1, max_size=4), min_size=1)
_values = st.recursive(
    _scalars | _flat_rows,
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=30,
)


def _same(value: Any) -> None:
    assert dumps(value) == json.dumps(value, indent=2, default=str)


@settings(max_examples=400, deadline=None)
@given(_values)
def test_any_document_is_written_as_json_dumps_writes_it(value: Any) -> None:
    _same(value)


def test_the_shapes_of_a_report() -> None:
    rows = [{"path": f"/logs/s{n}.jsonl", "rows": n, "cost": Decimal("0.10") * n, "day": date(2026, 1, n + 1),
             "note": 'a "quoted" },\n  { line' if n == 1 else None} for n in range(3)]
    _same({"report": "spend", "sources": rows, "totals": {"usd": Decimal("1.5"), "ratio": 1e-05},
           "empty": {}, "none": [], "mixed": [rows[0], {}, [1, 2], "x"], 3: "int key", None: [[]]})
    _same(rows)
    _same([])
    _same("plain")
    _same(float("nan"))
