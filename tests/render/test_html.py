"""The HTML report without a browser: escaping, self-containment, and size on a big run."""

from __future__ import annotations

import json
import re

import numpy as np
import pyarrow as pa
import pytest

from llmaudit.analysis.routing.report import RoutingOptions, build_routing
from llmaudit.render.html import json_script, render_run_html, safe_json
from llmaudit.units import parse_volume


def test_safe_json_cannot_close_a_script_block() -> None:
    text = safe_json({"a": "</script><img src=x onerror=alert(1)>&\u2028\u2029", "n": float("nan")})
    assert "<" not in text and ">" not in text and "&" not in text
    assert "\u2028" not in text and "\u2029" not in text
    assert json.loads(text) == {"a": "</script><img src=x onerror=alert(1)>&\u2028\u2029", "n": None}
    block = str(json_script([1], 'x"><script>'))
    assert block.startswith('<script type="application/json" id="x&#34;&gt;&lt;script&gt;">')


def synthetic(prompts: int, models: int, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    names = [f"prov{j % 4}/model-{j}" for j in range(models)]
    n = prompts * models
    status = np.where(rng.random(n) < 0.02, "error", "ok")
    cost = np.tile(np.geomspace(1e-5, 1e-2, models), prompts) * rng.uniform(0.5, 1.5, n)
    return pa.table(
        {
            "prompt_id": np.repeat([f"p{i}" for i in range(prompts)], models),
            "model": np.tile(names, prompts),
            "status": status,
            "cost_usd": np.where(status == "ok", cost, np.nan),
            "passed": rng.random(n) < np.tile(np.linspace(0.3, 0.95, models), prompts),
            "latency_ms": rng.lognormal(6, 0.5, n),
            "category": np.repeat(rng.choice(["math", "code", "chat", "extract", "qa"], prompts), models),
            "input_tokens": rng.integers(50, 500, n),
            "output_tokens": rng.integers(10, 300, n),
            "attempts": np.ones(n, dtype=int),
            "output": ["an answer"] * n,
        }
    )


@pytest.mark.slow
def test_report_stays_small_for_10k_prompts_by_10_models() -> None:
    report = build_routing(synthetic(10_000, 10), None, RoutingOptions(volume=parse_volume("10B-tokens/month")))
    html = render_run_html(report)
    assert len(html.encode()) < 3_000_000
    assert report.prompts == 10_000
    assert "p9999" not in html  # aggregates, not one row per prompt (failing prompts are capped)


def test_report_is_self_contained() -> None:
    report = build_routing(synthetic(50, 3), None, RoutingOptions())
    html = render_run_html(report)
    # No external fetches: no src/href to http(s) or protocol-relative URLs.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "Chart.js v4" in html
    assert html.count('type="application/json"') >= 2
    assert "Content-Security-Policy" in html


def test_unpriced_and_simulated_are_visible() -> None:
    rows = [
        {"prompt_id": "p1", "model": "sim/fast", "provider": "sim", "status": "ok", "cost_usd": 0.001, "passed": True},
        {
            "prompt_id": "p1",
            "model": "sim/mystery",
            "provider": "sim",
            "status": "ok",
            "cost_usd": None,
            "passed": True,
        },
    ]
    html = render_run_html(build_routing(pa.Table.from_pylist(rows)))
    assert "SIMULATED" in html
    assert "unpriced (1 calls)" in html
    assert "sim/mystery: unpriced" in html


def test_prompts_no_model_passed_show_no_empty_text_column() -> None:
    """Results carry no prompt text, so the Text column was always empty; it shows only with text."""
    table = synthetic(60, 3, seed=1)
    report = build_routing(table, None, RoutingOptions())
    assert report.failed_prompts and not any(f["prompt"] for f in report.failed_prompts)
    section = render_run_html(report).split('<section id="failed">')[1].split("</section>")[0]
    assert '<th class="l">Text</th>' not in section and "Answer of" in section
    report.failed_prompts[0]["prompt"] = "What is 2+2?"
    section = render_run_html(report).split('<section id="failed">')[1].split("</section>")[0]
    assert '<th class="l">Text</th>' in section and "What is 2+2?" in section
