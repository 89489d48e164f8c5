"""P9's floors: why P1 and P2 miss their targets on a machine with few cores.

Each command's CPU time (user + system, all its processes) beside its wall time, pinned to
``--cores`` cores, best of ``--runs`` (the fastest run's wall and CPU), with the baselines in the
same run. On k cores no run can take less than CPU / k seconds, and a serial start-up S (the part
before any reading can begin) makes that S + (CPU - S) / k. The script prints those bounds next to
the targets:

* P1 (``report --spend`` on the Claude Code corpus, ``--no-store``): ccusage; llmaudit with its
  worker processes and in one process (``LLMAUDIT_WORKERS=1``); llmaudit on the corpus's first
  file alone (its start-up, the serial part); bench/_claude_floor.py (start-up, read, one parse);
  llmaudit on one core, for the most speed-up the least wall time allows.
* P2 (``report --spend`` on the OpenAI log, ``--no-store``): bare pyarrow (bench/_pyarrow_bare.py);
  llmaudit, and with ``--no-whatif``; the parse alone with llmaudit's schema and with bare
  pyarrow's fields (bench/_pyarrow_parse.py): the CPU any reader of those fields pays.

    python bench/p9_floor.py --cores 2 --p1-mb 200 --p2-rows 5000000 --runs 3

The corpora are the ones bench/p9_cores.py generates (run it first, or with the same sizes).
"""

from __future__ import annotations

import argparse
import resource
import sys
from pathlib import Path

from _common import BENCH, NPM_DIR, Report, llmaudit_cmd, run, verdict, work
from p9_cores import pinned


def timed(cmd: list[str], env: dict[str, str], runs: int) -> tuple[float, float]:
    """(wall, CPU) of the fastest of ``runs`` runs; CPU is every process's user + system time."""
    best: tuple[float, float] | None = None
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall = run(cmd, env=env, measure_rss=False).wall_s
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if best is None or wall < best[0]:
            best = (wall, cpu)
    assert best is not None
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--p1-mb", type=float, default=200.0)
    ap.add_argument("--p2-rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--home", default="", help="LLMAUDIT_HOME for the runs (default: bench/_work/p9/home)")
    args = ap.parse_args()
    k = args.cores
    corpus = work("p9") / f"claude-{int(args.p1_mb)}mb"
    p2 = work("p9") / f"openai-{args.p2_rows}.jsonl"
    if not (corpus / "projects").exists() or not p2.exists():
        raise SystemExit(f"missing {corpus} or {p2}: run bench/p9_cores.py with the same sizes first")
    home = Path(args.home) if args.home else work("p9", "home")
    env = {"HOME": str(home), "TZ": "UTC", "LLMAUDIT_HOME": str(home / ".llmaudit")}
    ours = [*llmaudit_cmd(), "report", "--spend"]
    tail = ["--by", "day", "--format", "json", "--timezone", "UTC", "--no-store"]
    rep = Report("p9_floor", " ".join(["python", "bench/p9_floor.py", *sys.argv[1:]]))
    figures: dict[str, tuple[float, float]] = {}

    def measure(label: str, cmd: list[str], extra: dict[str, str] | None = None) -> tuple[float, float]:
        figures[label] = timed(pinned(cmd, k), {**env, **(extra or {})}, args.runs)
        wall, cpu = figures[label]
        rep.figures[label] = f"wall {wall:.3f} s, CPU {cpu:.3f} s"
        return figures[label]

    projects = corpus / "projects"
    first = sorted(projects.rglob("*.jsonl"))[0]
    ccusage = NPM_DIR / "node_modules" / ".bin" / "ccusage"
    cc = None
    if ccusage.exists():
        cc = measure("P1 ccusage", [str(ccusage), "claude", "daily", "--json", "--offline", "--mode", "calculate",
                                    "--timezone", "UTC"], {"CLAUDE_CONFIG_DIR": str(corpus)})
    pooled = measure("P1 llmaudit", [*ours, str(projects), *tail])
    alone = measure("P1 llmaudit, one process", [*ours, str(projects), *tail], {"LLMAUDIT_WORKERS": "1"})
    start = measure("P1 llmaudit, first file only (start-up)", [*ours, str(first), *tail])
    measure("P1 floor script (start, read, one parse)", [sys.executable, str(BENCH / "_claude_floor.py"),
                                                         str(projects)])
    one_core = timed(pinned([*ours, str(projects), *tail], 1), env, args.runs)
    rep.figures["P1 llmaudit on 1 core"] = f"wall {one_core[0]:.3f} s, CPU {one_core[1]:.3f} s"

    def least(cpu: float) -> float:
        """The wall time of a run of ``cpu`` CPU-seconds whose start-up is serial and the rest spread
        over every core without a gap."""
        return start[0] + max(cpu - start[1], 0.0) / k

    for label, (_, cpu) in (("P1 llmaudit", pooled), ("P1 llmaudit, one process", alone)):
        bound = least(cpu)
        rep.figures[f"{label}: least wall on {k} cores"] = f"{bound:.3f} s (start-up + the rest's CPU / {k})"
        rep.ratios[f"{label}: most 1->{k}-core speed-up"] = one_core[0] / bound
        if cc is not None:
            rep.ratios[f"{label}: least wall / ccusage"] = bound / cc[0]
    if cc is not None:
        rep.ratios["P1 llmaudit CPU / ccusage CPU"] = pooled[1] / cc[1]
        rep.ratios["P1 one process CPU / ccusage CPU"] = alone[1] / cc[1]
        best = min(least(pooled[1]), least(alone[1]))
        rep.targets[f"P1 <= 1.0x ccusage reachable on {k} cores"] = verdict(best <= cc[0])
    rep.targets[f"P1 1->{k}-core speed-up >= 1.6 reachable"] = verdict(
        one_core[0] / min(least(pooled[1]), least(alone[1])) >= 1.6)

    bare = measure("P2 bare pyarrow", [sys.executable, str(BENCH / "_pyarrow_bare.py"), str(p2)])
    full = measure("P2 llmaudit", [*ours, str(p2), *tail])
    lean = measure("P2 llmaudit --no-whatif", [*ours, str(p2), *tail, "--no-whatif"])
    parse = measure("P2 parse only, llmaudit's schema", [sys.executable, str(BENCH / "_pyarrow_parse.py"), str(p2),
                                                         "llmaudit"])
    measure("P2 parse only, bare pyarrow's fields", [sys.executable, str(BENCH / "_pyarrow_parse.py"), str(p2), "bare"])
    allowed = 1.5 * bare[0] * k
    rep.figures[f"P2 CPU a 1.5x target allows on {k} cores"] = (f"{allowed:.3f} s (1.5 x bare's wall x {k}, "
                                                                 "no core idle)")
    for label, (wall, cpu) in (("P2 llmaudit", full), ("P2 llmaudit --no-whatif", lean)):
        rep.ratios[f"{label} / bare pyarrow"] = wall / bare[0]
        rep.ratios[f"{label}: least wall / bare pyarrow"] = cpu / k / bare[0]
    rep.ratios["P2 parse only (llmaudit's schema) CPU / bare pyarrow's whole CPU"] = parse[1] / bare[1]
    rep.targets[f"P2 <= 1.5x bare pyarrow reachable on {k} cores"] = verdict(full[1] <= allowed)
    rep.targets[f"P2 --no-whatif <= 1.5x bare pyarrow reachable on {k} cores"] = verdict(lean[1] <= allowed)
    rep.print()


if __name__ == "__main__":
    main()
