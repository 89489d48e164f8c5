"""``model_vendor``: who made the model, apart from who served and billed it (issue 12)."""

from __future__ import annotations

import datetime as dt

import pytest

from llmaudit.pricing import load_catalog, price_table
from llmaudit.pricing.names import MAKERS, VENDOR_FAMILIES, model_vendor
from llmaudit.schema import from_pylist

# One bare name per family in VENDOR_FAMILIES, served by a provider that is not a maker.
FAMILIES = [
    ("claude-3-5-sonnet-20241022", "anthropic"),
    ("gpt-4o", "openai"),
    ("o1", "openai"),
    ("o3-mini", "openai"),
    ("o4-mini", "openai"),
    ("chatgpt-4o-latest", "openai"),
    ("gemini-2.5-pro", "google"),
    ("gemma-2-9b-it", "google"),
    ("llama-3.1-70b-instruct", "meta"),
    ("mistral-large-latest", "mistral"),
    ("mixtral-8x7b", "mistral"),
    ("codestral-latest", "mistral"),
    ("ministral-8b", "mistral"),
    ("pixtral-12b", "mistral"),
    ("deepseek-chat", "deepseek"),
    ("grok-4", "xai"),
    ("qwen-2.5-72b-instruct", "dashscope"),
    ("command-r-plus", "cohere"),
    ("sonar-pro", "perplexity"),
    ("jamba-1.5-large", "ai21"),
    ("kimi-k2", "moonshot"),
    ("glm-4.6", "zai"),
    ("minimax-m2", "minimax"),
    ("nova-pro", "amazon_nova"),
]


@pytest.mark.parametrize(("name", "vendor"), FAMILIES)
def test_family_by_name_prefix(name: str, vendor: str) -> None:
    assert model_vendor(name, "groq") == vendor
    assert model_vendor(name) == vendor


def test_every_family_is_tested_and_spelled_as_a_maker() -> None:
    tested = {v for _, v in FAMILIES}
    assert tested == {v for _, v in VENDOR_FAMILIES}
    assert tested <= MAKERS


@pytest.mark.parametrize(("raw", "provider", "vendor"), [
    ("anthropic/claude-3.5-sonnet", "openrouter", "anthropic"),
    ("openrouter/anthropic/claude-3.5-sonnet", None, "anthropic"),
    ("meta-llama/llama-3.1-70b-instruct", "openrouter", "meta"),
    ("qwen/qwen-2.5-72b-instruct", "openrouter", "dashscope"),
    ("x-ai/grok-2", "openrouter", "xai"),
    ("us.anthropic.claude-sonnet-4-20250514-v1:0", "bedrock", "anthropic"),
    ("anthropic.claude-3-haiku-20240307-v1:0", "bedrock", "anthropic"),
    ("meta.llama3-70b-instruct-v1:0", "bedrock", "meta"),
    ("bedrock/anthropic.claude-3-haiku-20240307-v1:0", None, "anthropic"),
    ("claude-3-5-sonnet@20240620", "vertex_ai", "anthropic"),
    ("vertex_ai/claude-3-5-sonnet@20240620", None, "anthropic"),
    ("gemini-2.5-pro", "vertex_ai", "google"),
    ("gpt-4o", "azure", "openai"),
    ("azure/gpt-4o-mini", None, "openai"),
    ("together_ai/meta-llama/Llama-3-70b-chat-hf", None, "meta"),
    ("gemini/gemini-2.0-flash", None, "google"),
    # A maker serving the request is its own vendor (Perplexity's llama-based sonar is Perplexity's).
    ("llama-3.1-sonar-large-128k-online", "perplexity", "perplexity"),
    ("some-internal-name", "openai", "openai"),
    # Unknown is null, never a guess.
    ("acme/chat-7b", "openrouter", None),
    ("my-finetune", "together_ai", None),
    ("amazon.titan-text-express-v1", "bedrock", None),
    ("", None, None),
])
def test_served_vs_made(raw: str, provider: str | None, vendor: str | None) -> None:
    assert model_vendor(raw, provider) == vendor


@pytest.fixture(scope="module")
def catalog():
    return load_catalog()


def _row(model: str, provider: str | None, **extra: object) -> dict:
    return {"timestamp": dt.datetime(2025, 6, 1, tzinfo=dt.UTC), "provider": provider, "model": model,
            "model_raw": model, "input_tokens": 100, "cache_read_tokens": 0, "cache_write_tokens": 0,
            "output_tokens": 10, "reasoning_tokens": 0, "requests": 1, "billed_cost_usd": None,
            "source_format": "test", **extra}


def test_pricing_fills_the_column(catalog) -> None:
    table = from_pylist([
        _row("anthropic/claude-3.5-sonnet", "openrouter"),
        _row("us.anthropic.claude-sonnet-4-20250514-v1:0", "bedrock"),
        _row("gpt-4o", "azure"),
        _row("acme/chat-7b", "openrouter"),
        _row("gpt-4o", "azure", model_vendor="kept-as-given"),
    ])
    priced = price_table(table, catalog)
    assert priced.column("model_vendor").to_pylist() == [
        "anthropic", "anthropic", "openai", None, "kept-as-given"]


def test_catalog_maker_is_the_fallback() -> None:
    # No family prefix names it, but the catalog resolves it to a maker's entry: that maker made it.
    from llmaudit.config import Config

    catalog = load_catalog(Config({"pricing": {"overrides": {"openai/house-model": {"input": "1", "output": "2"}}}}))
    assert model_vendor("house-model", "together_ai") is None
    priced = price_table(from_pylist([_row("house-model", "together_ai"), _row("other-model", None)]), catalog)
    assert priced.column("model_vendor").to_pylist() == ["openai", None]
