"""P9, many files: the ingest engine on a Claude Code folder of many small transcripts.

A heavy user's ``~/.claude/projects`` holds thousands of session files (and the store keeps the
ones Claude Code deleted). What each file costs — walking the folder, sniffing, the store's
lookup and index, one table per file — decides the daily run here, not the parse. Every command
is pinned to ``--cores`` cores (``taskset``), best of ``--runs``:

* ccusage 20.0.24 ``claude daily --json --offline`` (the baseline, if installed: bench/README.md);
* llmaudit ``report --spend --by day --format json``, cold (``--no-store``), then the run that fills
  the store, the repeat on unchanged logs (the remembered answer), and the daily case: one new
  session added before each run (it is read, every other file comes from the store).

    python bench/p9_many_files.py --files 20000 --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

from _common import NPM_DIR, Report, best_of, human_bytes, llmaudit_cmd, run, work
from gen_claude import generate
from p9_cores import add_session, pinned


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=20_000, help="session files in the folder (default 20,000)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cores", type=int, default=2, help="pin every command to this many cores (default 2)")
    args = ap.parse_args()

    corpus = work("p9", f"claude-{args.files}-files")
    if not (corpus / "counts.json").exists():
        shutil.rmtree(corpus, ignore_errors=True)
        corpus.mkdir(parents=True)
        # Short sessions (1-4 user turns, texts up to 200 characters): a few KB a file.
        counts = generate(corpus, 0, turns=(1, 4), text=200, files=args.files)
        (corpus / "counts.json").write_text(json.dumps(counts))
    projects = corpus / "projects"
    home = work("p9", f"home-{args.files}-files")
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    env = {"HOME": str(home), "TZ": "UTC", "LLMAUDIT_HOME": str(home / ".llmaudit")}
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)   # a user's install has its bytecode compiled
    k = args.cores
    ours = [*llmaudit_cmd(), "report", "--spend", str(projects), "--by", "day", "--format", "json",
            "--timezone", "UTC"]
    line: dict[str, object] = {}
    ccusage = NPM_DIR / "node_modules" / ".bin" / "ccusage"
    if ccusage.exists():
        cc, _ = best_of(args.runs, pinned([str(ccusage), "claude", "daily", "--json", "--offline", "--mode",
                                           "calculate", "--timezone", "UTC"], k),
                        env={**env, "CLAUDE_CONFIG_DIR": str(corpus)})
        line["ccusage s"] = round(cc.wall_s, 3)
    cold, _ = best_of(args.runs, pinned([*ours, "--no-store"], k), env=env)
    line["llmaudit cold (--no-store) s"] = round(cold.wall_s, 3)
    # An answer is remembered only for inputs unchanged for a while (ingest.answers.RECENT_NS, 2 s): a
    # corpus generated a moment ago would make the repeat below a full read.
    newest = max(p.stat().st_mtime for p in projects.rglob("*.jsonl"))
    time.sleep(max(0.0, newest + 3.0 - time.time()))
    fill = run(pinned(ours, k), env=env)
    line["llmaudit filling the store s"] = round(fill.wall_s, 3)
    repeat, _ = best_of(args.runs, pinned(ours, k), env=env)
    line["llmaudit repeat (remembered answer) s"] = round(repeat.wall_s, 3)
    added: list[Path] = []
    try:   # one new session before each run: it is read, every other file comes from the store
        walls = []
        for n in range(args.runs):
            added.append(add_session(corpus, n))
            walls.append(run(pinned(ours, k), env=env).wall_s)
        line["llmaudit one session added (store) s"] = round(min(walls), 3)
    finally:
        for path in added:
            path.unlink(missing_ok=True)

    files = sum(1 for _ in projects.rglob("*.jsonl"))
    size = sum(p.stat().st_size for p in projects.rglob("*.jsonl"))
    rep = Report("p9_many_files", f"llmaudit report --spend <{files:,} session files> --by day, pinned to {k} cores")
    rep.figures = {"inputs": f"{files:,} files, {human_bytes(size)}", **line}
    if "ccusage s" in line:
        cc_s = float(line["ccusage s"])   # type: ignore[arg-type]
        for key in [k_ for k_ in line if k_.startswith("llmaudit")]:
            rep.ratios[f"{key[9:-2]} / ccusage"] = float(line[key]) / cc_s   # type: ignore[arg-type]
    else:
        rep.notes.append("ccusage is not installed (bench/README.md, Setup): no baseline, no ratios")
    rep.print()


if __name__ == "__main__":
    sys.exit(main())
