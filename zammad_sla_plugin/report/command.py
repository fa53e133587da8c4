"""The report pipeline behind `zammad-sla report` (the click command is `cli/report.py`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from zammad_sla_plugin.core.clock import SlaInputError
from zammad_sla_plugin.core.policy import Policy

from .collect import DEFAULT_CONCURRENCY, ReportSource, iter_records
from .document import ReportMeta, build_document
from .outcome import ReportPeriod, TicketOutcome, ticket_outcome
from .render_csv import render_csv
from .render_html import render_html
from .render_json import render_json

RENDERERS: dict[str, Callable[[dict[str, Any]], str]] = {"html": render_html, "csv": render_csv, "json": render_json}


def make_report(
    source: ReportSource,
    policy: Policy,
    period: ReportPeriod,
    organization: str | None,
    now: datetime,
    *,
    progress: bool = False,
    concurrency: int = DEFAULT_CONCURRENCY,
    make_source: Callable[[], ReportSource] | None = None,
) -> dict[str, Any]:
    """Fetch, evaluate and aggregate: the report document (see `document`).

    Each ticket is evaluated as soon as its history arrives and only its outcome is kept.
    Tickets that cannot be evaluated (e.g. a priority the policy does not map) are listed
    under `errors` and left out of every figure. `concurrency` and `make_source` are
    passed to `collect.iter_records`.
    """
    # The customer is read only when a contract selects on the customer's e-mail domain.
    customers = policy.has_contracts and policy.contract_book.needs_customer
    records = iter_records(source, period, organization, progress=progress, concurrency=concurrency,
                           make_source=make_source, customers=customers)
    outcomes: list[TicketOutcome] = []
    errors: list[tuple[int, str]] = []
    for record in records:
        try:
            outcome = ticket_outcome(record, period, now, policy)
        except (SlaInputError, ValueError) as error:
            errors.append((int(record.ticket.get("id", 0)), str(error)))
            continue
        if outcome is not None:
            outcomes.append(outcome)
    errors.sort()  # histories arrive in any order
    meta = ReportMeta(period=period, organization=organization, generated_at=now,
                      evaluated_until=min(period.end, now))
    return build_document(outcomes, meta, policy, errors)
