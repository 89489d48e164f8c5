"""Every `llmaudit pricing` subcommand through the real `main`, good and bad input."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


def err(res) -> str:
    """stderr with the console's line wrapping undone."""
    return " ".join(res.stderr.split())


def test_list_formats(run_cli) -> None:
    res = run_cli(["pricing", "list", "--provider", "anthropic", "--format", "json"])
    assert res.exit_code == 0, res.stderr
    payload = json.loads(res.stdout)
    ids = {m["id"] for m in payload["models"]}
    assert "anthropic/claude-sonnet-4-5" in ids and all(i.startswith("anthropic/") for i in ids)
    sonnet = next(m for m in payload["models"] if m["id"] == "anthropic/claude-sonnet-4-5")
    assert (sonnet["input"], sonnet["output"], sonnet["cache_write_1h"]) == ("3", "15", "6")

    res = run_cli(["pricing", "list", "--format", "csv"])
    assert res.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(res.stdout)))
    assert len(rows) >= 1000
    assert len({r["provider"] for r in rows}) >= 30
    assert all(r["source"] and r["as_of"] for r in rows)

    res = run_cli(["pricing", "list", "--provider", "openai"])
    assert res.exit_code == 0 and "openai/gpt-4o" in res.stdout


def test_list_old_date_shows_old_price(run_cli) -> None:
    res = run_cli(["pricing", "list", "--provider", "google", "--at", "2025-09-01", "--format", "json"])
    model = next(m for m in json.loads(res.stdout)["models"] if m["id"] == "google/gemini-2.5-pro")
    assert model["cache_read"] == "0.3125"


def test_list_bad_provider(run_cli) -> None:
    res = run_cli(["pricing", "list", "--provider", "nosuch"])
    assert res.exit_code == 2
    assert "no such provider" in err(res) and "Traceback" not in res.output


def test_show(run_cli) -> None:
    res = run_cli(["pricing", "show", "us.anthropic.claude-sonnet-4-20250514-v1:0", "--format", "json"])
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["id"] == "anthropic/claude-sonnet-4-20250514"
    assert data["price"]["input"] == "3"
    assert all(p["source"] and p["as_of"] for p in data["history"])

    res = run_cli(["pricing", "show", "openai/gpt-4o"])
    assert res.exit_code == 0 and "Price history" in res.stdout

    res = run_cli(["pricing", "show", "gemini-2.5-pro", "--at", "2025-09-01", "--format", "json"])
    assert json.loads(res.stdout)["price"]["cache_read"] == "0.3125"


def test_show_unknown_model(run_cli) -> None:
    res = run_cli(["pricing", "show", "gpt-4oo-turbo-max"])
    assert res.exit_code == 2
    assert "unknown model 'gpt-4oo-turbo-max'" in err(res)
    assert res.stdout == ""


def test_show_bad_date(run_cli) -> None:
    res = run_cli(["pricing", "show", "gpt-4o", "--at", "March"])
    assert res.exit_code == 2 and "--at 'March'" in err(res)


def test_cost_json_breakdown(run_cli) -> None:
    res = run_cli(["pricing", "cost", "claude-sonnet-4-5", "--input-tokens", "20770", "--output-tokens", "640",
                   "--cache-read-tokens", "18310", "--cache-write-tokens", "2048", "--format", "json"])
    assert res.exit_code == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["total_usd"] == "0.024009"
    lines = {line["component"]: line for line in data["lines"]}
    assert lines["input"]["quantity"] == 412 and lines["cache_write_5m"]["cost_usd"] == "0.00768"


def test_cost_table_and_batch(run_cli) -> None:
    res = run_cli(["pricing", "cost", "gpt-4o", "--input-tokens", "1000000", "--output-tokens", "1000000",
                   "--batch", "--at", "2026-11-01"])
    assert res.exit_code == 0, res.stderr
    assert "$6.25" in res.stdout


def test_cost_long_context(run_cli) -> None:
    res = run_cli(["pricing", "cost", "gemini-2.5-pro", "--input-tokens", "250000", "--output-tokens", "1000",
                   "--format", "json"])
    data = json.loads(res.stdout)
    assert data["total_usd"] == "0.64" and data["long_context_threshold"] == 200000


def test_cost_missing_rate_is_visible(run_cli, tmp_path: Path) -> None:
    config = tmp_path / "llmaudit.toml"
    config.write_text('[pricing.overrides."acme/in-only"]\ninput = "1.5"\n')
    res = run_cli(["pricing", "cost", "acme/in-only", "--input-tokens", "10", "--output-tokens", "5",
                   "--format", "json"])
    data = json.loads(res.stdout)
    assert res.exit_code == 0
    assert data["total_usd"] is None and data["status"] == "missing_rate" and data["missing_rates"] == ["output"]
    assert "cost unknown" in err(res)


def test_cost_bad_input(run_cli) -> None:
    res = run_cli(["pricing", "cost", "gpt-4o", "--input-tokens", "10", "--output-tokens", "5",
                   "--cache-read-tokens", "20"])
    assert res.exit_code == 2 and "exceed input_tokens" in err(res)
    res = run_cli(["pricing", "cost", "nope-model", "--input-tokens", "10", "--output-tokens", "5"])
    assert res.exit_code == 2 and "unknown model" in err(res)
    res = run_cli(["pricing", "cost", "gpt-4o", "--input-tokens", "-1", "--output-tokens", "5"])
    assert res.exit_code == 2


def test_config_override_and_discount(run_cli, tmp_path: Path) -> None:
    config = tmp_path / "contract.toml"
    config.write_text('[pricing.overrides."openai/gpt-4o"]\ninput = "2"\n\n'
                      '[pricing.discounts]\n"openai/*" = 10\n')
    res = run_cli(["pricing", "cost", "gpt-4o", "--input-tokens", "1000000", "--output-tokens", "1000000",
                   "--config", str(config), "--format", "json"])
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["total_usd"] == "10.8"  # (2 + 10) × 0.9


def test_bad_config(run_cli, tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[pricing.discounts]\n"openai/*" = 150\n')
    res = run_cli(["pricing", "list", "--config", str(config)])
    assert res.exit_code == 2 and "between 0 and 100" in err(res)
    config.write_text('[pricing.overrides."openai/gpt-4o"]\ninptu = "2"\n')
    res = run_cli(["pricing", "list", "--config", str(config)])
    assert res.exit_code == 2 and "inptu" in err(res)


def test_import_openrouter(run_cli) -> None:
    res = run_cli(["pricing", "import", "openrouter", str(FIXTURES / "openrouter_models.json"),
                   "--effective", "2026-11-20"])
    assert res.exit_code == 0, res.stderr
    assert "imported" in err(res)
    # Router placeholders ("-1") and $0 listings that are not ":free" are no prices, and are said so.
    assert "openrouter/auto: no price (router placeholder)" in err(res)
    assert "acme/zero-placeholder: $0 listing that is not a :free variant" in err(res)
    res = run_cli(["pricing", "cost", "openrouter/auto", "--input-tokens", "1000", "--output-tokens", "10"])
    assert res.exit_code == 2 and "unknown model" in err(res)  # never -$1,000,000 per 1M
    free = json.loads(run_cli(["pricing", "show", "openrouter/acme/tiny-model:free", "--format", "json"]).stdout)
    assert free["price"]["free"] is True
    res = run_cli(["pricing", "cost", "openrouter/acme/long-context", "--input-tokens", "128000",
                   "--cache-read-tokens", "100000", "--output-tokens", "1000", "--format", "json"])
    data = json.loads(res.stdout)
    # min_prompt_tokens 128000 reached: the whole request at the override rates
    assert data["total_usd"] == str((28000 * 2 + 100000 * 0.2 + 1000 * 4) / 1e6)
    res = run_cli(["pricing", "cost", "openrouter/acme/long-context", "--input-tokens", "127999",
                   "--output-tokens", "1", "--format", "json"])
    assert json.loads(res.stdout)["total_usd"] == "0.128001"  # below: base rates
    # A maker's model the catalog lacks becomes the maker's entry, with both cache-write TTLs.
    res = run_cli(["pricing", "cost", "anthropic/claude-opus-9", "--input-tokens", "1000000",
                   "--cache-write-tokens", "1000000", "--cache-write-1h-tokens", "500000",
                   "--output-tokens", "0", "--format", "json"])
    data = json.loads(res.stdout)
    assert data["model_id"] == "anthropic/claude-opus-9" and data["total_usd"] == "32.5"
    # OpenRouter's spelling of a catalog model keeps the catalog's (maker's) entry.
    res = run_cli(["pricing", "show", "openrouter/anthropic/claude-opus-4.6", "--format", "json"])
    assert json.loads(res.stdout)["id"] == "anthropic/claude-opus-4-6"
    res = run_cli(["pricing", "show", "openrouter/acme/discounted", "--format", "json"])
    price = json.loads(res.stdout)["price"]
    assert (price["input"], price["per_request"]) == ("1.5", "0.00075")


def test_import_litellm_overlay_is_dated(run_cli) -> None:
    res = run_cli(["pricing", "import", "litellm", str(FIXTURES / "litellm_small.json"), "--effective", "2026-11-20"])
    assert res.exit_code == 0, res.stderr
    after = json.loads(run_cli(["pricing", "show", "gpt-4o", "--format", "json"]).stdout)
    assert after["price"]["input"] == "2" and after["price"]["effective_from"] == "2026-11-20"
    before = json.loads(run_cli(["pricing", "show", "gpt-4o", "--at", "2026-01-01", "--format", "json"]).stdout)
    assert before["price"]["input"] == "2.5"
    new = json.loads(run_cli(["pricing", "show", "acme/acme-chat-1", "--format", "json"]).stdout)
    assert new["price"]["output"] == "0.3"


def test_import_bad_files(run_cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"data": [\n{"id": "x", \n')
    res = run_cli(["pricing", "import", "openrouter", str(bad)])
    assert res.exit_code == 2 and str(bad) in err(res) and "invalid JSON" in err(res)
    bad.write_text('{"data": [{"id": "x/y", "pricing": {"prompt": "cheap"}}]}')
    res = run_cli(["pricing", "import", "openrouter", str(bad)])
    assert res.exit_code == 2 and "not a price" in err(res)
    res = run_cli(["pricing", "import", "litellm", str(tmp_path / "missing.json")])
    assert res.exit_code == 2 and "file not found" in err(res)


def test_diff_dates_and_files(run_cli, tmp_path: Path) -> None:
    res = run_cli(["pricing", "diff", "2025-08-20", "2026-11-01", "--provider", "google", "--format", "json"])
    assert res.exit_code == 0, res.stderr
    changes = json.loads(res.stdout)["changes"]
    hit = [c for c in changes if c["id"] == "google/gemini-2.5-pro" and c["rate"] == "cache_read"]
    assert hit == [{"id": "google/gemini-2.5-pro", "change": "changed", "rate": "cache_read", "old": "0.3125",
                    "new": "0.125", "change_pct": -60.0}]

    old = tmp_path / "old.json"
    new = tmp_path / "new.json"
    old.write_text(json.dumps({"x-1": {"litellm_provider": "acme", "mode": "chat", "input_cost_per_token": 1e-06,
                                       "output_cost_per_token": 2e-06}}))
    new.write_text(json.dumps({"x-1": {"litellm_provider": "acme", "mode": "chat", "input_cost_per_token": 1.5e-06,
                                       "output_cost_per_token": 2e-06}}))
    res = run_cli(["pricing", "diff", str(old), str(new), "--format", "csv"])
    assert res.exit_code == 0, res.stderr
    assert "acme/x-1,changed,input,1,1.5,50.00" in res.stdout

    res = run_cli(["pricing", "diff", "yesterday"])
    assert res.exit_code == 2 and "neither a date" in err(res)


def test_diff_two_catalog_folders(run_cli, tmp_path: Path) -> None:
    from datetime import date
    from decimal import Decimal

    from llmaudit.pricing import ModelEntry, PricePoint, Rates
    from llmaudit.pricing.catalog import write_catalog_files

    def entry(price: str) -> ModelEntry:
        point = PricePoint(date(2026, 1, 1), "s", date(2026, 1, 1), Rates(input=Decimal(price), output=Decimal("1")))
        return ModelEntry("acme/m", "acme", "m", (point,))

    write_catalog_files([entry("1")], tmp_path / "a", {"s": {"date": "2026-01-01"}})
    write_catalog_files([entry("0.8")], tmp_path / "b", {"s": {"date": "2026-01-01"}})
    res = run_cli(["pricing", "diff", str(tmp_path / "a"), str(tmp_path / "b"), "--format", "json"])
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["changes"] == [{"id": "acme/m", "change": "changed", "rate": "input",
                                                  "old": "1", "new": "0.8", "change_pct": -20.0}]


def _overlay_with_modifiers() -> None:
    """A user overlay model with flex rates, fast mode, US residency and an off-peak window."""
    import os

    folder = Path(os.environ["LLMAUDIT_HOME"]) / "pricing"
    folder.mkdir(parents=True, exist_ok=True)
    point = {"effective_from": "2026-01-01", "source": "test", "input": "2", "output": "10",
             "long_context": [{"threshold_tokens": 200000, "input": "4", "output": "15"}],
             "service_tiers": {"flex": {"input": "1", "output": "5"}},
             "residency": {"us": "1.1"},
             "off_peak": [{"start": "16:30", "end": "00:30", "multiplier": "0.5"}]}
    data = {"schema": "llmaudit-prices/1", "provider": "acme", "models": {"mod": {"prices": [point]}}}
    (folder / "acme.json").write_text(json.dumps(data))


def test_cost_requests_follow_the_per_request_tier_rule(run_cli) -> None:
    base = ["pricing", "cost", "gpt-5.4", "--input-tokens", "5000000", "--output-tokens", "400000"]
    res = run_cli([*base, "--requests", "1000", "--format", "json"])
    data = json.loads(res.stdout)
    assert data["total_usd"] == "18.5" and data["tier_undetermined"] is True
    assert data["long_context_threshold"] is None
    res = run_cli([*base, "--requests", "1000"])
    assert "tier not determinable" in " ".join(res.stdout.split()) and "$18.50" in res.stdout
    # One request of 5M does pass the 272k threshold; nothing to say about tiers.
    res = run_cli(base)
    assert "$34.00" in res.stdout and "not determinable" not in res.stdout
    # The window label decides for a bucket.
    res = run_cli(["pricing", "cost", "claude-sonnet-4-5", "--input-tokens", "5000000", "--output-tokens", "0",
                   "--requests", "40", "--context-tier", "200k-1M", "--format", "json",
                   "--at", "2026-01-15"])  # before the 1M-context beta's retirement (2026-04-30)
    data = json.loads(res.stdout)
    assert data["total_usd"] == "30" and data["long_context_threshold"] == 200000
    assert data["conditions"]["context_tier"] == "200k-1M" and data["tier_undetermined"] is False


def test_cost_service_tier_speed_geo_and_off_peak(run_cli) -> None:
    _overlay_with_modifiers()
    base = ["pricing", "cost", "acme/mod", "--input-tokens", "100000", "--output-tokens", "100000"]
    res = run_cli([*base, "--service-tier", "flex", "--format", "json"])
    data = json.loads(res.stdout)
    assert data["total_usd"] == "0.6" and data["service_tier"] == "flex"
    res = run_cli([*base, "--service-tier", "flex"])
    assert "(flex)" in res.stdout
    res = run_cli([*base, "--geo", "us", "--format", "json"])
    data = json.loads(res.stdout)
    assert data["total_usd"] == "1.32" and data["residency_multiplier"] == "1.1"
    assert data["conditions"]["inference_geo"] == "us"
    res = run_cli([*base, "--geo", "us"])
    assert "data residency us: token rates ×1.1" in " ".join(res.stdout.split())
    res = run_cli([*base, "--at", "2026-03-01T17:30", "--format", "json"])
    data = json.loads(res.stdout)
    assert data["total_usd"] == "0.6" and data["off_peak_multiplier"] == "0.5"
    res = run_cli([*base, "--at", "2026-03-01T12:00", "--format", "json"])
    assert json.loads(res.stdout)["total_usd"] == "1.2"
    # Fast mode has no rates on this model: unknown, never the standard price.
    res = run_cli([*base, "--speed", "fast", "--format", "json"])
    data = json.loads(res.stdout)
    assert data["total_usd"] is None and data["missing_rates"] == ["service_tier:fast"]
    assert "service_tier:fast" in err(res)
    res = run_cli([*base, "--speed", "slow"])
    assert res.exit_code == 2
    res = run_cli([*base, "--at", "2026-03-01 at noon"])
    assert res.exit_code == 2 and "--at" in err(res)
