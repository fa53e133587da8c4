"""Contract selection's index gives the answer of asking each contract in order (issue 17, item 6).

`core/contracts._SelectionIndex` finds the first contract whose match holds with a few dict
look-ups instead of walking every selector; these properties hold it to the plain reading of
the rules: the first selector (in policy order) whose `reasons` are not None.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from zammad_sla_plugin.core.contracts import MatchFacts, _SelectionIndex, _Selector, tags_of
from zammad_sla_plugin.core.policy import ContractMatch

# Small pools, so that selectors and tickets often share values (and matches happen).
ORG_NAMES = ("Acme", "acme", "Loja Brasil", "Zeta")
GROUPS = ("Users", "Suporte BR", "Sales::EMEA")
DOMAINS = ("acme.com", "partner.example")
TAGS = ("gold", "vip", "legacy")
SEVERITIES = ("blocker", "high", "medium", "low")
KINDS = ("incident", "question")


def _some(values: tuple[Any, ...]) -> st.SearchStrategy[list[Any]]:
    return st.lists(st.sampled_from(values), max_size=2, unique=True)


matches = st.builds(
    ContractMatch,
    organization=st.lists(st.one_of(st.sampled_from(ORG_NAMES), st.integers(1, 4)), max_size=2),
    group=_some(GROUPS), customer_domain=_some(DOMAINS), tag=_some(TAGS),
    severity=_some(SEVERITIES), kind=_some(KINDS),
)  # fmt: skip

facts = st.builds(
    MatchFacts,
    organization_id=st.one_of(st.none(), st.integers(1, 4)),
    organization_name=st.one_of(st.none(), st.sampled_from(ORG_NAMES)),
    group=st.one_of(st.none(), st.sampled_from(GROUPS)),
    customer_domain=st.one_of(st.none(), st.sampled_from(DOMAINS)),
    tags=st.frozensets(st.sampled_from(TAGS), max_size=2),
    severity=st.one_of(st.none(), st.sampled_from(SEVERITIES)),
    kind=st.one_of(st.none(), st.sampled_from(KINDS)),
)


def walk(selectors: list[_Selector], ticket: MatchFacts) -> int | None:
    """The rules as written: the first selector whose match holds."""
    return next((i for i, selector in enumerate(selectors) if selector.reasons(ticket) is not None), None)


@settings(max_examples=300, deadline=None)
@given(st.lists(matches, max_size=12), st.lists(facts, min_size=1, max_size=8))
def test_the_index_picks_the_first_contract_that_matches(chosen: list[ContractMatch], tickets: list[MatchFacts]) -> None:
    selectors = [_Selector(match) for match in chosen]
    index = _SelectionIndex(selectors)
    for ticket in tickets:
        assert index.first(ticket) == walk(selectors, ticket)


def test_hand_made_order_and_conditions() -> None:
    selectors = [
        _Selector(ContractMatch(tag=("gold",))),
        _Selector(ContractMatch(organization=("Loja Brasil", 12), severity=("high",))),
        _Selector(ContractMatch(organization=("Loja Brasil",))),
        _Selector(ContractMatch()),  # catch-all
    ]
    index = _SelectionIndex(selectors)
    loja = MatchFacts(organization_id=6, organization_name="LOJA BRASIL", severity="high")
    assert index.first(loja) == 1  # by name, any case, and severity
    assert index.first(MatchFacts(organization_id=12, severity="low")) == 3  # id matches, severity not: catch-all
    assert index.first(MatchFacts(organization_id=6, organization_name="Loja Brasil", severity="low")) == 2
    assert index.first(MatchFacts(organization_id=6, organization_name="Loja Brasil", tags=frozenset({"gold"}))) == 0
    assert _SelectionIndex(selectors[:3]).first(MatchFacts(severity="high")) is None
    assert _SelectionIndex([]).first(loja) is None


def test_tags_are_replayed_from_the_tag_entries_in_zammads_order() -> None:
    def entry(entry_id: int, at: str, kind: str, attribute: str, value: str, obj: str = "Ticket") -> dict[str, Any]:
        return {"id": entry_id, "object": obj, "type": kind, "attribute": attribute, "value_to": value, "created_at": at}

    entries = [  # out of order, with other attributes and another object's "tag" between them
        entry(5, "2026-03-02T12:00:00Z", "removed", "tag", "gold"),
        entry(1, "2026-03-01T12:00:00Z", "updated", "state", "open"),
        entry(3, "2026-03-01T13:00:00Z", "added", "tag", "gold"),
        entry(4, "2026-03-01T13:00:00Z", "added", "tag", "vip"),
        entry(6, "2026-03-03T12:00:00Z", "added", "tag", "legacy", obj="Ticket::Article"),
        entry(7, "2026-03-04T12:00:00Z", "added", "tag", "gold"),
        entry(8, "2026-03-04T12:00:00Z", "removed", "tag", "vip"),
    ]
    assert tags_of({}, {"history": entries}) == frozenset({"gold"})
    assert tags_of({}, entries[:5]) == frozenset({"vip"})
    assert tags_of({"tags": ["x"]}, {"history": entries}) == frozenset({"x"})  # the ticket's own list wins
    assert tags_of({}, {"history": []}) == tags_of({}, None) == frozenset()
