"""`report --spend` and `ingest` run without importing pandas, and give the same answer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
from typer.testing import CliRunner

from llmaudit.cli import app

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "logs"
_RUN = """
import atexit, sys
atexit.register(lambda: sys.stderr.write("\\nPANDAS-LOADED=%s\\n" % ("pandas" in sys.modules)))
from llmaudit.cli import main
sys.argv = ["llmaudit", *sys.argv[1:]]
main()
"""


def _subprocess(*args: str) -> tuple[str, str]:
    done = subprocess.run([sys.executable, "-c", _RUN, *args], capture_output=True, text=True, check=True)
    return done.stdout, done.stderr


def _spend(text: str) -> dict:
    report = json.loads(text)
    report.pop("generated_at", None)
    return report


def test_report_spend_skips_pandas_and_matches_a_process_with_pandas() -> None:
    args = ["report", "--spend", str(EXAMPLES), "--format", "json", "--now", "2025-11-01T00:00:00Z"]
    stdout, stderr = _subprocess(*args)
    assert "PANDAS-LOADED=False" in stderr
    in_process = CliRunner().invoke(app, args)   # this process has pandas loaded (pytest plugins, other tests)
    assert in_process.exit_code == 0, in_process.output
    assert "pandas" in sys.modules
    assert _spend(stdout) == _spend(in_process.stdout)


def test_ingest_skips_pandas_and_matches(tmp_path: Path) -> None:
    out = tmp_path / "a.parquet"
    _, stderr = _subprocess("ingest", str(EXAMPLES), "--out", str(out))
    assert "PANDAS-LOADED=False" in stderr
    again = tmp_path / "b.parquet"
    result = CliRunner().invoke(app, ["ingest", str(EXAMPLES), "--out", str(again)])
    assert result.exit_code == 0, result.output
    assert pq.read_table(out).equals(pq.read_table(again))


def test_pandas_still_imports_when_asked_for() -> None:
    code = ("from llmaudit.pandas_probe import skip_pandas_probe; skip_pandas_probe(); import sys; "
            "assert 'pandas' not in sys.modules; import pyarrow as pa; "
            "df = pa.table({'a': [1, None]}).to_pandas(); print(type(df).__name__, df['a'].isna().sum())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["DataFrame", "1"]
