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
* the floor: a bare Python + pyarrow read of the same files in one parse (bench/_claude_floor.py),
  timed as its own process in the same run, so the figures show how much of ccusage's lead (a
  compiled binary) is the language and runtime floor and how much is llmaudit's own work.

Needs ccusage installed once: ``npm install --prefix bench/_work/npm ccusage@20.0.24``.

    python bench/p1_ccusage.py --mb 200 --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections import defaultdict
from pathlib import Path

from _common import BENCH, NPM_DIR, Report, best_of, dir_size, human_bytes, llmaudit_cmd, run, verdict, work
from gen_claude import generate


def ccusage_bin() -> Path:
    exe = NPM_DIR / "node_modules" / ".bin" / "ccusage"
    if not exe.exists():
        raise SystemExit(f"ccusage not found at {exe}; run: npm install --prefix {NPM_DIR} ccusage@20.0.24")
    return exe


# Anthropic list prices, USD per 1M tokens (formats.md §B1): input, 5m write, 1h write, read, output;
# and the >200k-prompt rates of the Sonnet 1M-context beta (§B3): input, 5m write, read, output.
LIST = {
    "claude-opus-4-1-20250805": (15, 18.75, 30, 1.5, 75),
    "claude-sonnet-4-5-20250929": (3, 3.75, 6, 0.3, 15),
    "claude-sonnet-4-20250514": (3, 3.75, 6, 0.3, 15),
    "claude-haiku-4-5-20251001": (1, 1.25, 2, 0.1, 5),
}
ABOVE_200K = dict.fromkeys(("claude-sonnet-4-5-20250929", "claude-sonnet-4-20250514"), (6, 7.5, 0.6, 22.5))


def requests(corpus: Path) -> list[tuple[str, str, dict]]:
    """(day, model, usage) per API request, de-duplicated on (message.id, requestId) keeping the
    line with the largest token total (ccusage's rule), <synthetic> lines left out."""
    best: dict[tuple[str, str], tuple[int, str, str, dict]] = {}
    for path in corpus.rglob("*.jsonl"):
        with path.open() as fh:
            for line in fh:
                if '"assistant"' not in line or "cache_read_input_tokens" not in line:
                    continue
                rec = json.loads(line)
                msg = rec.get("message") or {}
                if msg.get("model") not in LIST:
                    continue
                u = msg["usage"]
                total = (u["input_tokens"] + u["output_tokens"] + u["cache_creation_input_tokens"]
                         + u["cache_read_input_tokens"])
                key = (msg["id"], rec["requestId"])
                if key not in best or total > best[key][0]:
                    best[key] = (total, rec["timestamp"][:10], msg["model"], u)
    return [(day, model, u) for _, day, model, u in best.values()]


def attribution(reqs: list[tuple[str, str, dict]]) -> dict[str, dict[str, float]]:
    """Per model: the list-price cost, and the terms that separate each tool from it.

    * ``ccusage_tiering``: ccusage prices a >200k prompt incrementally per token category (first
      200k of each category at base, the rest at the >200k rate; formats.md §B3).
    * ``whole_request_tier``: llmaudit reprices the whole request at the tier rates when the
      catalog's price point has a long-context tier (what Anthropic bills).
    * ``1h_at_5m_rate``: 1-hour cache writes priced at the 5-minute rate because the catalog's
      price point in force has no ``cache_write_1h`` rate (pricing/cost.py: "absent → 5m rate").
    """
    from datetime import date

    from llmaudit.pricing import load_catalog

    catalog = load_catalog()
    points: dict[tuple[str, str], object] = {}
    out: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for day, model, u in reqs:
        i, w5, w1, rd, o = LIST[model]
        cw = u.get("cache_creation") or {}
        t1h = cw.get("ephemeral_1h_input_tokens", 0)
        t5m = u["cache_creation_input_tokens"] - t1h
        inp, read, outp = u["input_tokens"], u["cache_read_input_tokens"], u["output_tokens"]
        base = (inp * i + t5m * w5 + t1h * w1 + read * rd + outp * o) / 1e6
        acc = out[model]
        acc["list"] += base
        if (model, day) not in points:
            res = catalog.resolve(model, "anthropic")
            points[(model, day)] = res.entry.price_at(date.fromisoformat(day)) if res else None
        point = points[(model, day)]
        prompt = inp + u["cache_creation_input_tokens"] + read
        has_1h = point is not None and point.rates.cache_write_1h is not None  # type: ignore[attr-defined]
        tiered = point is not None and bool(point.long_context) and prompt > 200_000  # type: ignore[attr-defined]
        if tiered and model in ABOVE_200K:  # what llmaudit should charge: the whole request at tier rates
            ai, aw, ar, ao = ABOVE_200K[model]
            ours = (inp * ai + t5m * aw + t1h * (2 * ai if has_1h else aw) + read * ar + outp * ao) / 1e6
        else:
            ours = (inp * i + t5m * w5 + t1h * (w1 if has_1h else w5) + read * rd + outp * o) / 1e6
        gap_1h = 0.0 if has_1h else t1h * (w5 - w1) / 1e6
        acc["1h_at_5m_rate"] += gap_1h
        acc["whole_request_tier"] += ours - base - gap_1h
        if prompt > 200_000 and model in ABOVE_200K:
            ai, aw, ar, ao = ABOVE_200K[model]
            acc["ccusage_tiering"] += (max(inp - 200_000, 0) * (ai - i)
                                       + max(u["cache_creation_input_tokens"] - 200_000, 0) * (aw - w5)
                                       + max(read - 200_000, 0) * (ar - rd) + max(outp - 200_000, 0) * (ao - o)) / 1e6
    return out


def append_session(projects: Path) -> Path:
    """A new session beside the others: a copy of the largest transcript with fresh ids, as Claude
    Code writes one a day later. Returns its path (the caller deletes it)."""
    source = max(projects.rglob("*.jsonl"), key=lambda p: p.stat().st_size)
    target = source.with_name("zz-appended-session.jsonl")
    with source.open() as fh, target.open("w") as out:
        for line in fh:
            rec = json.loads(line)
            if "requestId" in rec:
                rec["requestId"] = rec["requestId"] + "-new"
            msg = rec.get("message")
            if isinstance(msg, dict) and "id" in msg:
                msg["id"] = str(msg["id"]) + "-new"
            out.write(json.dumps(rec) + "\n")
    return target


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
    # Cold: every file parsed (--no-store), as a first run on a machine.
    our_run, our_times = best_of(args.runs, [*ours_cmd, "--no-store"], env=env)
    # ccusage computes no what-if; time llmaudit without it too, to show what the what-if costs
    lean_run, _ = best_of(args.runs, [*ours_cmd, "--no-whatif", "--no-store"], env=env)
    store = Path(env["LLMAUDIT_HOME"]) / "store"
    writing = []
    for _ in range(args.runs):   # a first run that also fills the store
        shutil.rmtree(store, ignore_errors=True)
        writing.append(run(ours_cmd, env=env))
    write_run = min(writing, key=lambda r: r.wall_s)
    repeat_run, repeat_times = best_of(args.runs, ours_cmd, env=env)   # the same logs again, unchanged
    if json.loads(repeat_run.stdout)["breakdowns"] != json.loads(our_run.stdout)["breakdowns"]:
        raise SystemExit("the report from the store differs from the cold one")
    appended = []
    for _ in range(args.runs):   # one new session, the rest unchanged: only it is read
        extra = append_session(corpus / "projects")
        try:
            appended.append(run(ours_cmd, env=env))
        finally:
            extra.unlink()
    floor_run, floor_times = best_of(args.runs, [sys.executable, str(BENCH / "_claude_floor.py"),
                                                 str(corpus / "projects")], env=env)
    floor = json.loads(floor_run.stdout)
    theirs = theirs_daily(json.loads(cc_run.stdout))
    ours = ours_daily(json.loads(our_run.stdout))
    reqs = requests(corpus)
    long_days: dict[str, int] = defaultdict(int)
    for day, _model, u in reqs:
        if u["input_tokens"] + u["cache_creation_input_tokens"] + u["cache_read_input_tokens"] > 200_000:
            long_days[day] += 1
    terms = attribution(reqs)
    cc_models: dict[str, float] = defaultdict(float)
    for d in json.loads(cc_run.stdout)["daily"]:
        for b in d.get("modelBreakdowns", []):
            cc_models[b["modelName"]] += b["cost"]
    by_model_cmd = [*ours_cmd[:ours_cmd.index("--by") + 1], "model", *ours_cmd[ours_cmd.index("--by") + 2:]]
    ours_models = {r["model"].split("/", 1)[-1]: r["cost"]
                   for r in json.loads(run(by_model_cmd, env=env).stdout)["breakdowns"]["model"]["rows"]}

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
        "llmaudit --no-whatif best s": round(lean_run.wall_s, 3),
        "llmaudit first run, filling the store, best s": round(write_run.wall_s, 3),
        "llmaudit repeat run (store, logs unchanged) best s": round(repeat_run.wall_s, 3),
        "llmaudit repeat runs s": [round(t, 3) for t in repeat_times],
        "llmaudit repeat peak RSS MB": repeat_run.max_rss_mb,
        "llmaudit after one new session best s": round(min(r.wall_s for r in appended), 3),
        "floor (python + pyarrow, one parse) best s": round(floor_run.wall_s, 3),
        "floor runs s": [round(t, 3) for t in floor_times],
        "floor stages s (best run)": floor["seconds"],
        "days compared": len(cost_rows),
        "token mismatches": len(token_mismatch),
        "llmaudit total cost": round(ours_total, 6),
        "ccusage total cost": round(theirs_total, 6),
        "total cost relative diff": f"{(ours_total - theirs_total) / theirs_total:+.3e}" if theirs_total else "n/a",
        "days with >200k requests": len([r for r in cost_rows if r[4]]),
        "cost diff on those days (llmaudit - ccusage)": round(long_diff, 6),
        "worst relative cost diff, other days": f"{worst_plain:.3e}",
    }
    rep.ratios = {"llmaudit/ccusage wall": our_run.wall_s / cc_run.wall_s,
                  "llmaudit repeat (store)/ccusage wall": repeat_run.wall_s / cc_run.wall_s,
                  "llmaudit one new session (store)/ccusage wall": min(r.wall_s for r in appended) / cc_run.wall_s,
                  "llmaudit filling the store/cold": write_run.wall_s / our_run.wall_s,
                  "llmaudit --no-whatif/ccusage wall": lean_run.wall_s / cc_run.wall_s,
                  "llmaudit/floor wall": our_run.wall_s / floor_run.wall_s,
                  "floor/ccusage wall": floor_run.wall_s / cc_run.wall_s}
    sum_terms = {k: sum(t[k] for t in terms.values()) for k in ("list", "ccusage_tiering", "whole_request_tier",
                                                                 "1h_at_5m_rate")}
    # Semantics that differ by design: ccusage's incremental >200k tiering vs the whole-request
    # repricing providers bill. Take both out; what remains must be within the tolerance.
    semantic = sum_terms["whole_request_tier"] - sum_terms["ccusage_tiering"]
    residual = (ours_total - theirs_total - semantic) / theirs_total if theirs_total else 0.0
    rep.figures["cost terms (all models)"] = {k: round(v, 4) for k, v in sum_terms.items()}
    rep.figures["llmaudit - ccusage after tiering semantics, relative"] = f"{residual:+.3e}"
    rep.targets = {
        "wall ≤ 1.0× ccusage": verdict(our_run.wall_s <= cc_run.wall_s),
        "repeat run on unchanged logs ≤ 0.5× ccusage": verdict(repeat_run.wall_s <= 0.5 * cc_run.wall_s),
        "token totals equal per day": verdict(not token_mismatch),
        f"cost equal within {args.cost_tolerance:g} once the >200k tiering rule is taken out":
            verdict(abs(residual) <= args.cost_tolerance),
    }
    rep.notes = token_mismatch[:10]
    for model in sorted(terms):
        t = terms[model]
        cc_expect = t["list"] + t["ccusage_tiering"]
        ours_expect = t["list"] + t["1h_at_5m_rate"] + t["whole_request_tier"]
        rep.notes.append(
            f"{model}: list {t['list']:.4f} | ccusage {cc_models.get(model, 0):.4f} (list + incremental tiering "
            f"{t['ccusage_tiering']:+.4f} = {cc_expect:.4f}) | llmaudit {ours_models.get(model, 0):.4f} (list "
            f"{t['1h_at_5m_rate']:+.4f} 1h writes at 5m rate {t['whole_request_tier']:+.4f} whole-request "
            f">200k tier = {ours_expect:.4f})")
    if our_run.stderr.strip():
        rep.notes.append("llmaudit stderr: " + our_run.stderr.strip()[-600:])
    rep.print()


if __name__ == "__main__":
    main()
