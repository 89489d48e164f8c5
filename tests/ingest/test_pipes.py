"""Pipes and other special files: a pipe named on the command line is read once as a stream (no row
lost, as ``<(cat big.jsonl)`` lost 400 of 2,000); one met in a folder is listed, not opened (a FIFO
used to hang ``ingest`` forever)."""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import pytest

from llmaudit.ingest import scan
from tests.conftest import REPO, RunCli

FIXTURES = REPO / "tests" / "ingest" / "fixtures"

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")


def _lines(n: int) -> bytes:
    one = json.loads((FIXTURES / "openai_chat.jsonl").read_text().splitlines()[0])
    out = []
    for i in range(n):
        one["id"] = f"chatcmpl-{i}"
        out.append(json.dumps(one))
    return ("\n".join(out) + "\n").encode()


def _feed(path: Path, data: bytes) -> threading.Thread:
    def write() -> None:
        with open(path, "wb") as fh:
            fh.write(data)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


def test_a_named_pipe_is_read_once_with_every_row(tmp_path: Path) -> None:
    fifo = tmp_path / "log.jsonl"
    os.mkfifo(fifo)
    writer = _feed(fifo, _lines(2000))  # well past the sniffing head (64 KiB)
    sc = scan([str(fifo)])
    table = sc.table()
    writer.join(timeout=10)
    assert table.num_rows == 2000
    assert (sc.summary.rows_read, sum(f.rows_rejected for f in sc.summary.files)) == (2000, 0)


def test_a_fifo_in_a_folder_is_listed_not_opened(run_cli: RunCli, tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    shutil.copy(FIXTURES / "openai_chat.jsonl", folder / "app.jsonl")
    os.mkfifo(folder / "stuck.jsonl")  # nobody writes: opening it would block forever
    res = run_cli(["report", "--spend", str(folder), "--format", "json", "--no-whatif"])
    assert res.exit_code == 0, res.stderr
    by_name = {Path(s["path"]).name: s for s in json.loads(res.stdout)["sources"]}
    assert "named pipe" in by_name["stuck.jsonl"]["not_read"]
    assert by_name["app.jsonl"]["rows_kept"] == 4
