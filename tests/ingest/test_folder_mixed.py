"""A folder that also holds files no reader knows: those are listed with the reason, the rest is read
(issue: one unknown file used to abort the whole folder). Nothing readable at all is still exit 2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.conftest import REPO, RunCli

FIXTURES = REPO / "tests" / "ingest" / "fixtures"


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "logs"
    folder.mkdir()
    shutil.copy(FIXTURES / "openai_chat.jsonl", folder / "app.jsonl")
    (folder / "settings.json").write_text(json.dumps({"theme": "dark", "tabs": 4}))
    return folder


def test_unknown_files_are_listed_and_the_rest_is_read(run_cli: RunCli, tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    res = run_cli(["report", "--spend", str(folder), "--format", "json", "--no-whatif"])
    assert res.exit_code == 0, res.stderr
    report = json.loads(res.stdout)
    by_path = {Path(s["path"]).name: s for s in report["sources"]}
    assert by_path["settings.json"]["not_read"] == "not a known log format"
    assert by_path["settings.json"]["rows_read"] == 0
    assert by_path["app.jsonl"]["rows_kept"] == 4
    assert any("settings.json" in w for w in report["warnings"])  # said in every format
    ingest = run_cli(["ingest", str(folder), "--out", str(tmp_path / "out.parquet")])
    assert ingest.exit_code == 0, ingest.stderr
    assert "not read" in ingest.stderr and "settings.json" in " ".join(ingest.stderr.split())


def test_nothing_readable_is_exit_2(run_cli: RunCli, tmp_path: Path) -> None:
    folder = tmp_path / "junk"
    folder.mkdir()
    (folder / "settings.json").write_text(json.dumps({"theme": "dark"}))
    res = run_cli(["report", "--spend", str(folder)])
    assert res.exit_code == 2 and "unrecognised log format" in " ".join(res.stderr.split())


def test_a_chosen_reader_that_finds_nothing_is_an_error(run_cli: RunCli, tmp_path: Path) -> None:
    """``--log-format helicone`` on a file with no Helicone record wrote 0 rows with exit 0.
    (Helicone now reads JSONL too, where an alien object is a rejected record; the CSV-only
    OpenRouter reader keeps the case.)"""
    path = tmp_path / "other.jsonl"
    path.write_text(json.dumps({"hello": "world"}) + "\n")
    res = run_cli(["report", "--spend", str(path), "--log-format", "openrouter"])
    assert res.exit_code == 2, (res.stdout, res.stderr)
    assert "found no openrouter records" in " ".join(res.stderr.split())


def test_a_dangling_link_in_a_folder_is_listed_and_a_named_one_is_an_error(run_cli: RunCli, tmp_path: Path) -> None:
    """A symbolic link to a log that was rotated away no longer aborts the folder: it is listed as
    not read, with its own reason beside the other files' (one warning per reason)."""
    import os

    folder = _folder(tmp_path)
    os.symlink(tmp_path / "rotated-away.jsonl", folder / "current.jsonl")
    res = run_cli(["report", "--spend", str(folder), "--format", "json", "--no-whatif"])
    assert res.exit_code == 0, res.stderr
    report = json.loads(res.stdout)
    by_path = {Path(s["path"]).name: s for s in report["sources"]}
    assert by_path["current.jsonl"]["not_read"] == "a symbolic link to nothing"
    assert by_path["app.jsonl"]["rows_kept"] > 0
    said = [w for w in report["warnings"] if "not read" in w]
    assert said == [f"1 file not read (a symbolic link to nothing): {folder / 'current.jsonl'}",
                    f"1 file not read (not a known log format): {folder / 'settings.json'}; name the format "
                    "(--log-format) if one of them is a log"]
    named = run_cli(["report", "--spend", str(folder / "current.jsonl")])
    assert named.exit_code == 2 and "current.jsonl: no such file or directory" in named.stderr


def test_a_folder_with_nothing_to_read_says_why(run_cli: RunCli, tmp_path: Path) -> None:
    import os

    folder = tmp_path / "logs"
    folder.mkdir()
    os.symlink(tmp_path / "rotated-away.jsonl", folder / "current.jsonl")
    res = run_cli(["report", "--spend", str(folder)])
    assert res.exit_code == 2
    assert f"{folder / 'current.jsonl'}: nothing to read: a symbolic link to nothing" in res.stderr
    assert "unrecognised log format" not in res.stderr
