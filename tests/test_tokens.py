"""Offline token counting: exact OpenAI counts from the shipped files, labelled estimates otherwise."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import pytest

from llmaudit import tokens
from llmaudit.tokens import count_messages, count_text, encoding_for_model, get_encoding

SHIPPED = Path(tokens.__file__).resolve().parent / "_tokenizers"

# The OpenAI cookbook's "How to count tokens with tiktoken" example; it reports 129 prompt tokens
# for gpt-3.5-turbo-0613 / gpt-4-0613 and 124 for gpt-4o / gpt-4o-mini.
COOKBOOK_MESSAGES: list[dict[str, Any]] = [
    {
        "role": "system",
        "content": "You are a helpful, pattern-following assistant that translates corporate jargon into "
        "plain English.",
    },
    {"role": "system", "name": "example_user", "content": "New synergies will help drive top-line growth."},
    {"role": "system", "name": "example_assistant", "content": "Things working well together will increase revenue."},
    {
        "role": "system",
        "name": "example_user",
        "content": "Let's circle back when we have more bandwidth to touch base on opportunities for "
        "increased leverage.",
    },
    {
        "role": "system",
        "name": "example_assistant",
        "content": "Let's talk later when we're less busy about how to do better.",
    },
    {
        "role": "user",
        "content": "This late pivot means we don't have time to boil the ocean for the client deliverable.",
    },
]

SAMPLES = [
    "hello world",
    "tiktoken is great!",
    "  leading spaces and trailing\n\n\nnewlines  \t",
    "def f(x):\n    return x ** 2  # square\n",
    "Prix: 1234567,89 € — naïve café, 東京タワー, Привет мир, 🦊🚀",
    "It's they'll WE'VE I'M don't <|endoftext|> literal",
    "",
]


@pytest.fixture
def cold_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "_cache", {})


def test_known_ids_and_counts() -> None:
    assert get_encoding("o200k_base").encode_ordinary("hello world") == [24912, 2375]
    assert get_encoding("cl100k_base").encode_ordinary("hello world") == [15339, 1917]
    assert count_text("hello world", "gpt-4o") == tokens.TokenCount(2, True, "tiktoken o200k_base")
    assert count_text("tiktoken is great!", "gpt-3.5-turbo").tokens == 6
    assert count_text("", "gpt-4o").tokens == 0


def test_cookbook_message_counts() -> None:
    assert count_messages(COOKBOOK_MESSAGES, "gpt-4-0613").tokens == 129
    assert count_messages(COOKBOOK_MESSAGES, "gpt-3.5-turbo-0613").tokens == 129
    got = count_messages(COOKBOOK_MESSAGES, "openai/gpt-4o")
    assert got.tokens == 124 and got.exact and "chat framing" in got.method
    assert count_messages(COOKBOOK_MESSAGES, "gpt-4o-mini").tokens == 124


def test_framing_overhead() -> None:
    body = count_text("hello world", "gpt-4o").tokens + count_text("user", "gpt-4o").tokens
    one = count_messages([{"role": "user", "content": "hello world"}], "gpt-4o")
    assert one.tokens == body + 3 + 3
    named = count_messages([{"role": "user", "name": "bob", "content": "hello world"}], "gpt-4o")
    assert named.tokens == one.tokens + count_text("bob", "gpt-4o").tokens + 1
    assert count_messages([], "gpt-4o").tokens == 3


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("gpt-4o", "o200k_base"),
        ("gpt-4o-2024-08-06", "o200k_base"),
        ("openai/gpt-4o-mini", "o200k_base"),
        ("openrouter/openai/gpt-4.1-nano", "o200k_base"),
        ("gpt-5", "o200k_base"),
        ("gpt-5-mini-2025-08-07", "o200k_base"),
        ("o1", "o200k_base"),
        ("o3-mini", "o200k_base"),
        ("o4-mini-2025-04-16", "o200k_base"),
        ("chatgpt-4o-latest", "o200k_base"),
        ("ft:gpt-4o-mini:org::abc", "o200k_base"),
        ("groq/openai/gpt-oss-120b", "o200k_base"),
        ("gpt-4", "cl100k_base"),
        ("gpt-4-turbo-2024-04-09", "cl100k_base"),
        ("azure/gpt-35-turbo", "cl100k_base"),
        ("gpt-3.5-turbo", "cl100k_base"),
        ("text-embedding-3-small", "cl100k_base"),
        ("anthropic/claude-sonnet-4-5", None),
        ("gemini-2.5-flash", None),
        ("meta-llama/llama-3.1-8b-instruct", None),
        ("omni", None),
    ],
)
def test_model_to_encoding(model: str, encoding: str | None) -> None:
    assert encoding_for_model(model) == encoding


@pytest.mark.parametrize(
    ("model", "family", "factor"),
    [
        ("anthropic/claude-sonnet-4-5", "anthropic", "1.20"),
        ("claude-3-5-haiku-20241022", "anthropic", "1.20"),
        ("bedrock/anthropic.claude-3-sonnet", "anthropic", "1.20"),
        ("google/gemini-2.5-pro", "google", "1.05"),
        ("meta-llama/llama-3.3-70b-instruct", "meta", "1.05"),
        ("mistral/mistral-large-latest", "mistral", "1.10"),
        ("deepseek/deepseek-chat", "deepseek", "1.05"),
        ("qwen/qwen3-32b", "qwen", "1.05"),
        ("somelab/mystery-model", "other", "1.10"),
    ],
)
def test_estimates_are_labelled(model: str, family: str, factor: str) -> None:
    text = "The quick brown fox jumps over the lazy dog. " * 20
    base = count_text(text, "gpt-4o").tokens
    got = count_text(text, model)
    assert got.exact is False
    assert got.method.startswith("estimate: o200k_base × " + factor)
    assert family in got.method
    from decimal import ROUND_HALF_UP, Decimal

    assert got.tokens == int((Decimal(base) * Decimal(factor)).to_integral_value(ROUND_HALF_UP))
    msgs = count_messages([{"role": "user", "content": text}], model)
    assert msgs.exact is False and "estimate" in msgs.method and "chat framing" in msgs.method


def test_multimodal_parts_make_count_inexact() -> None:
    msg = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "what is in this image?"},
                {"type": "image_url", "image_url": {"url": "https://example.invalid/x.png"}},
            ],
        }
    ]
    got = count_messages(msg, "gpt-4o")
    assert got.exact is False and "non-text" in got.method
    text_only = count_messages([{"role": "user", "content": "what is in this image?"}], "gpt-4o")
    assert got.tokens == text_only.tokens


def test_counting_never_touches_network(no_network: None, cold_cache: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # Point tiktoken's download cache at an empty dir: if anything fell back to tiktoken's loader,
    # it would have to download and hit the blocked socket.
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(Path.cwd() / "empty-cache"))
    assert count_text("hello world", "gpt-4o").tokens == 2
    assert count_text("hello world", "gpt-4").tokens == 2
    assert count_text("hello world", "claude-opus-4-1").exact is False
    assert not (Path.cwd() / "empty-cache").exists()


def test_encodings_are_loaded_once(cold_cache: None) -> None:
    first = get_encoding("o200k_base")
    assert get_encoding("o200k_base") is first
    with pytest.raises(ValueError, match="no offline tokenizer"):
        get_encoding("p50k_base")


def test_corrupt_tokenizer_file_is_detected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cold_cache: None) -> None:
    bad = tmp_path / "tok"
    bad.mkdir()
    shutil.copy(SHIPPED / "cl100k_base.tiktoken", bad / "cl100k_base.tiktoken")
    with open(bad / "cl100k_base.tiktoken", "ab") as fh:
        fh.write(b"junk 1\n")
    monkeypatch.setattr(tokens, "_DIR", bad)
    with pytest.raises(RuntimeError, match="corrupt"):
        get_encoding("cl100k_base")


def test_matches_tiktoken_reference_encodings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_network: None
) -> None:
    """Our hand-built encodings agree with tiktoken's own constructors (openai_public.py).

    tiktoken's constructors are fed the same files through its documented cache layout (file name
    = sha1 of the download URL), so its pat_str and special tokens are checked against ours and
    the file hashes against tiktoken's pins, all offline.
    """
    import tiktoken
    import tiktoken_ext.openai_public as public

    cache = tmp_path / "tiktoken-cache"
    cache.mkdir()
    for name in ("o200k_base", "cl100k_base"):
        url = f"https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"
        shutil.copy(SHIPPED / f"{name}.tiktoken", cache / hashlib.sha1(url.encode()).hexdigest())
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache))

    for name, ctor in (("o200k_base", public.o200k_base), ("cl100k_base", public.cl100k_base)):
        ref = tiktoken.Encoding(**ctor())
        ours = get_encoding(name)
        assert ours._pat_str == ref._pat_str
        assert ours._special_tokens == ref._special_tokens
        assert ours.n_vocab == ref.n_vocab
        for sample in SAMPLES:
            assert ours.encode_ordinary(sample) == ref.encode_ordinary(sample), (name, sample)
