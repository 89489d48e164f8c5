"""Model-name resolution (formats.md §D) and the catalog's shape and provenance."""

from __future__ import annotations

import pickle
import re
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from llmaudit.config import data_path
from llmaudit.pricing import Catalog, ModelEntry, PricePoint, Rates, load_catalog
from llmaudit.pricing.catalog import read_catalog_file


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


@pytest.mark.parametrize(("raw", "expected", "how"), [
    ("gpt-4o", "openai/gpt-4o", "exact"),
    ("GPT-4O", "openai/gpt-4o", "exact"),
    ("openai/gpt-4o-mini", "openai/gpt-4o-mini", "exact"),
    ("gpt-4o-2024-08-06", "openai/gpt-4o-2024-08-06", "exact"),
    ("gpt-4o-2024-05-13", "openai/gpt-4o-2024-05-13", "exact"),
    ("gpt-4o-2099-01-01", "openai/gpt-4o", "dated-snapshot"),
    # A cloud or reseller spelling keeps its own prices when any source priced it differently on any
    # day: LiteLLM listed Azure's and OpenRouter's gpt-4o at $5/$15 until 2025-03/04, OpenAI's at $2.50/$10.
    ("azure/gpt-4o", "azure/gpt-4o", "exact"),
    ("openrouter/openai/gpt-4o", "openrouter/openai/gpt-4o", "exact"),
    ("claude-sonnet-4-5", "anthropic/claude-sonnet-4-5", "exact"),
    ("anthropic/claude-sonnet-4-5", "anthropic/claude-sonnet-4-5", "exact"),
    # Vertex still lists Sonnet 4.5's >200k tier after Anthropic's key dropped it (2026-10-21): its own entry.
    ("claude-sonnet-4-5@20250929", "vertex_ai/claude-sonnet-4-5@20250929", "name"),
    ("vertex_ai/claude-sonnet-4-5@20250929", "vertex_ai/claude-sonnet-4-5@20250929", "exact"),
    ("us.anthropic.claude-sonnet-4-20250514-v1:0", "anthropic/claude-sonnet-4-20250514", "alias"),
    ("bedrock/us-west-2/us.anthropic.claude-sonnet-4-20250514-v1:0", "anthropic/claude-sonnet-4-20250514", "bedrock"),
    # Bedrock listed a 1-hour write at $7.50 (Anthropic: $6) and a >200k tier for this model.
    ("arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20241022-v2:0",
     "bedrock/anthropic.claude-3-5-sonnet-20241022-v2:0", "bedrock"),
    # Bedrock's US cross-region profile of Sonnet 4.5 costs 10% more: it keeps its own entry.
    ("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0", "name"),
    ("anthropic/claude-3.5-sonnet", "anthropic/claude-3-5-sonnet-latest", "latest-alias"),
    ("openrouter/anthropic/claude-3.5-sonnet", "anthropic/claude-3-5-sonnet-latest", "alias"),
    ("anthropic/claude-3.5-sonnet:beta", "anthropic/claude-3-5-sonnet-latest", "latest-alias"),
    ("anthropic/claude-4.5-sonnet-20250929", "anthropic/claude-sonnet-4-5-20250929", "alias"),
    ("claude-3-5-sonnet-20241022", "anthropic/claude-3-5-sonnet-20241022", "exact"),
    ("gemini-2.5-pro", "google/gemini-2.5-pro", "exact"),
    ("gemini/gemini-2.5-pro", "google/gemini-2.5-pro", "alias"),
    ("google/gemini-2.5-flash", "google/gemini-2.5-flash", "exact"),
    ("models/gemini-2.0-flash-001", "google/gemini-2.0-flash-001", "prefix"),
    ("x-ai/grok-3-mini", "xai/grok-3-mini", "exact"),
    ("xai/grok-4", "xai/grok-4", "exact"),
    # OpenRouter's listing of grok-4 kept $3/$15 after xAI cut it: its own spelling keeps its own price.
    ("x-ai/grok-4", "openrouter/x-ai/grok-4", "name"),
    ("deepseek-chat", "deepseek/deepseek-chat", "exact"),
])
def test_spellings_resolve(catalog, raw: str, expected: str, how: str) -> None:
    hit = catalog.resolve(raw)
    assert hit is not None, raw
    assert (hit.entry.id, hit.matched_by) == (expected, how)


def test_provider_hint_prefers_that_provider(catalog) -> None:
    assert catalog.resolve("llama-3.1-8b-instant", "groq").entry.provider == "groq"
    assert catalog.resolve("gemini-2.5-pro", "gemini").entry.id == "google/gemini-2.5-pro"
    assert catalog.resolve("claude-sonnet-4-5", "Anthropic").matched_by == "exact"
    assert catalog.resolve("gpt-4o", "azure").entry.id == "azure/gpt-4o"  # Azure's own listing (priced apart)
    # an OpenRouter log names the provider apart from the model id
    hit = catalog.resolve("anthropic/claude-3.5-sonnet", "openrouter")
    assert (hit.entry.id, hit.matched_by) == ("anthropic/claude-3-5-sonnet-latest", "alias")


def _entry(model_id: str, price: str, name: str | None = None) -> ModelEntry:
    provider, _, rest = model_id.partition("/")
    point = PricePoint(date(2026, 1, 1), "test", date(2026, 1, 1), Rates(input=Decimal(price), output=Decimal(price)))
    return ModelEntry(model_id, provider, name or rest, (point,))


def test_openrouter_rows_find_the_openrouter_listing_else_the_makers(catalog) -> None:
    """OpenRouter rows are filed under provider openrouter; the "vendor/model" name with that hint
    finds OpenRouter's own listing when there is one, else the maker's entry."""
    small = Catalog([_entry("openrouter/anthropic/claude-sonnet-4.5", "4"), _entry("anthropic/claude-sonnet-4-5", "3"),
                     _entry("anthropic/claude-opus-4-7", "5"),
                     _entry("openrouter/deepseek/deepseek-v4.1-flash", "0.15"),
                     _entry("azure_ai/deepseek-v4.1-flash", "0.375")], date(2026, 1, 1))
    for cat in (small, catalog):
        assert cat.resolve("anthropic/claude-sonnet-4.5", "openrouter").entry.id == (
            "openrouter/anthropic/claude-sonnet-4.5")
        # a dated permaslug of a model OpenRouter lists undated: OpenRouter's listing, not another host's
        assert cat.resolve("deepseek/deepseek-v4.1-flash-20260910", "openrouter").entry.id == (
            "openrouter/deepseek/deepseek-v4.1-flash")
    # no OpenRouter listing: the maker's entry (its canonical slug reorders the name)
    assert small.resolve("anthropic/claude-opus-4.7", "openrouter").entry.id == "anthropic/claude-opus-4-7"
    assert catalog.resolve("anthropic/claude-4.7-opus-20260416", "openrouter").entry.id == (
        "anthropic/claude-opus-4-7-20260416")
    assert catalog.resolve("anthropic/claude-sonnet-4-5-20250929", "openrouter").entry.id == (
        "anthropic/claude-sonnet-4-5-20250929")
    assert catalog.resolve("x-ai/grok-4", "openrouter").entry.id == "openrouter/x-ai/grok-4"


def test_openrouter_csv_rows_priced_under_openrouter(catalog) -> None:
    from llmaudit.ingest import scan
    from llmaudit.pricing.table import price_table

    path = str(Path(__file__).parents[1] / "ingest" / "fixtures" / "openrouter_activity.csv")
    priced = price_table(scan([path]).table(), catalog)
    assert set(priced["provider"].to_pylist()) == {"openrouter"}
    assert priced["model"].to_pylist() == ["openai/gpt-4.1-2025-04-14", "openrouter/deepseek/deepseek-v4.1-flash",
                                           "anthropic/claude-opus-4-7-20260416"]
    assert priced["price_status"].to_pylist() == ["priced"] * 3


def test_provider_qualified_name_is_tried_as_written_first(catalog) -> None:
    # LiteLLM prices perplexity/sonar ($1/$1) and perplexity/perplexity/sonar ($0.25/$2.50) apart; with
    # the provider hint prefixed first, "perplexity/sonar" from provider perplexity found the other one.
    small = Catalog([_entry("perplexity/sonar", "1"), _entry("perplexity/perplexity/sonar", "0.25")], date(2026, 1, 1))
    for cat in (small, catalog):
        assert (cat.resolve("perplexity/sonar", "perplexity").entry.id, cat.resolve("perplexity/sonar").entry.id) == (
            "perplexity/sonar", "perplexity/sonar")
        assert cat.resolve("perplexity/perplexity/sonar", "perplexity").entry.id == "perplexity/perplexity/sonar"
        assert cat.resolve("sonar", "perplexity").entry.id == "perplexity/sonar"
    # an unqualified name still takes the hinted provider's own listing first
    both = Catalog([_entry("together_ai/meta-llama/llama-3-70b", "0.9"), _entry("meta/llama-3-70b", "0.5")],
                   date(2026, 1, 1))
    assert both.resolve("meta-llama/llama-3-70b", "together_ai").entry.id == "together_ai/meta-llama/llama-3-70b"


def test_ids_differing_only_in_case_resolve_as_spelled() -> None:
    # LiteLLM listed azure_ai/DeepSeek-V4-Flash-0731 ($0.44/$1.32) beside an older lower-case key at
    # other prices; the lower-case index keeps one of them, the exact spelling must find its own.
    for order in (1, -1):
        cat = Catalog([_entry("azure_ai/DeepSeek-V4-Flash-0731", "0.44"),
                       _entry("azure_ai/deepseek-v4-flash-0731", "0.19")][::order], date(2026, 1, 1))
        assert cat.resolve("azure_ai/DeepSeek-V4-Flash-0731").entry.id == "azure_ai/DeepSeek-V4-Flash-0731"
        assert cat.resolve("azure_ai/deepseek-v4-flash-0731").entry.id == "azure_ai/deepseek-v4-flash-0731"
        assert cat.resolve("DeepSeek-V4-Flash-0731", "azure_ai").entry.id == "azure_ai/DeepSeek-V4-Flash-0731"
        assert cat.resolve("azure_ai/DeepSeek-V4-Flash-0731", "azure_ai").entry.id == "azure_ai/DeepSeek-V4-Flash-0731"
        assert cat.resolve("azure_ai/DEEPSEEK-v4-flash-0731") is not None  # other spellings: either one


def test_unknown(catalog) -> None:
    assert catalog.resolve("acme-9000") is None
    assert catalog.resolve("anthropic/claude-3.5-sonnet:free") is None  # never the paid model's price
    assert catalog.resolve("") is None


def test_dated_snapshots_keep_their_own_price(catalog) -> None:
    old = catalog.resolve("gpt-4o-2024-05-13").entry.price_at(date(2025, 1, 1))
    new = catalog.resolve("gpt-4o-2024-08-06").entry.price_at(date(2025, 1, 1))
    assert (str(old.input), str(new.input)) != ("2.5", "2.5")
    assert old.input == 5


def test_catalog_size_provenance_and_speed() -> None:
    start = time.perf_counter()
    catalog = load_catalog()
    assert time.perf_counter() - start < 0.5
    assert len(catalog) >= 1000
    assert len(catalog.providers) >= 30
    for entry in catalog.entries:
        assert entry.prices, entry.id
        for point in entry.prices:
            assert point.source and point.as_of >= point.effective_from, entry.id
            assert point.source in catalog.sources or point.source.startswith("config"), point.source
    pickle.loads(pickle.dumps(catalog))  # the distributed engine ships the catalog to workers


def test_price_files_are_reviewable() -> None:
    files = sorted(data_path("pricing_data").glob("*.json"))
    assert len(files) >= 30
    entries, sources = read_catalog_file(data_path("pricing_data") / "anthropic.json")
    assert any(e.id == "anthropic/claude-sonnet-4-5" for e in entries)
    assert sources and all("date" in s for s in sources.values())
    text = (data_path("pricing_data") / "openai.json").read_text()
    assert '"input": "2.5"' in text
    assert not re.search(r'": "?[0-9.]+[eE][-+]?[0-9]', text)  # decimal strings, never exponent floats
