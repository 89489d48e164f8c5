"""Malformed input for every reader: truncated line, wrong types, missing usage, negative tokens,
unknown model. No traceback, exact counts, a reason that names the problem, the raw line kept.
An unknown model is NOT a reject: it is kept (pricing reports it as unknown later)."""

from __future__ import annotations

import copy
import csv
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from llmaudit.ingest import scan

FIX = Path(__file__).parent / "fixtures"


def _set(obj: Any, path: str, value: Any) -> Any:
    obj = copy.deepcopy(obj)
    keys: list[Any] = [int(k) if k.isdigit() else k for k in path.split(".")]
    cur = obj
    for k in keys[:-1]:
        cur = cur[k]
    if value is _DELETE:
        del cur[keys[-1]]
    else:
        cur[keys[-1]] = value
    return obj


_DELETE = object()


def _first_json(name: str) -> dict[str, Any]:
    text = (FIX / name).read_text()
    try:
        return json.loads(text)   # a JSON document
    except json.JSONDecodeError:
        return json.loads(text.splitlines()[0])


def _one_result(name: str, bucket: int) -> dict[str, Any]:
    page = _first_json(name)
    page["data"] = [page["data"][bucket]]
    page["data"][0]["results"] = page["data"][0]["results"][:1]
    return page


# name → (base record, token path, usage path, model path, wrong-type reason regex, missing-usage regex)
JSON_CASES: dict[str, tuple[dict[str, Any], str, str, str, str]] = {
    "openai": (_first_json("openai_chat.jsonl"), "usage.prompt_tokens", "usage", "model", "no usage"),
    "openai-wrapped": (_first_json("openai_chat.jsonl") and json.loads((FIX / "openai_chat.jsonl").read_text()
                                                                      .splitlines()[3]),
                       "response.usage.prompt_tokens", "response.usage", "response.model", "no usage"),
    "openai-batch": (_first_json("openai_batch_output.jsonl"), "response.body.usage.prompt_tokens",
                     "response.body.usage", "response.body.model", "no usage"),
    "anthropic": (_first_json("anthropic_messages.jsonl"), "response.usage.input_tokens", "response.usage",
                  "response.model", "no usage"),
    "gemini": (_first_json("gemini.jsonl"), "response.usageMetadata.promptTokenCount", "response.usageMetadata",
               "response.modelVersion", "no usageMetadata"),
    "openai-usage": (_one_result("openai_usage.json", 1), "data.0.results.0.input_tokens",
                     "data.0.results.0.input_tokens", "data.0.results.0.model", "no input_tokens"),
    "anthropic-usage": (_one_result("anthropic_usage_report.json", 0), "data.0.results.0.uncached_input_tokens",
                        "data.0.results.0.uncached_input_tokens", "data.0.results.0.model",
                        "no uncached_input_tokens"),
    "litellm-json": ({"request_id": "r-1", **{k: v for k, v in json.loads((FIX / "litellm_spendlogs.json")
                                                                          .read_text())[1].items()
                                              if k != "request_id"}},
                     "prompt_tokens", "prompt_tokens", "model", "no token counts"),
    "langfuse": (json.loads((FIX / "langfuse_observations.json").read_text())["data"][1],
                 "usageDetails.input", "usageDetails", "model", "no usage"),
    "portkey": (_first_json("portkey_logs.jsonl"), "req_units", "req_units", "ai_model", "no token counts"),
}
# Page readers: an unusable result is rejected, its page line kept; usage "missing" = counts missing.
_MISSING_BOTH = {"openai-usage": ["output_tokens"], "anthropic-usage": ["output_tokens"],
                 "litellm-json": ["completion_tokens"], "portkey": ["res_units"]}
_READER = {"openai-wrapped": "openai", "litellm-json": "litellm"}


def _variants(base: dict[str, Any], token: str, usage: str, model: str, case: str) -> list[str]:
    good = json.dumps(base)
    # Each line needs its own request id, or the de-duplication would (rightly) drop them.
    lines = [good]
    truncated = good[: len(good) // 2]
    wrong = _set(base, token, "lots")
    missing = _set(base, usage, _DELETE)
    for extra in _MISSING_BOTH.get(case, []):
        missing = _set(missing, usage.rsplit(".", 1)[0] + "." + extra if "." in usage else extra, _DELETE)
    negative = _set(base, token, -5)
    unknown = _set(base, model, "acme-llm-9000")
    lines += [truncated, json.dumps(wrong), json.dumps(missing), json.dumps(negative), json.dumps(unknown)]
    return [_unique_ids(line, i) for i, line in enumerate(lines)]


def _unique_ids(line: str, i: int) -> str:
    # Give every line a distinct id value wherever the fixture has one.
    for pattern in (r'"(id|request_id|requestId|responseId)": "([^"]+)"',):
        line = re.sub(pattern, lambda m: f'"{m.group(1)}": "{m.group(2)}-{i}"', line)
    return line


@pytest.mark.parametrize("case", sorted(JSON_CASES))
def test_json_reader_malformed(case: str, tmp_path: Path) -> None:
    base, token, usage, model, missing_reason = JSON_CASES[case]
    lines = _variants(base, token, usage, model, case)
    path = tmp_path / "log.jsonl"
    path.write_text("\n".join(lines) + "\n")
    s = scan([str(path)])
    table = s.table()
    fs = s.summary.files[0]
    assert fs.reader == _READER.get(case, case)
    assert (fs.rows_read, fs.rows_kept, fs.rows_rejected, fs.duplicates) == (6, 2, 4, 0), s.summary.rejects
    assert sorted(table["model_raw"].to_pylist())[0] == "acme-llm-9000"   # unknown model kept
    by_line = {r.line: r for r in s.summary.rejects}
    assert set(by_line) == {2, 3, 4, 5}
    assert "truncated" in by_line[2].reason or "not valid JSON" in by_line[2].reason
    assert "'lots'" in by_line[3].reason and "integer" in by_line[3].reason
    assert missing_reason in by_line[4].reason
    assert "negative" in by_line[5].reason
    assert all(r.path == str(path) and r.raw for r in s.summary.rejects)


def test_truncated_last_line_and_non_object(tmp_path: Path) -> None:
    good = (FIX / "openai_chat.jsonl").read_text().splitlines()[0]
    path = tmp_path / "log.jsonl"
    path.write_text(good + "\n[1, 2]\n\n" + good.replace("AAA1", "AAA9")[:100])
    s = scan([str(path)])
    assert s.table().num_rows == 1
    reasons = {r.line: r.reason for r in s.summary.rejects}
    assert reasons[2] == "expected a JSON object, got list"
    assert reasons[4].startswith("truncated line")


def test_claude_code_malformed(tmp_path: Path) -> None:
    src = (FIX / "claude" / "projects" / "-home-dev-shop" / "0f1e2d3c-session-a.jsonl").read_text().splitlines()
    base = json.loads(src[4])
    lines = [json.dumps(base)]
    lines.append(json.dumps(base)[:80])
    lines.append(json.dumps(_set(_set(base, "message.usage.input_tokens", "lots"), "message.id", "m3")))
    lines.append(json.dumps(_set(_set(base, "message.usage", _DELETE), "message.id", "m4")))
    lines.append(json.dumps(_set(_set(base, "message.usage.output_tokens", -5), "message.id", "m5")))
    lines.append(json.dumps(_set(_set(base, "message.model", "acme-llm-9000"), "requestId", "req_x")))
    project = tmp_path / "projects" / "p"
    project.mkdir(parents=True)
    (project / "s.jsonl").write_text(src[1] + "\n" + "\n".join(lines) + "\n")
    s = scan([str(tmp_path)])
    t = s.table()
    fs = s.summary.files[0]
    # A line without usage is not a usage row (skipped and counted), as ccusage treats it.
    assert (fs.rows_read, fs.rows_kept, fs.rows_rejected) == (5, 2, 3)
    assert fs.skipped == {"not a usage line": 2}
    assert "acme-llm-9000" in t["model_raw"].to_pylist()
    reasons = {r.line: r.reason for r in s.summary.rejects}
    assert set(reasons) == {3, 4, 6}
    assert "truncated line" in reasons[3] and "integer" in reasons[4] and "negative" in reasons[6]


def _csv_text(header: list[str], rows: list[list[str]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


# fixture, reader, input column, output column, model column, id column, mapping
CSV_CASES = [
    ("openrouter_activity.csv", "openrouter", "tokens_prompt", "tokens_completion", "model_permaslug",
     "generation_id", None),
    ("litellm_spendlogs.csv", "litellm", "prompt_tokens", "completion_tokens", "model", "request_id", None),
    ("helicone_export.csv", "helicone", "prompt_tokens", "completion_tokens", "model", "response_id", None),
    ("generic.csv", "generic", "prompt_toks", "completion_toks", "llm", "req",
     {"timestamp": "ts", "model": "llm", "input_tokens": "prompt_toks", "output_tokens": "completion_toks",
      "request_id": "req"}),
]


@pytest.mark.parametrize(("fixture", "reader", "inp", "out", "model", "rid", "mapping"), CSV_CASES,
                         ids=[c[1] for c in CSV_CASES])
def test_csv_reader_malformed(fixture: str, reader: str, inp: str, out: str, model: str, rid: str,
                              mapping: dict[str, str] | None, tmp_path: Path) -> None:
    if mapping:
        header = ["ts", "llm", "prompt_toks", "completion_toks", "req"]
        good = ["2026-01-01T00:00:00Z", "gpt-4o", "100", "10", "x"]
    else:
        header, good = list(csv.reader((FIX / fixture).read_text().splitlines()))[:2]
    col = {name: i for i, name in enumerate(header)}

    def variant(i: int, **changes: str) -> list[str]:
        row = list(good)
        row[col[rid]] = f"{row[col[rid]]}-{i}"
        for name, value in changes.items():
            row[col[name]] = value
        return row

    rows = [
        variant(0),
        variant(1)[: len(header) - 3],                     # truncated row
        variant(2, **{inp: "lots"}),                        # wrong type
        variant(3, **{inp: "", out: ""}),                   # missing usage
        variant(4, **{out: "-5"}),                          # negative tokens
        variant(5, **{model: "acme-llm-9000"}),             # unknown model: kept
    ]
    path = tmp_path / "export.csv"
    path.write_text(_csv_text(header, rows))
    s = scan([str(path)], mapping=mapping)
    t = s.table()
    fs = s.summary.files[0]
    assert fs.reader == reader
    assert (fs.rows_read, fs.rows_kept, fs.rows_rejected) == (6, 2, 4), s.summary.rejects
    assert "acme-llm-9000" in t["model_raw"].to_pylist()
    reasons = {r.line: r.reason for r in s.summary.rejects}
    assert set(reasons) == {3, 4, 5, 6}
    assert reasons[3].startswith("truncated row")
    assert "'lots'" in reasons[4]
    assert "no token counts" in reasons[5]
    assert "negative" in reasons[6]


@pytest.mark.parametrize("fixture", ["openai_costs.json", "anthropic_cost_report.json"])
def test_cost_report_malformed(fixture: str, tmp_path: Path) -> None:
    page = _first_json(fixture)
    result_path = "data.0.results.0"
    amount = "amount.value" if "openai" in fixture else "amount"
    lines = [
        page,
        _set(page, f"{result_path}.{amount}", "lots"),
        _set(page, f"{result_path}.{amount.split('.')[0]}", _DELETE),
        _set(page, f"{result_path}.{amount}", -5 if "openai" in fixture else "-5"),
    ]
    path = tmp_path / "costs.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n" + json.dumps(page)[:50] + "\n")
    s = scan([str(path)])
    s.table()
    fs = s.summary.files[0]
    # 4 pages × 2 results, 3 bad results, 1 truncated page
    assert (fs.rows_read, fs.rows_kept, fs.rows_rejected) == (9, 5, 4), s.summary.rejects
    reasons = [r.reason for r in s.summary.rejects]
    assert any("expected an amount" in r for r in reasons)
    assert any("missing" in r for r in reasons)
    assert any("negative" in r for r in reasons)


def test_parquet_roundtrip_and_bad_rows(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    table = scan([str(FIX / "openai_chat.jsonl")]).table()
    pq.write_table(table, tmp_path / "usage.parquet")
    s = scan([str(tmp_path / "usage.parquet")])
    back = s.table()
    assert s.summary.files[0].reader == "parquet"
    assert back.num_rows == 4 and back["input_tokens"].to_pylist() == table["input_tokens"].to_pylist()
    assert back["source_format"].to_pylist() == ["openai"] * 4   # provenance kept
    bad = table.set_column(table.schema.get_field_index("output_tokens"), "output_tokens",
                           __import__("pyarrow").array([311, -5, 5000, 50], __import__("pyarrow").int64()))
    pq.write_table(bad, tmp_path / "bad.parquet")
    s = scan([str(tmp_path / "bad.parquet")])
    assert s.table().num_rows == 3
    [rej] = s.summary.rejects
    assert rej.line == 2 and "negative" in rej.reason


def test_unreadable_parquet_is_an_input_error(tmp_path: Path) -> None:
    from llmaudit.errors import InputError

    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1" + b"\x00" * 20)
    s = scan([str(path)])
    with pytest.raises(InputError, match=r"broken\.parquet"):
        s.table()


def _noop(_: Callable[..., Any]) -> None:
    return None


def test_one_bad_value_costs_one_record_not_the_document(run_cli, tmp_path) -> None:
    """A LiteLLM JSON of 40 records with one NaN read as "1 read, 0 kept, 1 rejected"; trailing
    garbage after a document lost it whole."""
    import json

    recs = [{"request_id": f"r{i}", "model": "gpt-4o-mini", "startTime": "2026-11-01T00:00:00Z",
             "prompt_tokens": 10, "completion_tokens": 5, "spend": 0.0001, "call_type": "acompletion"}
            for i in range(40)]
    text = json.dumps(recs)
    cases = {"nan.json": text.replace('"prompt_tokens": 10', '"prompt_tokens": NaN', 1),
             "inf.json": text.replace('"prompt_tokens": 10', '"prompt_tokens": 1e400', 1),
             "trailing.json": text + "\n}}garbage"}
    for name, body in cases.items():
        path = tmp_path / name
        path.write_text(body)
        res = run_cli(["report", "--spend", str(path), "--format", "json", "--no-whatif"])
        assert res.exit_code == 0, res.stderr
        src = json.loads(res.stdout)["sources"][0]
        assert src["rows_kept"] == (40 if name == "trailing.json" else 39), (name, src)
        assert src["rows_rejected"] == 1 and src["rows_read"] == src["rows_kept"] + src["rows_rejected"]


def test_csv_invalid_utf8_rows_are_rejected_and_repeated_headers_refused(run_cli, tmp_path) -> None:
    """Invalid UTF-8 in a CSV was replaced by U+FFFD and kept (JSONL rejects it); a header naming
    a column twice let the last one win silently."""
    import json

    from tests.conftest import REPO

    src = (REPO / "tests" / "ingest" / "fixtures" / "openrouter_activity.csv").read_bytes()
    header, first, *rest = src.split(b"\n")
    broken = first.replace(b",", b",\xff\xfe", 1)
    path = tmp_path / "activity.csv"
    path.write_bytes(b"\n".join([header, broken, *rest]))
    res = run_cli(["report", "--spend", str(path), "--format", "json", "--no-whatif", "--log-format", "openrouter"])
    assert res.exit_code == 0, res.stderr
    src_row = json.loads(res.stdout)["sources"][0]
    assert src_row["rows_rejected"] == 1 and src_row["rows_read"] == src_row["rows_kept"] + 1
    twice = tmp_path / "twice.csv"
    cols = header.decode().split(",")
    twice.write_text(",".join([*cols, cols[0]]) + "\n" + first.decode() + ",x\n")
    res = run_cli(["report", "--spend", str(twice), "--log-format", "openrouter"])
    assert res.exit_code == 2 and "repeats" in res.stderr
