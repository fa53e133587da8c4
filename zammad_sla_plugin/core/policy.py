"""The SLA policy as data: loading and validating the TOML file that says what to enforce.

The default (`default_policy.toml`, shipped in the package) is the Aivo support SLA. An admin
overrides it with `--config FILE` or `ZAMMAD_SLA_CONFIG`. Loading checks everything up front
and reports every problem with its key path in one `PolicyError`, so a typo never surfaces
as a wrong deadline hours later.
"""

from __future__ import annotations

import datetime as dt
import re
import string
import tomllib
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from zammad_sla_plugin.core.calendar import DAY_KEYS, WorkingCalendar
from zammad_sla_plugin.core.contracts import ContractBook, ContractError, validation_problems
from zammad_sla_plugin.core.i18n import N_
from zammad_sla_plugin.core.policy_texts import PolicyTexts, check_locale_keys

ClockName = Literal["business", "24x7"]


class PolicyError(ValueError):
    """The policy file is unreadable or invalid; `problems` lists each one with its key path."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(
            f"invalid SLA policy {source}: "
            + ("; ".join(problems) if len(problems) == 1 else "\n  - " + "\n  - ".join(problems))
        )


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Coverage = Literal["business", "24x7"]


class CalendarConfig(_Strict):
    """The working calendar of the business clock.

    `coverage = "24x7"` makes every instant working time (a contract with round-the-clock
    support); `hours` must then be left out.
    """

    timezone: str
    holidays_country: str = ""
    holidays_subdiv: str = ""
    closed_dates: tuple[dt.date, ...] = ()
    coverage: Coverage = "business"
    hours: dict[str, list[tuple[str, str]]] = {}

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("hours")
    @classmethod
    def _weekday_keys(cls, value: dict[str, list[tuple[str, str]]]) -> dict[str, list[tuple[str, str]]]:
        unknown = sorted(set(value) - set(DAY_KEYS))
        if unknown:
            raise ValueError(f"unknown weekday key(s) {unknown}; use {', '.join(DAY_KEYS)}")
        return value

    @model_validator(mode="after")
    def _hours_fit_coverage(self) -> CalendarConfig:
        if self.coverage == "24x7" and self.hours:
            raise ValueError("hours: not allowed with coverage = '24x7' (every minute counts)")
        if self.coverage == "24x7" and (self.holidays_country or self.closed_dates):
            raise ValueError("holidays and closed_dates do not apply with coverage = '24x7' (every minute counts)")
        if self.coverage == "business" and not any(self.hours.values()):
            raise ValueError("hours: no working hours (give [calendar.hours], or coverage = '24x7')")
        return self

    def build(self) -> WorkingCalendar:
        """The `WorkingCalendar` this configuration describes."""
        if self.coverage == "24x7":
            return WorkingCalendar.always_open(self.timezone)
        return WorkingCalendar(
            timezone=self.timezone,
            hours={day: [tuple(r) for r in ranges] for day, ranges in self.hours.items()},
            holidays_country=self.holidays_country or None,
            holidays_subdiv=self.holidays_subdiv or None,
            closed_dates=self.closed_dates,
        )


class Targets(_Strict):
    """The two targets of one severity, and the clock they are measured on."""

    clock: ClockName
    first_response_minutes: float = Field(gt=0)
    resolution_minutes: float = Field(gt=0)


Activation = Literal["created_outside_hours", "phone_outside_hours"]


class Support24x7(_Strict):
    """The contracted 24x7 Integrations Support rule.

    `activation` says what starts the service: `created_outside_hours` (the ticket was
    created outside working hours) or `phone_outside_hours` (that, and the ticket's first
    article is one of `phone_article_types`: the customer called the on-call guard).
    """

    severities: tuple[str, ...] = ("blocker", "high")
    integration_value: str = "aivo_built"
    only_outside_working_hours: bool = True
    activation: Activation = "created_outside_hours"
    phone_article_types: tuple[str, ...] = ("phone",)
    targets: dict[str, Targets] = {}

    @property
    def requires_phone(self) -> bool:
        """Whether the ticket must have come in by phone."""
        return self.activation == "phone_outside_hours"


class States(_Strict):
    """Zammad ticket state names and what they mean to the resolution clock."""

    pause: tuple[str, ...]
    closed: tuple[str, ...]
    merged: tuple[str, ...]

    @model_validator(mode="after")
    def _disjoint(self) -> States:
        seen: dict[str, str] = {}
        for role in ("pause", "closed", "merged"):
            for name in getattr(self, role):
                if name in seen:
                    raise ValueError(f"state {name!r} is listed in both {seen[name]!r} and {role!r}")
                seen[name] = role
        return self


class Scope(_Strict):
    """Which tickets the SLA does not cover.

    With `exclusion_requires_evidence` an excluded origin only excludes the ticket once
    its evidence attribute is written; until then it counts like any other ticket.
    """

    not_applicable_kinds: tuple[str, ...] = ("feature_request",)
    excluded_origins: tuple[str, ...] = ("customer", "third_party")
    exclusion_requires_evidence: bool = True


PROPOSAL_STATUSES: tuple[str, ...] = ("registered", "under_review", "approved", "declined", "delivered")
# Placeholders the proposal e-mail wording may use.
PROPOSAL_PLACEHOLDERS: tuple[str, ...] = ("ticket_number", "ticket_title", "recipient_name", "status")


def _check_template(value: str) -> str:
    """A wording with only known `{placeholders}` (literal braces doubled: `{{`)."""
    try:
        fields = [(name, spec, conv) for _text, name, spec, conv in string.Formatter().parse(value) if name is not None]
    except ValueError as error:
        raise ValueError(f"{error} (write a literal brace as {{{{ or }}}})") from None
    for name, spec, conversion in fields:
        if name not in PROPOSAL_PLACEHOLDERS or spec or conversion:
            raise ValueError(
                f"unknown placeholder {{{name}{'!' + conversion if conversion else ''}{':' + spec if spec else ''}}}; "
                f"use {', '.join('{' + p + '}' for p in PROPOSAL_PLACEHOLDERS)}"
            )
    return value


class Proposals(_Strict):
    """Feature proposals: who is told, in which words, when a proposal changes status.

    `kinds` are the `sla_kind` values that make a ticket a proposal. A proposal turning
    `approved` always notifies; `declined` and `delivered` only when switched on.
    """

    kinds: tuple[str, ...] = ("feature_request",)
    notify_declined: bool = False
    notify_delivered: bool = False
    # N_: the catalogs translate this built-in wording for readers of other languages.
    approved_subject: str = N_("Your proposal was approved: {ticket_title} [#{ticket_number}]")
    approved_body: str = N_(
        "Hello {recipient_name},\n\n"
        "the feature proposal \"{ticket_title}\" (ticket #{ticket_number}), which you filed or "
        "follow, has been approved. We will keep you informed of its progress in writing.\n\n"
        "Kind regards,\nAivo Support"
    )
    declined_subject: str = N_("Your proposal was declined: {ticket_title} [#{ticket_number}]")
    declined_body: str = N_(
        "Hello {recipient_name},\n\n"
        "the feature proposal \"{ticket_title}\" (ticket #{ticket_number}), which you filed or "
        "follow, has been declined.\n\nKind regards,\nAivo Support"
    )
    delivered_subject: str = N_("Your proposal was delivered: {ticket_title} [#{ticket_number}]")
    delivered_body: str = N_(
        "Hello {recipient_name},\n\n"
        "the feature proposal \"{ticket_title}\" (ticket #{ticket_number}), which you filed or "
        "follow, has been delivered.\n\nKind regards,\nAivo Support"
    )

    @field_validator(
        "approved_subject", "approved_body", "declined_subject", "declined_body", "delivered_subject", "delivered_body"
    )
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        return _check_template(value)

    @field_validator("approved_subject", "declined_subject", "delivered_subject")
    @classmethod
    def _one_line(cls, value: str) -> str:
        if not value.strip() or "\n" in value or "\r" in value:
            raise ValueError("a subject must be one non-empty line")
        return value

    @property
    def notified_statuses(self) -> tuple[str, ...]:
        """The statuses whose arrival e-mails the proposal's people."""
        return ("approved",) + (("declined",) if self.notify_declined else ()) + (
            ("delivered",) if self.notify_delivered else ()
        )

    def wording(self, status: str) -> tuple[str, str]:
        """(subject template, body template) for a notified status."""
        if status not in ("approved", "declined", "delivered"):
            raise KeyError(f"no wording for proposal status {status!r}")
        return getattr(self, f"{status}_subject"), getattr(self, f"{status}_body")


class Attributes(_Strict):
    """Names of the Zammad custom object attributes zammad-sla reads and writes."""

    first_response_due_at: str
    resolution_due_at: str
    status: str
    integration: str
    kind: str
    origin: str
    organization_24x7: str
    origin_evidence: str = "sla_origin_evidence"
    proposal_status: str = "sla_proposal_status"
    contract: str = "sla_contract"  # which contract applies (written only when the policy has contracts)

    @model_validator(mode="after")
    def _valid_names(self) -> Attributes:
        for key, name in self.model_dump().items():
            # Zammad refuses attribute names ending in _id/_ids and anything but [a-z0-9_].
            if not name or not all(c.islower() or c.isdigit() or c == "_" for c in name):
                raise ValueError(f"{key}: {name!r} must be lowercase letters, digits and '_'")
            if name.endswith(("_id", "_ids")):
                raise ValueError(f"{key}: {name!r} must not end in '_id' or '_ids' (Zammad refuses it)")
        return self


class Tags(_Strict):
    """Tags kept in step with the SLA status."""

    at_risk: str
    breached: str
    evidence_missing: str = "sla-evidence-missing"

    @property
    def ours(self) -> tuple[str, ...]:
        """Every tag zammad-sla sets and removes (setup puts them in Zammad's tag list)."""
        return (self.at_risk, self.breached, self.evidence_missing)


class Notifications(_Strict):
    """Who Zammad notifies of zammad-sla's writes.

    Zammad notifies the owner (or the group of an unassigned ticket) of every update whose
    changed attributes the recipient can see (app/models/transaction/notification.rb,
    checks_human_changes.rb); it has no per-request "silent" flag. With `quiet`, the fields
    zammad-sla rewrites routinely (deadlines, status) carry an attribute permission, so only
    holders of `field_permissions` see them and agents are not notified when they move.
    Escalations (the at-risk/breached internal note) notify either way.
    """

    quiet: bool = True
    field_permissions: tuple[str, ...] = ("report",)

    @field_validator("field_permissions")
    @classmethod
    def _permission_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if not re.fullmatch(r"[a-z_]+(\.[a-z_]+)*", name):
                raise ValueError(f"{name!r} is not a Zammad permission name (e.g. 'report', 'admin.ticket')")
        if not value:
            raise ValueError("name at least one permission (nobody could see the SLA fields)")
        return value


class ContractMatch(_Strict):
    """Which tickets a contract covers: every condition given must hold; a list means any of.

    An empty match covers every ticket (a catch-all contract).
    """

    organization: tuple[str | int, ...] = ()  # organization name (case-insensitive) or id
    group: tuple[str, ...] = ()  # Zammad group name, as Zammad writes it ("Parent::Child")
    customer_domain: tuple[str, ...] = ()  # domain of the customer's e-mail address (exact)
    tag: tuple[str, ...] = ()  # the ticket carries any of these tags
    severity: tuple[str, ...] = ()  # the policy severity of the ticket's priority
    kind: tuple[str, ...] = ()  # the ticket's `kind` attribute (sla_kind)

    @field_validator("organization", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, (str, int)) else value

    @field_validator("group", "customer_domain", "tag", "severity", "kind", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("customer_domain")
    @classmethod
    def _domains(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for domain in value:
            if "@" in domain or not re.fullmatch(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+", domain):
                raise ValueError(f"{domain!r} is not an e-mail domain (write 'example.com', without '@')")
        return tuple(domain.lower() for domain in value)

    @property
    def always(self) -> bool:
        """Whether this match covers every ticket."""
        return not any(getattr(self, name) for name in type(self).model_fields)


class ContractTerms(_Strict):
    """The terms a contract (or one of its versions) may set; what it leaves out is inherited."""

    calendar: CalendarConfig | None = None
    warning_threshold: float | None = Field(default=None, gt=0, lt=1)
    pause_states: tuple[str, ...] | None = None
    severities: dict[str, Targets] | None = None


class ContractVersion(ContractTerms):
    """Terms in force for tickets created on or after `effective_from` (a local date)."""

    effective_from: dt.date

    @field_validator("effective_from", mode="before")
    @classmethod
    def _a_date(cls, value: Any) -> Any:
        if isinstance(value, dt.datetime):
            raise ValueError("effective_from must be a date (2026-03-01), not a date and time")
        return value


CONTRACT_NAME = re.compile(r"[^@\s](?:[^@]{0,78}[^@\s])?")


class Contract(ContractTerms):
    """One customer contract: a selector, its own terms, and optional dated versions."""

    name: str
    description: str = ""
    match: ContractMatch = ContractMatch()
    versions: tuple[ContractVersion, ...] = ()

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not CONTRACT_NAME.fullmatch(value):
            raise ValueError(f"contract name {value!r}: 1-80 characters, no '@', no leading or trailing space")
        return value


class Policy(_Strict):
    """A complete, validated SLA policy.

    Its top-level terms are the default contract, named `default_contract`; `contracts` are
    checked in order and the first whose match holds applies (see `core/contracts.py`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, ignored_types=(cached_property,))

    warning_threshold: float = Field(gt=0, lt=1)
    calendar: CalendarConfig
    priorities: dict[str, str]
    severities: dict[str, Targets]
    support_24x7: Support24x7
    states: States
    scope: Scope = Scope()
    proposals: Proposals = Proposals()
    attributes: Attributes
    tags: Tags
    notifications: Notifications = Notifications()
    # The language of notes and select labels (`es`, `pt-BR`); None: Zammad's `locale_default`.
    locale: str | None = None
    # Per-locale variants of the customer-facing wording (core/policy_texts.py).
    texts: dict[str, PolicyTexts] = {}

    @field_validator("texts")
    @classmethod
    def _locale_keys(cls, value: dict[str, PolicyTexts]) -> dict[str, PolicyTexts]:
        return check_locale_keys(value)

    @field_validator("locale")
    @classmethod
    def _known_locale(cls, value: str | None) -> str | None:
        if value is not None:
            check_locale_keys({value: PolicyTexts()})
        return value

    default_contract: str = "default"
    contracts: tuple[Contract, ...] = ()

    @field_validator("default_contract")
    @classmethod
    def _default_name(cls, value: str) -> str:
        return Contract._valid_name(value)

    @model_validator(mode="after")
    def _cross_checks(self) -> Policy:
        problems: list[str] = []
        for priority, severity in self.priorities.items():
            if severity not in self.severities:
                problems.append(f"priorities.{priority!r}: severity {severity!r} has no [severities.{severity}] table")
        for severity in self.support_24x7.severities:
            if severity not in self.severities:
                problems.append(f"support_24x7.severities: unknown severity {severity!r}")
        for severity in self.support_24x7.targets:
            if severity not in self.support_24x7.severities:
                problems.append(
                    f"support_24x7.targets.{severity}: severity is not listed in support_24x7.severities"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @cached_property
    def business_calendar(self) -> WorkingCalendar:
        """The working calendar (built once per policy)."""
        return self.calendar.build()

    @cached_property
    def always_open_calendar(self) -> WorkingCalendar:
        """The 24x7 clock."""
        return WorkingCalendar.always_open()

    @cached_property
    def contract_book(self) -> ContractBook:
        """The contracts compiled for selection (built once per policy; validates them)."""
        return ContractBook(self)

    @property
    def has_contracts(self) -> bool:
        """Whether the policy defines contracts beyond its default one."""
        return bool(self.contracts)

    def calendar_for(self, clock: str) -> WorkingCalendar:
        """The calendar a clock name counts on."""
        return self.always_open_calendar if clock == "24x7" else self.business_calendar

    def severity_for_priority(self, priority_name: str) -> str:
        """Map a Zammad priority name to a severity; KeyError names the unmapped priority."""
        try:
            return self.priorities[priority_name]
        except KeyError:
            raise KeyError(
                f"priority {priority_name!r} is not mapped to a severity by the policy "
                f"(known: {', '.join(sorted(self.priorities))})"
            ) from None


def _where(parts: list[str], data: dict[str, Any], text: str | None) -> tuple[str, list[str]]:
    """('contract 'Gold' (contracts[1], line 57): ', rest of the path) for a contract's key path."""
    if len(parts) < 2 or parts[0] != "contracts" or not parts[1].isdigit():
        return "", parts
    from zammad_sla_plugin.core.toml_lines import contract_line

    index = int(parts[1])
    entries = data.get("contracts")
    entry = entries[index] if isinstance(entries, list) and index < len(entries) else None
    name = entry.get("name") if isinstance(entry, dict) else None
    line = contract_line(text, parts) if text is not None else None
    label = f"contract {name!r}" if isinstance(name, str) else "contract"
    position = f"contracts[{index}]" + (f", line {line}" if line is not None else "")
    return f"{label} ({position}): ", parts[2:]


def _problem(parts: list[str], message: str, data: dict[str, Any], text: str | None) -> str:
    prefix, rest = _where(parts, data, text)
    return f"{prefix}{'.'.join(rest) or '(top level)'}: {message}" if rest or not prefix else f"{prefix}{message}"


def _format_errors(error: ValidationError, data: dict[str, Any] | None = None, text: str | None = None) -> list[str]:
    return [_problem(path.split("."), message, data or {}, text) for path, message in validation_problems(error)]


def policy_from_dict(data: dict[str, Any], source: str = "<dict>", text: str | None = None) -> Policy:
    """Validate a parsed policy document, raising `PolicyError` with every problem.

    `text`, the TOML the document was parsed from, lets problems in `[[contracts]]` name
    their line.
    """
    try:
        policy = Policy.model_validate(data)
    except ValidationError as error:
        raise PolicyError(source, _format_errors(error, data, text)) from None
    try:
        policy.business_calendar  # noqa: B018 - builds the calendar so its own checks run now
    except ValueError as error:
        raise PolicyError(source, [f"calendar: {error}"]) from None
    try:
        policy.contract_book  # noqa: B018 - compiles the contracts so their checks run now
    except ContractError as error:
        raise PolicyError(source, [_problem(path.split("."), message, data, text) for path, message in error.problems]) from None
    return policy


def default_policy_text() -> str:
    """The TOML text of the shipped default policy (the Aivo SLA)."""
    return resources.files("zammad_sla_plugin.core").joinpath("default_policy.toml").read_text("utf-8")


def load_policy(path: str | Path | None = None) -> Policy:
    """Load the policy from `path`, or the shipped default when `path` is None."""
    if path is None:
        source, text = "(built-in default)", default_policy_text()
    else:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as error:
            raise PolicyError(source, [f"cannot read file: {error.strerror or error}"]) from None
        except UnicodeDecodeError as error:
            raise PolicyError(source, [f"not UTF-8 text (byte {error.start}); save the file as UTF-8"]) from None
    return policy_from_text(text, source)


def policy_from_text(text: str, source: str = "<text>") -> Policy:
    """Parse and validate a policy's TOML text, raising `PolicyError` with every problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise PolicyError(source, [f"not valid TOML: {error}"]) from None
    except RecursionError:
        raise PolicyError(source, ["not valid TOML: arrays or tables nested too deeply"]) from None
    try:
        return policy_from_dict(data, source, text)
    except RecursionError:
        raise PolicyError(source, ["values nested too deeply"]) from None
