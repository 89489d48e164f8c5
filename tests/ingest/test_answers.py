"""Answers remembered (issue 13): the same ``report --spend`` of unchanged logs is answered from the
store without reading or pricing anything, byte for byte as a cold run; any change to what the
answer depends on (a log, the catalog, the config, the options) is a miss."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import llmaudit.ingest.answers as answers
from llmaudit.ingest.answers import open_answers

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "pricing" / "fixtures"
NOW = ("--now", "2026-12-01T00:00:00Z")


def openai_line(n: int, model: str = "gpt-4o") -> str:
    return json.dumps({"id": f"chatcmpl-{n}", "object": "chat.completion", "created": 1757926330 + 3600 * n,
                       "model": model, "usage": {"prompt_tokens": 1000 + n, "completion_tokens": 50,
                                                 "prompt_tokens_details": {"cached_tokens": 0}}}) + "\n"


def claude_line(n: int) -> str:
    return json.dumps({"sessionId": "s1", "type": "assistant", "requestId": f"req_{n}",
                       "timestamp": f"2025-09-15T08:52:{n % 60:02d}.000Z",
                       "message": {"id": f"msg_{n}", "model": "claude-sonnet-4-5-20250929", "role": "assistant",
                                   "usage": {"input_tokens": 100 + n, "output_tokens": 5,
                                             "cache_creation_input_tokens": 10, "cache_read_input_tokens": 20}}}) + "\n"


def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "logs"
    (root / "app").mkdir(parents=True)
    (root / "app" / "a.jsonl").write_text("".join(claude_line(n) for n in range(30)) + "not json\n")
    (root / "openai.jsonl").write_text("".join(openai_line(n) for n in range(40)))
    return root


def spend(run_cli: Any, *paths: Path, extra: tuple[str, ...] = (), fmt: str = "json") -> str:
    result = run_cli(["report", "--spend", *map(str, paths), "--format", fmt, "--timezone", "UTC", *extra])
    assert result.exit_code == 0, result.output
    return str(result.stdout)


@pytest.fixture(autouse=True)
def remember_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The logs here are written a moment before they are read: remember them all the same."""
    monkeypatch.setattr(answers, "RECENT_NS", 0)


def refuse_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a remembered answer read or priced the logs again")

    monkeypatch.setattr("llmaudit.analysis.common.distributed.open_records_with", refuse)
    monkeypatch.setattr(sys.modules["llmaudit.ingest.scan"], "scan", refuse)
    monkeypatch.setattr("llmaudit.pricing.load_catalog", refuse)


def answer_files() -> list[Path]:
    folder = Path(os.environ["LLMAUDIT_HOME"]) / "store" / answers.FOLDER
    return sorted(p for p in folder.iterdir() if not p.name.startswith(".")) if folder.is_dir() else []


@pytest.mark.parametrize("fmt", ["json", "table", "csv", "markdown"])
def test_a_repeated_report_is_answered_byte_for_byte_without_reading(run_cli: Any, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch,
                                                                     fmt: str) -> None:
    logs = corpus(tmp_path)
    cold = spend(run_cli, logs, extra=(*NOW, "--no-store"), fmt=fmt)
    assert not answer_files()   # --no-store writes no answer either
    first = spend(run_cli, logs, extra=NOW, fmt=fmt)
    assert first == cold and len(answer_files()) == 1
    refuse_reading(monkeypatch)
    assert spend(run_cli, logs, extra=NOW, fmt=fmt) == cold


def test_the_answer_is_remade_for_this_run_s_now(run_cli: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    logs = corpus(tmp_path)
    spend(run_cli, logs, extra=("--now", "2025-09-20T06:00:00Z"))   # remembered as of mid-September
    later = ("--now", "2025-09-28T18:30:00Z")
    cold = spend(run_cli, logs, extra=(*later, "--no-store"))
    refuse_reading(monkeypatch)
    hit = spend(run_cli, logs, extra=later)
    assert hit == cold
    assert json.loads(hit)["generated_at"].startswith("2025-09-28T18:30")
    started = datetime.now(UTC)
    wall = json.loads(spend(run_cli, logs))   # no --now: the wall clock, as a cold run has it
    assert datetime.fromisoformat(wall["generated_at"]) >= started
    assert wall["projection"]["now"] == wall["generated_at"]


def test_an_appended_log_gets_new_totals(run_cli: Any, tmp_path: Path) -> None:
    logs = corpus(tmp_path)
    before = json.loads(spend(run_cli, logs, extra=NOW))
    with (logs / "openai.jsonl").open("a") as fh:
        fh.write("".join(openai_line(n) for n in range(40, 45)))
    after = spend(run_cli, logs, extra=NOW)
    assert json.loads(after)["totals"]["requests"] == before["totals"]["requests"] + 5
    assert after == spend(run_cli, logs, extra=(*NOW, "--no-store"))


def test_a_new_file_in_a_folder_is_a_miss(run_cli: Any, tmp_path: Path) -> None:
    logs = corpus(tmp_path)
    before = json.loads(spend(run_cli, logs, extra=NOW))
    (logs / "app" / "b.jsonl").write_text("".join(claude_line(n) for n in range(100, 110)))
    after = json.loads(spend(run_cli, logs, extra=NOW))
    assert after["totals"]["requests"] == before["totals"]["requests"] + 10


def test_a_same_size_same_mtime_rewrite_is_a_miss(run_cli: Any, tmp_path: Path) -> None:
    logs = corpus(tmp_path)
    log = logs / "openai.jsonl"
    st = log.stat()
    before = spend(run_cli, logs, extra=NOW)
    # A change in the middle of the file, far from the blocks hashed at either end.
    text = log.read_text()
    middle = len(text) // 2
    at = text.index('"completion_tokens": 50', middle)
    log.write_text(text[:at] + '"completion_tokens": 70' + text[at + len('"completion_tokens": 50'):])
    os.utime(log, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert log.stat().st_size == st.st_size and log.stat().st_mtime_ns == st.st_mtime_ns
    after = spend(run_cli, logs, extra=NOW)
    assert after != before
    assert after == spend(run_cli, logs, extra=(*NOW, "--no-store"))


def test_a_changed_catalog_gives_new_prices(run_cli: Any, tmp_path: Path) -> None:
    logs = corpus(tmp_path)
    before = json.loads(spend(run_cli, logs, extra=NOW))
    imported = run_cli(["pricing", "import", "litellm", str(FIXTURES / "litellm_small.json"),
                        "--effective", "2025-09-10"])
    assert imported.exit_code == 0, imported.stderr
    after = spend(run_cli, logs, extra=NOW)
    assert json.loads(after)["totals"]["cost"] != before["totals"]["cost"]
    assert after == spend(run_cli, logs, extra=(*NOW, "--no-store"))


def test_other_options_or_config_are_other_questions(run_cli: Any, tmp_path: Path) -> None:
    logs = corpus(tmp_path)
    daily = spend(run_cli, logs, extra=NOW)
    monthly = spend(run_cli, logs, extra=(*NOW, "--by", "month"))
    assert monthly != daily and len(answer_files()) == 2
    assert spend(run_cli, logs, extra=(*NOW, "--tolerance", "5")) == spend(
        run_cli, logs, extra=(*NOW, "--tolerance", "5", "--no-store"))
    config = tmp_path / "llmaudit.toml"
    config.write_text('[pricing.overrides."openai/gpt-4o"]\ninput = "100"\noutput = "100"\n')
    priced = spend(run_cli, logs, extra=(*NOW, "--config", str(config)))
    assert priced != daily
    config.write_text('[pricing.overrides."openai/gpt-4o"]\ninput = "200"\noutput = "100"\n')
    assert spend(run_cli, logs, extra=(*NOW, "--config", str(config))) == spend(
        run_cli, logs, extra=(*NOW, "--config", str(config), "--no-store"))


def test_a_report_with_insights_is_not_remembered(run_cli: Any, tmp_path: Path) -> None:
    logs = corpus(tmp_path)
    spend(run_cli, logs, extra=(*NOW, "--forecast"))
    spend(run_cli, logs, extra=(*NOW, "--budget", "*=5/day"))
    assert not answer_files()


def test_an_input_changed_a_moment_ago_is_not_remembered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(answers, "RECENT_NS", 10**12)
    logs = corpus(tmp_path)
    slot = open_answers([str(logs)], {"q": 1})
    assert slot is not None
    slot.put({"an": "answer"})
    assert slot.get() is None and not answer_files()


def test_an_unreadable_answer_is_a_miss(run_cli: Any, tmp_path: Path) -> None:
    logs = corpus(tmp_path)
    cold = spend(run_cli, logs, extra=NOW)
    [path] = answer_files()
    path.write_bytes(b"\x80\x05not a pickle")
    assert spend(run_cli, logs, extra=NOW) == cold
    path.write_bytes(path.read_bytes()[:100])   # cut short
    assert spend(run_cli, logs, extra=NOW) == cold


_KILLER = textwrap.dedent("""
    import os, signal, sys
    real = os.replace
    def replace(src, dst):
        if "answers" in str(dst):
            os.kill(os.getpid(), signal.SIGKILL)
        return real(src, dst)
    os.replace = replace
    from llmaudit.cli import main
    sys.argv = ["llmaudit", "report", "--spend", *sys.argv[1:]]
    main()
""")


def test_sigkill_while_an_answer_is_written_then_a_rerun_is_right(run_cli: Any, tmp_path: Path) -> None:
    logs = corpus(tmp_path)
    cold = spend(run_cli, logs, extra=(*NOW, "--no-store"))
    time.sleep(2.1)   # past RECENT_NS in the child, which is not monkeypatched
    proc = subprocess.run([sys.executable, "-c", _KILLER, str(logs), "--format", "json", "--timezone", "UTC", *NOW],
                          capture_output=True, env=os.environ | {"PYTHONPATH": str(ROOT)}, timeout=120)
    assert proc.returncode == -signal.SIGKILL
    assert not answer_files()   # only a part file, never a half answer
    assert spend(run_cli, logs, extra=NOW) == cold
    assert spend(run_cli, logs, extra=NOW) == cold and len(answer_files()) == 1


def test_concurrent_runs_write_and_read_whole_answers(tmp_path: Path) -> None:
    logs = corpus(tmp_path)
    time.sleep(2.1)   # past RECENT_NS in the children
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "llmaudit", "report", "--spend", str(logs), "--format", "json", "--timezone", "UTC",
           *NOW]
    expected = subprocess.run([*cmd, "--no-store"], capture_output=True, env=env, check=True).stdout
    for _ in range(2):   # all writing the same answer, then all answered from it
        procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) for _ in range(3)]
        for proc in procs:
            stdout, stderr = proc.communicate(timeout=120)
            assert proc.returncode == 0, stderr
            assert stdout == expected
    assert len(answer_files()) == 1


def test_store_status_counts_answers_and_clear_removes_them(run_cli: Any, tmp_path: Path) -> None:
    logs = corpus(tmp_path)
    spend(run_cli, logs, extra=NOW)
    spend(run_cli, logs, extra=(*NOW, "--by", "model"))
    doc = json.loads(run_cli(["store", "status", "--format", "json"]).stdout)
    assert doc["answers"] == 2
    assert "answers      2" in run_cli(["store", "status"]).stdout
    assert run_cli(["store", "clear"]).exit_code == 0
    assert not answer_files()
    assert json.loads(run_cli(["store", "status", "--format", "json"]).stdout)["answers"] == 0


def test_only_the_newest_answers_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(answers, "KEEP", 3)
    logs = corpus(tmp_path)
    for n in range(5):
        slot = open_answers([str(logs)], {"q": n})
        assert slot is not None
        slot.put({"n": n})
        time.sleep(0.01)
    assert len(answer_files()) == 3
    kept = open_answers([str(logs)], {"q": 4})
    assert kept is not None and kept.get() == {"n": 4}


def test_a_miss_is_read_from_the_listing_the_check_made(run_cli: Any, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A daily run (one log added) walks the folder once and stats each log the store holds once:
    the remembered-answer check's listing and stats are the scan's (20,000 transcripts were walked
    twice and stat'ed three times), and the report is the cold run's."""
    from llmaudit.ingest import source as source_module

    logs = corpus(tmp_path)
    spend(run_cli, logs, extra=NOW)
    (logs / "app" / "b.jsonl").write_text(claude_line(77))
    walks: list[str] = []
    stats: list[str] = []
    real_walk, real_stat = source_module._walk, os.stat
    monkeypatch.setattr(source_module, "_walk", lambda folder: walks.append(str(folder)) or real_walk(folder))
    monkeypatch.setattr(os, "stat", lambda path, *a, **k: (stats.append(str(path)) if str(path).startswith(
        str(logs)) else None) or real_stat(path, *a, **k))
    daily = spend(run_cli, logs, extra=NOW)
    assert walks == [str(logs)]
    kept = [str(logs / "app" / "a.jsonl"), str(logs / "openai.jsonl")]
    assert [stats.count(p) for p in kept] == [1, 1], stats
    monkeypatch.undo()
    assert daily == spend(run_cli, logs, extra=(*NOW, "--no-store"))


@pytest.mark.parametrize("ctime_is_change", [True, False])
def test_where_no_write_moves_the_ctime_the_fingerprint_reads_the_ends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                       ctime_is_change: bool) -> None:
    """On Windows ``st_ctime`` is the creation time: a rewrite that keeps size and mtime leaves the
    stat as it was, so there the fingerprint also hashes both ends of each file. Elsewhere every
    write moves the ctime and the stat alone tells (the stat is faked here as Windows gives it)."""
    monkeypatch.setattr(answers, "CTIME_IS_CHANGE", ctime_is_change)
    logs = corpus(tmp_path)
    slot = open_answers([str(logs)], {"q": 1})
    assert slot is not None
    slot.put({"an": "answer"})
    log = logs / "openai.jsonl"
    st = os.stat(log)
    log.write_text(log.read_text().replace('"completion_tokens": 50', '"completion_tokens": 70'))
    assert os.stat(log).st_size == st.st_size
    real = os.stat
    monkeypatch.setattr(os, "stat", lambda path, *a, **k: st if str(path) == str(log) else real(path, *a, **k))
    again = open_answers([str(logs)], {"q": 1})
    assert again is not None
    assert again.get() == ({"an": "answer"} if ctime_is_change else None)
