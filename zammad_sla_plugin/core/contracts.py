"""Contracts per customer: which terms apply to a ticket, and which version of them.

A policy's top-level terms are its default contract. `[[contracts]]` are checked in order and
the first whose match holds applies, like Zammad's own SLAs (first match wins) and Zendesk's
ordered policies; a ticket no contract matches gets the default. Each contract may carry
dated versions: a ticket is measured under the version in force when it was *created*, so a
change of terms never rewrites the deadlines of tickets opened before it.

The contract is chosen again on every evaluation from the ticket's current organization,
group, customer, tags, severity and kind (Zammad re-matches its SLAs on every update too).
Everything here is pure and precomputed once per policy: selecting among 50 contracts is a
few dict look-ups in all (`_SelectionIndex`), and no contract adds a Zammad call for ticket fields.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from zammad_sla_plugin.core.history import ordered_entries

if TYPE_CHECKING:
    from zammad_sla_plugin.core.policy import Contract, ContractMatch, ContractTerms, Policy

ORIGINAL = "original"  # the label of a contract's own terms, in force before its first version


class ContractError(ValueError):
    """Contracts that cannot be compiled; `problems` are (key path, message) pairs."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{path}: {message}" for path, message in problems))


@dataclass(frozen=True)
class MatchFacts:
    """What contract selectors read off a ticket."""

    organization_id: int | None = None
    organization_name: str | None = None
    group: str | None = None
    customer_domain: str | None = None
    tags: frozenset[str] = frozenset()
    severity: str | None = None
    kind: str | None = None


@dataclass(frozen=True)
class AppliedContract:
    """The contract and version a ticket is measured under, with why."""

    name: str
    version: str  # ORIGINAL or the version's effective_from as YYYY-MM-DD
    effective_from: dt.date | None
    policy: Policy  # the effective terms: the base policy with the contract's terms laid over it
    reason: str
    is_default: bool
    forced: bool = False

    @property
    def label(self) -> str:
        """`NAME@VERSION`, as `compute --contract` takes it."""
        return f"{self.name}@{self.version}"


def _name_of(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("name")
    return value if isinstance(value, str) and value else None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _domain(address: Any) -> str | None:
    if not isinstance(address, str) or "@" not in address:
        return None
    domain = address.rsplit("@", 1)[1].strip().lower()
    return domain or None


def customer_domain(ticket: dict[str, Any], customer: dict[str, Any] | None) -> str | None:
    """The domain of the customer's e-mail: the user record, the webhook's nested customer,
    else the REST `customer` login when it is an address (Zammad logs e-mail customers in by it)."""
    for source in (customer, ticket.get("customer")):
        if isinstance(source, dict) and (domain := _domain(source.get("email"))):
            return domain
    return _domain(ticket.get("customer"))


def customer_to_read(ticket: dict[str, Any], policy: Policy) -> int | None:
    """The id of the customer whose user record a `customer_domain` selector needs, or None
    when no selector reads it or the ticket already carries the address (`customer_domain`)."""
    if not policy.contract_book.needs_customer or customer_domain(ticket, None) is not None:
        return None  # no selector reads it, or the ticket gives the address (webhook customer, REST login)
    return _int(ticket.get("customer_id"))


def tags_of(ticket: dict[str, Any], history: Any) -> frozenset[str]:
    """The ticket's tags: its own `tags` list when given, else replayed from its history."""
    given = ticket.get("tags")
    if isinstance(given, list):
        return frozenset(tag for tag in given if isinstance(tag, str))
    return tags_from_history(history)


def tags_from_history(history: Any) -> frozenset[str]:
    """The ticket's current tags, replayed from its `added`/`removed` tag history entries."""
    tags: set[str] = set()
    # Only the tag entries are put in Zammad's order: sorting all of a long history for a
    # handful of tag rows cost more than the rest of contract selection.
    entries = history.get("history", []) if isinstance(history, dict) else history or []
    tag_entries = [e for e in entries if isinstance(e, dict) and e.get("attribute") == "tag"]
    for entry in ordered_entries(tag_entries) if tag_entries else ():
        if entry.get("object") != "Ticket" or not entry.get("value_to"):
            continue
        if entry.get("type") == "added":
            tags.add(entry["value_to"])
        elif entry.get("type") == "removed":
            tags.discard(entry["value_to"])
    return frozenset(tags)


def match_facts(
    ticket: dict[str, Any],
    organization: dict[str, Any] | None,
    customer: dict[str, Any] | None,
    history: Any,
    policy: Policy,
    *,
    priority: str,
    kind: str | None,
    needs_tags: bool = True,
) -> MatchFacts:
    """Normalise a ticket (REST `expand=true` or webhook shape) into `MatchFacts`.

    `priority` and `kind` are the names `clock.ticket_facts` already read off the ticket.
    """
    org = organization if isinstance(organization, dict) else ticket.get("organization")
    org_id = _int(ticket.get("organization_id"))
    if org_id is None and isinstance(org, dict):
        org_id = _int(org.get("id"))
    return MatchFacts(
        organization_id=org_id,
        organization_name=_name_of(org),
        group=_name_of(ticket.get("group")),
        customer_domain=customer_domain(ticket, customer),
        tags=tags_of(ticket, history) if needs_tags else frozenset(),
        severity=policy.priorities.get(priority),
        kind=kind,
    )


class _Selector:
    """One contract's match, precomputed into sets (`_SelectionIndex` finds which hold)."""

    def __init__(self, match: ContractMatch) -> None:
        self.org_ids = frozenset(v for v in match.organization if isinstance(v, int))
        self.org_names = frozenset(v.casefold() for v in match.organization if isinstance(v, str))
        self.has_org = bool(match.organization)
        self.groups = frozenset(match.group)
        self.domains = frozenset(match.customer_domain)
        self.tags = frozenset(match.tag)
        self.severities = frozenset(match.severity)
        self.kinds = frozenset(match.kind)
        self.always = match.always

    def reasons(self, facts: MatchFacts) -> list[str] | None:
        """Why the match holds (one phrase per condition), or None when it does not."""
        reasons: list[str] = []
        if self.has_org:
            if facts.organization_id in self.org_ids:
                reasons.append(f"organization id {facts.organization_id}")
            elif facts.organization_name is not None and facts.organization_name.casefold() in self.org_names:
                reasons.append(f"organization {facts.organization_name!r}")
            else:
                return None
        for label, wanted, value in (
            ("group", self.groups, facts.group),
            ("customer domain", self.domains, facts.customer_domain),
            ("severity", self.severities, facts.severity),
            ("kind", self.kinds, facts.kind),
        ):
            if wanted:
                if value not in wanted:
                    return None
                reasons.append(f"{label} {value!r}")
        if self.tags:
            carried = sorted(self.tags & facts.tags)
            if not carried:
                return None
            reasons.append(f"tag {carried[0]!r}")
        return reasons


class _SelectionIndex:
    """Which selectors hold for a ticket, in a few dict look-ups whatever the contract count.

    Contract i is bit i. Per condition (organization, group, domain, tag, severity, kind):
    `free` has the bits of contracts that do not constrain it, and a dict maps each wanted
    value to the bits of the contracts that want it. A contract holds when every condition
    lets its bit through, so the AND of the per-condition masks has exactly the holding
    contracts, and its lowest bit is the first match. Same answer as asking each selector's
    `reasons` in order (tests/test_contract_selection.py checks that), without walking them.
    """

    def __init__(self, selectors: list[_Selector]) -> None:
        every = (1 << len(selectors)) - 1
        self.every = every

        def index(values_of: Any) -> tuple[int, dict[Any, int]]:
            free, wanted = every, dict[Any, int]()
            for position, selector in enumerate(selectors):
                values = values_of(selector)
                if values:
                    free &= ~(1 << position)
                    for value in values:
                        wanted[value] = wanted.get(value, 0) | 1 << position
            return free, wanted

        # The organization condition holds by id or by name: one free mask, two value maps.
        self.org_free = every
        for position, selector in enumerate(selectors):
            if selector.has_org:
                self.org_free &= ~(1 << position)
        self.org_ids, self.org_names = index(lambda s: s.org_ids)[1], index(lambda s: s.org_names)[1]
        self.group_free, self.groups = index(lambda s: s.groups)
        self.domain_free, self.domains = index(lambda s: s.domains)
        self.tag_free, self.tags = index(lambda s: s.tags)
        self.severity_free, self.severities = index(lambda s: s.severities)
        self.kind_free, self.kinds = index(lambda s: s.kinds)

    def first(self, facts: MatchFacts) -> int | None:
        """The position of the first selector that holds, or None."""
        name = facts.organization_name
        mask = self.every & (
            self.org_free | self.org_ids.get(facts.organization_id, 0)
            | (self.org_names.get(name.casefold(), 0) if name is not None else 0)
        )  # fmt: skip
        mask &= self.group_free | self.groups.get(facts.group, 0)
        mask &= self.domain_free | self.domains.get(facts.customer_domain, 0)
        mask &= self.severity_free | self.severities.get(facts.severity, 0)
        mask &= self.kind_free | self.kinds.get(facts.kind, 0)
        if mask and ~self.tag_free & mask:  # some candidate wants a tag: the ticket must carry one of them
            tagged = self.tag_free
            for tag in facts.tags:
                tagged |= self.tags.get(tag, 0)
            mask &= tagged
        return (mask & -mask).bit_length() - 1 if mask else None


@dataclass(frozen=True)
class _Version:
    label: str
    effective_from: dt.date | None
    starts_at: dt.datetime | None  # local midnight of effective_from in the contract's zone
    policy: Policy


class _Compiled:
    """A contract (or the default) with its versions built into effective policies."""

    def __init__(self, name: str, versions: list[_Version]) -> None:
        self.name = name
        self.versions = versions  # oldest first; versions[0] is ORIGINAL

    def version_in_force(self, created_at: dt.datetime | None = None, on: dt.date | None = None) -> _Version:
        """The version in force at a ticket's creation, or on a local date when `on` is given
        (`compute --contract NAME@DATE`); versions after the first all have a date."""
        dated = self.versions[1:]
        if on is not None:
            reached = [v for v in dated if v.effective_from is not None and v.effective_from <= on]
        else:
            reached = [v for v in dated if v.starts_at is not None and created_at is not None and v.starts_at <= created_at]
        return reached[-1] if reached else self.versions[0]


def validation_problems(error: ValidationError) -> list[tuple[str, str]]:
    """(dotted key path, message) of each problem pydantic found."""
    return [
        (".".join(str(part) for part in item["loc"]), item["msg"].removeprefix("Value error, "))
        for item in error.errors()
    ]


class ContractBook:
    """The policy's contracts, compiled once: selection, versions, names and warnings."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.warnings: list[str] = []
        problems: list[tuple[str, str]] = []
        default = _Compiled(policy.default_contract, [_Version(ORIGINAL, None, None, policy)])
        self._default = default
        self._contracts: list[_Compiled] = []
        self._selectors: list[_Selector] = []  # self._selectors[i] is self._contracts[i]'s match
        seen = {policy.default_contract.casefold(): "default_contract"}
        catch_all: str | None = None
        for index, contract in enumerate(policy.contracts):
            path = f"contracts.{index}"
            if (key := contract.name.casefold()) in seen:
                problems.append((f"{path}.name", f"contract name {contract.name!r} is already used by {seen[key]}"))
            seen[key] = f"contracts.{index}"
            if catch_all is not None:
                self.warnings.append(
                    f"contract {contract.name!r} ({path}) can never match: {catch_all!r} before it matches every ticket"
                )
            compiled, contract_problems = self._compile(contract, path)
            problems += contract_problems
            if compiled is not None:
                self._contracts.append(compiled)
                self._selectors.append(_Selector(contract.match))
            if contract.match.always and catch_all is None:
                catch_all = contract.name
        if catch_all is not None:
            self.warnings.append(f"the default contract {policy.default_contract!r} is never used: {catch_all!r} matches every ticket")
        if problems:
            raise ContractError(problems)
        self._by_name = {c.name.casefold(): c for c in [*self._contracts, default]}
        self._index = _SelectionIndex(self._selectors)
        # Whether any selector reads tags or the customer (the worker fetches the customer only then).
        self.needs_tags = any(selector.tags for selector in self._selectors)
        self.needs_customer = any(selector.domains for selector in self._selectors)

    # ------------------------------------------------------------------ building

    def _check_terms(self, terms: ContractTerms, path: str) -> list[tuple[str, str]]:
        policy, problems = self.policy, []
        if terms.severities is not None:
            mapped = sorted(set(policy.priorities.values()))
            for severity in mapped:
                if severity not in terms.severities:
                    problems.append((f"{path}.severities", f"severity {severity!r} has no target (a priority maps to it)"))
            for severity in sorted(set(terms.severities) - set(policy.severities)):
                problems.append((f"{path}.severities.{severity}", f"unknown severity {severity!r} (known: {', '.join(sorted(policy.severities))})"))
        return problems

    def _effective(self, layers: list[ContractTerms], path: str) -> tuple[Policy | None, list[tuple[str, str]]]:
        """The base policy with each layer's terms laid over it (later layers win)."""
        data = self.policy.model_dump(exclude={"contracts"})
        for layer in layers:
            if layer.calendar is not None:
                data["calendar"] = layer.calendar.model_dump()
            if layer.warning_threshold is not None:
                data["warning_threshold"] = layer.warning_threshold
            if layer.pause_states is not None:
                data["states"]["pause"] = list(layer.pause_states)
            if layer.severities is not None:
                data["severities"] = {name: targets.model_dump() for name, targets in layer.severities.items()}
        try:
            effective = type(self.policy).model_validate(data)
        except ValidationError as error:
            renamed = {"states.pause": "pause_states", "states": "pause_states"}
            return None, [
                (f"{path}.{renamed[loc]}" if loc in renamed else f"{path}.{loc}" if loc else path, message)
                for loc, message in validation_problems(error)
            ]
        try:
            effective.business_calendar  # noqa: B018 - builds the calendar so its own checks run now
        except ValueError as error:
            text = str(error)
            # Point at the key the calendar refused, so the message can name its line.
            words = {"holiday": "holidays_country", "hours": "hours", "timezone": "timezone",
                     "closed": "closed_dates"}  # fmt: skip
            key = next((k for word, k in words.items() if word in text), "")
            return None, [(f"{path}.calendar" + (f".{key}" if key else ""), text)]
        return effective, []

    def _compile(self, contract: Contract, path: str) -> tuple[_Compiled | None, list[tuple[str, str]]]:
        problems = self._check_terms(contract, path)
        known = self.policy.severities
        for value in contract.match.severity:
            if value not in known:
                problems.append((f"{path}.match.severity", f"unknown severity {value!r} (known: {', '.join(sorted(known))})"))
        if problems:  # the effective policy would only repeat them
            return None, problems
        original, problems = self._effective([contract], path)
        if original is None:  # its versions are laid over these terms: they would only repeat it
            return None, problems
        versions = [_Version(ORIGINAL, None, None, original)]
        seen_dates: set[dt.date] = set()
        for number, version in sorted(enumerate(contract.versions), key=lambda pair: pair[1].effective_from):
            vpath = f"{path}.versions.{number}"
            if version.effective_from in seen_dates:
                problems.append((f"{vpath}.effective_from", f"two versions take effect on {version.effective_from}"))
                continue
            seen_dates.add(version.effective_from)
            if version_problems := self._check_terms(version, vpath):
                problems += version_problems
                continue
            effective, more = self._effective([contract, version], vpath)
            problems += more
            if effective is None:
                continue
            # A version's date is read in the zone of the contract's own calendar.
            zone = original.business_calendar.timezone
            starts = dt.datetime.combine(version.effective_from, dt.time(0), tzinfo=zone).astimezone(dt.timezone.utc)
            versions.append(_Version(version.effective_from.isoformat(), version.effective_from, starts, effective))
        if problems:
            return None, problems
        return _Compiled(contract.name, versions), []

    # ------------------------------------------------------------------ reading

    def every_version(self) -> list[AppliedContract]:
        """Each contract at each of its versions, the default last (for checks against Zammad)."""
        return [
            self._applied(compiled, version, "listed")
            for compiled in [*self._contracts, self._default] for version in compiled.versions
        ]  # fmt: skip

    def knows(self, name: str) -> bool:
        """Whether a contract (or the default) has this name, in any case."""
        return name.casefold() in self._by_name

    @property
    def names(self) -> tuple[str, ...]:
        """Every contract name in matching order, the default last (the `sla_contract` options)."""
        return (*(c.name for c in self._contracts), self._default.name)

    def _applied(self, compiled: _Compiled, version: _Version, reason: str, forced: bool = False) -> AppliedContract:
        return AppliedContract(
            compiled.name, version.label, version.effective_from, version.policy, reason,
            is_default=compiled is self._default, forced=forced,
        )  # fmt: skip

    def select(self, facts: MatchFacts, created_at: dt.datetime) -> AppliedContract:
        """The first contract whose match holds (else the default), at its creation-time version."""
        position = self._index.first(facts)
        if position is not None:
            compiled = self._contracts[position]
            reasons = self._selectors[position].reasons(facts)
            assert reasons is not None  # the index found it holds
            why = ", ".join(reasons) if reasons else "it matches every ticket"
            return self._applied(compiled, compiled.version_in_force(created_at), f"matched by {why}")
        reason = "no contract matched: the default terms" if self._contracts else "the policy's terms (no contracts defined)"
        return self._applied(self._default, self._default.versions[0], reason)

    def named(self, name: str, created_at: dt.datetime, on: dt.date | None = None) -> AppliedContract:
        """A contract by name (case-insensitive), at the version of `on` or of the creation time.

        KeyError names the known contracts.
        """
        compiled = self._by_name.get(name.casefold())
        if compiled is None:
            raise KeyError(f"no contract named {name!r} (known: {', '.join(self.names)})")
        version = compiled.version_in_force(created_at, on)
        when = f"the version in force on {on}" if on is not None else "the version in force at creation"
        return self._applied(compiled, version, f"chosen by name ({when})", forced=True)


def parse_contract_label(label: str) -> tuple[str, dt.date | None]:
    """`NAME` or `NAME@YYYY-MM-DD` -> (name, date or None); ValueError on a bad date."""
    name, _, day = label.partition("@")
    if not name.strip():
        raise ValueError(f"{label!r}: give a contract name, e.g. 'Gold' or 'Gold@2026-03-01'")
    if not day:
        return name, None
    try:
        return name, dt.date.fromisoformat(day)
    except ValueError:
        raise ValueError(f"{label!r}: {day!r} is not a date (YYYY-MM-DD)") from None


def contract_changes(history: Any, attribute: str) -> list[dict[str, Any]]:
    """When the ticket's contract attribute changed (Zammad's history of the select), oldest first."""
    return [
        {"at": entry.get("created_at"), "from": entry.get("value_from") or None, "to": entry.get("value_to") or None}
        for entry in ordered_entries(history)
        if entry.get("object", "Ticket") == "Ticket" and entry.get("type", "updated") == "updated"
        and entry.get("attribute") == attribute
    ]  # fmt: skip
