"""`report --spend --format focus` (issue 17 #6): the spend as a FinOps FOCUS CSV, validated against the
spec's column requirements.

Spec: FOCUS 1.2, https://focus.finops.org/focus-specification/v1-2/ (git tag v1.2 of
https://github.com/FinOps-Open-Cost-and-Usage-Spec/FOCUS_Spec, specification/columns/*.md). The
mandatory columns and their null rules below are copied from those column pages by hand, not from
llmaudit's own list, so a column the renderer drops fails here."""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import RunCli

DEMO = str(Path(__file__).resolve().parents[2] / "examples" / "logs")
ARGS = ["report", "--spend", DEMO, "--no-store", "--no-whatif", "--now", "2026-11-30T12:00:00Z"]

# FOCUS 1.2 columns with Feature level "Mandatory", and whether the spec allows nulls ("Allows nulls").
SPEC_MANDATORY = {
    "BilledCost": False, "BillingAccountId": False, "BillingAccountName": True, "BillingCurrency": False,
    "BillingPeriodEnd": False, "BillingPeriodStart": False, "ChargeCategory": False, "ChargeClass": True,
    "ChargeDescription": True, "ChargePeriodEnd": False, "ChargePeriodStart": False, "ContractedCost": False,
    "EffectiveCost": False, "InvoiceIssuerName": False, "ListCost": False, "PricingQuantity": True,
    "PricingUnit": True, "ProviderName": False, "PublisherName": False, "ServiceCategory": False,
    "ServiceName": False,
}
CHARGE_CATEGORIES = {"Usage", "Purchase", "Tax", "Credit", "Adjustment"}
SERVICE_CATEGORIES = {"AI and Machine Learning", "Analytics", "Business Applications", "Compute", "Databases",
                      "Developer Tools", "Multicloud", "Identity", "Integration", "Internet of Things",
                      "Management and Governance", "Media", "Migration", "Mobile", "Networking", "Security",
                      "Storage", "Web", "Other"}
DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")  # DateTimeFormat: ISO 8601 extended, UTC
DECIMALS = ("BilledCost", "ContractedCost", "EffectiveCost", "ListCost", "PricingQuantity", "ConsumedQuantity")


@pytest.fixture
def rows(run_cli: RunCli) -> list[dict[str, str]]:
    r = run_cli([*ARGS, "--format", "focus"])
    assert r.exit_code == 0, r.stderr
    # 58 demo requests are of an unknown model: no ListCost, so not rows, and said so.
    assert "58 requests have no recomputed cost" in r.stderr
    return list(csv.DictReader(io.StringIO(r.stdout)))


def test_every_mandatory_column_with_its_null_rule(rows: list[dict[str, str]]) -> None:
    assert rows
    header = set(rows[0])
    assert set(SPEC_MANDATORY) <= header
    # Custom columns carry FOCUS's x_ prefix; every other column is a FOCUS column name (PascalCase).
    assert all(c.startswith("x_") or re.fullmatch(r"(?:[A-Z][a-z]+)+(?:Id)?", c) for c in header)
    for row in rows:
        for column, nullable in SPEC_MANDATORY.items():
            assert nullable or row[column] != "", (column, row)
        assert row["ChargeCategory"] in CHARGE_CATEGORIES
        assert row["ChargeClass"] in ("", "Correction")
        assert row["ServiceCategory"] in SERVICE_CATEGORIES
        for column in ("BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd"):
            assert DATETIME.match(row[column]), (column, row[column])
        assert row["ChargePeriodStart"] < row["ChargePeriodEnd"]
        assert row["BillingPeriodStart"] <= row["ChargePeriodStart"] < row["BillingPeriodEnd"]
        for column in DECIMALS:
            Decimal(row[column])
        # ConsumedQuantity and ConsumedUnit are null together (FOCUS 1.2 ConsumedUnit).
        assert (row["ConsumedQuantity"] == "") == (row["ConsumedUnit"] == "")
        assert row["BillingCurrency"] == "USD"


def test_rows_add_up_to_the_report(rows: list[dict[str, str]], run_cli: RunCli) -> None:
    report = json.loads(run_cli([*ARGS, "--format", "json"]).stdout)
    totals = report["totals"]
    # Exact: the rows carry the audit's 12 decimals; the JSON rounds money to 10.
    assert sum(Decimal(r["ListCost"]) for r in rows).quantize(Decimal("1e-10")) == Decimal(repr(totals["cost"]))
    assert sum(int(r["x_Requests"]) for r in rows) == totals["requests"] - totals["unpriced_requests"]
    tokens = sum(int(r["x_InputTokens"]) + int(r["x_OutputTokens"]) for r in rows)
    assert tokens == sum(int(r["ConsumedQuantity"]) for r in rows)
    assert tokens == totals["input_tokens"] + totals["output_tokens"] - totals["unpriced_tokens"]
    billed = [r for r in rows if r["x_CostSource"] == "billed"]
    assert billed and all(r["BilledCost"] == r["EffectiveCost"] for r in rows)
    assert all(r["BilledCost"] == r["ListCost"] for r in rows if r["x_CostSource"] == "recomputed")


def test_focus_needs_spend(run_cli: RunCli) -> None:
    r = run_cli(["report", DEMO, "--format", "focus"])
    assert r.exit_code == 2 and "--spend" in r.stderr


def test_focus_with_html_writes_both(run_cli: RunCli, tmp_path: Path) -> None:
    out = tmp_path / "spend.html"
    r = run_cli([*ARGS, "--format", "focus", "--html", str(out)])
    assert r.exit_code == 0, r.stderr
    assert r.stdout.startswith("BilledCost,") and "Recomputed spend" in out.read_text(encoding="utf-8")
