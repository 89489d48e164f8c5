"""The dask engine gives the in-process engine's numbers, on a real 2-worker LocalCluster."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

distributed = pytest.importorskip("dask.distributed")

from llmaudit.analysis.common.distributed import open_records_distributed, read_partition  # noqa: E402
from llmaudit.analysis.common.records import open_records, write_parquet  # noqa: E402
from llmaudit.analysis.spend.builder import build_spend  # noqa: E402
from llmaudit.analysis.spend.report import SpendOptions  # noqa: E402
from llmaudit.errors import InputError, UnknownFormatError  # noqa: E402
from llmaudit.pricing import load_catalog  # noqa: E402
from llmaudit.units import parse_by  # noqa: E402

FIXTURES = Path(__file__).resolve().parent.parent / "ingest" / "fixtures"
NOW = datetime(2025, 11, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def client():
    # processes=False: two workers in this process (fast to start); the code path is the same
    # as with worker processes (tasks and results still go through the scheduler).
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                       dashboard_address=None)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def _openai_line(rid: str, model: str, day: int, p: int, c: int, cached: int = 0) -> str:
    return json.dumps({
        "id": rid, "object": "chat.completion", "created": 1_759_276_800 + day * 86_400 + 3600, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c,
                  "prompt_tokens_details": {"cached_tokens": cached}},
    })


def _claude_line(mid: str, rid: str, model: str, ts: str, out: int) -> str:
    return json.dumps({
        "type": "assistant", "sessionId": "s1", "timestamp": ts, "requestId": rid, "isSidechain": False,
        "message": {"id": mid, "role": "assistant", "model": model, "content": [{"type": "text", "text": "x"}],
                    "usage": {"input_tokens": 3, "cache_creation_input_tokens": 100, "cache_read_input_tokens": 5000,
                              "cache_creation": {"ephemeral_5m_input_tokens": 100, "ephemeral_1h_input_tokens": 0},
                              "output_tokens": out}},
    })


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    """Partitions with what makes distribution hard: ids repeated across files, a bad line,
    an unknown model, several formats (plus the ingest fixtures, when present)."""
    root = tmp_path / "logs"
    (root / "openai").mkdir(parents=True)
    models = ["gpt-4o-mini-2024-07-18", "gpt-4o-2024-08-06", "gpt-4.1-mini-2025-04-14", "no-such-model-x"]
    n = 0
    for part in range(4):
        lines = []
        for _ in range(40):
            n += 1
            lines.append(_openai_line(f"chatcmpl-{n}", models[(n + part) % 4], (n % 5), 100 + n, 10 + n % 7,
                                      cached=64 if n % 3 == 0 else 0))
        # the last request of the previous partition, logged again (a retry logged twice)
        if part:
            lines.append(_openai_line(f"chatcmpl-{n - 40}", models[0], 1, 999, 9))
        if part == 2:
            lines.append('{"id": "broken", "usage": ')
        (root / "openai" / f"part-{part:03d}.jsonl").write_text("\n".join(lines) + "\n")
    claude = root / "claude" / "projects" / "-home-dev-x"
    claude.mkdir(parents=True)
    (claude / "s1.jsonl").write_text("\n".join([
        _claude_line("msg_1", "req_1", "claude-sonnet-4-5-20250929", "2025-10-02T10:00:00.000Z", 50),
        _claude_line("msg_1", "req_1", "claude-sonnet-4-5-20250929", "2025-10-02T10:00:00.500Z", 50),
        _claude_line("msg_2", "req_2", "claude-haiku-4-5-20251001", "2025-10-03T23:59:59.000Z", 7),
    ]) + "\n")
    if FIXTURES.is_dir():
        shutil.copytree(FIXTURES, root / "fixtures")
    return root


def _report(batches, catalog) -> dict:
    opts = SpendOptions(by=parse_by("model,day,provider,source"), now=NOW)
    out = build_spend(batches, catalog, opts).to_dict()
    out.pop("generated_at")
    return out


def _summary(s) -> list[tuple]:
    return [(f.path, f.reader, f.rows_read, f.rows_kept, f.rows_rejected, f.duplicates, sorted(f.skipped.items()))
            for f in s.summary.files]


def test_same_numbers_as_in_process(logs: Path, client) -> None:
    catalog = load_catalog()
    paths = [str(logs)]
    local = open_records(paths)
    expected = _report(local.batches(), catalog)
    dist = open_records_distributed(paths, catalog=catalog, client=client, window=2)
    got = _report(dist.batches(), catalog)
    assert got == expected
    assert _summary(dist) == _summary(local)
    assert dist.summary.duplicate_count == local.summary.duplicate_count >= 3  # cross-file repeats caught
    assert [(r.path, r.line) for r in dist.summary.rejects] == [(r.path, r.line) for r in local.summary.rejects]
    assert dist.summary.rows_rejected >= 1
    assert expected["totals"]["unpriced_requests"] > 0  # the unknown model stays visible, not $0


def test_glob_of_partitions(logs: Path, client) -> None:
    catalog = load_catalog()
    pattern = str(logs / "openai" / "part-*.jsonl")
    expected = _report(open_records([pattern]).batches(), catalog)
    got = _report(open_records_distributed([pattern], catalog=catalog, client=client).batches(), catalog)
    assert got == expected
    assert got["totals"]["requests"] == 160


def test_ingest_writes_the_same_parquet_and_reads_parquet_datasets(logs: Path, tmp_path: Path, client) -> None:
    import pyarrow.parquet as pq

    catalog = load_catalog()
    dataset = tmp_path / "dataset"
    dataset.mkdir()
    for part in ("part-000", "part-001"):  # a parquet dataset: one ingested file per partition
        write_parquet(open_records([str(logs / "openai" / f"{part}.jsonl")]), catalog, dataset / f"{part}.parquet")
    paths = [str(logs / "openai" / "part-002.jsonl"), str(logs / "openai" / "part-003.jsonl")]
    local_out, dist_out = tmp_path / "local.parquet", tmp_path / "dist.parquet"
    a = write_parquet(open_records(paths), catalog, local_out)
    b = write_parquet(open_records_distributed(paths, catalog=catalog, client=client), catalog, dist_out)
    assert (a.rows, a.unpriced) == (b.rows, b.unpriced)
    assert pq.read_table(dist_out).equals(pq.read_table(local_out))
    mixed = [str(dataset), *paths]
    expected = _report(open_records(mixed).batches(), catalog)
    got = _report(open_records_distributed(mixed, catalog=catalog, client=client).batches(), catalog)
    assert got == expected
    assert got["totals"]["requests"] == expected["totals"]["requests"] > 120


def test_unknown_format_fails_before_any_work(tmp_path: Path, client) -> None:
    bad = tmp_path / "notes.jsonl"
    bad.write_text('{"hello": "world"}\n')
    with pytest.raises(UnknownFormatError):
        open_records_distributed([str(bad)], client=client)


def test_worker_error_reaches_the_client_with_its_file(logs: Path, client) -> None:
    dist = open_records_distributed([str(logs / "openai")], catalog=load_catalog(), client=client)
    gone = logs / "openai" / "part-002.jsonl"
    gone.unlink()  # vanishes between planning and reading
    with pytest.raises(InputError, match=r"part-002\.jsonl"):
        list(dist.batches())


def test_read_partition_prices_rows(logs: Path) -> None:
    result = read_partition(0, "raw", str(logs / "openai" / "part-000.jsonl"), "auto", None, load_catalog())
    assert result.error is None
    statuses = {s for t in result.tables for s in t.column("price_status").to_pylist()}
    assert "unpriced" not in statuses and "priced" in statuses


def test_engine_switch(logs: Path) -> None:
    from llmaudit.analysis.common.distributed import open_records_with
    from llmaudit.analysis.common.records import Records
    from llmaudit.errors import UsageError

    assert isinstance(open_records_with("local", [str(logs / "openai")]), Records)
    with pytest.raises(UsageError, match="--engine"):
        open_records_with("spark", [str(logs)])
    with pytest.raises(UsageError, match="--scheduler needs --engine dask"):
        open_records_with("local", [str(logs)], scheduler="tcp://127.0.0.1:8786")


def test_cli_report_and_ingest_with_engine_dask(logs: Path, tmp_path: Path, client, run_cli) -> None:
    if "--engine" not in run_cli(["report", "--help"]).stdout:
        pytest.skip("report --engine not wired in the CLI yet (bench/engine-cli.patch)")
    src = str(logs / "openai")
    common = ["report", "--spend", src, "--format", "json", "--now", "2025-11-01T00:00:00Z"]
    local = run_cli(common)
    dist = run_cli([*common, "--engine", "dask", "--scheduler", client.scheduler.address])
    assert local.exit_code == dist.exit_code == 0, dist.stderr
    a, b = json.loads(local.stdout), json.loads(dist.stdout)
    a.pop("generated_at"), b.pop("generated_at")
    assert a == b
    out = tmp_path / "d.parquet"
    r = run_cli(["ingest", src, "--out", str(out), "--engine", "dask", "--scheduler", client.scheduler.address])
    assert r.exit_code == 0, r.stderr
    assert run_cli(["report", "--spend", src, "--engine", "spark"]).exit_code == 2


def test_served_as_columns_flow_through_the_dask_engine(tmp_path: Path, client) -> None:
    """service_tier / speed / inference_geo / context_tier survive the worker round trip and the
    parquet written from it, exactly as in process."""
    import pyarrow.parquet as pq

    from llmaudit.schema import MODIFIER_COLUMNS

    served = FIXTURES / "served"
    if not served.is_dir():
        pytest.skip("no served fixtures")
    catalog = load_catalog()
    paths = [str(served)]
    local_out, dist_out = tmp_path / "local.parquet", tmp_path / "dist.parquet"
    write_parquet(open_records(paths), catalog, local_out)
    write_parquet(open_records_distributed(paths, catalog=catalog, client=client), catalog, dist_out)
    local, dist = pq.read_table(local_out), pq.read_table(dist_out)
    assert dist.equals(local)
    values = {name: set(dist.column(name).to_pylist()) for name in MODIFIER_COLUMNS}
    assert {"flex", "priority", "standard", "batch"} <= values["service_tier"]
    assert "fast" in values["speed"] and "us" in values["inference_geo"]
    assert {"0-200k", "200k-1M"} <= values["context_tier"]


def test_dimensions_and_host_through_the_dask_engine(logs: Path, client, run_cli) -> None:
    """--by vendor/session/project/host and --host give the same report on both engines (issue 12)."""
    common = ["report", "--spend", str(logs), "--format", "json", "--now", "2025-11-01T00:00:00Z", "--no-whatif",
              "--by", "vendor,session,project,host,vendor+provider", "--host", "box-1"]
    local = run_cli(common)
    dist = run_cli([*common, "--engine", "dask", "--scheduler", client.scheduler.address])
    assert local.exit_code == dist.exit_code == 0, dist.stderr
    a, b = json.loads(local.stdout), json.loads(dist.stdout)
    a.pop("generated_at"), b.pop("generated_at")
    assert a == b
    assert [r["host"] for r in a["breakdowns"]["host"]["rows"]] == ["box-1"]
    assert {"openai", "anthropic"} <= {r["vendor"] for r in a["breakdowns"]["vendor"]["rows"]}
    assert "s1" in {r["session"] for r in a["breakdowns"]["session"]["rows"]}


def test_workers_read_through_the_same_store(logs: Path, client, monkeypatch: pytest.MonkeyPatch) -> None:
    """--engine dask with the store: the workers fill this machine's store, a second run (either
    engine) takes every file from it, and the numbers stay those of a cold in-process read."""
    from dataclasses import replace

    from llmaudit.ingest.registry import READERS
    from llmaudit.ingest.store import open_store

    catalog = load_catalog()
    paths = [str(logs)]
    expected = _report(open_records(paths).batches(), catalog)
    first = open_records_distributed(paths, catalog=catalog, client=client, window=2, store=True)
    assert _report(first.batches(), catalog) == expected
    stored = open_store().status()
    assert stored.files >= 5 and stored.readers.get("openai", 0) >= 4

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a stored file was parsed again")

    # The workers run in this process (processes=False): the one registry they read is patched.
    monkeypatch.setitem(READERS, "openai", replace(READERS["openai"], read=refuse))
    again = open_records_distributed(paths, catalog=catalog, client=client, window=2, store=True)
    assert _report(again.batches(), catalog) == expected
    local = open_records(paths, store=True)
    assert _report(local.batches(), catalog) == expected


def test_a_store_the_workers_cannot_write_is_said_once(logs: Path, client, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A store the workers cannot write ($LLMAUDIT_HOME is a file) leaves the numbers those of a
    cold read and gives the client one warning, not one per partition."""
    catalog = load_catalog()
    paths = [str(logs)]
    expected = _report(open_records(paths).batches(), catalog)
    blocked = tmp_path / "home-is-a-file"
    blocked.write_text("")
    monkeypatch.setenv("LLMAUDIT_HOME", str(blocked))
    records = open_records_distributed(paths, catalog=catalog, client=client, window=2, store=True)
    assert _report(records.batches(), catalog) == expected
    said = records.summary.warnings
    assert len(said) == 1 and "could not be written (Not a directory)" in said[0]
