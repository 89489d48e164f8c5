"""Issue 16 #6: the chosen routing exported for LiteLLM, OpenRouter and Portkey, each checked
against the gateway's documented format, from a replay run and from logs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pyarrow as pa
import pytest
import yaml

from llmaudit.analysis.routing.policy import policy_from_run
from llmaudit.pricing import load_catalog
from llmaudit.render.policy import export_policy

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "llmaudit" / "render" / "policy_schemas"
EXAMPLES = ROOT / "examples" / "logs"


def _run(cheap_passes_extraction: bool) -> pa.Table:
    """Two categories; gpt-4o-mini is cheap, gpt-4o and claude dear. gpt-4o-mini fails every
    'reasoning' prompt, and 'extraction' unless told otherwise."""
    costs = {"openai/gpt-4o-mini": 0.0002, "openai/gpt-4o": 0.004, "anthropic/claude-sonnet-4-5": 0.006}
    rows = []
    for cat in ("extraction", "reasoning"):
        for i in range(20):
            for model, cost in costs.items():
                passed = True
                if model == "openai/gpt-4o-mini":
                    passed = cheap_passes_extraction and cat == "extraction"
                rows.append({"prompt_id": f"{cat}-{i}", "model": model, "status": "ok", "cost_usd": cost,
                             "passed": passed, "latency_ms": 100.0, "category": cat})
    return pa.Table.from_pylist(rows)


def _schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{name}.schema.json").read_text())


def test_measured_pass_rates_choose_each_categorys_route() -> None:
    policy = policy_from_run(_run(cheap_passes_extraction=True))
    routes = {r.name: r for r in policy.routes}
    assert routes["extraction"].models[0] == "openai/gpt-4o-mini"   # cheapest that passes 90%
    assert routes["reasoning"].models[0] == "openai/gpt-4o"         # mini fails it: the next cheapest
    assert "20/20" in routes["reasoning"].rule and "95% CI" in routes["reasoning"].rule
    # A fallback on another provider than the primary: an outage is what fallbacks are for.
    assert any(m.startswith("anthropic/") for m in routes["extraction"].models[1:])
    # When the cheap model fails extraction too, its route changes.
    failing = {r.name: r for r in policy_from_run(_run(cheap_passes_extraction=False)).routes}
    assert failing["extraction"].models[0] == "openai/gpt-4o"
    assert routes["default"].match is None and policy.routes[-1].name == "default"


@pytest.mark.parametrize("fmt", ["litellm", "openrouter", "portkey"])
def test_each_export_is_the_gateways_documented_format(fmt: str) -> None:
    catalog = load_catalog()
    result = export_policy(policy_from_run(_run(True)), fmt, catalog=catalog)
    doc = yaml.safe_load(result.text) if fmt == "litellm" else json.loads(result.text)
    assert doc == result.document                        # what is written is what was checked
    jsonschema.validate(doc, _schema(fmt))
    if fmt == "litellm":
        names = [m["model_name"] for m in doc["model_list"]]
        assert "extraction" in names and "reasoning" in names and "default" in names
        (extraction,) = [f for f in doc["router_settings"]["fallbacks"] if "extraction" in f]
        assert all(n in names for n in extraction["extraction"])
        assert {m["litellm_params"]["model"] for m in doc["model_list"]} >= {"openai/gpt-4o-mini", "openai/gpt-4o"}
    elif fmt == "openrouter":
        assert doc["routes"]["extraction"]["models"][0] == "openai/gpt-4o-mini"
        assert doc["routes"]["reasoning"]["provider"]["order"][0] == "openai"
    else:
        conditions = doc["strategy"]["conditions"]
        assert {"query": {"metadata.category": {"$eq": "reasoning"}}, "then": "reasoning"} in conditions
        assert doc["strategy"]["default"] == "default"
        (reasoning,) = [t for t in doc["targets"] if t["name"] == "reasoning"]
        assert reasoning["targets"][0] == {"provider": "openai", "override_params": {"model": "gpt-4o"}}


def test_the_schemas_reject_what_the_gateways_reject() -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"model_list": [{"model_name": "x", "litellm_params": {}}], "router_settings": {}},
                            _schema("litellm"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"routes": {"x": {"models": ["groq/meta-llama/llama-3"]}}}, _schema("openrouter"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"strategy": {"mode": "conditional", "conditions": [], "default": "a"},
                             "targets": [{"name": "a", "strategy": {"mode": "fallback"},
                                          "targets": [{"provider": "x"}]}]},
                            _schema("portkey"))


@pytest.mark.parametrize("fmt", ["litellm", "openrouter", "portkey"])
def test_export_from_logs_through_the_cli(run_cli: Any, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"policy.{fmt}"
    result = run_cli(["policy", "export", str(EXAMPLES), "--to", fmt, "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    doc = yaml.safe_load(text) if fmt == "litellm" else json.loads(text)
    jsonschema.validate(doc, _schema(fmt))
    # Every route is announced with the rule that chose it; what a gateway cannot name is said.
    assert "cheapest model of tier" in result.stderr
    if fmt == "litellm":
        assert "claude-sonnet-4-5-20250929" in [m["model_name"] for m in doc["model_list"]]


def test_simulated_models_are_left_out_with_a_note() -> None:
    rows = [{"prompt_id": f"p{i}", "model": m, "status": "ok", "cost_usd": c, "passed": True,
             "latency_ms": 1.0, "category": "x"}
            for i in range(5) for m, c in (("sim/cheap", 0.001), ("openai/gpt-4o", 0.01))]
    result = export_policy(policy_from_run(pa.Table.from_pylist(rows)), "portkey")
    assert any("sim/cheap left out" in n for n in result.notes)
    assert all(t["targets"][0]["override_params"]["model"] == "gpt-4o" for t in result.document["targets"])


def test_bad_choices_are_usage_errors(run_cli: Any, tmp_path: Path) -> None:
    assert run_cli(["policy", "export", str(EXAMPLES), "--to", "kong"]).exit_code == 2
    assert run_cli(["policy", "export", str(EXAMPLES), "--to", "litellm", "--out",
                    str(tmp_path / "no" / "such" / "x.yaml")]).exit_code == 2


def test_the_litellm_export_loads_in_litellms_own_router() -> None:
    """Optional: runs where LiteLLM is installed (it is not a dependency; bench/README.md says how
    to make its venv). The router validates model_list and that fallbacks name model groups."""
    litellm = pytest.importorskip("litellm")
    doc = yaml.safe_load(export_policy(policy_from_run(_run(True)), "litellm").text)
    router = litellm.Router(model_list=doc["model_list"], fallbacks=doc["router_settings"]["fallbacks"])
    assert set(router.get_model_names()) == {m["model_name"] for m in doc["model_list"]}
