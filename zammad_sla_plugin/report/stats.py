"""Pure aggregation of ticket outcomes into compliance figures.

Denominators (the report states them too, see `document.DEFINITIONS`):

- `tickets` counts every ticket of the group; `excluded` and `not_applicable` ones are
  left out of everything else (percentages and times).
- `excluded_with_evidence` counts tickets whose excluded origin (customer / third party) is
  backed by written evidence; `claimed_without_evidence` those whose origin is claimed with
  the evidence blank (counted like any other ticket when the policy requires evidence).
- Per clock, `met_pct = met / (met + failed) * 100`. `failed` includes tickets still open
  past their deadline (breached and still open count as failures). `pending` tickets (open
  and not yet breached, or never decided) are counted as neither met nor failed. With no
  decided ticket the percentage is None (shown as "n/a"), never 0 or 100.
- Times are business working time (the calendar's open hours), over in-scope tickets that
  were assigned (time to assignment) or closed (time to resolution).
- Median: the middle value of the sorted values, the mean of the two middle values for an
  even count. p90: nearest rank, the value at 1-based rank ceil(0.9 * n) of the sorted values.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from .outcome import (
    CLAIM_WITH_EVIDENCE,
    CLAIM_WITHOUT_EVIDENCE,
    OUTCOME_FAILED,
    OUTCOME_MET,
    OUTCOME_PENDING,
    SCOPE_EXCLUDED,
    SCOPE_NOT_APPLICABLE,
    TicketOutcome,
)


def median(values: Sequence[float]) -> float | None:
    """The median (mean of the two middle values for an even count); None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile: the value at 1-based rank ceil(share * n); None when empty."""
    if not 0 < share <= 1:
        raise ValueError("share must be in (0, 1]")
    if not values:
        return None
    ordered = sorted(values)
    rank = math.ceil(share * len(ordered))
    return ordered[rank - 1]


@dataclass(frozen=True)
class ClockStats:
    """Outcomes of one clock over the in-scope tickets of a group."""

    met: int = 0
    failed: int = 0
    pending: int = 0

    @property
    def decided(self) -> int:
        """The denominator of `met_pct`: met + failed."""
        return self.met + self.failed

    @property
    def met_pct(self) -> float | None:
        """met / (met + failed) * 100, or None when nothing was decided."""
        return None if self.decided == 0 else 100.0 * self.met / self.decided


@dataclass(frozen=True)
class DurationStats:
    """Median and p90 of a set of durations."""

    count: int
    median: timedelta | None
    p90: timedelta | None

    @classmethod
    def of(cls, durations: Iterable[timedelta]) -> DurationStats:
        """Stats of the given durations (computed in microseconds, so exact)."""
        micros = [duration // timedelta(microseconds=1) for duration in durations]
        mid, p90 = median(micros), percentile(micros, 0.9)
        return cls(
            count=len(micros),
            median=None if mid is None else timedelta(microseconds=mid),
            p90=None if p90 is None else timedelta(microseconds=p90),
        )


@dataclass(frozen=True)
class GroupStats:
    """The compliance figures of one group of tickets (a severity, organization, month...)."""

    key: str
    tickets: int
    in_scope: int
    excluded: int
    not_applicable: int
    breached_open: int
    first_response: ClockStats
    resolution: ClockStats
    time_to_assignment: DurationStats
    time_to_resolution: DurationStats
    excluded_with_evidence: int = 0
    claimed_without_evidence: int = 0


def _clock_stats(values: Iterable[str | None]) -> ClockStats:
    counted = {OUTCOME_MET: 0, OUTCOME_FAILED: 0, OUTCOME_PENDING: 0}
    for value in values:
        if value in counted:
            counted[value] += 1
    return ClockStats(counted[OUTCOME_MET], counted[OUTCOME_FAILED], counted[OUTCOME_PENDING])


def group_stats(key: str, outcomes: Sequence[TicketOutcome]) -> GroupStats:
    """Aggregate one group of outcomes."""
    scoped = [outcome for outcome in outcomes if outcome.in_scope]
    return GroupStats(
        key=key,
        tickets=len(outcomes),
        in_scope=len(scoped),
        excluded=sum(1 for outcome in outcomes if outcome.scope == SCOPE_EXCLUDED),
        not_applicable=sum(1 for outcome in outcomes if outcome.scope == SCOPE_NOT_APPLICABLE),
        breached_open=sum(1 for outcome in scoped if outcome.breached_open),
        first_response=_clock_stats(outcome.first_response for outcome in scoped),
        resolution=_clock_stats(outcome.resolution for outcome in scoped),
        time_to_assignment=DurationStats.of(o.time_to_assignment for o in scoped if o.time_to_assignment is not None),
        time_to_resolution=DurationStats.of(o.time_to_resolution for o in scoped if o.time_to_resolution is not None),
        excluded_with_evidence=sum(1 for outcome in outcomes if outcome.origin_claim == CLAIM_WITH_EVIDENCE),
        claimed_without_evidence=sum(1 for outcome in outcomes if outcome.origin_claim == CLAIM_WITHOUT_EVIDENCE),
    )


def grouped(
    outcomes: Sequence[TicketOutcome], key: Callable[[TicketOutcome], str], order: Sequence[str] = ()
) -> list[GroupStats]:
    """One `GroupStats` per distinct key: keys listed in `order` first (in that order), then the
    others sorted. Keys without tickets are not listed."""
    groups: dict[str, list[TicketOutcome]] = {}
    for outcome in outcomes:
        groups.setdefault(key(outcome), []).append(outcome)
    rank = {name: index for index, name in enumerate(order)}
    keys = sorted(groups, key=lambda name: (rank.get(name, len(rank)), name))
    return [group_stats(name, groups[name]) for name in keys]


@dataclass(frozen=True)
class ReportStats:
    """Every aggregate the report shows."""

    totals: GroupStats
    by_severity: list[GroupStats]
    by_organization: list[GroupStats]
    by_month: list[GroupStats]
    by_month_and_severity: dict[str, list[GroupStats]]  # month -> per-severity stats
    # Only when the policy defines contracts (else empty): contract -> per-severity stats.
    by_contract: list[GroupStats] = field(default_factory=list)
    by_contract_and_severity: dict[str, list[GroupStats]] = field(default_factory=dict)


def _and_severity(
    outcomes: Sequence[TicketOutcome],
    groups: Sequence[GroupStats],
    key: Callable[[TicketOutcome], str],
    severity_order: Sequence[str],
) -> dict[str, list[GroupStats]]:
    """Each group's outcomes broken down by severity, keyed by the group's key."""
    return {
        group.key: grouped([o for o in outcomes if key(o) == group.key], lambda o: o.severity, severity_order)
        for group in groups
    }


def _contract_of(outcome: TicketOutcome) -> str:
    return outcome.contract or ""


def aggregate(
    outcomes: Sequence[TicketOutcome], severity_order: Sequence[str] = (), contracts: Sequence[str] | None = None
) -> ReportStats:
    """Totals and the per-severity, per-organization, per-month (of creation) breakdowns.

    Severities follow `severity_order` (the policy's order); organizations and months sort
    alphabetically (months are YYYY-MM, so chronologically). With `contracts` (the policy's
    contract names in matching order, the default last) the per-contract and per-contract
    and severity breakdowns are added, contracts in that order.
    """
    by_month = grouped(outcomes, lambda outcome: outcome.month)
    by_contract = [] if contracts is None else grouped(outcomes, _contract_of, contracts)
    return ReportStats(
        totals=group_stats("total", outcomes),
        by_severity=grouped(outcomes, lambda outcome: outcome.severity, severity_order),
        by_organization=grouped(outcomes, lambda outcome: outcome.organization),
        by_month=by_month,
        by_month_and_severity=_and_severity(outcomes, by_month, lambda outcome: outcome.month, severity_order),
        by_contract=by_contract,
        by_contract_and_severity=_and_severity(outcomes, by_contract, _contract_of, severity_order),
    )
