"""The vectorized Claude Code path and the per-line path give the same rows, rejects and counts."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from llmaudit.ingest import scan


def _line(i: int, mid: str | None, req: str, inp: int = 10, out: int = 5, **over: object) -> str:
    usage = {"input_tokens": inp, "cache_creation_input_tokens": over.pop("cw", 0),
             "cache_read_input_tokens": over.pop("cr", 0),
             "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": over.pop("w1h", 0)},
             "output_tokens": out}
    for key in ("speed", "service_tier", "inference_geo"):
        if key in over:
            usage[key] = over.pop(key)
    record = {"parentUuid": None, "isSidechain": over.pop("side", False), "userType": "external", "sessionId": "s",
              "type": "assistant", "requestId": req, "uuid": str(i),
              "timestamp": over.pop("ts", "2025-09-15T08:52:10.933Z"),
              "message": {"id": mid, "model": over.pop("model", "claude-sonnet-4-5-20250929"), "role": "assistant",
                          "content": [{"type": "text", "text": "hi"}], "usage": usage}}
    return json.dumps(record)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "projects" / "-home-dev-app"
    folder.mkdir(parents=True)
    user = {"parentUuid": None, "isSidechain": False, "userType": "external", "sessionId": "s", "type": "user",
            "message": {"role": "user", "content": "hello"}, "timestamp": "2025-09-15T08:52:10.933Z"}
    lines = [
        json.dumps(user),
        _line(1, "m1", "r1", 10, 5),
        _line(2, "m1", "r1", 10, 9),                  # same message again, larger: kept instead
        _line(3, "m1", "r1", 10, 9),                  # a tie: the first larger one stays
        _line(4, "m2", "r2", -1, 5),                  # negative: rejected
        _line(5, "m3", "r3", model="<synthetic>"),    # skipped
        _line(6, "m4", "r4", ts="not a time"),        # rejected
        _line(7, "m5", "r5", side=True, speed="fast", service_tier="priority", inference_geo="us"),
        _line(8, None, "r6", 3, 3, speed="standard", service_tier="batch", inference_geo="not_available"),
        _line(9, "m7", "r7", cw=100, w1h=300),        # 1h writes above all writes: rejected
        _line(10, "m8", "r8", model=""),              # an empty model name: rejected
    ]
    (folder / "a.jsonl").write_text("\n".join(lines) + "\n")
    return tmp_path / "projects"


_SERVED = ("source_line", "service_tier", "speed", "inference_geo", "batch", "tags")


def _read(path: Path) -> tuple[object, ...]:
    s = scan([str(path)], "claude-code")
    table = pa.concat_tables(list(s.batches()))
    files = [(f.rows_read, f.rows_kept, f.rows_rejected, f.duplicates, dict(f.skipped)) for f in s.summary.files]
    totals = {c: pc.sum(table.column(c)).as_py() for c in ("input_tokens", "output_tokens", "cache_write_tokens")}
    rejects = [(r.line, r.reason) for r in s.summary.rejects]
    served = sorted(tuple(row.values()) for row in table.select(list(_SERVED)).to_pylist())
    return files, totals, rejects, served, table


def test_fast_and_per_line_paths_agree(corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = _read(corpus)
    files, totals, rejects, served, table = fast
    assert files == [(9, 3, 4, 2, {"not a usage line": 1, "<synthetic> placeholder (API error)": 1})]
    assert totals == {"input_tokens": 23, "output_tokens": 17, "cache_write_tokens": 0}
    assert [line for line, _ in rejects] == [5, 7, 10, 11]
    assert served == [
        (3, None, None, None, False, None),
        (8, "priority", "fast", "us", False, ["sidechain"]),   # speed is a column now, not a tag
        (9, "batch", None, None, True, None),                   # "standard" speed, "not_available" geo: null
    ]

    import llmaudit.ingest.readers.claude_code as reader

    def refuse(*args: object, **kwargs: object) -> None:
        raise pa.ArrowInvalid("forced per-line path")

    monkeypatch.setattr(reader.pj, "read_json", refuse)
    slow = _read(corpus)
    assert slow[:4] == fast[:4]
    assert slow[4].equals(table)


@pytest.mark.parametrize(
    ("model", "provider"),
    [("acme/acme-chat-7b", "acme"), ("models/gemini-2.5-pro", "google"), ("gpt-4o", "openai"),
     ("meta-llama/llama-3-70b", "meta"), ("unknown-model", "openai")],
)
def test_gateway_vendor_prefix_names_the_provider(model: str, provider: str) -> None:
    from llmaudit.ingest.rows import guess_provider

    assert guess_provider(model, "openai") == provider


def _session_corpus(root: Path) -> Path:
    folder = root / "backups" / "laptop" / ".claude" / "projects" / "-home-dev-app"
    folder.mkdir(parents=True)
    lines = [_line(1, "m1", "r1"), _line(2, "m2", "r2"), _line(3, "m3", "r3")]
    records = [json.loads(line) for line in lines]
    records[1]["sessionId"] = "other"
    records[2]["sessionId"] = ""
    (folder / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return root / "backups" / "laptop" / ".claude" / "projects"


def test_session_and_host_on_both_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _session_corpus(tmp_path)
    fast = _read(root)[4]
    assert fast.column("session").to_pylist() == ["s", "other", None]
    assert fast.column("host").to_pylist() == ["laptop"] * 3
    import llmaudit.ingest.readers.claude_code as reader

    def refuse(*args: object, **kwargs: object) -> None:
        raise pa.ArrowInvalid("forced per-line path")

    monkeypatch.setattr(reader.pj, "read_json", refuse)
    assert _read(root)[4].equals(fast)


@pytest.mark.parametrize(("path", "host"), [
    ("backups/laptop/.claude/projects/p/s.jsonl", "laptop"),
    ("/srv/exports/ci-runner-3/.claude/projects/p/s.jsonl", "ci-runner-3"),
    ("/home/alice/.claude/projects/p/s.jsonl", None),        # alice's own config: a user, not a host
    ("/Users/alice/.claude/projects/p/s.jsonl", None),
    ("/root/.claude/projects/p/s.jsonl", None),
    (".claude/projects/p/s.jsonl", None),
    ("/home/alice/.claude-work/projects/p/s.jsonl", None),  # a CLAUDE_CONFIG_DIR profile: not a host
    ("/data/laptop/projects/p/s.jsonl", None),               # no .claude folder: could be anything
    ("/tmp/s.jsonl", None),
])
def test_host_only_when_the_path_is_unambiguous(path: str, host: str | None) -> None:
    from llmaudit.ingest.readers.claude_code import _host

    assert _host(path) == host


@pytest.mark.parametrize("path", [
    "backups/laptop/.claude/projects/p/s.jsonl", "/home/alice/.claude/projects/p/s.jsonl", "s.jsonl", "/s.jsonl",
    "projects/s.jsonl", "projects/p/s.jsonl", "x/projects/p/sub/s.jsonl", "x/.claude/projects", "a//b/./s.jsonl",
    "laptop/.claude/projects/projects", "/tmp/s.jsonl", "p/",
])
def test_project_and_host_once_per_folder_are_those_of_the_path(path: str) -> None:
    """Worked out once per folder, they are what the whole path gives (the file's name aside)."""
    from llmaudit.ingest.readers.claude_code import _host, _host_of, _project, _project_of

    for _ in range(2):   # the second time from the cache
        assert (_project(path), _host(path)) == (_project_of(path), _host_of(path))
