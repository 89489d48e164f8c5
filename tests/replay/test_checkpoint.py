"""The 5-second checkpoint rewrites results.parquet from the rows the run holds; it does not read
the journal back (a journal of large answers was re-read whole every 5 seconds; issue 15, item 15)."""

from __future__ import annotations

import time
from itertools import pairwise
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from llmaudit.replay import rundir, runner
from llmaudit.replay.prompts import load_prompts
from llmaudit.replay.rundir import Journal, read_journal, read_results
from llmaudit.replay.runner import ReplayOptions, run_replay
from tests.conftest import REPO

PROMPTS = REPO / "examples" / "prompts.jsonl"


def _count_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    reads: list[int] = []
    real = rundir.read_journal

    def counting(run_dir: str | Path) -> list[dict[str, object]]:
        reads.append(1)
        return real(run_dir)

    monkeypatch.setattr(runner, "read_journal", counting)
    monkeypatch.setattr(rundir, "read_journal", counting)
    return reads


def test_checkpoints_do_not_read_the_journal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    prompts = load_prompts(PROMPTS)[:20]
    written: list[int] = []
    real_write = runner.write_results

    def write(run_dir: Path, rows: list[dict[str, object]]) -> None:
        written.append(len(rows))
        real_write(run_dir, rows)

    monkeypatch.setattr(runner, "write_results", write)
    reads = _count_reads(monkeypatch)
    out = tmp_path / "run"
    summary = run_replay(prompts, ["sim/gpt-4o-mini", "sim/claude-sonnet-4-5"], out,
                         ReplayOptions(checkpoint_s=0, use_cache=False))
    assert summary.ok == 40
    # A checkpoint after every result (checkpoint_s=0): 40 of them, each with every row so far.
    assert written == [0, *range(1, 41), 40]
    assert len(reads) == 1           # once, at the end; never per checkpoint
    # The last checkpoint's table is the journal's.
    assert pq.read_table(out / "results.parquet").to_pylist() == read_results(out).to_pylist()

    # A resumed run (one error retried) keeps the journal's order and "last row wins" in its checkpoints.
    reads.clear()
    rows = read_journal(out)
    journal = Journal(out)
    journal.append({**rows[3], "status": "error", "error": "HTTP 500", "cost_usd": None})
    journal.close()
    written.clear()
    summary = run_replay(prompts, ["sim/gpt-4o-mini", "sim/claude-sonnet-4-5"], out,
                         ReplayOptions(checkpoint_s=0, use_cache=False, resume=True, retry_errors=True))
    assert summary.ok == 1 and written == [40, 40, 40]
    assert pq.read_table(out / "results.parquet").to_pylist() == read_results(out).to_pylist()


def test_reopening_a_large_journal_reads_only_its_tail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    journal = Journal(tmp_path)
    for i in range(2000):
        journal.append({"prompt_id": f"p{i}", "model": "m/x", "repeat": 0, "status": "ok", "output_text": "x" * 500})
    journal.close()
    with (tmp_path / "results.jsonl").open("a") as fh:
        fh.write('{"prompt_id": "torn", "mod')
    read = []
    real = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: read.append(self) or real(self))
    Journal(tmp_path).close()
    assert not read
    monkeypatch.undo()
    assert len(read_journal(tmp_path)) == 2000
    assert (tmp_path / "results.jsonl").read_bytes().endswith(b"}\n")


def test_a_slow_checkpoint_spaces_out_the_next(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A checkpoint blocks the event loop (and the chunk times of every stream in flight): one that
    # took 50 ms is followed by none for 20 × 50 ms, whatever --checkpoint says.
    prompts = load_prompts(PROMPTS)[:20]
    spans: list[tuple[float, float, int]] = []
    real_write = runner.write_results

    def slow_write(run_dir: Path, rows: list[dict[str, object]]) -> None:
        start = time.monotonic()
        time.sleep(0.05)
        real_write(run_dir, rows)
        spans.append((start, time.monotonic(), len(rows)))

    monkeypatch.setattr(runner, "write_results", slow_write)
    monkeypatch.setenv("LLMAUDIT_SIM_TIME_SCALE", "0.2")  # a run of a few seconds
    out = tmp_path / "run"
    summary = run_replay(prompts, ["sim/gpt-4o-mini"], out, ReplayOptions(checkpoint_s=0.001, use_cache=False))
    assert summary.ok == 20
    mid = spans[1:-1]  # not the table written at the start and the one at the end
    assert mid, "a checkpoint was written during the run"
    for (_, end, _), (start, _, _) in pairwise(mid):
        assert start - end >= 20 * 0.05 * 0.99
    assert len(mid) < 19  # not one per result
    assert spans[-1][2] == 20 and pq.read_table(out / "results.parquet").num_rows == 20
