"""P1: `llmaudit report --spend` on a Claude Code transcript corpus vs ccusage 20.0.24 (`daily`).

Generates a corpus of at least ``--mb`` MB (bench/gen_claude.py), runs ccusage's
``claude daily --json --offline --mode calculate --timezone UTC`` with CLAUDE_CONFIG_DIR pointing at
it (and HOME at an empty dir, so nothing else on the machine is read), runs
``llmaudit report --spend <corpus> --by day --format json --timezone UTC``, and compares per day:

* tokens, exactly. ccusage's ``inputTokens`` are Anthropic's uncached input, ours include cache
  reads and writes (DESIGN §4.3), so ours minus cache reads minus cache writes must equal theirs.
* cost, within ``--cost-tolerance`` (relative, per day and in total). Known source of difference:
  ccusage prices >200k-token requests incrementally per token category (formats.md §B3); the
  script counts such requests per day so the difference can be attributed.
* wall time: best of ``--runs`` for each; target llmaudit ≤ 1.0× ccusage.

Needs ccusage installed once: ``npm install --prefix bench/_work/npm ccusage@20.0.24``.

    python bench/p1_ccusage.py --mb 200 --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
from collections import defaultdict
from pathlib import Path

from _common import NPM_DIR, Report, best_of, dir_size, human_bytes, llmaudit_cmd, verdict, work
from gen_claude import generate


def ccusage_bin() -> Path:
    exe = NPM_DIR / "node_modules" / ".bin" / "ccusage"
    if not exe.exists():
        raise SystemExit(f"ccusage not found at {exe}; run: npm install --prefix {NPM_DIR} ccusage@20.0.24")
    return exe


def long_context_days(corpus: Path) -> dict[str, int]:
    """Requests whose prompt (input + cache writes + cache reads) passes 200k, per UTC day,
    counted once per (message.id, requestId) as both tools de-duplicate."""
    seen: set[tuple[str, str]] = set()
    days: dict[str, int] = defaultdict(int)
    for path in corpus.rglob("*.jsonl"):
        with path.open() as fh:
            for line in fh:
                if '"assistant"' not in line or "cache_read_input_tokens" not in line:
                    continue
                rec = json.loads(line)
                msg = rec.get("message") or {}
                u = msg.get("usage") or {}
                prompt = (u.get("input_tokens", 0) + u.get("cache_creation_input_tokens", 0)
                          + u.get("cache_read_input_tokens", 0))
                key = (msg.get("id"), rec.get("requestId"))
                if prompt > 200_000 and key not in seen:
                    seen.add(key)
                    days[rec["timestamp"][:10]] += 1
    return dict(days)


def ours_daily(report: dict) -> dict[str, dict[str, float]]:
    rows = report["breakdowns"]["day"]["rows"]
    return {
        r["day"]: {
            "inputTokens": r["input_tokens"] - r["cache_read_tokens"] - r["cache_write_tokens"],
            "outputTokens": r["output_tokens"],
            "cacheCreationTokens": r["cache_write_tokens"],
            "cacheReadTokens": r["cache_read_tokens"],
            "cost": r["cost"],
            "unpriced_requests": r["unpriced_requests"],
        }
        for r in rows
    }


def theirs_daily(report: dict) -> dict[str, dict[str, float]]:
    return {
        d.get("date") or d["period"]: {
            "inputTokens": d["inputTokens"],
            "outputTokens": d["outputTokens"],
            "cacheCreationTokens": d["cacheCreationTokens"],
            "cacheReadTokens": d["cacheReadTokens"],
            "cost": d["totalCost"],
        }
        for d in report["daily"]
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=200.0, help="corpus size (MB of JSONL)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cost-tolerance", type=float, default=1e-6, help="relative, per day, on days without >200k")
    ap.add_argument("--regenerate", action="store_true")
    ap.add_argument("--llmaudit-args", default="", help="extra flags for report --spend (space separated)")
    args = ap.parse_args()

    corpus = work("p1", f"claude-{int(args.mb)}mb")
    marker = corpus / "counts.json"
    if args.regenerate or not marker.exists():
        counts = generate(corpus, args.mb)
        marker.write_text(json.dumps(counts))
    counts = json.loads(marker.read_text())
    home = work("p1", "empty-home")
    env = {"HOME": str(home), "CLAUDE_CONFIG_DIR": str(corpus), "TZ": "UTC", "LLMAUDIT_HOME": str(home / ".llmaudit")}
    env.pop("XDG_CONFIG_HOME", None)
    os.environ.pop("XDG_CONFIG_HOME", None)

    cc_cmd = [str(ccusage_bin()), "claude", "daily", "--json", "--offline", "--mode", "calculate",
              "--timezone", "UTC", "--breakdown"]
    ours_cmd = [*llmaudit_cmd(), "report", "--spend", str(corpus / "projects"), "--by", "day", "--format", "json",
                "--timezone", "UTC", *args.llmaudit_args.split()]
    cc_run, cc_times = best_of(args.runs, cc_cmd, env=env)
    our_run, our_times = best_of(args.runs, ours_cmd, env=env)
    theirs = theirs_daily(json.loads(cc_run.stdout))
    ours = ours_daily(json.loads(our_run.stdout))
    long_days = long_context_days(corpus)

    token_fields = ("inputTokens", "outputTokens", "cacheCreationTokens", "cacheReadTokens")
    token_mismatch = []
    cost_rows = []
    for day in sorted(set(theirs) | set(ours)):
        a, b = ours.get(day), theirs.get(day)
        if a is None or b is None:
            token_mismatch.append(f"{day}: only in {'ccusage' if a is None else 'llmaudit'}")
            continue
        for f in token_fields:
            if int(a[f]) != int(b[f]):
                token_mismatch.append(f"{day} {f}: llmaudit {int(a[f]):,} vs ccusage {int(b[f]):,}")
        rel = (a["cost"] - b["cost"]) / b["cost"] if b["cost"] else 0.0
        cost_rows.append((day, a["cost"], b["cost"], rel, long_days.get(day, 0)))
    plain = [r for r in cost_rows if r[4] == 0]
    worst_plain = max((abs(r[3]) for r in plain), default=0.0)
    ours_total = sum(r[1] for r in cost_rows)
    theirs_total = sum(r[2] for r in cost_rows)
    long_diff = sum(r[1] - r[2] for r in cost_rows if r[4])

    rep = Report("p1_ccusage", " ".join(["llmaudit", *ours_cmd[len(llmaudit_cmd()):]]))
    rep.figures = {
        "corpus": f"{human_bytes(dir_size(corpus / 'projects'))}, {counts['files']} files, {counts['lines']:,} lines, "
                  f"{counts['messages']:,} API messages, {counts['duplicate_lines']:,} duplicate lines, "
                  f"{counts['synthetic']} <synthetic>, {counts['long_context']} >200k",
        "ccusage best s": round(cc_run.wall_s, 3),
        "ccusage runs s": [round(t, 3) for t in cc_times],
        "ccusage peak RSS MB": cc_run.max_rss_mb,
        "llmaudit best s": round(our_run.wall_s, 3),
        "llmaudit runs s": [round(t, 3) for t in our_times],
        "llmaudit peak RSS MB": our_run.max_rss_mb,
        "days compared": len(cost_rows),
        "token mismatches": len(token_mismatch),
        "llmaudit total cost": round(ours_total, 6),
        "ccusage total cost": round(theirs_total, 6),
        "total cost relative diff": f"{(ours_total - theirs_total) / theirs_total:+.3e}" if theirs_total else "n/a",
        "days with >200k requests": len([r for r in cost_rows if r[4]]),
        "cost diff on those days (llmaudit - ccusage)": round(long_diff, 6),
        "worst relative cost diff, other days": f"{worst_plain:.3e}",
    }
    rep.ratios = {"llmaudit/ccusage wall": our_run.wall_s / cc_run.wall_s}
    rep.targets = {
        "wall ≤ 1.0× ccusage": verdict(our_run.wall_s <= cc_run.wall_s),
        "token totals equal per day": verdict(not token_mismatch),
        f"cost within {args.cost_tolerance:g} (days without >200k)": verdict(worst_plain <= args.cost_tolerance),
    }
    rep.notes = token_mismatch[:10]
    if our_run.stderr.strip():
        rep.notes.append("llmaudit stderr: " + our_run.stderr.strip()[-600:])
    rep.print()


if __name__ == "__main__":
    main()
