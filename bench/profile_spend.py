"""Where `report --spend` spends its time: stage by stage, on any input (used for the diagnoses).

Stages, each timed on its own in one process: imports + catalog load, reading (ingest readers,
de-duplication), pricing (``price_table`` per batch), aggregation without the what-if
(``build_spend --no-whatif`` on the priced batches), the what-if alone (``WhatIfAccumulator`` on the
priced batches), and whole ``build_spend`` runs on the batches as read and coalesced to 64k rows
(many small files give one small batch each, and every batch pays fixed per-call costs).
``--pyinstrument`` prints a call tree of one whole in-process run as well.

The post-read stages run ``--repeat`` times on the same cached batches; each prints its best wall
time and its best CPU time (user + system of the whole process, every thread: on a shared 2-core
machine the CPU time is the steadier figure, and on this box what the stages burn is taken from
the parser threads). ``--cache FILE`` keeps the read batches in an Arrow IPC file: a second run
(or a run from another checkout, e.g. a ``git worktree`` of the baseline with
``PYTHONPATH=that/worktree``) skips reading and times the post-read stages on identical input, so
old and new code compare on the same batches.

    python bench/profile_spend.py bench/_work/p1/claude-200mb/projects
    python bench/profile_spend.py bench/_work/p2/openai-1000000.jsonl --by day,model --repeat 5 \\
        --cache /tmp/p2-batches.arrow
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any


def coalesce(tables: list, rows: int = 65_536) -> list:
    import pyarrow as pa

    out, buf, n = [], [], 0
    for t in tables:
        buf.append(t)
        n += t.num_rows
        if n >= rows:
            out.append(pa.concat_tables(buf))
            buf, n = [], 0
    if buf:
        out.append(pa.concat_tables(buf))
    return out


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[dict[str, Any], Any]:
    """Best wall and best CPU seconds of ``repeat`` runs (each minimum on its own), all runs' walls."""
    walls, cpus, out = [], [], None
    for _ in range(max(repeat, 1)):
        w, c = time.perf_counter(), _cpu()
        out = fn()
        cpus.append(_cpu() - c)
        walls.append(time.perf_counter() - w)
    return {"wall": round(min(walls), 3), "cpu": round(min(cpus), 3), "walls": [round(x, 3) for x in walls]}, out


def read_batches(paths: list[str], cache: str | None) -> tuple[list, float | None]:
    import pyarrow as pa
    import pyarrow.ipc as ipc

    from llmaudit.analysis.common.records import open_records

    if cache and os.path.exists(cache):
        with ipc.open_file(cache) as f:
            return [pa.Table.from_batches([f.get_batch(i)]) for i in range(f.num_record_batches)], None
    t = time.perf_counter()
    tables = [x for x in open_records(paths).batches() if x.num_rows]
    seconds = time.perf_counter() - t
    if cache:
        with ipc.new_file(cache, tables[0].schema) as w:
            for x in tables:
                for b in x.combine_chunks().to_batches(max_chunksize=x.num_rows):
                    w.write_batch(b)
    return tables, seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--by", default="day")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each post-read stage; the best is shown")
    ap.add_argument("--cache", help="Arrow IPC file keeping the read batches (written once, then reused)")
    ap.add_argument("--stages", default="price,aggregate,whatif,whole",
                    help="post-read stages to time (comma-separated)")
    ap.add_argument("--pyinstrument", action="store_true")
    args = ap.parse_args()
    wanted = set(args.stages.split(","))

    t0 = time.perf_counter()
    import pyarrow as pa
    import pyarrow.compute as pc

    from llmaudit.analysis.common.records import open_records
    from llmaudit.analysis.routing.whatif import WhatIfAccumulator
    from llmaudit.analysis.spend.builder import build_spend
    from llmaudit.analysis.spend.report import SpendOptions
    from llmaudit.pricing import load_catalog, price_table
    from llmaudit.units import parse_by

    catalog = load_catalog()
    stages: dict[str, Any] = {"imports + catalog": round(time.perf_counter() - t0, 3)}
    tables, read_s = read_batches(args.paths, args.cache)
    stages["read (ingest + dedup)"] = round(read_s, 3) if read_s is not None else "cached"
    now = datetime(2025, 11, 1, tzinfo=UTC)
    by = parse_by(args.by)

    timing, priced = best_of(args.repeat if "price" in wanted else 1,
                             lambda: [price_table(x, catalog) for x in tables])
    if "price" in wanted:
        stages["price_table"] = timing
    if "aggregate" in wanted:
        stages["aggregate (--no-whatif)"], _ = best_of(
            args.repeat, lambda: build_spend(priced, catalog, SpendOptions(by=by, whatif=False, now=now)))
    if "whatif" in wanted:
        days = [pc.strftime(pc.local_timestamp(x.column("timestamp").cast(pa.timestamp("us", tz="UTC"))),
                            "%Y-%m-%d") for x in priced]

        def whatif() -> Any:
            acc = WhatIfAccumulator(catalog)
            for x, d in zip(priced, days, strict=True):
                acc.add(x, d)
            return acc.result()

        stages["what-if"], _ = best_of(args.repeat, whatif)
    if "whole" in wanted:
        big = coalesce(tables)
        stages["price + aggregate + what-if, batches coalesced to 64k rows"], _ = best_of(
            args.repeat, lambda: build_spend(big, catalog, SpendOptions(by=by, now=now)))
        stages["price + aggregate + what-if, batches as read"], _ = best_of(
            args.repeat, lambda: build_spend(tables, catalog, SpendOptions(by=by, now=now)))
    print(json.dumps({"rows": sum(x.num_rows for x in tables), "batches as read": len(tables),
                      "load average": [round(x, 2) for x in os.getloadavg()], "seconds": stages}, indent=2))
    if args.pyinstrument:
        from pyinstrument import Profiler

        prof = Profiler()
        prof.start()
        build_spend(open_records(args.paths).batches(), catalog, SpendOptions(by=by, now=now))
        prof.stop()
        print(prof.output_text(unicode=True, color=False))


if __name__ == "__main__":
    main()
