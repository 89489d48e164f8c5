"""P9: how the ingest engine scales with cores, with its baselines pinned to the same cores.

For each core count (1, 2, 4, ... up to what this machine has, or ``--cores 1,2,16``) every
command runs under ``taskset -c 0-(k-1)`` (whole-process wall clock, best of ``--runs``):

* P1: ``llmaudit report --spend <Claude Code corpus> --by day --no-store`` against ccusage 20.0.24
  ``claude daily --json --offline`` (if installed: see bench/README.md), on a ``--p1-mb`` corpus
  (bench/gen_claude.py) and a 20 MB one (the fixed start-up cost);
* P2: ``llmaudit report --spend <OpenAI JSONL> --by day --no-store`` against bare pyarrow
  (bench/_pyarrow_bare.py: ``pyarrow.json.read_json`` and one group-by), on ``--p2-rows`` requests
  (bench/gen_openai.py);
* P1 again from the store (``report --spend`` on unchanged logs: the remembered answer), against
  ccusage; and with one new session added before each run (that file is read, the others come
  from the store).

It prints the issue's table (seconds and the ratio to the baseline on the same cores) and each
engine's speed-up from 1 core to k cores. Run it on a many-core machine to see the scaling:

    python bench/p9_cores.py --p1-mb 200 --p2-rows 5000000 --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

from _common import BENCH, NPM_DIR, Report, best_of, human_bytes, llmaudit_cmd, run, verdict, work


def cores_available() -> list[int]:
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:
        return list(range(os.cpu_count() or 1))


def pinned(cmd: list[str], k: int) -> list[str]:
    cpus = cores_available()[:k]
    return ["taskset", "-c", ",".join(map(str, cpus)), *cmd] if shutil.which("taskset") else cmd


def add_session(corpus: Path, n: int) -> Path:
    """A new session in the corpus (removed after the figure): a copy of its first session under new
    request and message ids, so it adds requests rather than duplicates."""
    folder = corpus / "projects" / "-home-dev-project00"
    source = sorted(p for p in folder.glob("*.jsonl") if not p.name.startswith(_ADDED))[0]
    tag = f"{_ADDED}{n}"
    text = source.read_text().replace('"requestId":"req_', f'"requestId":"req_{tag}_')
    target = folder / f"{tag}.jsonl"
    target.write_text(text.replace('"id":"msg_', f'"id":"msg_{tag}_'))
    return target


_ADDED = "bench-added-"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--p1-mb", type=float, default=200.0)
    ap.add_argument("--p2-rows", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cores", default="", help="comma-separated core counts (default: 1, 2, 4, ... all)")
    ap.add_argument("--home", default="", help="LLMAUDIT_HOME for the runs (default: bench/_work/p9/home)")
    args = ap.parse_args()

    have = len(cores_available())
    if args.cores:
        counts = sorted({min(int(c), have) for c in args.cores.split(",")})
    else:
        counts, k = [], 1
        while k < have:
            counts.append(k)
            k *= 2
        counts.append(have)
    sys.path.insert(0, str(BENCH))
    from gen_claude import generate

    corpora = {}
    for mb in (args.p1_mb, 20.0):
        corpus = work("p9", f"claude-{int(mb)}mb")
        if not (corpus / "counts.json").exists():
            (corpus / "counts.json").write_text(json.dumps(generate(corpus, mb)))
        corpora[mb] = corpus
    p2 = work("p9") / f"openai-{args.p2_rows}.jsonl"
    if not p2.exists():
        import subprocess

        subprocess.run([sys.executable, str(BENCH / "gen_openai.py"), "--out", str(p2), "--rows", str(args.p2_rows)],
                       check=True, capture_output=True)

    home = Path(args.home) if args.home else work("p9", "home")
    env = {"HOME": str(home), "TZ": "UTC", "LLMAUDIT_HOME": str(home / ".llmaudit")}
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)   # a user's install has its bytecode compiled
    ccusage = NPM_DIR / "node_modules" / ".bin" / "ccusage"
    ours = [*llmaudit_cmd(), "report", "--spend"]
    tail = ["--by", "day", "--format", "json", "--timezone", "UTC"]

    rows = []
    for k in counts:
        line: dict[str, object] = {"cores": k}
        for mb, corpus in corpora.items():
            label = f"P1 {int(mb)} MB"
            cc_env = {**env, "CLAUDE_CONFIG_DIR": str(corpus)}
            if ccusage.exists():
                cc, _ = best_of(args.runs, pinned([str(ccusage), "claude", "daily", "--json", "--offline", "--mode",
                                                   "calculate", "--timezone", "UTC"], k), env=cc_env)
                line[f"{label} ccusage s"] = round(cc.wall_s, 3)
            us, _ = best_of(args.runs, pinned([*ours, str(corpus / "projects"), *tail, "--no-store"], k), env=env)
            line[f"{label} llmaudit s"] = round(us.wall_s, 3)
            if mb == args.p1_mb:
                best_of(1, pinned([*ours, str(corpus / "projects"), *tail], k), env=env)   # fill the store
                again, _ = best_of(args.runs, pinned([*ours, str(corpus / "projects"), *tail], k), env=env)
                line[f"{label} llmaudit repeat (store) s"] = round(again.wall_s, 3)
                added: list[Path] = []
                try:   # one new session before each run: it is read, every other file comes from the store
                    walls = []
                    for n in range(args.runs):
                        added.append(add_session(corpus, n))
                        walls.append(run(pinned([*ours, str(corpus / "projects"), *tail], k), env=env).wall_s)
                    line[f"{label} llmaudit one session added (store) s"] = round(min(walls), 3)
                finally:
                    for path in added:
                        path.unlink(missing_ok=True)
        bare, _ = best_of(args.runs, pinned([sys.executable, str(BENCH / "_pyarrow_bare.py"), str(p2)], k), env=env)
        us, _ = best_of(args.runs, pinned([*ours, str(p2), *tail, "--no-store"], k), env=env)
        line["P2 bare pyarrow s"] = round(bare.wall_s, 3)
        line["P2 llmaudit s"] = round(us.wall_s, 3)
        rows.append(line)
        print(json.dumps(line), flush=True)

    rep = Report("p9_cores", f"llmaudit report --spend ... --no-store, pinned to 1..{have} cores with taskset")
    p1 = f"P1 {int(args.p1_mb)} MB"
    rep.figures = {
        "inputs": f"{p1}: {human_bytes(sum(p.stat().st_size for p in (corpora[args.p1_mb] / 'projects').rglob('*')))}; "
                  f"P2: {args.p2_rows:,} requests, {human_bytes(p2.stat().st_size)}",
        "table": rows,
    }
    first = rows[0]

    def sec(line: dict[str, object], key: str) -> float:
        return float(line[key])  # type: ignore[arg-type]

    cold, repeat, small = f"{p1} llmaudit s", f"{p1} llmaudit repeat (store) s", "P1 20 MB llmaudit s"
    added = f"{p1} llmaudit one session added (store) s"
    for line in rows:
        k = line["cores"]
        rep.ratios[f"P1 speed-up 1->{k} cores"] = sec(first, cold) / sec(line, cold)
        rep.ratios[f"P2 speed-up 1->{k} cores"] = sec(first, "P2 llmaudit s") / sec(line, "P2 llmaudit s")
        if f"{p1} ccusage s" in line:
            cc = sec(line, f"{p1} ccusage s")
            rep.ratios[f"P1 llmaudit/ccusage at {k} cores"] = sec(line, cold) / cc
            rep.ratios[f"P1 repeat/ccusage at {k} cores"] = sec(line, repeat) / cc
            rep.ratios[f"P1 one session added/ccusage at {k} cores"] = sec(line, added) / cc
            rep.ratios[f"P1 20 MB llmaudit/ccusage at {k} cores"] = sec(line, small) / sec(line, "P1 20 MB ccusage s")
        bare = sec(line, "P2 bare pyarrow s")
        rep.ratios[f"P2 llmaudit/bare pyarrow at {k} cores"] = sec(line, "P2 llmaudit s") / bare
    two = next((line for line in rows if line["cores"] == 2), None)
    if two is not None:
        rep.targets = {
            "P1 1->2-core speed-up >= 1.6": verdict(sec(first, cold) / sec(two, cold) >= 1.6),
            "P2 1->2-core speed-up >= 1.6": verdict(sec(first, "P2 llmaudit s") / sec(two, "P2 llmaudit s") >= 1.6),
            "P2 <= 1.5x bare pyarrow on 2 cores": verdict(sec(two, "P2 llmaudit s")
                                                          <= 1.5 * sec(two, "P2 bare pyarrow s")),
        }
        if f"{p1} ccusage s" in two:
            cc = sec(two, f"{p1} ccusage s")
            rep.targets["P1 cold <= 1.0x ccusage on 2 cores"] = verdict(sec(two, cold) <= cc)
            rep.targets["P1 repeat <= 0.5x ccusage on 2 cores"] = verdict(sec(two, repeat) <= 0.5 * cc)
            small_cc = sec(two, "P1 20 MB ccusage s")
            rep.targets["P1 20 MB <= 4x ccusage on 2 cores"] = verdict(sec(two, small) <= 4 * small_cc)
    rep.print()


if __name__ == "__main__":
    main()
