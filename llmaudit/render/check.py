"""Renderers for ``llmaudit check``: terminal table, Markdown (PR comment), JUnit XML.

They read a ``CheckReport`` (or, for ``--write-baseline``, a ``Measurement``) and do no
arithmetic beyond formatting. JSON comes from ``CheckReport.to_dict()`` (``render.check_text``
adds the headlines and notes), not from these views.
Estimated figures carry a ``~`` and unpriced ones say ``unpriced``: unknown is never shown as zero.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from llmaudit.analysis.gate.findings import METRICS, CheckReport, Finding
from llmaudit.analysis.gate.measurement import ALL, Measurement
from llmaudit.render.check_text import check_headlines, check_notes
from llmaudit.render.formats import count, ms, pct, usd

__all__ = [
    "COMMENT_MODES",
    "MARKER",
    "render_comment",
    "render_junit",
    "render_markdown",
    "render_measurement_markdown",
    "render_measurement_table",
    "render_table",
    "summary_line",
]

# Hidden marker so a CI step can find and update its previous PR comment instead of adding one.
MARKER = "<!-- llmaudit-check -->"

# When a PR comment is worth posting: on every run, when any figure moved, when one moved the
# wrong way (cost, tokens or latency up, pass rate down) or a check warns or fails.
COMMENT_MODES = ("always", "on-change", "on-increase")

_ICON = {"pass": "✅", "warn": "⚠️", "fail": "❌"}
_STYLE = {
    "fail": "bold red",
    "warn": "yellow",
    "improved": "green",
    "pass": "green",
    "new": "cyan",
    "removed": "magenta",
    "unpriced": "yellow",
    "n/a": "dim",
}


def _value(metric: str, value: float | None, exact: bool = True) -> str:
    if value is None:
        return "unpriced" if metric in ("cost_per_request", "monthly_cost") else "n/a"
    tilde = "" if exact else "~"
    if metric in ("input_tokens", "output_tokens"):
        return tilde + (f"{value:,.1f}" if value != int(value) else count(value))
    if metric == "cost_per_request":
        return tilde + usd(value, places=6 if abs(value) < 0.01 else 4)
    if metric == "monthly_cost":
        return tilde + usd(value)
    if metric == "p95_latency_ms":
        return ms(value)
    if metric in ("pass_rate", "goodput"):
        return pct(value)
    return f"{value:g}"


def _change(f: Finding) -> str:
    if f.delta is None:
        return ""
    if f.metric in ("pass_rate", "goodput"):
        return f"{f.delta * 100:+.1f} pts"
    rel = "" if f.delta_pct is None else f"{f.delta_pct * 100:+.1f}%"
    if f.metric == "monthly_cost":
        sign = "+" if f.delta >= 0 else "-"
        money = f"{sign}{usd(abs(f.delta)) if abs(f.delta) >= 0.005 else '$0.00'}"
        return f"{money} ({rel})" if rel else money
    return rel or "new"


def _where(f: Finding) -> str:
    return "all prompts" if f.category == ALL else f.category


def _metric(f: Finding) -> str:
    if f.metric in ("model", "category"):
        return f.metric
    return METRICS.get(f.metric, f.metric)


def summary_line(report: CheckReport) -> str:
    fails, warns = len(report.failures), len(report.warnings)
    verdict = {"pass": "passed", "warn": "passed with warnings", "fail": "FAILED"}[report.status]
    base = report.baseline_path or "baseline"
    volume = f", cost/month at {report.volume:,} requests" if report.volume is not None else ""
    return (
        f"cost check {verdict}: {fails} failed, {warns} warning{'s' if warns != 1 else ''} "
        f"against {base} ({report.baseline.mode}, written {report.baseline.created_at[:10] or 'unknown'}{volume})"
    )


def _thresholds_text(report: CheckReport) -> str:
    t = report.thresholds
    parts = [
        f"cost/request +{t.cost.warn:.0%} warn, +{t.cost.fail:.0%} fail",
        f"tokens +{t.tokens.warn:.0%}/+{t.tokens.fail:.0%}",
        f"p95 +{t.p95.warn:.0%}/+{t.p95.fail:.0%}",
        f"pass-rate drop {t.pass_drop.warn * 100:.0f}/{t.pass_drop.fail * 100:.0f} pts",
    ]
    if t.min_pass_rate is not None:
        parts.append(f"min pass rate {t.min_pass_rate.warn:.0%}/{t.min_pass_rate.fail:.0%}")
    if t.min_goodput is not None:
        parts.append(f"min goodput {t.min_goodput.warn:.0%}/{t.min_goodput.fail:.0%}")
    if t.monthly is not None:
        parts.append(f"cost/month +{usd(t.monthly.warn)}/+{usd(t.monthly.fail)}")
    return "; ".join(parts)


def render_table(report: CheckReport) -> Any:
    """A rich renderable: headlines, one small table per model, flagged categories, notes, verdict.

    Short rows keep it readable in an 80-column CI log; every category is in the Markdown/JSON.
    """
    from rich.console import Group
    from rich.text import Text

    parts: list[Any] = []
    headlines = check_headlines(report)
    for line in headlines:
        parts.append(Text(line, style="bold red" if line.startswith("FAIL") else "yellow"))
    if headlines:
        parts.append(Text(""))
    by_model: dict[str, list[Finding]] = {}
    for f in report.findings:
        by_model.setdefault(f.model, []).append(f)
    for model, findings in by_model.items():
        overall = [f for f in findings if f.category == ALL]
        flagged = [
            f for f in findings if f.category != ALL and f.status not in ("pass", "n/a", "improved") and not f.derived
        ]
        parts.append(_finding_table(model, overall))
        paired = _paired_line(overall)
        if paired:
            parts.append(Text(paired, style="dim"))
        if flagged:
            parts.append(_finding_table(f"{model} — flagged prompt categories", flagged, with_category=True))
        parts.append(Text(""))
    notes = check_notes(report)
    if notes:
        parts.extend(Text(f"note: {n}", style="dim") for n in notes)
    parts.append(Text(f"thresholds: {_thresholds_text(report)}", style="dim"))
    parts.append(Text(summary_line(report), style=_STYLE.get(report.status, "")))
    return Group(*parts)


def _finding_table(title: str, findings: list[Finding], *, with_category: bool = False) -> Any:
    from rich.text import Text

    from llmaudit.render.table import FitTable

    table = FitTable(title, header_style="dim", box=None, pad_edge=False)
    if with_category:
        table.add_column("category")
    table.add_column("metric")
    table.add_column("baseline", justify="right")
    table.add_column("current", justify="right")
    table.add_column("change", justify="right")
    table.add_column("status")
    table.add_column("note", text=True, min_width=16)
    for f in findings:
        plain = f.metric in ("model", "category")
        table.add_row(
            *([f.category] if with_category else []),
            _metric(f),
            "" if plain else _value(f.metric, f.baseline, f.exact),
            "" if plain else _value(f.metric, f.current, f.exact),
            _change(f),
            Text(f.status, style=_STYLE.get(f.status, "")),
            f.note,
        )
    return table


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _moved(f: Finding, *, increase: bool) -> bool:
    """Did this finding change (``increase``: change for the worse) against the baseline?"""
    if f.status in ("warn", "fail", "unpriced", "new", "removed"):
        return True
    if f.delta is None or f.delta == 0:
        return False
    if not increase:
        return True
    return f.delta < 0 if f.metric == "pass_rate" else f.delta > 0


def render_comment(report: CheckReport, mode: str = "always") -> str | None:
    """The PR comment for ``mode`` (one of ``COMMENT_MODES``), or None when the mode says stay
    quiet. Past ``always`` the comment lists only the rows that moved."""
    if mode not in COMMENT_MODES:
        raise ValueError(f"unknown comment mode {mode!r}")
    if mode == "always":
        return render_markdown(report)
    kept = [f for f in report.findings if _moved(f, increase=mode == "on-increase")]
    if not kept:
        return None
    return render_markdown(report, only=kept, mode=mode)


def render_markdown(report: CheckReport, *, only: list[Finding] | None = None, mode: str = "always") -> str:
    """GitHub-flavoured Markdown for a PR comment or ``$GITHUB_STEP_SUMMARY``; ``only``: the
    findings to list (a comment mode that shows only what moved)."""
    lines = [MARKER, f"## {_ICON[report.status]} llmaudit cost check: {report.status}", ""]
    headlines = check_headlines(report)
    for h in headlines:
        lines.append(f"- **{_md(h)}**" if h.startswith("FAIL") else f"- {_md(h)}")
    if headlines:
        lines.append("")
    shown = report.findings if only is None else only
    if only is not None:
        what = "moved for the worse" if mode == "on-increase" else "changed"
        lines += [f"Only the {len(only)} of {len(report.findings)} rows that {what} (comment mode `{mode}`); "
                  "every row is in the job summary and `--format json`.", ""]  # fmt: skip
    overall = [f for f in shown if f.category == ALL]
    per_cat = [f for f in shown if f.category != ALL]
    if overall or only is None:
        lines.extend(_md_table(overall, with_category=False))
    if per_cat:
        flagged = sum(1 for f in per_cat if f.status not in ("pass", "n/a", "improved"))
        lines += ["", f"<details><summary>Per prompt category ({flagged} flagged)</summary>", ""]
        lines.extend(_md_table(per_cat, with_category=True))
        lines += ["", "</details>"]
    lines.extend(_md_paired(overall))
    lines.append("")
    notes = check_notes(report)
    if notes:
        # one quoted paragraph per note (consecutive "> " lines would merge into one)
        lines.append("\n>\n".join(f"> {_md(n)}" for n in notes))
        lines.append("")
    lines.append(
        f"<sub>{_md(summary_line(report))} · catalog {report.current.catalog_as_of or 'unknown'} · "
        f"thresholds: {_md(_thresholds_text(report))}</sub>"
    )
    return "\n".join(lines) + "\n"


def _md_table(findings: list[Finding], *, with_category: bool) -> list[str]:
    head = "| model | " + ("category | " if with_category else "") + "metric | baseline | current | change | status |"
    sep = "|---|" + ("---|" if with_category else "") + "---|---:|---:|---:|---|"
    rows = [head, sep]
    for f in findings:
        icon = {"fail": "❌ ", "warn": "⚠️ ", "improved": "🟢 ", "new": "🆕 ", "removed": "➖ "}.get(f.status, "")
        status = f"{icon}{f.status}" + (f" — {_md(f.note)}" if f.note else "")
        cells = [f"`{_md(f.model)}`"]
        if with_category:
            cells.append(_md(f.category))
        base = _value(f.metric, f.baseline, f.exact) if f.metric not in ("model", "category") else ""
        cur = _value(f.metric, f.current, f.exact) if f.metric not in ("model", "category") else ""
        cells += [_md(_metric(f)), base, cur, _change(f), status]
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def _paired_value(metric: str, x: float) -> str:
    if metric == "pass_rate":
        return f"{x * 100:+.1f} pts"
    if metric == "cost_per_request":
        return ("-" if x < 0 else "+") + usd(abs(x), places=6 if abs(x) < 0.01 else 4)
    if metric == "p95_latency_ms":
        return f"{x:+,.0f} ms"
    return f"{x:+,.1f}"


def _paired_line(findings: list[Finding]) -> str:
    """One line under a model's table: the paired effects that are not zero."""
    items = []
    for f in findings:
        s = f.paired
        if s is None or (s.effect == 0 and f.metric != "pass_rate"):
            continue
        name = "latency (mean)" if f.metric == "p95_latency_ms" else _metric(f)
        interval = f"[{_paired_value(f.metric, s.lo)}, {_paired_value(f.metric, s.hi)}]"
        items.append(f"{name} {_paired_value(f.metric, s.effect)} {interval} p={s.p_value:.2g}")
    if not items:
        return ""
    n = max(f.paired.n for f in findings if f.paired is not None)
    return f"paired over {n} shared prompts: " + "; ".join(items)


def _md_paired(findings: list[Finding]) -> list[str]:
    """The paired tests behind each model's row: effect per prompt, its interval and p-value."""
    paired = [f for f in findings if f.paired is not None]
    if not paired:
        return []
    lines = ["", "<details><summary>Paired tests over the prompts both runs share</summary>", "",
             "| model | metric | effect / prompt | 95% interval | p (one-sided) | test |",
             "|---|---|---:|---:|---:|---|"]  # fmt: skip
    for f in paired:
        s = f.paired
        assert s is not None
        metric = "latency (mean)" if f.metric == "p95_latency_ms" else _metric(f)
        test = s.method + (f", {s.losses} worse / {s.wins} better" if s.losses is not None else "")
        lines.append(
            f"| `{_md(f.model)}` | {metric} | {_paired_value(f.metric, s.effect)} | "
            f"{_paired_value(f.metric, s.lo)} … {_paired_value(f.metric, s.hi)} | {s.p_value:.3g} | "
            f"{test}, n={s.n} |"
        )
    return [*lines, "", "</details>"]


def render_junit(report: CheckReport) -> str:
    """JUnit XML: one test case per (model, category, metric); warnings go to system-out."""
    suite = ET.Element(
        "testsuite",
        name="llmaudit check",
        tests=str(len(report.findings)),
        failures=str(sum(1 for f in report.findings if f.status == "fail")),
        errors="0",
        skipped=str(sum(1 for f in report.findings if f.status == "n/a")),
    )
    for f in report.findings:
        classname = f"llmaudit.check.{f.model}" + ("" if f.category == ALL else f".{f.category}")
        case = ET.SubElement(suite, "testcase", classname=classname, name=_metric(f), time="0")
        detail = (
            f"baseline {_value(f.metric, f.baseline, f.exact)}, current {_value(f.metric, f.current, f.exact)}"
            f"{', change ' + _change(f) if _change(f) else ''}{'; ' + f.note if f.note else ''}"
        )
        if f.status == "fail":
            message = f"{f.model} {_where(f)}: {_metric(f)} regressed"
            fail = ET.SubElement(case, "failure", message=message, type="regression")
            fail.text = detail
        elif f.status == "n/a":
            ET.SubElement(case, "skipped", message=f.note or "not measured")
        elif f.status in ("warn", "new", "removed", "unpriced"):
            out = ET.SubElement(case, "system-out")
            out.text = f"{f.status.upper()}: {detail}"
    root = ET.Element("testsuites", name="llmaudit", tests=suite.get("tests", "0"), failures=suite.get("failures", "0"))
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# --- --write-baseline: what was measured --------------------------------------------------------


def _measurement_rows(m: Measurement, model: str) -> list[list[str]]:
    rows = []
    keys = sorted((k for k in m.groups if k[0] == model), key=lambda k: (k[1] != ALL, k[1]))
    for key in keys:
        g = m.groups[key]
        category = key[1]
        exact = g.input_exact
        cost = g.cost_per_request.value if g.cost_per_request else None
        monthly = cost * m.volume if (cost is not None and m.volume is not None and category == ALL) else None
        rows.append([
            f"{'all prompts' if category == ALL else category} ({g.requests})",
            _value("input_tokens", g.input_tokens.value if g.input_tokens else None, exact),
            _value("output_tokens", g.output_tokens.value if g.output_tokens else None)
            + ("*" if g.output_assumed else ""),
            _value("cost_per_request", cost, exact) if not g.unpriced else f"unpriced ({g.price_status})",
            _value("monthly_cost", monthly, exact) if monthly is not None else ("" if category != ALL else "n/a"),
            _value("p95_latency_ms", g.p95_latency_ms.value if g.p95_latency_ms else None),
            f"{pct(g.pass_rate.value)} ({g.passed}/{g.checked})" if g.pass_rate else "n/a",
        ])  # fmt: skip
    return rows


_MEASURE_HEAD = ["prompts (requests)", "input tok/req", "output tok/req", "cost/req", "cost/month", "p95 latency",
                 "pass rate"]  # fmt: skip


def _measurement_notes(m: Measurement) -> list[str]:
    notes = []
    if any(not g.input_exact for g in m.groups.values()):
        notes.append("~ estimated token counts (no offline tokenizer for that model)")
    if any(g.output_assumed for g in m.groups.values()):
        notes.append("* output tokens assumed (the prompt's max_tokens, or the default), not observed")
    if m.volume is not None:
        notes.append(f"cost/month at {m.volume:,} requests/month")
    return notes


def render_measurement_table(m: Measurement) -> Any:
    from rich.console import Group
    from rich.text import Text

    from llmaudit.render.table import FitTable

    parts: list[Any] = []
    for model in m.models:
        table = FitTable(model, header_style="dim", box=None, pad_edge=False)
        for i, name in enumerate(_MEASURE_HEAD):
            table.add_column(name, justify="left" if i == 0 else "right")
        for row in _measurement_rows(m, model):
            table.add_row(*row)
        parts.append(table)
    parts.extend(Text(n, style="dim") for n in _measurement_notes(m))
    return Group(*parts)


def render_measurement_markdown(m: Measurement) -> str:
    lines = ["| model | " + " | ".join(_MEASURE_HEAD) + " |", "|" + "---|" * (len(_MEASURE_HEAD) + 1)]
    for model in m.models:
        for row in _measurement_rows(m, model):
            lines.append(f"| `{_md(model)}` | " + " | ".join(_md(c) for c in row) + " |")
    lines.append("")
    lines.append("\n>\n".join(f"> {_md(n)}" for n in _measurement_notes(m)))
    return "\n".join(lines) + "\n"
