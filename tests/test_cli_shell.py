from __future__ import annotations

from llmaudit import __version__
from llmaudit.errors import redact


def test_version(run_cli):
    result = run_cli(["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"llmaudit {__version__}"


def test_unknown_flag_is_a_usage_error(run_cli):
    result = run_cli(["--no-such-flag"])
    assert result.exit_code == 2


def test_redact_scrubs_keys():
    text = redact("Authorization: Bearer sk-proj-abcdefghijklmnop and key=AIzaSyA1234567890abcdefghijk")
    assert "abcdefghijklmnop" not in text
    assert "AIzaSyA1234567890" not in text


def test_redact_knows_other_providers_key_shapes():
    text = redact("gsk_abcdefghijkl1234 xai-abcdefghijklmnop fw_abcdefgh12345 sk-ant-api03-abcdefghij")
    for secret in ("abcdefghijkl1234", "abcdefghijklmnop", "abcdefgh12345", "api03-abcdefghij"):
        assert secret not in text
