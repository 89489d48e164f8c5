"""Config overrides, negotiated discounts and aggregator fees."""

from __future__ import annotations

from decimal import Decimal

import pytest

from llmaudit.config import Config
from llmaudit.errors import ConfigError
from llmaudit.pricing import Usage, cost_breakdown, fees, load_catalog

MILLION_IN_OUT = Usage(input_tokens=1_000_000, output_tokens=1_000_000)


def test_override_patches_named_rates_everywhere() -> None:
    catalog = load_catalog(Config({"pricing": {"overrides": {"openai/gpt-4o": {"output": "7"}}}}))
    entry = catalog.get("openai/gpt-4o")
    assert all(p.output == Decimal("7") for p in entry.prices)
    assert all("config" in p.source for p in entry.prices)
    assert cost_breakdown(catalog, "gpt-4o", MILLION_IN_OUT).total == Decimal("9.5")


def test_override_adds_a_private_model() -> None:
    config = Config({"pricing": {"overrides": {"inhouse/llama-ft": {"input": "0.2", "output": "0.4",
                                                                      "context_window": 32000}}}})
    catalog = load_catalog(config)
    result = cost_breakdown(catalog, "inhouse/llama-ft", MILLION_IN_OUT)
    assert result.total == Decimal("0.6")
    assert catalog.get("inhouse/llama-ft").context_window == 32000


def test_absent_cache_rate_bills_as_input_and_missing_output_is_null() -> None:
    catalog = load_catalog(Config({"pricing": {"overrides": {"acme/basic": {"input": "1", "output": "2"},
                                                             "acme/embed": {"input": "0.1"}}}}))
    usage = Usage(input_tokens=1_000_000, output_tokens=0, cache_read_tokens=500_000, cache_write_tokens=500_000)
    assert cost_breakdown(catalog, "acme/basic", usage).total == Decimal("1")
    assert cost_breakdown(catalog, "acme/embed", Usage(1_000_000, 0)).total == Decimal("0.1")
    missing = cost_breakdown(catalog, "acme/embed", Usage(1_000_000, 10))
    assert (missing.total, missing.status, missing.missing) == (None, "missing_rate", ("output",))
    batch = cost_breakdown(catalog, "acme/basic", MILLION_IN_OUT, batch=True)
    assert batch.total is None and batch.status == "missing_rate"


def test_most_specific_discount_wins() -> None:
    config = Config({"pricing": {"discounts": {"anthropic/*": 10, "anthropic/claude-sonnet-4-5": 20}}})
    catalog = load_catalog(config)
    small = Usage(input_tokens=100_000, output_tokens=100_000)
    assert cost_breakdown(catalog, "claude-sonnet-4-5", small).total == Decimal("1.44")
    assert cost_breakdown(catalog, "claude-opus-4-1", small).total == Decimal("8.1")
    assert cost_breakdown(catalog, "gpt-4o", small).total == Decimal("1.25")


def test_fees() -> None:
    assert fees(None).platform_pct == Decimal("5.5") and fees(None).byok_pct == Decimal("5")
    custom = fees(Config({"fees": {"platform_pct": 3, "byok_pct": "0"}}))
    assert (custom.platform_pct, custom.byok_pct) == (Decimal("3"), Decimal("0"))
    assert custom.platform_fee(Decimal("100")) == Decimal("3")


@pytest.mark.parametrize("bad", [
    {"fees": {"platform_pct": -1}},
    {"fees": {"platform_fee": 5}},
    {"pricing": {"overrides": {"openai/gpt-4o": {"input": "cheap"}}}},
    {"pricing": {"overrides": {"gpt-4o": {"input": "1"}}}},
    {"pricing": {"overrides": {"acme/new": {"cache_read": "1"}}}},
    {"pricing": {"discounts": {"*": 101}}},
])
def test_bad_config_is_a_config_error(bad: dict) -> None:
    with pytest.raises(ConfigError):
        fees(Config(bad))
        load_catalog(Config(bad))


def test_absurd_override_and_non_utf8_config_are_usage_errors(run_cli, tmp_path) -> None:
    """Both ended as exit 70 "internal error" (Arrow/Decimal overflow, UnicodeDecodeError)."""
    cfg = tmp_path / "llmaudit.toml"
    cfg.write_text('[pricing.overrides."openai/gpt-4o"]\ninput = "1e308"\noutput = "10"\n')
    res = run_cli(["pricing", "cost", "gpt-4o", "--input-tokens", "1", "--output-tokens", "1", "--config", str(cfg)])
    assert res.exit_code == 2 and "not a plausible price" in " ".join(res.stderr.split())
    cfg.write_bytes(b"\xff\xfe[pricing]\n")
    res = run_cli(["pricing", "cost", "gpt-4o", "--input-tokens", "1", "--output-tokens", "1", "--config", str(cfg)])
    assert res.exit_code == 2 and "not UTF-8" in res.stderr


def test_a_misspelt_config_section_is_an_error_not_a_silent_drop(run_cli, tmp_path) -> None:
    """[pricing.overides."openai/gpt-4o"] was ignored and the negotiated price dropped."""
    cfg = tmp_path / "llmaudit.toml"
    cfg.write_text('[pricing.overides."openai/gpt-4o"]\ninput = "2.00"\noutput = "8.00"\n')
    res = run_cli(["pricing", "show", "gpt-4o", "--config", str(cfg)])
    assert res.exit_code == 2 and "did you mean [pricing.overrides]" in " ".join(res.stderr.split())
    cfg.write_text("[replai]\nconcurrency = 4\n")
    res = run_cli(["pricing", "show", "gpt-4o", "--config", str(cfg)])
    assert res.exit_code == 2 and "did you mean [replay]" in " ".join(res.stderr.split())
