"""P8: loading the price catalog, and a command that needs it, in fresh processes.

(1) ``load_catalog()`` in a fresh process: the median wall of ``python -c "import llmaudit.pricing;
llmaudit.pricing.load_catalog()"`` minus the median of ``python -c "import llmaudit.pricing"``,
interleaved; each child also times the call itself. With a warm cache (the compiled catalog under
``$LLMAUDIT_HOME/cache``, the steady state), on the first run in a fresh ``$LLMAUDIT_HOME`` (every
file read and checked, the cache written), and with the cache turned off
(``LLMAUDIT_CATALOG_CACHE=0``). For comparison in the same run: the catalog fully parsed, every
entry built as ``load_catalog`` did before it became lazy (``read_catalog_files`` + ``Catalog``).
(2) ``llmaudit pricing cost gpt-4o --input-tokens 1 --output-tokens 1``, whole process, against
``llmaudit --help`` (which loads no catalog).

Targets: ``load_catalog()`` ≤ 0.05 s (median, over the import); ``--help`` ≤ 0.15 s.

    python bench/p8_catalog_load.py --runs 15
"""

from __future__ import annotations

import argparse
import shutil
import sys

from _common import Report, llmaudit_cmd, median, run, verdict, work

TARGET_LOAD_S = 0.05
TARGET_HELP_S = 0.15

IMPORT = "import llmaudit.pricing"
# Each child prints how long the call took inside it (no interpreter start-up, no imports).
LOAD = ("import time, llmaudit.pricing as p; t = time.perf_counter(); c = p.load_catalog(); "
        "print(time.perf_counter() - t, len(c))")
FULL = ("import time; from llmaudit.pricing import catalog as m; t = time.perf_counter(); "
        "by_id, sources = m.read_catalog_files(m._shipped_files()); es = list(by_id.values()); "
        "c = m.Catalog(es, max(p.as_of for e in es for p in e.prices), sources); "
        "print(time.perf_counter() - t, len(c))")


def _inner(out: str) -> tuple[float, int]:
    seconds, models = out.split()
    return float(seconds), int(models)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    home = work("p8") / "home"
    shutil.rmtree(home, ignore_errors=True)
    env = {"LLMAUDIT_HOME": str(home)}
    py = sys.executable

    # The first run in a fresh home compiles the catalog and writes the cache file.
    cold = run([py, "-c", LOAD], env=env, measure_rss=False)
    cold_inner, models = _inner(cold.stdout)
    cache = sorted(p.name for p in (home / "cache").glob("*.bin")) if (home / "cache").is_dir() else []
    cost = [*llmaudit_cmd(), "pricing", "cost", "gpt-4o", "--input-tokens", "1", "--output-tokens", "1"]
    helps = [*llmaudit_cmd(), "--help"]
    run(cost, env=env, measure_rss=False)
    run(helps, env=env, measure_rss=False)
    off = {**env, "LLMAUDIT_CATALOG_CACHE": "0"}

    base, warm, warm_in, nocache, nocache_in, full, full_in, cost_s, help_s = ([] for _ in range(9))
    for _ in range(args.runs):  # interleaved, so load from other jobs hits every figure alike
        base.append(run([py, "-c", IMPORT], env=env, measure_rss=False).wall_s)
        r = run([py, "-c", LOAD], env=env, measure_rss=False)
        warm.append(r.wall_s)
        warm_in.append(_inner(r.stdout)[0])
        r = run([py, "-c", LOAD], env=off, measure_rss=False)
        nocache.append(r.wall_s)
        nocache_in.append(_inner(r.stdout)[0])
        r = run([py, "-c", FULL], env=env, measure_rss=False)
        full.append(r.wall_s)
        full_in.append(_inner(r.stdout)[0])
        cost_s.append(run(cost, env=env, measure_rss=False).wall_s)
        help_s.append(run(helps, env=env, measure_rss=False).wall_s)

    load_s = median(warm) - median(base)
    rep = Report("p8_catalog_load", "python -c 'llmaudit.pricing.load_catalog()'; "
                                    "llmaudit pricing cost gpt-4o --input-tokens 1 --output-tokens 1")
    rep.figures = {
        "runs": args.runs,
        "catalog models": models,
        "import llmaudit.pricing median s": round(median(base), 4),
        "+ load_catalog() median s": round(median(warm), 4),
        "load_catalog() over the import, median s": round(load_s, 4),
        "load_catalog() timed inside, median s": round(median(warm_in), 4),
        "first run in a fresh home (compile + write cache), inside s": round(cold_inner, 4),
        "cache file": ", ".join(cache) or "none",
        "cache off (LLMAUDIT_CATALOG_CACHE=0) over the import, median s": round(median(nocache) - median(base), 4),
        "cache off, timed inside, median s": round(median(nocache_in), 4),
        "fully parsed (pre-lazy load) over the import, median s": round(median(full) - median(base), 4),
        "fully parsed, timed inside, median s": round(median(full_in), 4),
        "llmaudit --help median s": round(median(help_s), 4),
        "llmaudit pricing cost median s": round(median(cost_s), 4),
        "pricing cost over --help, median s": round(median(cost_s) - median(help_s), 4),
    }
    rep.ratios = {
        "fully parsed / load_catalog (inside)": median(full_in) / median(warm_in),
        "pricing cost / --help (median)": median(cost_s) / median(help_s),
    }
    rep.targets = {
        f"load_catalog() ≤ {TARGET_LOAD_S} s over the import (median)": verdict(load_s <= TARGET_LOAD_S),
        f"--help median ≤ {TARGET_HELP_S} s": verdict(median(help_s) <= TARGET_HELP_S),
    }
    rep.notes = [
        "load_catalog() indexes ids, aliases and names and builds a model's entry when a lookup needs it;"
        " the compiled form (raw specs as JSON text) is cached under $LLMAUDIT_HOME/cache, keyed by each"
        " file's path, size, mtime, ctime, inode and device",
        "cache off: every file is parsed and every model checked on each run (bad data still fails the load)",
    ]
    rep.print()


if __name__ == "__main__":
    main()
