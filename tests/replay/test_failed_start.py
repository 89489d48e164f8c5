"""A start that fails leaves nothing behind that blocks the rerun (issue 15, item 16): an unusable
LLMAUDIT_HOME or --rejects path is a usage error naming the path (exit 2), not an internal error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import REPO

PROMPTS = REPO / "examples" / "prompts.jsonl"


def test_unwritable_home_is_exit_2_and_leaves_no_run_dir(run_cli, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home-is-a-file"
    home.write_text("not a folder")
    monkeypatch.setenv("LLMAUDIT_HOME", str(home))
    out = tmp_path / "run"
    res = run_cli(["replay", str(PROMPTS), "--models", "sim/gpt-4o-mini", "--out", str(out)])
    assert res.exit_code == 2, res.stderr
    assert str(home) in res.stderr and "LLMAUDIT_HOME" in res.stderr and "internal error" not in res.stderr
    assert not out.exists()
    # --no-cache needs no home; and the same --out works on the rerun.
    res = run_cli(["replay", str(PROMPTS), "--models", "sim/gpt-4o-mini", "--out", str(out), "--no-cache"])
    assert res.exit_code == 0, res.stderr
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"


def test_a_start_that_fails_after_the_run_dir_is_made_removes_it(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from llmaudit.replay import runner
    from llmaudit.replay.prompts import load_prompts

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(runner, "write_results", broken)
    existing = tmp_path / "empty-folder"
    existing.mkdir()
    for out, kept in ((tmp_path / "new", False), (existing, True)):
        with pytest.raises(OSError):
            runner.run_replay(load_prompts(PROMPTS)[:2], ["sim/gpt-4o-mini"], out)
        assert out.exists() is kept and (not kept or not any(out.iterdir()))
    monkeypatch.undo()
    monkeypatch.setenv("LLMAUDIT_HOME", str(tmp_path / "home"))
    summary = runner.run_replay(load_prompts(PROMPTS)[:2], ["sim/gpt-4o-mini"], tmp_path / "new")
    assert summary.ok == 2


def test_rejects_path_that_cannot_be_written_is_exit_2(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    log = REPO / "tests" / "ingest" / "fixtures" / "anthropic_messages.jsonl"   # one line is rejected
    out = tmp_path / "out.parquet"
    for rejects in ("/dev/full", str(tmp_path / "no" / "such" / "dir.jsonl"), str(tmp_path)):
        res = run_cli(["ingest", str(log), "--out", str(out), "--rejects", rejects])
        assert res.exit_code == 2, (rejects, res.stderr)
        assert f"--rejects {rejects}" in res.stderr and "internal error" not in res.stderr


def test_pricing_import_with_an_unusable_home_is_exit_2(run_cli, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home-is-a-file"
    home.write_text("not a folder")
    monkeypatch.setenv("LLMAUDIT_HOME", str(home))
    prices = REPO / "tests" / "pricing" / "fixtures" / "litellm_small.json"
    res = run_cli(["pricing", "import", "litellm", str(prices)])
    assert res.exit_code == 2, res.stderr
    assert f"{home} is not a folder" in res.stderr and "internal error" not in res.stderr
