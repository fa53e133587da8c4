"""Contract selection against a brute-force oracle (hypothesis).

The oracle reads the generated `[contracts.match]` tables directly: a contract matches when
every condition it lists holds, a list means any of, the first match wins, else the default.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from hypothesis import given, settings, strategies as st

from zammad_sla_plugin.core.contracts import MatchFacts
from zammad_sla_plugin.core.policy import default_policy_text, policy_from_dict

import tomllib

ORGS = ["Acme", "Loja", 12, 13]
GROUPS = ["Users", "Support::BR"]
DOMAINS = ["acme.com", "loja.com.br"]
TAGS = ["gold", "vip", "beta"]
SEVERITIES = ["blocker", "high", "medium", "low"]
KINDS = ["incident", "question"]
CREATED = datetime(2026, 3, 10, 13, tzinfo=timezone.utc)


def _subset(values: list[Any]) -> st.SearchStrategy[list[Any]]:
    return st.lists(st.sampled_from(values), unique=True, max_size=2)


matches = st.fixed_dictionaries({}, optional={
    "organization": _subset(ORGS), "group": _subset(GROUPS), "customer_domain": _subset(DOMAINS),
    "tag": _subset(TAGS), "severity": _subset(SEVERITIES), "kind": _subset(KINDS),
})  # fmt: skip

facts = st.builds(
    MatchFacts,
    organization_id=st.sampled_from([None, 12, 13, 14]),
    organization_name=st.sampled_from([None, "acme", "Loja", "Other"]),
    group=st.sampled_from([None, *GROUPS]),
    customer_domain=st.sampled_from([None, *DOMAINS, "sub.acme.com"]),
    tags=st.frozensets(st.sampled_from(TAGS), max_size=2),
    severity=st.sampled_from([None, *SEVERITIES]),
    kind=st.sampled_from([None, *KINDS]),
)


def _holds(match: dict[str, list[Any]], f: MatchFacts) -> bool:
    for key, wanted in match.items():
        if not wanted:
            continue
        if key == "organization":
            names = {w.casefold() for w in wanted if isinstance(w, str)}
            ok = f.organization_id in wanted or (f.organization_name is not None and f.organization_name.casefold() in names)
        elif key == "tag":
            ok = bool(set(wanted) & f.tags)
        else:
            value = {"group": f.group, "customer_domain": f.customer_domain, "severity": f.severity, "kind": f.kind}[key]
            ok = value in wanted
        if not ok:
            return False
    return True


BASE = tomllib.loads(default_policy_text())


@settings(max_examples=150, deadline=None)
@given(st.lists(matches, min_size=1, max_size=5), st.lists(facts, min_size=1, max_size=8))
def test_first_match_wins_like_the_oracle(contract_matches: list[dict[str, list[Any]]], tickets: list[MatchFacts]) -> None:
    contracts = [{"name": f"C{number}", "match": match} for number, match in enumerate(contract_matches)]
    book = policy_from_dict({**BASE, "contracts": contracts}).contract_book
    for ticket in tickets:
        expected = next((c["name"] for c in contracts if _holds(c["match"], ticket)), "default")
        assert book.select(ticket, CREATED).name == expected
