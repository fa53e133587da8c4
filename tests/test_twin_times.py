"""The twin reads the ISO-8601 variants a client may send for a datetime or date column
(python-dateutil's `isoparse`; `datetime.fromisoformat` refuses several of these)."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from zammad_sla_plugin.twin.util import parse_date, parse_time

UTC = timezone.utc


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-03-10T12:00:00Z", datetime(2026, 3, 10, 12, tzinfo=UTC)),
    ("2026-03-10T12:00:00.123Z", datetime(2026, 3, 10, 12, 0, 0, 123000, tzinfo=UTC)),
    ("2026-03-10T09:00:00-03:00", datetime(2026, 3, 10, 12, tzinfo=UTC)),
    ("2026-03-10 12:00:00", datetime(2026, 3, 10, 12, tzinfo=UTC)),  # naive is UTC, as in Rails
    ("20260310T120000Z", datetime(2026, 3, 10, 12, tzinfo=UTC)),
    ("2026-03-10T12:00:00z", datetime(2026, 3, 10, 12, tzinfo=UTC)),
    ("2026-03-10T24:00:00Z", datetime(2026, 3, 11, tzinfo=UTC)),
    ("2026-03", datetime(2026, 3, 1, tzinfo=UTC)),
    ("2026-069", datetime(2026, 3, 10, tzinfo=UTC)),
])  # fmt: skip
def test_iso_variants(value: str, expected: datetime) -> None:
    assert parse_time(value) == expected


def test_dates_and_garbage() -> None:
    assert parse_date("2026-03-10") == date(2026, 3, 10) == parse_date("2026-03-10T23:00:00Z")
    with pytest.raises(ValueError):
        parse_time("next tuesday")
