"""runtime/seen_deliveries.py against a brute-force oracle: every id within the horizon is
remembered, none beyond the horizon plus one bucket."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zammad_sla_plugin.runtime.seen_deliveries import BUCKETS_PER_TTL, SeenDeliveries

TTL = 100.0
BUCKET = TTL / BUCKETS_PER_TTL


@given(st.lists(st.tuples(st.sampled_from("abcdefgh"), st.floats(0, 60), st.booleans()), max_size=60))
def test_answers_stay_within_the_horizon(steps: list[tuple[str, float, bool]]) -> None:
    seen = SeenDeliveries(TTL)
    remembered: dict[str, float] = {}  # the oracle: when each id was last accepted
    now = 0.0
    for delivery_id, advance, forget in steps:
        now += advance
        if forget and delivery_id in remembered:
            seen.forget(delivery_id)
            del remembered[delivery_id]
            continue
        accepted = seen.add_if_new(delivery_id, now)
        first = remembered.get(delivery_id)
        if first is None:
            assert accepted
        elif now - first <= TTL:
            assert not accepted  # within the horizon: a duplicate
        elif now - first > TTL + BUCKET:
            assert accepted  # long gone
        if accepted:
            remembered[delivery_id] = now


def test_load_keeps_only_what_is_within_the_horizon() -> None:
    seen = SeenDeliveries(TTL)
    seen.load([("new", 950.0), ("old", 850.0), ("older", 10.0)], now=1000.0)
    assert len(seen) == 1
    assert seen.add_if_new("new", 1000.0) is False
    assert seen.add_if_new("old", 1000.0) is True


def test_a_clock_stepping_back_still_remembers() -> None:
    seen = SeenDeliveries(TTL)
    assert seen.add_if_new("a", 500.0)
    assert seen.add_if_new("b", 400.0)  # the wall clock went back 100 s
    assert not seen.add_if_new("b", 401.0) and not seen.add_if_new("a", 501.0)


def test_the_horizon_must_be_positive() -> None:
    with pytest.raises(ValueError):
        SeenDeliveries(0)
