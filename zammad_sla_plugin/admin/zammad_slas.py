"""Zammad's SLAs and calendars as zammad-sla contracts (pure: JSON in, TOML text out, no I/O).

`translate` turns the JSON of `GET /api/v1/slas` and `GET /api/v1/calendars` into contract
tables in the policy format of issue 17 (`[[contracts]]`), in Zammad's own matching order;
`render` appends them to a policy's text. Everything that cannot be expressed is returned as
a warning and written as a comment next to the contract it concerns: nothing is dropped
silently.

Zammad's semantics this follows (zammad/zammad at bfa96f03ea45e9b204e56a568b1a1c3eef67caf2):
* `Sla.for_ticket` (app/models/sla.rb) walks the SLAs ordered by name, then created_at; the
  first one WITH a condition that matches wins; an SLA without condition is only a fallback,
  and of several such the LAST one in that order is used. So contracts are emitted as: the
  conditional SLAs in that order, then the fallback; the other unconditional SLAs never apply
  and are written commented out.
* `lib/escalation.rb`: first_response_time counts working minutes of the SLA's calendar from
  `created_at` to the first agent reply, solution_time from `created_at` to closing;
  update_time/response_time are a third clock zammad-sla does not have.
* `Calendar#business_hours_to_hash` (app/models/calendar.rb): only active days with
  timeframes count; "23:59" as an end means the end of the day ("24:00").
  `public_holidays_to_array`: only entries with `active` (and not `removed`) close the day.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
NAME_MAX = 80
_DOMAIN = re.compile(r"[a-z0-9-]+(\.[a-z0-9-]+)+")  # what [contracts.match] customer_domain accepts
FIRST_RESPONSE_NOTE = (
    "Zammad's first_response_time ends at the first agent reply (an article); zammad-sla's first response ends "
    "when the ticket is assigned to an analyst: review that the imported first-response targets fit"
)
PAUSE_NOTE = (
    "Zammad stops every SLA clock while the ticket is in a state with ignore_escalation (pending reminder, "
    "pending close by default); the contracts pause the resolution clock in the policy's [states] pause states"
)


@dataclass(frozen=True)
class PolicyTerms:
    """What the translation needs from the current policy."""

    priorities: Mapping[str, str]                       # Zammad priority name -> severity
    targets: Mapping[str, tuple[float, float]]          # severity -> (first response, resolution) minutes
    kind_attribute: str = "sla_kind"
    default_contract: str = "default"
    taken_names: frozenset[str] = frozenset()           # contract names already in the policy (lower case)


@dataclass(frozen=True)
class Lookups:
    """Names of the Zammad records conditions refer to by id."""

    priorities: Mapping[int, str] = field(default_factory=dict)
    groups: Mapping[int, str] = field(default_factory=dict)


@dataclass
class ImportedContract:
    """One Zammad SLA as a contract table; `enabled=False` is written commented out."""

    sla_id: int
    name: str
    data: dict[str, Any]
    comments: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    enabled: bool = True


@dataclass
class ImportResult:
    """The contracts in matching order and every warning (contract warnings prefixed by the SLA)."""

    contracts: list[ImportedContract]
    notes: list[str]

    @property
    def warnings(self) -> list[str]:
        """Every warning, general notes first."""
        found = list(self.notes)
        for contract in self.contracts:
            found.extend(f"SLA #{contract.sla_id} {contract.name!r}: {w}" for w in contract.warnings)
        return found


# ------------------------------------------------------------------ conditions
def _ids(value: Any) -> list[int]:
    items = value if isinstance(value, list) else [value]
    found = []
    for item in items:
        try:
            found.append(int(item))
        except (TypeError, ValueError):
            continue
    return found


def _strings(value: Any, *, split_commas: bool = False) -> list[str]:
    items = value if isinstance(value, list) else [value]
    found: list[str] = []
    for item in items:
        if item is None:
            continue
        parts = str(item).split(",") if split_commas else [str(item)]
        found.extend(p.strip() for p in parts if p.strip())
    return found


def _describe(leaf: Mapping[str, Any]) -> str:
    pre = leaf.get("pre_condition")
    value = json.dumps(leaf.get("value"), ensure_ascii=False)
    return f"{leaf.get('name')} {leaf.get('operator')} {value}" + (f" (pre_condition {pre})" if pre not in (None, "specific") else "")


def _leaves(condition: Mapping[str, Any], warnings: list[str]) -> list[dict[str, Any]]:
    """The AND-ed leaves of a condition (flat hash or expert-mode tree); OR/NOT blocks are listed."""
    if isinstance(condition.get("conditions"), list):
        operator = str(condition.get("operator") or "AND").upper()
        if operator != "AND":
            warnings.append(f"condition block {operator} {json.dumps(condition, ensure_ascii=False)} cannot be expressed "
                            "(contracts AND their conditions): it was left out, so the contract matches more tickets")
            return []
        found: list[dict[str, Any]] = []
        for child in condition["conditions"]:
            if isinstance(child, Mapping):
                found.extend(_leaves(child, warnings) if "conditions" in child else [dict(child)])
        return found
    return [{"name": name, **spec} for name, spec in condition.items() if isinstance(spec, Mapping)]


class _Match:
    """Accumulates [contracts.match] keys; a key given twice keeps the intersection (AND)."""

    def __init__(self) -> None:
        self.keys: dict[str, list[Any]] = {}

    def add(self, key: str, values: Iterable[Any]) -> None:
        values = list(dict.fromkeys(values))
        if key in self.keys:
            values = [v for v in self.keys[key] if v in values]
        self.keys[key] = values


def _selected_ids(leaf: Mapping[str, Any], known: Mapping[int, str], what: str, warnings: list[str]) -> set[int] | None:
    """The known ids an `is` / `is not` condition on ids selects; None for any other operator."""
    operator = leaf.get("operator")
    if operator not in ("is", "is not") or leaf.get("pre_condition") not in (None, "specific"):
        return None
    wanted = set(_ids(leaf.get("value")))
    for unknown in sorted(wanted - set(known)):
        warnings.append(f"condition {_describe(leaf)}: {what} id {unknown} does not exist in Zammad")
    return wanted & set(known) if operator == "is" else set(known) - wanted


def _priority_leaf(leaf: Mapping[str, Any], terms: PolicyTerms, lookups: Lookups, match: _Match, warnings: list[str]) -> bool:
    allowed = _selected_ids(leaf, lookups.priorities, "priority", warnings)
    if allowed is None:
        return False
    severities: list[str] = []
    for priority_id in sorted(allowed):
        name = lookups.priorities[priority_id]
        severity = terms.priorities.get(name)
        if severity is None:
            warnings.append(f"priority {name!r} is not mapped to a severity by the policy's [priorities]: "
                            "its tickets cannot match this contract")
        elif severity not in severities:
            severities.append(severity)
    allowed_names = {lookups.priorities[p] for p in allowed}
    existing = set(lookups.priorities.values())
    for severity in severities:
        wider = sorted(p for p, s in terms.priorities.items() if s == severity and p not in allowed_names and p in existing)
        if wider:
            warnings.append(f"severity {severity!r} also covers priority {', '.join(map(repr, wider))}, which the Zammad "
                            "condition excludes: the contract matches those tickets too")
    match.add("severity", severities)
    return True


def _group_leaf(leaf: Mapping[str, Any], lookups: Lookups, match: _Match, warnings: list[str]) -> bool:
    allowed = _selected_ids(leaf, lookups.groups, "group", warnings)
    if allowed is None:
        return False
    if leaf.get("operator") == "is not":
        warnings.append(f"condition {_describe(leaf)} was written as the groups that exist today; "
                        "a group created later will not match")
    match.add("group", [lookups.groups[g] for g in sorted(allowed)])
    return True


def _domain_leaf(leaf: Mapping[str, Any], match: _Match, warnings: list[str]) -> bool:
    if leaf.get("operator") not in ("ends with", "ends with one of"):
        return False
    domains = []
    for value in _strings(leaf.get("value")):
        domain = value.lower()
        if domain.startswith("@"):
            domain = domain[1:]
        else:
            domain = domain.lstrip(".")
            warnings.append(f"condition {_describe(leaf)}: {value!r} has no '@', so Zammad also matched sub-domains and "
                            f"longer domain names; imported as the exact domain {domain!r}")
        if not _DOMAIN.fullmatch(domain):
            warnings.append(f"condition {_describe(leaf)}: {value!r} is not an e-mail domain; left out")
            continue
        domains.append(domain)
    if not domains:
        return False
    match.add("customer_domain", domains)
    return True


def _leaf(leaf: Mapping[str, Any], terms: PolicyTerms, lookups: Lookups, match: _Match, warnings: list[str]) -> bool:
    """Add one Zammad condition to `match`; False when it cannot be expressed."""
    name, operator, pre = leaf.get("name"), leaf.get("operator"), leaf.get("pre_condition")
    plain = pre in (None, "specific")
    if name == "ticket.priority_id":
        return _priority_leaf(leaf, terms, lookups, match, warnings)
    if name == "ticket.group_id":
        return _group_leaf(leaf, lookups, match, warnings)
    if name == "ticket.organization_id" and operator == "is" and plain:
        match.add("organization", _ids(leaf.get("value")))
        return True
    if name == "organization.name" and operator == "is" and plain:
        match.add("organization", _strings(leaf.get("value")))
        return True
    if name == "ticket.tags" and plain:
        tags = _strings(leaf.get("value"), split_commas=True)
        # Selector::Sql: "contains all" with a single tag is run as "contains one".
        if operator == "contains one" or (operator == "contains all" and len(tags) == 1):
            match.add("tag", tags)
            return True
        return False
    if name == "customer.email" and plain:
        return _domain_leaf(leaf, match, warnings)
    if name == f"ticket.{terms.kind_attribute}" and operator == "is" and plain:
        match.add("kind", _strings(leaf.get("value")))
        return True
    return False


def _match(condition: Any, terms: PolicyTerms, lookups: Lookups, warnings: list[str]) -> tuple[dict[str, list[Any]], int]:
    """[contracts.match] of a Zammad condition and how many of its conditions were expressed."""
    match = _Match()
    expressed = 0
    for leaf in _leaves(condition if isinstance(condition, Mapping) else {}, warnings):
        if _leaf(leaf, terms, lookups, match, warnings):
            expressed += 1
        else:
            warnings.append(f"condition {_describe(leaf)} cannot be expressed in a contract (supported: priority is/is not, "
                            "group is/is not, organization is, organization.name is, tags contains one, customer e-mail "
                            f"ends with, ticket.{terms.kind_attribute} is): left out, so the contract matches more tickets")
    for key, values in match.keys.items():
        if not values:
            # An empty list would read as "no condition" (every ticket): never write one.
            warnings.append(f"no {key} satisfies every condition on it: the contract can never match; written commented out")
            expressed = 0
    return match.keys, expressed


# ------------------------------------------------------------------ calendars
def _minutes(hhmm: str) -> int:
    return 1440 if hhmm == "24:00" else int(hhmm[:2]) * 60 + int(hhmm[3:])


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


_TIME = re.compile(r"^(\d{2}):(\d{2})$")


def _day_ranges(day: str, meta: Any, warnings: list[str]) -> list[tuple[int, int]]:
    if not isinstance(meta, Mapping) or not meta.get("active") or not meta.get("timeframes"):
        return []
    ranges: list[tuple[int, int]] = []
    for frame in meta["timeframes"]:
        start, end = (list(frame) + [None, None])[:2] if isinstance(frame, (list, tuple)) else (None, None)
        if not start or not end:
            continue
        end = "24:00" if end == "23:59" else end
        if not (_TIME.match(str(start)) and (_TIME.match(str(end)))) or _minutes(str(start)) >= _minutes(str(end)):
            warnings.append(f"{day}: timeframe {start}-{end} is not a valid range; left out")
            continue
        ranges.append((_minutes(str(start)), _minutes(str(end))))
    ranges.sort()
    merged: list[tuple[int, int]] = []
    for start_m, end_m in ranges:
        if merged and start_m <= merged[-1][1]:
            if start_m < merged[-1][1]:
                warnings.append(f"{day}: overlapping timeframes merged into one range")
            merged[-1] = (merged[-1][0], max(merged[-1][1], end_m))
        else:
            merged.append((start_m, end_m))
    return merged


def _calendar(calendar: Mapping[str, Any], warnings: list[str]) -> dict[str, Any] | None:
    """[contracts.calendar] of a Zammad calendar; None when its time zone is unusable."""
    zone = str(calendar.get("timezone") or "")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        warnings.append(f"calendar #{calendar.get('id')} has the time zone {zone!r}, which is not a known IANA zone")
        return None
    hours: dict[str, list[list[str]]] = {}
    business_hours = calendar.get("business_hours") or {}
    for day in DAYS:
        ranges = _day_ranges(day, business_hours.get(day), warnings)
        if ranges:
            hours[day] = [[_hhmm(a), _hhmm(b)] for a, b in ranges]
    closed, skipped = [], []
    for day, meta in sorted((calendar.get("public_holidays") or {}).items()):
        try:
            date = dt.date.fromisoformat(str(day))
        except ValueError:
            warnings.append(f"public holiday {day!r} is not a date; left out")
            continue
        meta = meta if isinstance(meta, Mapping) else {}
        label = f"{date.isoformat()} {meta.get('summary') or ''}".strip()
        if meta.get("active") and not meta.get("removed"):
            closed.append(date.isoformat())
        else:
            skipped.append(label)
    if skipped:
        warnings.append(f"calendar #{calendar.get('id')}: inactive public holidays not imported (Zammad ignores them too): "
                        + "; ".join(skipped))
    if calendar.get("ical_url"):
        listed = ", ".join(closed) if closed else "none"
        warnings.append(f"calendar #{calendar.get('id')}: iCal feed {calendar['ical_url']} not imported: zammad-sla does not "
                        f"read iCal feeds. The active holidays Zammad already holds in public_holidays ARE imported "
                        f"({listed}); dates the feed adds later are not: add them to closed_dates or set holidays_country")
    data: dict[str, Any] = {"timezone": zone, "holidays_country": "", "holidays_subdiv": "", "closed_dates": closed}
    if len(hours) == 7 and all(r == [["00:00", "24:00"]] for r in hours.values()):
        data["coverage"] = "24x7"
    else:
        data["coverage"] = "business"
        data["hours"] = hours
    if not hours:
        warnings.append(f"calendar #{calendar.get('id')} has no active business hours")
        return None
    return data


# ------------------------------------------------------------------ SLAs
def _order(slas: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    # Sla.for_ticket: ORDER BY name, created_at. The database collation decides how names
    # compare; PostgreSQL's usual (en_US) collation ignores case at first, so names are compared
    # case-folded (names differing only in case, possible before Zammad made them unique
    # case-insensitively, then go by creation).
    return sorted(slas, key=lambda s: (str(s.get("name") or "").casefold(), str(s.get("created_at") or ""),
                                       int(s.get("id") or 0)))


def _contract_name(raw: str, taken: set[str], warnings: list[str]) -> str:
    name = " ".join(raw.replace("@", " at ").split()) or "Zammad SLA"
    name = name[:NAME_MAX].rstrip()
    base, number = name, 2
    while name.casefold() in taken:
        suffix = f" ({number})"
        name = base[: NAME_MAX - len(suffix)].rstrip() + suffix
        number += 1
    if name != raw:
        warnings.append(f"contract named {name!r} (contract names are unique, at most {NAME_MAX} characters, no '@')")
    taken.add(name.casefold())
    return name


def _targets(sla: Mapping[str, Any], terms: PolicyTerms, warnings: list[str]) -> dict[str, dict[str, Any]]:
    first, solution = sla.get("first_response_time"), sla.get("solution_time")
    tables: dict[str, dict[str, Any]] = {}
    for severity in dict.fromkeys(terms.priorities.values()):  # each once, in the policy's order
        default_first, default_resolution = terms.targets.get(severity, (math.nan, math.nan))
        tables[severity] = {
            "clock": "business",
            "first_response_minutes": int(first) if first else default_first,
            "resolution_minutes": int(solution) if solution else default_resolution,
        }
    for column, ours in (("first_response_time", "first_response_minutes"), ("solution_time", "resolution_minutes")):
        if not sla.get(column):
            warnings.append(f"{column} is not set in Zammad (no such escalation there); a contract needs {ours}, so "
                            "the policy's own target of each severity was written: review")
    for column in ("update_time", "response_time"):
        if sla.get(column):
            warnings.append(f"{column} = {sla[column]} min not imported: zammad-sla has no update/response target")
    return tables


def translate(slas: Sequence[Mapping[str, Any]], calendars: Sequence[Mapping[str, Any]], terms: PolicyTerms,
              lookups: Lookups = Lookups()) -> ImportResult:
    """Zammad SLAs + calendars -> contracts in Zammad's matching order, with every warning."""
    by_id = {int(c["id"]): c for c in calendars if c.get("id") is not None}
    taken = {n.casefold() for n in terms.taken_names} | {terms.default_contract.casefold()}
    ordered = _order(slas)
    unconditional = [s for s in ordered if not s.get("condition")]
    fallback = unconditional[-1] if unconditional else None
    contracts: list[ImportedContract] = []
    for sla in [s for s in ordered if s.get("condition")] + unconditional:
        warnings: list[str] = []
        sla_id = int(sla.get("id") or 0)
        name = _contract_name(str(sla.get("name") or ""), taken, warnings)
        calendar = by_id.get(int(sla["calendar_id"])) if sla.get("calendar_id") is not None else None
        comments = [f"Zammad SLA #{sla_id} {sla.get('name')!r}"]
        data: dict[str, Any] = {"name": name, "description": f"Imported from Zammad SLA #{sla_id}"}
        enabled = True
        if sla.get("condition"):
            match, expressed = _match(sla["condition"], terms, lookups, warnings)
            if match:
                data["match"] = match
            if not expressed:
                enabled = False
                if all(match.values()):  # else `_match` already said why it can never match
                    warnings.append("none of its conditions can be expressed: the contract would match every ticket, so "
                                    "it is written commented out")
        elif sla is not fallback:
            enabled = False
            warnings.append(f"never applies in Zammad: of the SLAs without conditions only the last by name, "
                            f"{fallback.get('name') if fallback else ''!r}, is used; written commented out")
        else:
            comments.append("no condition: Zammad's fallback SLA, so it matches every ticket no other contract matches")
        if calendar is None:
            warnings.append(f"its calendar #{sla.get('calendar_id')} does not exist, so Zammad computes no escalation "
                            "for it; written commented out")
            enabled = False
        else:
            comments.append(f"calendar: Zammad calendar #{calendar.get('id')} {calendar.get('name')!r}")
            table = _calendar(calendar, warnings)
            if table is None:
                enabled = False
                warnings.append("its calendar cannot be expressed; written commented out")
            else:
                data["calendar"] = table
        data["severities"] = _targets(sla, terms, warnings)
        contracts.append(ImportedContract(sla_id, name, data, comments, warnings, enabled))
    notes: list[str] = []
    if any(s.get("first_response_time") for s in slas):
        notes.append(FIRST_RESPONSE_NOTE)
    if slas:
        notes.append(PAUSE_NOTE)
    return ImportResult(contracts, notes)


# ------------------------------------------------------------------ TOML
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def toml_string(text: str) -> str:
    """A TOML basic string (every control character escaped)."""
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def toml_value(value: Any) -> str:
    """A TOML value for the shapes contracts use: strings, numbers, booleans, (nested) arrays."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"not a finite number: {value!r}")
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as a TOML value")


def _key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else toml_string(key)


def _table_lines(path: str, table: Mapping[str, Any]) -> list[str]:
    lines = [f"{_key(k)} = {toml_value(v)}" for k, v in table.items() if not isinstance(v, Mapping)]
    for key, value in table.items():
        if isinstance(value, Mapping):
            sub = f"{path}.{_key(key)}"
            inner = _table_lines(sub, value)
            # A table holding only sub-tables needs no header of its own (`inner` starts at theirs).
            lines += inner if inner[:1] == [""] else ["", f"[{sub}]", *inner]
    return lines


def contract_toml(contract: ImportedContract) -> str:
    """One `[[contracts]]` block with its comments (commented out entirely when disabled)."""
    lines = ["[[contracts]]", *_table_lines("contracts", contract.data)]
    if not contract.enabled:
        lines = [f"# {line}" if line else "#" for line in lines]
    head = [f"# {c}" for c in contract.comments] + [f"# WARNING: {w}" for w in contract.warnings]
    return "\n".join(head + lines) + "\n"


def render(base_text: str, result: ImportResult, source: str) -> str:
    """`base_text` (a complete policy) with the imported contracts appended."""
    header = [
        "",
        "# " + "-" * 94,
        f"# Contracts imported from Zammad ({source}) by `zammad-sla import-zammad-slas`.",
        "# Review them before use: order is Zammad's (first match wins; no match -> the default contract).",
    ]
    header += [f"# NOTE: {n}" for n in result.notes]
    if not result.contracts:
        header.append("# Zammad has no SLAs: nothing was imported.")
    body = "\n".join(contract_toml(c) for c in result.contracts)
    text = base_text if base_text.endswith("\n") else base_text + "\n"
    return text + "\n".join(header) + "\n\n" + body
