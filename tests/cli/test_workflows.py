"""The workflows layer (issue 14, deliverable 6): each command's work as a function with typed
options in and a typed result out, printing nothing; and the output writer the CLI renders through."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmaudit.config import data_path
from tests.conftest import RunCli

EXAMPLES = data_path("examples")
MODELS = "sim/gpt-4o-mini,sim/claude-haiku-4-5"


@pytest.fixture
def run_dir(run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LLMAUDIT_SIM_TIME_SCALE", "0")
    res = run_cli(["replay", str(EXAMPLES / "prompts.jsonl"), "--models", MODELS, "--out", "run"])
    assert res.exit_code == 0, res.output
    return tmp_path / "run"


class Heard:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, message: str) -> None:
        self.lines.append(message)

    def warning(self, message: str) -> None:
        self.lines.append(f"warning: {message}")


def test_run_report_is_typed_and_names_the_runs_catalog_date(run_dir: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    from llmaudit.workflows.run_report import RoutingFlags, RunReport, RunReportOptions, build_run_report

    manifest = json.loads((run_dir / "manifest.json").read_text())
    report = build_run_report(RunReportOptions(run_dir, RoutingFlags(volume="1M-requests/month"), html=True))
    assert isinstance(report, RunReport)
    assert [m.model for m in report.stats.models] == MODELS.split(",")
    assert report.routing is not None and report.routing.savings is not None
    # the rows were priced when the run was made: the report says that date, not today's catalog's
    assert report.routing.catalog_as_of == manifest["catalog_as_of"]
    assert report.html_routing is report.routing
    assert capsys.readouterr() == ("", "")  # a workflow prints nothing


def test_run_report_json_nests_the_routing_report(run_dir: Path) -> None:
    from llmaudit.render.routing import routing_json
    from llmaudit.render.run import run_json, run_report_json
    from llmaudit.workflows.run_report import RunReport, RunReportOptions, build_run_report

    report = build_run_report(RunReportOptions(run_dir))
    assert isinstance(report, RunReport) and report.routing is not None
    data = json.loads(run_report_json(report.stats, report.routing))
    assert data == {**json.loads(run_json(report.stats)), "routing": json.loads(routing_json(report.routing))}
    assert "routing" not in json.loads(run_report_json(report.stats, None))


def test_judge_notices_go_to_the_caller(run_dir: Path) -> None:
    from llmaudit.workflows.run_report import RoutingFlags, RunReportOptions, build_run_report

    heard = Heard()
    build_run_report(RunReportOptions(run_dir, RoutingFlags(judge="sim/gpt-4o-mini")), heard)
    assert heard.lines == ["judging unchecked answers with sim/gpt-4o-mini …"]


def test_spend_audit_is_typed_and_carries_the_budget_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    from llmaudit.workflows.spend import SpendAuditOptions, audit_spend

    logs = str(EXAMPLES / "logs")
    audit = audit_spend(SpendAuditOptions((logs,), now="2026-11-20T00:00:00", budget=("*=1/day",), store=False))
    assert audit.report.rows_read == 3_400
    assert audit.insights is not None and audit.exit_code == 4  # $1/day was passed
    assert audit.focus is None
    plain = audit_spend(SpendAuditOptions((logs,), now="2026-11-20T00:00:00", store=False))
    assert plain.insights is None and plain.exit_code == 0
    assert capsys.readouterr() == ("", "")


def test_check_workflow_measures_and_compares(tmp_path: Path) -> None:
    from llmaudit.workflows.check import CheckOptions, run_check

    prompts = str(EXAMPLES / "prompts.jsonl")
    wrote = run_check(CheckOptions(prompts, ("openai/gpt-4o-mini",), estimate=True, write_baseline=True,
                                   baseline=str(tmp_path / "b.json")))
    assert wrote.wrote_baseline and wrote.report is None and wrote.failure() is None
    assert (tmp_path / "b.json").is_file()
    again = run_check(CheckOptions(prompts, ("openai/gpt-4o-mini",), estimate=True, baseline=str(tmp_path / "b.json")))
    assert again.report is not None and again.report.status == "pass" and again.failure() is None
    assert again.comment_mode == "always"


def test_replay_workflow_fails_when_a_model_never_answered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from llmaudit.workflows.replay import ReplayCommandOptions, ReplayRun, replay

    monkeypatch.setenv("LLMAUDIT_SIM_TIME_SCALE", "0")
    heard = Heard()
    result = replay(ReplayCommandOptions(EXAMPLES / "prompts.jsonl", ("sim/gpt-4o-mini", "openai/gpt-4o-mini"),
                                         out_dir=tmp_path / "run", offline=True), heard)
    assert isinstance(result, ReplayRun) and result.summary is not None
    failure = result.failure()
    assert failure is not None and "openai/gpt-4o-mini" in failure.message
    assert any(line.startswith("replaying 50 prompts against sim/gpt-4o-mini, openai/gpt-4o-mini")
               for line in heard.lines)


def test_dry_run_is_an_estimate(tmp_path: Path) -> None:
    from decimal import Decimal

    from llmaudit.workflows.replay import DryRun, ReplayCommandOptions, replay

    result = replay(ReplayCommandOptions(EXAMPLES / "prompts.jsonl", ("openai/gpt-4o",), dry_run=True,
                                         max_cost="0.5"))
    assert isinstance(result, DryRun) and result.max_cost == Decimal("0.5")
    assert result.estimate.total_usd is not None and result.estimate.total_usd > 0
    assert not (tmp_path / "runs").exists()  # nothing was sent, no run directory


def test_writer_names_the_flag_and_file_when_a_write_fails(tmp_path: Path) -> None:
    from llmaudit.cli._output import out
    from llmaudit.errors import UsageError

    folder = tmp_path / "a-folder"
    folder.mkdir()
    with pytest.raises(UsageError, match=r"^--html .*a-folder: cannot write: Is a directory$") as caught:
        out.write(folder, "x", "--html")
    assert caught.value.exit_code == 2
    with pytest.raises(UsageError, match="is a directory; name the file to write"):
        out.check_writable(folder, "--html")
    with pytest.raises(UsageError, match=r"the folder .*missing does not exist"):
        out.check_writable(tmp_path / "missing" / "x.html", "--out")
    out.check_writable(tmp_path / "fine.html", "--html")


def test_write_errors_are_exit_2_without_traceback(run_cli: RunCli, tmp_path: Path) -> None:
    logs = str(EXAMPLES / "logs")
    mix = run_cli(["mix", logs, "--out", str(tmp_path / "missing" / "mix.json")])
    assert mix.exit_code == 2, mix.output
    assert mix.stderr.splitlines()[-1] == f"error: --out {tmp_path / 'missing' / 'mix.json'}: cannot write: " \
                                          "No such file or directory"
    policy = run_cli(["policy", "export", logs, "--to", "openrouter", "--out", str(tmp_path / "nope" / "p.json")])
    assert policy.exit_code == 2 and "Traceback" not in policy.output
    assert f"--out {tmp_path / 'nope' / 'p.json'}: the folder {tmp_path / 'nope'} does not exist" in policy.stderr


def test_writer_show_picks_the_renderer_for_the_format(capsys: pytest.CaptureFixture[str]) -> None:
    from llmaudit.cli._output import out

    out.show("json", json=lambda: {"a": 1}, table=lambda: pytest.fail("not the table"))
    out.show("csv", csv=lambda: "a,b", json=lambda: pytest.fail("not the JSON"))
    assert capsys.readouterr().out == '{\n  "a": 1\n}\na,b\n'
