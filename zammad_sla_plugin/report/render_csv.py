"""The CSV report: one row per group, in one table.

Rows: `scope=total` (key "total"), then `scope=severity`, `scope=organization`,
`scope=month` (month of creation, YYYY-MM). Columns are `CSV_COLUMNS`; percentages are
met / (met + failed) * 100 (empty when nothing was decided), hours are business working
hours (empty when no ticket was measured).

When the policy defines contracts (the document has `by_contract`), a `contract` column
follows `key` and, after the months, each contract's `scope=contract` row (key and contract:
the contract's name) is followed by its `scope=contract_severity` rows (key: the severity).
Without contracts the columns and rows are exactly the above. Per-ticket rows are not part of the CSV: use
`--format json` (its `tickets` list) for them.

Text cells a spreadsheet would run as a formula (starting with = + - @, a tab or a
carriage return; an organization name comes from Zammad, so anyone can choose it) get a
leading apostrophe, as OWASP recommends against CSV injection. Numbers stay numbers.
"""

from __future__ import annotations

import csv
import io
from typing import Any

CSV_COLUMNS: tuple[str, ...] = (
    "scope", "key", "tickets", "in_scope", "excluded", "not_applicable", "breached_open",
    "excluded_with_evidence", "claimed_without_evidence",
    "first_response_met", "first_response_failed", "first_response_pending", "first_response_met_pct",
    "resolution_met", "resolution_failed", "resolution_pending", "resolution_met_pct",
    "time_to_assignment_count", "time_to_assignment_median_hours", "time_to_assignment_p90_hours",
    "time_to_resolution_count", "time_to_resolution_median_hours", "time_to_resolution_p90_hours",
)  # fmt: skip


CONTRACT_COLUMNS: tuple[str, ...] = (*CSV_COLUMNS[:2], "contract", *CSV_COLUMNS[2:])

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _blank(value: Any) -> Any:
    return "" if value is None else value


def neutralise(value: Any) -> Any:
    """A cell value no spreadsheet runs as a formula (only text is ever changed)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def group_row(scope: str, group: dict[str, Any]) -> dict[str, Any]:
    """One CSV row (a dict keyed by `CSV_COLUMNS`) for a group of the report document."""
    row: dict[str, Any] = {"scope": scope, "key": group["key"]}
    for name in ("tickets", "in_scope", "excluded", "not_applicable", "breached_open",
                 "excluded_with_evidence", "claimed_without_evidence"):
        row[name] = group[name]
    for clock in ("first_response", "resolution"):
        for part in ("met", "failed", "pending", "met_pct"):
            row[f"{clock}_{part}"] = _blank(group[clock][part])
    for measure in ("time_to_assignment", "time_to_resolution"):
        stats = group[f"{measure}_hours"]
        row[f"{measure}_count"] = stats["count"]
        row[f"{measure}_median_hours"] = _blank(stats["median"])
        row[f"{measure}_p90_hours"] = _blank(stats["p90"])
    return row


def render_csv(document: dict[str, Any]) -> str:
    """The group table as CSV text (header row first, `\\r\\n` line ends as RFC 4180)."""
    buffer = io.StringIO()
    contracts = "by_contract" in document
    writer = csv.DictWriter(buffer, fieldnames=CONTRACT_COLUMNS if contracts else CSV_COLUMNS)
    writer.writeheader()
    rows = [group_row("total", document["totals"])]
    for scope, key in (("severity", "by_severity"), ("organization", "by_organization"), ("month", "by_month")):
        rows += [group_row(scope, group) for group in document[key]]
    if contracts:
        rows = [{**row, "contract": ""} for row in rows] + contract_rows(document)
    for row in rows:
        writer.writerow({name: neutralise(value) for name, value in row.items()})
    return buffer.getvalue()


def contract_rows(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Each contract's row followed by its per-severity rows (keyed by `CONTRACT_COLUMNS`)."""
    rows = []
    for group, entry in zip(document["by_contract"], document["by_contract_and_severity"], strict=True):
        rows.append({**group_row("contract", group), "contract": group["key"]})
        rows += [{**group_row("contract_severity", sev), "contract": group["key"]} for sev in entry["severities"]]
    return rows
