"""P7: the dask engine (llmaudit.analysis.common.distributed) against the in-process engine, same inputs.

Generates a partitioned OpenAI-style log (``--parts`` JSONL files, ``--rows`` rows in all), then
builds the same spend report three ways and checks the JSON is identical:

* in-process: ``build_spend(open_records(paths).batches(), ...)`` (what ``report --spend`` runs);
* dask, a LocalCluster started for the read (one single-threaded worker process per core),
  start-up included;
* dask on an already running cluster (``--scheduler ADDRESS`` in real use), start-up excluded.

On one 2-core machine the cluster cannot beat the in-process engine by much: parsing is the
bulk of the work and the client still aggregates. The point of the engine is more cores:
workers on other machines reading a shared dataset.

    python bench/p7_dask.py --rows 1000000 --parts 16
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime

from _common import Report, human_bytes, verdict, work
from gen_openai import generate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--parts", type=int, default=16)
    ap.add_argument("--workers", type=int, default=None, help="LocalCluster worker processes (default: cores)")
    args = ap.parse_args()

    from llmaudit.analysis.common.distributed import connect, open_records_distributed
    from llmaudit.analysis.common.records import open_records
    from llmaudit.analysis.spend.builder import build_spend
    from llmaudit.analysis.spend.report import SpendOptions
    from llmaudit.pricing import load_catalog
    from llmaudit.units import parse_by

    root = work("p7", f"openai-{args.rows}-{args.parts}-v2")
    per = args.rows // args.parts
    paths = []
    size = 0
    for i in range(args.parts):
        p = root / f"part-{i:04d}.jsonl"
        if not p.exists():
            generate(p, rows=per, seed=100 + i, id_offset=i * per)
        paths.append(str(p))
        size += p.stat().st_size
    catalog = load_catalog()
    opts = SpendOptions(by=parse_by("day,model"), now=datetime(2025, 11, 1, tzinfo=UTC))

    def report(records: object) -> dict:
        out = build_spend(records.batches(), catalog, opts).to_dict()  # type: ignore[attr-defined]
        out.pop("generated_at")
        return out

    t0 = time.perf_counter()
    local = report(open_records(paths))
    t_local = time.perf_counter() - t0

    t0 = time.perf_counter()
    fresh = report(open_records_distributed(paths, catalog=catalog))
    t_fresh = time.perf_counter() - t0

    client, cluster = connect(None, workers=args.workers)
    try:
        client.wait_for_workers(1)
        t0 = time.perf_counter()
        warm = report(open_records_distributed(paths, catalog=catalog, client=client))
        t_warm = time.perf_counter() - t0
        nworkers = len(client.nthreads())
    finally:
        client.close()
        cluster.close()

    rep = Report("p7_dask", f"report --spend over {args.parts} partitions, in-process vs dask LocalCluster")
    rep.figures = {
        "input": f"{args.parts} files, {per * args.parts:,} rows, {human_bytes(size)}",
        "dask workers": nworkers,
        "in-process s": round(t_local, 2),
        "dask, cluster started for the read s": round(t_fresh, 2),
        "dask, running cluster s": round(t_warm, 2),
        "requests": local["totals"]["requests"],
        "cost": local["totals"]["cost"],
    }
    rep.ratios = {"dask running / in-process": t_warm / t_local, "dask fresh / in-process": t_fresh / t_local}
    rep.targets = {"identical report (fresh cluster)": verdict(fresh == local),
                   "identical report (running cluster)": verdict(warm == local)}
    if fresh != local:
        rep.notes.append(json.dumps({"local": local["totals"], "dask": fresh["totals"]})[:800])
    rep.print()


if __name__ == "__main__":
    main()
