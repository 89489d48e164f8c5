from __future__ import annotations

from pathlib import Path

import pytest

from llmaudit.config import load_config
from llmaudit.errors import MissingCredentialsError, ProviderError
from llmaudit.providers import BUILTIN_PROVIDERS, get_adapter, is_simulated, provider_spec, split_model


def config(tmp_path: Path, text: str):
    path = tmp_path / "llmaudit.toml"
    path.write_text(text)
    return load_config(path)


def test_split_model() -> None:
    assert split_model("openai/gpt-4o-mini") == ("openai", "gpt-4o-mini")
    assert split_model("openrouter/anthropic/claude-sonnet-4-5") == ("openrouter", "anthropic/claude-sonnet-4-5")
    assert split_model("gemini/gemini-2.5-flash") == ("google", "gemini-2.5-flash")
    assert split_model("ollama/llama3.2:3b") == ("ollama", "llama3.2:3b")
    with pytest.raises(ProviderError):
        split_model("gpt-4o")


def test_builtins_cover_the_well_known_providers() -> None:
    for name in (
        "openai",
        "anthropic",
        "google",
        "openrouter",
        "together",
        "groq",
        "deepseek",
        "fireworks",
        "mistral",
        "xai",
        "ollama",
        "llamacpp",
        "vllm",
        "litellm",
        "sim",
    ):
        assert name in BUILTIN_PROVIDERS


def test_missing_key_names_the_env_var() -> None:
    with pytest.raises(MissingCredentialsError, match="OPENAI_API_KEY"):
        get_adapter("openai")
    with pytest.raises(MissingCredentialsError, match="OPENROUTER_API_KEY"):
        get_adapter("openrouter")


def test_gemini_key_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_API_KEY", "AIza-test")
    assert get_adapter("google").provider == "google"


def test_local_servers_need_no_key() -> None:
    assert get_adapter("ollama").provider == "ollama"
    assert get_adapter("llamacpp").provider == "llamacpp"


def test_base_url_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cfg = config(tmp_path, '[providers.openai]\nbase_url = "https://from-config.test/v1"\n')
    assert provider_spec("openai").base_url == "https://api.openai.com/v1"
    assert provider_spec("openai", cfg).base_url == "https://from-config.test/v1"
    monkeypatch.setenv("OPENAI_BASE_URL", "https://sdk.test/v1")
    assert provider_spec("openai", cfg).base_url == "https://sdk.test/v1"
    monkeypatch.setenv("LLMAUDIT_OPENAI_BASE_URL", "https://llmaudit.test/v1")
    spec = provider_spec("openai", cfg)
    assert spec.base_url == "https://llmaudit.test/v1" and spec.base_url_source == "LLMAUDIT_OPENAI_BASE_URL"
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "https://a.test")
    assert provider_spec("anthropic").base_url == "https://a.test"
    monkeypatch.setenv("LLMAUDIT_GOOGLE_BASE_URL", "https://g.test/v1beta")
    assert provider_spec("google").base_url == "https://g.test/v1beta"


def test_custom_provider_from_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cfg = config(
        tmp_path,
        '[providers.mybox]\ntype = "openai"\nbase_url = "http://10.0.0.5:8000/v1"\n'
        'api_key_env = "MYBOX_API_KEY"\n\n[providers.lab]\nbase_url = "http://127.0.0.1:9/v1"\n',
    )
    with pytest.raises(MissingCredentialsError, match="MYBOX_API_KEY"):
        get_adapter("mybox", cfg)
    monkeypatch.setenv("MYBOX_API_KEY", "secret")
    adapter = get_adapter("mybox", cfg)
    assert adapter.provider == "mybox" and "10.0.0.5" in repr(adapter)
    assert get_adapter("lab", cfg).provider == "lab"  # no key variable: none needed


def test_bad_provider_config(tmp_path: Path) -> None:
    with pytest.raises(ProviderError, match="unknown provider 'nope'"):
        provider_spec("nope")
    with pytest.raises(ProviderError, match="api_key is not allowed"):
        provider_spec("x", config(tmp_path, '[providers.x]\nbase_url = "http://h/v1"\napi_key = "sk-zzzzzzzzzzzz"\n'))
    with pytest.raises(ProviderError, match="type must be one of"):
        provider_spec("x", config(tmp_path, '[providers.x]\nbase_url = "http://h/v1"\ntype = "soap"\n'))
    with pytest.raises(ProviderError, match="base_url is required"):
        provider_spec("x", config(tmp_path, '[providers.x]\ntype = "openai"\n'))


def test_is_simulated() -> None:
    assert is_simulated("sim") and not is_simulated("openai") and not is_simulated("nope")
