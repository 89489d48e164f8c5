from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from llmaudit.providers import Completion, ResponseCache
from llmaudit.usage import Usage


def test_roundtrip_and_key(tmp_path: Path) -> None:
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    key = ResponseCache.key_for("openai", "gpt-4o-mini", body)
    assert key == ResponseCache.key_for("openai", "gpt-4o-mini", dict(reversed(list(body.items()))))  # canonical
    assert key != ResponseCache.key_for("openrouter", "gpt-4o-mini", body)
    assert key != ResponseCache.key_for("openai", "gpt-4o-mini", {**body, "temperature": 0})
    assert key != ResponseCache.key_for("openai", "gpt-4o-mini", body, "http://127.0.0.1:9/v1")  # another server
    comp = Completion(
        "hello",
        Usage(10, 2, cache_read_tokens=4, cost_reported=Decimal("0.00012")),
        ttft_ms=120.5,
        latency_ms=300.0,
        request_id="r1",
        model_reported="gpt-4o-mini-2024-07-18",
    )
    with ResponseCache(tmp_path / "c.db") as cache:
        assert cache.get(key) is None
        cache.put(key, comp, provider="openai", model="gpt-4o-mini")
        assert cache.get(key) == comp and len(cache) == 1
    with ResponseCache(tmp_path / "c.db") as cache:  # persisted
        got = cache.get(key)
        assert got is not None and got.usage is not None and got.usage.cost_reported == Decimal("0.00012")
        cache.put(key, Completion("no usage", None, None, 5.0))
        assert cache.get(key) == Completion("no usage", None, None, 5.0)
        assert cache.clear() == 1


def test_default_path_under_llmaudit_home(tmp_path: Path) -> None:
    cache = ResponseCache()
    assert cache.path == tmp_path / "home" / "cache.db" and cache.path.exists()
    cache.close()
