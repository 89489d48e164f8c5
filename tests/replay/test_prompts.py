from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmaudit.errors import InputError
from llmaudit.replay.prompts import ignored_parameters, load_prompts


def _write(tmp_path: Path, lines: list[object]) -> Path:
    path = tmp_path / "p.jsonl"
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    return path


def test_own_shape_and_batch_lines(tmp_path: Path) -> None:
    path = _write(tmp_path, [
        {"id": "q1", "prompt": "Capital of France?", "system": "Be brief.", "category": "facts",
         "tags": ["geo"], "max_tokens": 20, "temperature": 0, "assert": [{"type": "icontains", "value": "paris"}]},
        "",
        {"id": "q2", "messages": [{"role": "user", "content": "2+2?"}], "expected": 4},
        {"custom_id": "b1", "method": "POST", "url": "/v1/chat/completions",
         "body": {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "max_completion_tokens": 7,
                  "response_format": {"type": "json_object"}, "stream": False}},
        {"custom_id": "b2", "method": "POST", "url": "/v1/responses",
         "body": {"model": "gpt-4o", "instructions": "terse", "input": "hello", "max_output_tokens": 9}},
    ])
    prompts = load_prompts(path)
    assert [p.id for p in prompts] == ["q1", "q2", "b1", "b2"]
    q1, q2, b1, b2 = prompts
    assert q1.messages == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Capital of France?"},
    ]
    assert (q1.category, q1.tags, q1.max_tokens, q1.temperature, q1.line) == ("facts", ("geo",), 20, 0.0, 1)
    assert q1.has_check and q2.expected == "4" and q2.line == 3
    assert b1.max_tokens == 7 and b1.messages[0]["content"] == "hi" and not b1.has_check
    assert b1.ignored == ("response_format",) and ignored_parameters(prompts) == {"response_format": 1}
    assert b2.messages == [{"role": "system", "content": "terse"}, {"role": "user", "content": "hello"}]
    assert b2.max_tokens == 9


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ("{not json", "invalid JSON"),
        ([1, 2], "JSON object"),
        ({"prompt": "x"}, "non-empty string 'id'"),
        ({"id": "a"}, "needs 'messages' or 'prompt'"),
        ({"id": "a", "prompt": "x", "asserts": []}, "unknown key(s) 'asserts'"),
        ({"id": "a", "prompt": "x", "assert": [{"type": "nope"}]}, "unknown type 'nope'"),
        ({"id": "a", "prompt": "x", "max_tokens": 0}, "positive integer"),
        ({"id": "a", "prompt": "x", "temperature": 5}, "between 0 and 2"),
        ({"id": "a", "messages": [{"role": "robot", "content": "x"}]}, "role must be one of"),
        ({"custom_id": "b", "url": "/v1/embeddings", "body": {"input": "x"}}, "cannot be replayed"),
    ],
)
def test_bad_lines_name_file_and_line(tmp_path: Path, line: object, needle: str) -> None:
    path = _write(tmp_path, [{"id": "ok", "prompt": "fine"}, line])
    with pytest.raises(InputError) as info:
        load_prompts(path)
    assert info.value.line == 2 and info.value.path == str(path)
    assert needle in str(info.value)
    assert str(info.value).startswith(f"{path}:2: ")


def test_duplicate_id_and_empty_and_missing(tmp_path: Path) -> None:
    path = _write(tmp_path, [{"id": "a", "prompt": "x"}, {"id": "a", "prompt": "y"}])
    with pytest.raises(InputError, match="duplicate id 'a' \\(first on line 1\\)"):
        load_prompts(path)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    with pytest.raises(InputError, match="empty"):
        load_prompts(empty)
    with pytest.raises(InputError, match="not found"):
        load_prompts(tmp_path / "missing.jsonl")


def test_bundled_demo_prompt_set_loads() -> None:
    from llmaudit.config import data_path

    prompts = load_prompts(data_path("examples") / "prompts.jsonl")
    assert 40 <= len(prompts) <= 60
    categories = {p.category for p in prompts}
    assert len(categories) >= 4
    assert all(p.has_check for p in prompts)
