"""Where `report --spend` spends its time: stage by stage, on any input (used for the diagnoses).

Stages, each timed on its own in one process: imports + catalog load, reading (ingest readers,
de-duplication), pricing (``price_table`` per batch), aggregation without and with the what-if
(``build_spend``), and the same aggregation after coalescing the read batches to 64k rows (many
small files give one small batch each, and every batch pays fixed per-call costs). ``--pyinstrument``
prints a call tree of one whole in-process run as well.

    python bench/profile_spend.py bench/_work/p1/claude-200mb/projects
    python bench/profile_spend.py bench/_work/p2/openai-1000000.jsonl --by day,model
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="+")
    ap.add_argument("--by", default="day")
    ap.add_argument("--pyinstrument", action="store_true")
    args = ap.parse_args()

    t0 = time.perf_counter()
    from llmaudit.analysis.records import open_records
    from llmaudit.analysis.spend import SpendOptions, build_spend, parse_by
    from llmaudit.pricing import load_catalog, price_table

    catalog = load_catalog()
    stages: dict[str, float] = {"imports + catalog": time.perf_counter() - t0}
    t = time.perf_counter()
    tables = list(open_records(args.paths).batches())
    stages["read (ingest + dedup)"] = time.perf_counter() - t
    t = time.perf_counter()
    priced = [price_table(x, catalog) for x in tables]
    stages["price_table"] = time.perf_counter() - t
    now = datetime(2025, 11, 1, tzinfo=UTC)
    for label, whatif in (("aggregate (--no-whatif)", False), ("aggregate + what-if", True)):
        t = time.perf_counter()
        build_spend(priced, catalog, SpendOptions(by=parse_by(args.by), whatif=whatif, now=now))
        stages[label] = time.perf_counter() - t
    t = time.perf_counter()
    big = coalesce(tables)
    build_spend(big, catalog, SpendOptions(by=parse_by(args.by), now=now))
    stages["price + aggregate + what-if, batches coalesced to 64k rows"] = time.perf_counter() - t
    t = time.perf_counter()
    build_spend(tables, catalog, SpendOptions(by=parse_by(args.by), now=now))
    stages["price + aggregate + what-if, batches as read"] = time.perf_counter() - t
    print(json.dumps({"rows": sum(x.num_rows for x in tables), "batches as read": len(tables),
                      "batches coalesced": len(big), "seconds": {k: round(v, 3) for k, v in stages.items()}},
                     indent=2))
    if args.pyinstrument:
        from pyinstrument import Profiler

        prof = Profiler()
        prof.start()
        build_spend(open_records(args.paths).batches(), catalog, SpendOptions(by=parse_by(args.by), now=now))
        prof.stop()
        print(prof.output_text(unicode=True, color=False))


if __name__ == "__main__":
    main()
