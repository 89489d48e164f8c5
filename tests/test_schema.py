from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pytest

from llmaudit import schema
from llmaudit.errors import InputError


def _row(**over):
    row = {
        "timestamp": datetime(2025, 3, 1, tzinfo=UTC),
        "provider": "openai",
        "model": "gpt-4o",
        "model_raw": "gpt-4o-2024-08-06",
        "input_tokens": 100,
        "cache_read_tokens": 40,
        "cache_write_tokens": 0,
        "output_tokens": 10,
        "reasoning_tokens": 0,
        "requests": 1,
        "billed_cost_usd": None,
        "source_format": "test",
        "source_file": "log.jsonl",
        "source_line": 7,
    }
    row.update(over)
    return row


def test_every_column_is_documented():
    assert set(schema.COLUMN_DOCS) == set(schema.USAGE_SCHEMA.names)
    assert set(schema.REQUIRED) <= set(schema.USAGE_SCHEMA.names)


def test_conform_adds_optional_columns_as_nulls():
    table = schema.from_pylist([_row()])
    assert table.schema.names[: len(schema.USAGE_SCHEMA)] == schema.USAGE_SCHEMA.names
    assert table.column("cost_usd")[0].as_py() is None
    assert table.column("timestamp").type == pa.timestamp("us", tz="UTC")


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"input_tokens": -1}, "input_tokens is negative"),
        ({"cache_read_tokens": 90, "cache_write_tokens": 20}, "exceed input_tokens"),
        ({"reasoning_tokens": 11}, "reasoning_tokens exceed output_tokens"),
    ],
)
def test_validate_names_file_line_and_reason(over, message):
    with pytest.raises(InputError) as info:
        schema.validate(schema.from_pylist([_row(), _row(**over)]))
    assert message in str(info.value)
    assert str(info.value).startswith("log.jsonl:7:")


def test_validate_accepts_a_good_table():
    table = schema.validate(schema.from_pylist([_row(), _row(input_tokens=5, cache_read_tokens=0)]))
    assert table.num_rows == 2


def test_unknown_column_is_refused():
    with pytest.raises(InputError):
        schema.from_pylist([_row(prompt_tokens=3)])
