"""One command over a folder holding every supported format's fixture (tests/ingest/fixtures, each
reader's) plus files no reader knows: the unknown files are listed "not read" with the reason, every
other file is read by its reader, and each file's books are the same as when it is read alone."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from llmaudit.ingest import scan
from llmaudit.ingest.registry import READERS
from tests.conftest import REPO, RunCli

FIXTURES = REPO / "tests" / "ingest" / "fixtures"
LOG_SUFFIXES = (".jsonl", ".json", ".csv")
UNKNOWN = {
    "settings.json": json.dumps({"theme": "dark", "tabs": 4}),
    "notes.csv": "a,b\n1,2\n",
    "junk.jsonl": json.dumps({"hello": "world"}) + "\n",
    "app.log": "2026-01-01 12:00:00 INFO started\n",
}


def test_every_fixture_read_and_unknown_files_listed(run_cli: RunCli, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    shutil.copytree(FIXTURES, folder)
    for name, text in UNKNOWN.items():
        (folder / name).write_text(text)
    (folder / "empty.jsonl").write_text("")
    res = run_cli(["report", "--spend", str(folder), "--format", "json", "--no-whatif"])
    assert res.exit_code == 0, res.stderr
    report = json.loads(res.stdout)
    sources = {Path(s["path"]).relative_to(folder).as_posix(): s for s in report["sources"]}

    fixtures = sorted(p.relative_to(FIXTURES).as_posix() for p in FIXTURES.rglob("*")
                      if p.is_file() and p.suffix in LOG_SUFFIXES)
    # every file with a log extension is listed; nothing else is an input (README.md)
    assert sorted(sources) == sorted([*fixtures, *UNKNOWN, "empty.jsonl"])
    for name in UNKNOWN:
        assert (sources[name]["reader"], sources[name]["not_read"]) == ("not read", "not a known log format")
        assert sources[name]["rows_read"] == 0
    assert sources["empty.jsonl"]["reader"] == "empty"
    assert any(w.startswith(f"{len(UNKNOWN)} files not read (not a known log format)") for w in report["warnings"])

    readers = set()
    for rel in fixtures:
        s = sources[rel]
        assert s["reader"] in READERS and s["not_read"] is None, rel
        readers.add(s["reader"])
        assert s["rows_read"] == s["rows_kept"] + s["rows_rejected"] + s["duplicates"], rel
        assert s["rows_read"] + s["skipped"] > 0, rel  # each fixture holds records
        alone = scan([str(FIXTURES / rel)])
        alone.table()
        (f,) = alone.summary.files
        # the same books, but for a request another file of the folder held first (a resumed Claude
        # Code session repeats its messages): a duplicate here, kept when the file is read alone
        assert (s["reader"], s["rows_read"], s["rows_rejected"], s["skipped"], s["rows_kept"] + s["duplicates"]) == (
            f.reader, f.rows_read, f.rows_rejected, f.rows_skipped, f.rows_kept + f.duplicates), rel
        assert s["duplicates"] >= f.duplicates, rel
    # every reader that sniffs has a fixture here (generic needs a mapping)
    assert readers == set(READERS) - {"generic", "parquet"}
    assert report["totals"]["rows"] == sum(s["rows_kept"] for s in report["sources"])
