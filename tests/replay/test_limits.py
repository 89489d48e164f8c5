from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path

import pytest

from llmaudit.errors import InputError
from llmaudit.replay.budget import Budget
from llmaudit.replay.limits import Pacer, RetryPolicy
from llmaudit.replay.rundir import Journal, read_journal, read_results


def test_pacer_spaces_starts_evenly() -> None:
    now = [100.0]
    pacer = Pacer(rpm=120, clock=lambda: now[0])  # one start every 0.5 s
    assert [pacer.reserve() for _ in range(4)] == [0.0, 0.5, 1.0, 1.5]
    now[0] = 110.0  # idle for a while: no burst credit is saved up beyond "now"
    assert pacer.reserve() == 0.0 and pacer.reserve() == 0.5


def test_retry_policy_backoff_jitter_and_retry_after() -> None:
    policy = RetryPolicy(max_attempts=5, base_s=1.0, max_s=4.0, max_retry_after_s=60)
    rng = random.Random(7)
    delays = [policy.delay(a, rng=rng) for a in (1, 2, 3, 4)]
    for attempt, d in zip((1, 2, 3, 4), delays, strict=True):
        ceiling = min(4.0, 2 ** (attempt - 1))
        assert d is not None and ceiling * 0.5 <= d <= ceiling
    assert policy.delay(5) is None  # attempts used up
    assert policy.delay(1, retry_after=10) == 10  # the server's floor wins over a short backoff
    assert policy.delay(1, retry_after=3600) is None  # longer than we will wait: give up, say why


def test_budget_counts_in_flight_reservations() -> None:
    budget = Budget(Decimal("1.00"))
    assert budget.try_reserve(Decimal("0.40")) and budget.try_reserve(Decimal("0.40"))
    assert not budget.try_reserve(Decimal("0.40"))  # 0.80 in flight + 0.40 would pass 1.00
    budget.settle(Decimal("0.40"), Decimal("0.10"))  # finished cheaper than its estimate
    assert budget.try_reserve(Decimal("0.40")) and budget.spent == Decimal("0.10")
    unlimited = Budget(None)
    assert unlimited.try_reserve(Decimal("1e9"))


def test_journal_torn_tail_and_last_line_wins(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.append({"prompt_id": "a", "model": "m/x", "repeat": 0, "status": "error", "error": "HTTP 500"})
    journal.append({"prompt_id": "b", "model": "m/x", "repeat": 0, "status": "ok"})
    journal.append({"prompt_id": "a", "model": "m/x", "repeat": 0, "status": "ok"})
    journal.close()
    with (tmp_path / "results.jsonl").open("a") as fh:
        fh.write('{"prompt_id": "c", "model": "m/x", "sta')  # killed mid-write
    rows = read_journal(tmp_path)
    assert [(r["prompt_id"], r["status"]) for r in rows] == [("b", "ok"), ("a", "ok")]
    assert read_results(tmp_path).num_rows == 2
    Journal(tmp_path).close()  # reopening cuts the torn line before appending
    assert (tmp_path / "results.jsonl").read_bytes().endswith(b'"status":"ok"}\n')
    lines = ['{"prompt_id": "a", "model": "m"}', "not json", '{"prompt_id": "b", "model": "m"}']
    (tmp_path / "results.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"results\.jsonl:2: corrupt journal line"):
        read_journal(tmp_path)


def test_one_writer_per_run_directory(tmp_path: Path) -> None:
    from llmaudit.errors import UsageError

    first = Journal(tmp_path)
    with pytest.raises(UsageError, match="another llmaudit replay is writing"):
        Journal(tmp_path)
    first.close()
    Journal(tmp_path).close()  # free again once the first writer is gone
