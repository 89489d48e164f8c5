"""Pass rates with Wilson intervals and agreement with a reference model."""

from __future__ import annotations

import pyarrow as pa
import pytest

from llmaudit.analysis.common.intervals import wilson
from llmaudit.analysis.routing.quality import agrees, apply_reference, model_quality, token_f1
from llmaudit.errors import UsageError


def test_wilson_matches_known_values() -> None:
    lo, hi = wilson(8, 10)  # type: ignore[misc]
    assert lo == pytest.approx(0.4902, abs=1e-4)
    assert hi == pytest.approx(0.9433, abs=1e-4)
    assert wilson(0, 0) is None
    lo0, hi0 = wilson(0, 20)  # type: ignore[misc]
    assert lo0 == 0.0 and 0.15 < hi0 < 0.17


def test_model_quality_counts_errors_on_checked_prompts_as_failures() -> None:
    t = pa.Table.from_pylist(
        [
            {"prompt_id": "p1", "model": "a/x", "status": "ok", "passed": True},
            {"prompt_id": "p2", "model": "a/x", "status": "error", "passed": False},
            {"prompt_id": "p3", "model": "a/x", "status": "ok", "passed": None},
        ]
    )
    (q,) = model_quality(t)
    assert (q.calls, q.errors, q.checked, q.passed) == (3, 1, 2, 1)
    assert q.pass_rate == 0.5


def test_agreement_rules() -> None:
    assert agrees("Paris.", " paris")
    assert agrees("1,000", "1000.0")
    assert agrees('{"a": 1, "b": 2}', '{"b":2,"a":1}')
    assert not agrees("42", "43")
    assert agrees("the capital is Paris", "the capital is Paris indeed", min_f1=0.8)
    assert not agrees("Lyon", "Paris")
    assert token_f1("", "") == 1.0


def test_apply_reference_fills_only_unchecked_rows() -> None:
    t = pa.Table.from_pylist(
        [
            {"prompt_id": "p1", "model": "a/ref", "status": "ok", "passed": None, "output": "Paris"},
            {"prompt_id": "p1", "model": "b/x", "status": "ok", "passed": None, "output": "paris."},
            {"prompt_id": "p1", "model": "c/y", "status": "ok", "passed": None, "output": "Lyon"},
            {"prompt_id": "p2", "model": "a/ref", "status": "ok", "passed": True, "output": "4"},
            {"prompt_id": "p2", "model": "b/x", "status": "ok", "passed": False, "output": "4"},
            {"prompt_id": "p2", "model": "c/y", "status": "error", "passed": None, "output": None},
        ]
    )
    df = apply_reference(t, "a/ref")
    got = {(r.prompt_id, r.model): (r.passed, r.quality_source) for r in df.itertuples()}
    assert got[("p1", "a/ref")] == (True, "reference")
    assert got[("p1", "b/x")] == (True, "reference")
    assert got[("p1", "c/y")] == (False, "reference")
    assert got[("p2", "b/x")] == (False, "check")  # a real check is never overridden
    assert got[("p2", "c/y")] == (False, "reference")


def test_reference_must_be_in_the_run() -> None:
    t = pa.Table.from_pylist([{"prompt_id": "p1", "model": "a/x", "status": "ok", "passed": None, "output": "x"}])
    with pytest.raises(UsageError, match="not a model in this run"):
        apply_reference(t, "z/nope")
