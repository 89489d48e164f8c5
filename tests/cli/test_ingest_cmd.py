"""`llmaudit ingest PATH... --out FILE.parquet`: normalized, priced rows and an honest summary."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from tests.conftest import REPO, RunCli

LOGS = REPO / "examples" / "logs"


def test_ingest_writes_priced_parquet_and_summary(run_cli: RunCli, tmp_path: Path) -> None:
    out = tmp_path / "usage.parquet"
    r = run_cli(["ingest", str(LOGS), "--out", str(out)], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.stderr
    assert r.stdout == ""  # the summary is for people: stderr
    table = pq.read_table(out)
    assert table.num_rows == 3400
    assert table.schema.metadata[b"llmaudit.schema"] == b"usage/1"
    status = table.column("price_status").to_pylist()
    assert set(status) == {"priced", "unknown_model"}
    assert pc.sum(pc.is_null(table.column("cost_usd"))).as_py() == status.count("unknown_model") == 58
    for name in ("openai-app.jsonl", "anthropic-app.jsonl", "openrouter-gateway.jsonl", "openrouter-activity.csv"):
        assert name in r.stderr
    for reader in ("anthropic", "openai", "openrouter"):  # which reader read each file
        assert f" {reader} " in r.stderr
    assert "58 rows unpriced" in r.stderr and "acme/acme-chat-7b" in r.stderr
    assert "wrote 3,400 priced rows" in r.stderr


def test_rejects_are_counted_and_written(run_cli: RunCli, tmp_path: Path) -> None:
    good = (LOGS / "openai-app.jsonl").read_text().splitlines()[:3]
    log = tmp_path / "app.jsonl"
    log.write_text("\n".join([good[0], '{"timestamp": "2026-11-01T00:00:00Z", "response": {"object": '
                              '"chat.completion", "usage": {"prompt_tokens": 5}}}', good[1], good[2]]) + "\n")
    rejects = tmp_path / "rejects.jsonl"
    r = run_cli(["ingest", str(log), "--out", str(tmp_path / "u.parquet"), "--rejects", str(rejects)],
                env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.stderr
    assert pq.read_table(tmp_path / "u.parquet").num_rows == 3
    lines = [json.loads(x) for x in rejects.read_text().splitlines()]
    assert len(lines) == 1 and lines[0]["line"] == 2 and lines[0]["reason"]
    assert "rejected" in r.stderr


def test_bad_input_exits_2(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello\n")
    for args, needle in (
        (["ingest", "nope.jsonl", "--out", "x.parquet"], "nope.jsonl"),
        (["ingest", str(tmp_path / "notes.txt"), "--out", "x.parquet"], "notes.txt"),
        (["ingest", str(LOGS), "--out", "x.csv"], "parquet"),
        (["ingest", str(LOGS), "--out", "x.parquet", "--format", "nosuch"], "nosuch"),
        (["ingest", str(LOGS), "--out", "x.parquet", "--map", "oops"], "--map"),
    ):
        r = run_cli(args)
        assert r.exit_code == 2, (args, r.output)
        assert needle in r.stderr and "Traceback" not in r.output
    assert not (tmp_path / "x.parquet").exists()


def test_generic_csv_with_a_mapping_feeds_the_spend_report(run_cli: RunCli, tmp_path: Path) -> None:
    log = tmp_path / "inhouse.csv"
    log.write_text("when,llm,prompt_toks,completion_toks,team\n"
                   "2026-11-02T10:00:00Z,gpt-4o-mini,1000000,0,search\n"
                   "2026-11-02T11:00:00Z,gpt-4o-mini,0,1000000,search\n"
                   "2026-11-03T09:00:00Z,our-finetune,500,50,ml\n")
    mapping = "timestamp=when,model=llm,input_tokens=prompt_toks,output_tokens=completion_toks,project=team"
    out = tmp_path / "u.parquet"
    r = run_cli(["ingest", str(log), "--out", str(out), "--format", "generic", "--map", mapping])
    assert r.exit_code == 0, r.stderr
    data = json.loads(run_cli(["report", "--spend", str(out), "--format", "json", "--by", "project"]).stdout)
    projects = {row["project"]: row for row in data["breakdowns"]["project"]["rows"]}
    assert projects["ml"]["cost"] is None and projects["ml"]["unpriced_tokens"] == 550
    # One million input tokens plus one million output tokens at the list price in force that day.
    from datetime import date

    from llmaudit.pricing import Usage, cost_breakdown, load_catalog

    catalog = load_catalog()
    expected = sum(cost_breakdown(catalog, "gpt-4o-mini", u, at=date(2026, 11, 2)).total
                   for u in (Usage(1_000_000, 0), Usage(0, 1_000_000)))
    assert str(projects["search"]["cost"]) == str(float(expected))


def test_rejects_or_out_naming_an_input_is_refused_before_anything_is_written(run_cli, tmp_path) -> None:
    """`--rejects` naming an input file truncated it to 0 bytes before reading."""
    src = tmp_path / "app.jsonl"
    src.write_text('{"not": "a usage line"}\n' * 3)
    before = src.read_bytes()
    res = run_cli(["ingest", str(src), "--out", str(tmp_path / "o.parquet"), "--rejects", str(src)])
    assert res.exit_code == 2 and "also an input" in " ".join(res.stderr.split())
    assert src.read_bytes() == before


def test_two_ingests_into_one_out_leave_a_whole_file(tmp_path) -> None:
    """Both runs wrote the same `.NAME.part`: 4 of 4 trials left an unreadable parquet."""
    import subprocess
    import sys

    import pyarrow.parquet as pq

    from tests.conftest import REPO

    src = REPO / "tests" / "ingest" / "fixtures" / "openai_chat.jsonl"
    out = tmp_path / "o.parquet"
    cmd = [sys.executable, "-m", "llmaudit", "ingest", str(src), "--out", str(out)]
    procs = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(3)]
    errors = [p.communicate(timeout=120)[1].decode(errors="replace") for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errors
    assert pq.read_table(out).num_rows == 4
    assert not list(tmp_path.glob(".*.part"))
