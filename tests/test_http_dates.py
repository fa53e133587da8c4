"""The one HTTP-date parser (Zammad's `Date` header, `Retry-After`)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from zammad_sla_plugin.zammad.http_dates import parse_http_date

NOV_6 = datetime(1994, 11, 6, 8, 49, 37, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "value",
    ["Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994",
     "Sun, 06 Nov 1994 08:49:37 -0000", "  Sun, 06 Nov 1994 08:49:37 GMT\t", "Sun, 06 Nov 1994 05:49:37 -0300"],
)  # fmt: skip
def test_the_three_rfc_9110_forms_in_utc(value: str) -> None:
    when = parse_http_date(value)
    assert when == NOV_6 and when is not None and when.utcoffset() is not None and when.tzinfo == timezone.utc


@pytest.mark.parametrize("value", [None, "", "  ", "soon", "12", "Sun, 06 Nov 1994 25:49:37 GMT", "Sun, 31 Feb 1994 08:49:37 GMT"])
def test_absent_or_malformed_is_none(value: str | None) -> None:
    assert parse_http_date(value) is None
