"""Write ``analysis.spend.focus.FocusExport`` as a FOCUS 1.2 CSV: the spec's mandatory columns first, in its
order, then the conditional ones we can fill, then ``x_`` custom columns for the token kinds."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal

from llmaudit.analysis.spend.focus import FocusCharge, FocusExport, billing_period
from llmaudit.analysis.spend.report import SpendReport

__all__ = ["FOCUS_COLUMNS", "MANDATORY", "focus_warnings", "render_focus"]

# FOCUS 1.2, Feature level "Mandatory" (https://focus.finops.org/focus-specification/v1-2/).
MANDATORY = ("BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodEnd",
             "BillingPeriodStart", "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargePeriodEnd",
             "ChargePeriodStart", "ContractedCost", "EffectiveCost", "InvoiceIssuerName", "ListCost",
             "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName", "ServiceCategory", "ServiceName")
_CONDITIONAL = ("ConsumedQuantity", "ConsumedUnit", "ServiceSubcategory", "SkuId", "SubAccountId", "SubAccountName",
                "PricingCategory")
_CUSTOM = ("x_Model", "x_ServiceTier", "x_ApiKey", "x_SourceFormat", "x_CostSource", "x_Requests", "x_InputTokens",
           "x_CachedInputTokens", "x_CacheWriteTokens", "x_OutputTokens", "x_ReasoningTokens")
FOCUS_COLUMNS = (*MANDATORY, *_CONDITIONAL, *_CUSTOM)


def _when(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _num(value: Decimal | int) -> str:
    if isinstance(value, int):
        return str(value)
    return format(value.quantize(Decimal("1e-12")).normalize(), "f")  # the spend audit's exact digits


def _row(c: FocusCharge, currency: str) -> dict[str, str]:
    from datetime import timedelta

    tokens = c.input_tokens + c.output_tokens
    period_start, period_end = billing_period(c.day)
    return {
        "BilledCost": _num(c.billed_cost), "BillingAccountId": c.provider, "BillingAccountName": c.provider,
        "BillingCurrency": currency, "BillingPeriodEnd": _when(period_end), "BillingPeriodStart": _when(period_start),
        "ChargeCategory": "Usage", "ChargeClass": "",
        "ChargeDescription": f"{c.model} tokens ({c.tier}, {c.requests:,} requests)",
        "ChargePeriodEnd": _when(c.start + timedelta(days=1)), "ChargePeriodStart": _when(c.start),
        "ContractedCost": _num(c.list_cost), "EffectiveCost": _num(c.billed_cost), "InvoiceIssuerName": c.provider,
        "ListCost": _num(c.list_cost), "PricingQuantity": _num(tokens), "PricingUnit": "Tokens",
        "ProviderName": c.provider, "PublisherName": c.vendor, "ServiceCategory": "AI and Machine Learning",
        "ServiceName": f"{c.provider} API",
        "ConsumedQuantity": _num(tokens), "ConsumedUnit": "Tokens", "ServiceSubcategory": "Generative AI",
        "SkuId": c.model, "SubAccountId": c.project or "", "SubAccountName": c.project or "",
        "PricingCategory": "Standard",
        "x_Model": c.model, "x_ServiceTier": c.tier, "x_ApiKey": c.key or "", "x_SourceFormat": c.source,
        "x_CostSource": "billed" if c.billed_all else "recomputed", "x_Requests": _num(c.requests),
        "x_InputTokens": _num(c.input_tokens), "x_CachedInputTokens": _num(c.cache_read_tokens),
        "x_CacheWriteTokens": _num(c.cache_write_tokens), "x_OutputTokens": _num(c.output_tokens),
        "x_ReasoningTokens": _num(c.reasoning_tokens),
    }


def render_focus(export: FocusExport) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(FOCUS_COLUMNS), lineterminator="\n")
    w.writeheader()
    for charge in export.charges:
        w.writerow(_row(charge, export.currency))
    return buf.getvalue()


def focus_warnings(export: FocusExport, report: SpendReport) -> list[str]:
    """What stderr says beside FOCUS rows: what could not be a row (no ListCost), and the report's
    other warnings (its unpriced requests are said here in FOCUS's terms)."""
    from llmaudit.analysis.spend.notices import UnpricedRequests
    from llmaudit.render.spend_text import spend_warnings

    lines = []
    if export.left_out_requests:
        billed = f" (billed {export.currency} {export.left_out_billed:.4f} by their source)" \
            if export.left_out_billed else ""
        lines.append(f"{export.left_out_requests:,} requests have no recomputed cost (unknown model or rate) and are "
                     f"not in the FOCUS rows{billed}: FOCUS needs a ListCost, and unknown is not written as 0")
    return lines + spend_warnings(report, leave_out=(UnpricedRequests,))
