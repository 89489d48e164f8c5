from __future__ import annotations

from llmaudit.errors import LlmauditError
from llmaudit.providers import ERROR_KINDS, Completion, ProviderCallError
from llmaudit.usage import Usage


def test_output_tokens_per_second_counts_tokens_after_the_first() -> None:
    comp = Completion("x", Usage(10, 101), ttft_ms=500.0, latency_ms=1500.0)
    assert comp.output_tokens_per_second() == 100.0  # 100 tokens after the first, in 1 s
    assert comp.output_tokens_per_second(output_tokens=51) == 50.0  # a locally counted figure
    assert Completion("x", None, ttft_ms=500.0, latency_ms=1500.0).output_tokens_per_second() is None
    assert Completion("x", Usage(1, 5), ttft_ms=None, latency_ms=9.0).output_tokens_per_second() is None


def test_provider_call_error_kinds_and_redaction() -> None:
    retryable = {k for k in ERROR_KINDS if ProviderCallError(k, "m").retryable}
    assert retryable == {"rate_limited", "server", "timeout", "broken_stream"}
    err = ProviderCallError("auth", "rejected key sk-abcdefghijklmnop", status=401)
    assert isinstance(err, LlmauditError) and "abcdefgh" not in str(err) and err.status == 401
