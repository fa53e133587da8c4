"""Idempotent provisioning of everything `zammad-sla setup` creates in Zammad.

`plan_setup` reads Zammad's current state and compares it with what zammad-sla needs
(object attributes, the blocker priority, the webhook, the trigger, the agent overviews
and a core workflow that shows the computed SLA fields read-only). It returns a `Plan`:
one `Change` per object, each either "ok" (nothing to do), "create", "update",
"conflict" (needs a human) or "skip" (not supported by this Zammad). `apply_plan` runs
the changes in dependency order. `plan_uninstall` / `apply_plan` remove it again.

Our objects are found again by name: the webhook, trigger and core workflow carry the
`PREFIX`; the overviews use the exact agent-facing names ("SLA at risk", ...); a created
priority carries `OWNED_NOTE` so uninstall removes only a priority we created. Only the
keys zammad-sla sets are compared, so columns Zammad adds (ids, timestamps, defaults)
never count as drift and admin choices such as an attribute's position are left alone.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from zammad_sla_plugin.core.clock import STATUSES
from zammad_sla_plugin.core.i18n import N_, language
from zammad_sla_plugin.core.policy import Policy
from zammad_sla_plugin.runtime.locale import effective_locale
from zammad_sla_plugin.admin.required_fields import ALWAYS_LIFTED, mandatory_ticket_fields
from zammad_sla_plugin.zammad import ZammadClient, ZammadError

PREFIX = "zammad-sla: "
WEBHOOK_NAME = PREFIX + "SLA sidecar"
TRIGGER_NAME = PREFIX + "notify SLA sidecar"
WORKFLOW_NAME = PREFIX + "SLA fields read-only"
LIFT_WORKFLOW_NAME = PREFIX + "SLA writes skip mandatory fields"
EVIDENCE_WORKFLOW_NAME = PREFIX + "SLA origin needs evidence"
WORKFLOW_NAMES: tuple[str, ...] = (WORKFLOW_NAME, EVIDENCE_WORKFLOW_NAME, LIFT_WORKFLOW_NAME)
# Core workflows run in ascending priority and later results win: ours runs last.
LIFT_WORKFLOW_PRIORITY = 99_999
FINGERPRINT_LABEL = "Signature fingerprint: "
PROGRESS_EVERY = 5.0  # seconds between progress lines while waiting for Zammad
OWNED_NOTE = "Created by zammad-sla setup; removed by zammad-sla uninstall."
WEBHOOK_PATH = "/webhooks/zammad"
OVERVIEW_AT_RISK = "SLA at risk"
OVERVIEW_BREACHED = "SLA breached"
OVERVIEW_PAUSED = "SLA paused"
OVERVIEW_PROPOSALS = "Feature proposals"
OVERVIEW_NAMES: tuple[str, ...] = (OVERVIEW_AT_RISK, OVERVIEW_BREACHED, OVERVIEW_PAUSED, OVERVIEW_PROPOSALS)
AGENT_ROLE = "Agent"

STATUS_LABELS: dict[str, str] = {
    "on_track": N_("On track"), "at_risk": N_("At risk"), "breached": N_("Breached"), "paused": N_("Paused"),
    "met": N_("Met"), "not_applicable": N_("Not applicable"), "excluded": N_("Excluded"),
}  # fmt: skip
INTEGRATION_LABELS: dict[str, str] = {"aivo_built": N_("Aivo built"), "self_service": N_("Self service")}
KIND_LABELS: dict[str, str] = {"incident": N_("Incident"), "feature_request": N_("Feature request")}
ORIGIN_LABELS: dict[str, str] = {"aivo": "Aivo", "customer": N_("Customer"), "third_party": N_("Third party")}
PROPOSAL_LABELS: dict[str, str] = {
    "registered": N_("Registered"), "under_review": N_("Under review"), "approved": N_("Approved"),
    "declined": N_("Declined"), "delivered": N_("Delivered"),
}  # fmt: skip
EVIDENCE_MAXLENGTH = 5000
PENDING_FLAGS: tuple[str, ...] = ("to_create", "to_migrate", "to_config", "to_delete")

Action = Literal["ok", "create", "update", "delete", "conflict", "skip", "run"]
Echo = Callable[[str], None]


class ProvisionError(Exception):
    """Provisioning cannot go on (e.g. Zammad did not come back after migrations)."""


@dataclass
class ApplyContext:
    """State shared by the changes while a plan is applied (ids of created objects)."""

    client: ZammadClient
    echo: Echo
    migration_timeout: float = 300.0
    poll_interval: float = 2.0
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    webhook_id: int | None = None
    # A retry-less "does Zammad answer?" probe; None skips waiting for the restart.
    alive: Callable[[], bool] | None = None
    restart_grace: float = 30.0
    manual_restart_needed: bool = False


@dataclass
class Change:
    """One object and what has to happen to it."""

    action: Action
    kind: str
    name: str
    details: list[str] = field(default_factory=list)
    run: Callable[[ApplyContext], None] | None = field(default=None, repr=False)

    def describe(self) -> str:
        """One human line, e.g. `update  webhook "zammad-sla: SLA sidecar" (endpoint)`."""
        line = f"{self.action:<8} {self.kind} {self.name!r}"
        return f"{line} ({'; '.join(self.details)})" if self.details else line


@dataclass
class Plan:
    """The changes one setup/uninstall run needs, in the order they are applied."""

    changes: list[Change]
    language: str | None = None  # setup: the locale notes and select labels use, and where it came from

    @property
    def pending(self) -> list[Change]:
        """Changes that would modify Zammad."""
        return [c for c in self.changes if c.action in ("create", "update", "delete", "run")]

    @property
    def conflicts(self) -> list[Change]:
        """Changes a human must resolve."""
        return [c for c in self.changes if c.action == "conflict"]


# -- desired state ----------------------------------------------------------------------


def webhook_endpoint(public_url: str) -> str:
    """The receiver endpoint for a public base URL (an URL already ending in it is kept)."""
    base = public_url.strip().rstrip("/")
    return base if base.endswith(WEBHOOK_PATH) else base + WEBHOOK_PATH


def _options(labels: Mapping[str, str], extra: tuple[str, ...] | list[str] = ()) -> dict[str, str]:
    options = dict(labels)
    for value in extra:  # values a custom policy uses must be selectable too
        options.setdefault(value, value.replace("_", " ").capitalize())
    return options


def _agent_screens(*, on_create: bool) -> dict[str, Any]:
    # Agents see the field on the ticket; customers never do. Never `required`: a required
    # empty field makes every API update of the ticket fail.
    edit = {"ticket.agent": {"shown": True, "required": False}, "ticket.customer": {"shown": False, "required": False}}
    screens: dict[str, Any] = {"edit": edit}
    screens["create_middle"] = {
        "ticket.agent": {"shown": on_create, "required": False, "item_class": "column"},
        "ticket.customer": {"shown": False, "required": False, "item_class": "column"},
    }
    return screens


def desired_attributes(policy: Policy) -> list[dict[str, Any]]:
    """The object manager attributes zammad-sla reads and writes (names from the policy)."""
    names = policy.attributes
    locale = policy.locale  # plan_setup and doctor set the effective one (policy's, else Zammad's locale_default)
    # Quiet: only holders of these permissions see (and so are notified of) the fields we
    # rewrite routinely (ObjectManager::Element::Backend#visible?, checks_human_changes.rb).
    # Not quiet: an empty permission list (visible to all) also clears a previous quiet setup.
    quiet = {"permission": list(policy.notifications.field_permissions) if policy.notifications.quiet else []}
    deadline_option = {"future": True, "past": True, "diff": None, "null": True, **quiet}
    computed = _agent_screens(on_create=False)  # written by zammad-sla only
    editable = _agent_screens(on_create=True)  # set by agents

    def select(labels: dict[str, str], extra: dict[str, Any] | None = None) -> dict[str, Any]:
        labels = {value: language(locale).gettext(label) for value, label in labels.items()}  # display names translated
        return {"options": labels, "default": "", "null": True, "nulloption": True, "translate": True, **(extra or {})}

    org_screens = {
        screen: {"ticket.agent": {"shown": True, "required": False}, "admin.organization": {"shown": True, "required": False}}
        for screen in ("view", "create", "edit")
    }
    integrations = [policy.support_24x7.integration_value]
    contract = []
    if policy.has_contracts:  # an installation without contracts gets no new field
        contracts = {name: name for name in policy.contract_book.names}
        contract = [_attribute("Ticket", names.contract, "SLA contract", "select",
                               select(contracts, {**quiet, "translate": False}), computed, 1625)]  # fmt: skip
    return contract + [
        _attribute("Ticket", names.first_response_due_at, "SLA first response due", "datetime", deadline_option, computed, 1600),
        _attribute("Ticket", names.resolution_due_at, "SLA resolution due", "datetime", deadline_option, computed, 1610),
        _attribute("Ticket", names.status, "SLA status", "select", select(_options(STATUS_LABELS, list(STATUSES)), quiet), computed, 1620),
        _attribute("Ticket", names.integration, "SLA integration", "select", select(_options(INTEGRATION_LABELS, integrations)), editable, 1630),
        _attribute("Ticket", names.kind, "SLA kind", "select", select(_options(KIND_LABELS, policy.scope.not_applicable_kinds)), editable, 1640),
        _attribute("Ticket", names.origin, "SLA origin", "select", select(_options(ORIGIN_LABELS, policy.scope.excluded_origins)), editable, 1650),
        _attribute("Ticket", names.origin_evidence, "SLA origin evidence", "textarea",
                   {"type": "textarea", "maxlength": EVIDENCE_MAXLENGTH, "rows": 4, "default": "", "null": True}, editable, 1655),
        _attribute("Ticket", names.proposal_status, "SLA proposal status", "select", select(dict(PROPOSAL_LABELS)), editable, 1660),
        _attribute(
            "Organization", names.organization_24x7, "SLA 24x7 integrations support", "boolean",
            {"options": {"true": "yes", "false": "no"}, "default": False, "null": True}, org_screens, 1700,
        ),
    ]  # fmt: skip


def _attribute(
    obj: str, name: str, display: str, data_type: str, option: dict[str, Any], screens: dict[str, Any], position: int
) -> dict[str, Any]:
    return {
        "object": obj, "name": name, "display": display, "data_type": data_type, "data_option": option,
        "screens": screens, "active": True, "position": position,
    }  # fmt: skip


def readonly_fields(policy: Policy) -> list[str]:
    """Ticket fields only zammad-sla writes (shown read-only to agents)."""
    names = policy.attributes
    return [names.first_response_due_at, names.resolution_due_at, names.status] + ([names.contract] if policy.has_contracts else [])


def secret_fingerprint(secret: str) -> str:
    """A short keyed digest of the signature secret: shows which secret is set, reveals nothing."""
    return hmac.new(secret.encode(), b"zammad-sla webhook signature fingerprint", hashlib.sha256).hexdigest()[:16]


def desired_webhook(endpoint: str, secret: str) -> dict[str, Any]:
    """The webhook Zammad calls: the default payload, signed with the shared secret.

    Zammad answers "**********" for the token on every read (app/models/webhook.rb
    SENSITIVE_FIELDS), so the note carries the secret's fingerprint for setup and doctor.
    """
    note = f"{OWNED_NOTE} {FINGERPRINT_LABEL}{secret_fingerprint(secret)}"
    return {
        "name": WEBHOOK_NAME, "endpoint": endpoint, "signature_token": secret, "http_method": "post",
        "ssl_verify": True, "customized_payload": False, "active": True, "note": note,
    }  # fmt: skip


def secret_matches(webhook: Mapping[str, Any], secret: str) -> bool | None:
    """Whether the webhook signs with `secret`: compared directly where Zammad shows the
    token, else through the fingerprint setup left in the note. None: cannot tell."""
    token = webhook.get("signature_token")
    if isinstance(token, str) and token and set(token) != {"*"}:
        return hmac.compare_digest(token.encode(), secret.encode())
    found = re.search(re.escape(FINGERPRINT_LABEL) + r"([0-9a-f]{16})", str(webhook.get("note") or ""))
    if found is None:
        return None
    return hmac.compare_digest(found.group(1), secret_fingerprint(secret))


def trigger_condition(api_user_id: int) -> dict[str, Any]:
    """Fire on every ticket create/update except those made by our own API user (no loop).

    An action trigger runs on every create and update transaction, so no `ticket.action`
    condition is needed; the `updated_by_id` guard stops webhook -> API -> webhook loops.
    """
    return {"ticket.updated_by_id": {"operator": "is not", "pre_condition": "specific", "value": [str(api_user_id)]}}


def desired_trigger(webhook_id: int | str, api_user_id: int) -> dict[str, Any]:
    """The action trigger that calls our webhook."""
    return {
        "name": TRIGGER_NAME, "activator": "action", "execution_condition_mode": "always",
        "condition": trigger_condition(api_user_id),
        "perform": {"notification.webhook": {"webhook_id": str(webhook_id)}},
        "disable_notification": True, "active": True, "note": OWNED_NOTE,
    }  # fmt: skip


def desired_overviews(policy: Policy, role_ids: list[int]) -> list[dict[str, Any]]:
    """The agent overviews, each ordered so the nearest deadline comes first."""
    names = policy.attributes
    columns = ["number", "title", "customer", "group", "owner", "priority", names.status,
               names.first_response_due_at, names.resolution_due_at]  # fmt: skip
    view = {"d": columns, "s": columns, "m": columns, "view_mode_default": "s"}
    result = []
    for prio, (title, status, order_by) in enumerate(
        (
            (OVERVIEW_AT_RISK, "at_risk", names.resolution_due_at),
            (OVERVIEW_BREACHED, "breached", names.resolution_due_at),
            (OVERVIEW_PAUSED, "paused", names.resolution_due_at),
        )
    ):
        result.append({
            "name": title, "link": title.lower().replace(" ", "_"), "prio": 2100 + prio,
            "condition": {f"ticket.{names.status}": {"operator": "is", "value": [status]}},
            "order": {"by": order_by, "direction": "ASC"}, "view": view, "role_ids": sorted(role_ids),
            "user_ids": [], "organization_shared": False, "out_of_office": False, "active": True,
        })  # fmt: skip
    result.append(desired_proposals_overview(policy, role_ids))
    return result


def desired_proposals_overview(policy: Policy, role_ids: list[int]) -> dict[str, Any]:
    """Every feature proposal, grouped by its proposal status, newest first."""
    names = policy.attributes
    columns = ["number", "title", "customer", "organization", names.proposal_status, "state", "created_at"]
    return {
        "name": OVERVIEW_PROPOSALS, "link": "feature_proposals", "prio": 2110,
        "condition": {f"ticket.{names.kind}": {"operator": "is", "value": list(policy.proposals.kinds)}},
        "order": {"by": "created_at", "direction": "DESC"}, "group_by": names.proposal_status,
        "group_direction": "ASC", "view": {"d": columns, "s": columns, "m": columns, "view_mode_default": "s"},
        "role_ids": sorted(role_ids), "user_ids": [], "organization_shared": False, "out_of_office": False,
        "active": True,
    }  # fmt: skip


def desired_workflow(policy: Policy) -> dict[str, Any]:
    """A core workflow marking the computed SLA fields read-only on the agent's ticket forms."""
    perform = {f"ticket.{name}": {"operator": "set_readonly", "set_readonly": "true"} for name in readonly_fields(policy)}
    return {
        "name": WORKFLOW_NAME, "object": "Ticket", "preferences": {"screen": ["create_middle", "edit"]},
        "condition_saved": {}, "condition_selected": {}, "perform": perform, "active": True,
        "stop_after_match": False, "changeable": True, "priority": 500,
    }  # fmt: skip


def desired_evidence_workflow(policy: Policy) -> dict[str, Any]:
    """A core workflow making the origin evidence mandatory on the agent's forms while the
    selected origin is an excluded one (inactive when the policy excludes without evidence).

    It applies to Zammad's UI forms (and API writes, which run the same check); the lift
    workflow keeps it from blocking the sidecar's own writes.
    """
    names = policy.attributes
    return {
        "name": EVIDENCE_WORKFLOW_NAME, "object": "Ticket", "preferences": {"screen": ["create_middle", "edit"]},
        "condition_saved": {},
        "condition_selected": {f"ticket.{names.origin}": {"operator": "is", "value": list(policy.scope.excluded_origins)}},
        "perform": {f"ticket.{names.origin_evidence}": {"operator": "set_mandatory", "set_mandatory": "true"}},
        "active": policy.scope.exclusion_requires_evidence, "stop_after_match": False, "changeable": True,
        "priority": 510,
    }  # fmt: skip


def desired_lift_workflow(policy: Policy, api_user_id: int, mandatory: list[str]) -> dict[str, Any]:
    """A core workflow that makes every mandatory ticket field optional for our API user only.

    Our PUTs run Zammad's mandatory-field check on the edit screen for the whole ticket
    (checks_core_workflow.rb); without this, one empty field an admin made mandatory blocks
    every SLA write. Agents keep their mandatory fields: the condition is `session.id`.
    """
    # The evidence our own workflow makes mandatory must never block our writes either.
    fields = sorted(set(mandatory) | set(ALWAYS_LIFTED) | set(readonly_fields(policy)) | {policy.attributes.origin_evidence})
    return {
        "name": LIFT_WORKFLOW_NAME, "object": "Ticket", "preferences": {"screen": ["edit"]},
        "condition_saved": {},
        "condition_selected": {"session.id": {"operator": "is", "value": [str(api_user_id)]}},
        "perform": {f"ticket.{name}": {"operator": "set_optional", "set_optional": "true"} for name in fields},
        "active": True, "stop_after_match": False, "changeable": True, "priority": LIFT_WORKFLOW_PRIORITY,
    }  # fmt: skip


# -- comparison -------------------------------------------------------------------------


def normalize_condition(condition: Any) -> list[tuple[str, str, str, tuple[str, ...]]]:
    """A comparable form of a Zammad selector (classic flat hash or expert-mode tree)."""
    if not isinstance(condition, Mapping) or not condition:
        return []
    leaves: list[tuple[str, str, str, tuple[str, ...]]] = []
    if isinstance(condition.get("conditions"), list):
        operator = str(condition.get("operator", "AND")).upper()
        for item in condition["conditions"]:
            if not isinstance(item, Mapping):
                continue
            if "conditions" in item:
                leaves.extend((f"{operator}/{a}", b, c, d) for a, b, c, d in normalize_condition(item))
            else:
                leaves.append(_leaf(str(item.get("name")), item))
        return sorted(leaves)
    return sorted(_leaf(str(name), spec) for name, spec in condition.items() if isinstance(spec, Mapping))


def _leaf(name: str, spec: Mapping[str, Any]) -> tuple[str, str, str, tuple[str, ...]]:
    value = spec.get("value")
    values = value if isinstance(value, list) else ([] if value is None else [value])
    return (name, str(spec.get("operator", "")), str(spec.get("pre_condition") or ""), tuple(sorted(str(v) for v in values)))


def _subset_diff(want: Any, have: Any) -> bool:
    """True when `have` lacks or differs in anything `want` sets (dicts compared key by key)."""
    if isinstance(want, Mapping):
        if not isinstance(have, Mapping):
            return True
        return any(_subset_diff(value, have.get(key)) for key, value in want.items())
    if isinstance(want, bool) or isinstance(have, bool):
        return type(want) is not type(have) or want != have  # True must not equal 1
    if isinstance(want, (int, float)) and isinstance(have, str):
        return str(want) != have
    return want != have


def _effective_option(existing: Mapping[str, Any]) -> Mapping[str, Any]:
    # A changed data_option waits in data_option_new until migrations run.
    pending = existing.get("data_option_new")
    if existing.get("to_config") and isinstance(pending, Mapping) and pending:
        return pending
    return existing.get("data_option") or {}


def attribute_drift(want: Mapping[str, Any], have: Mapping[str, Any]) -> list[str]:
    """Names of the attribute properties that differ (position is the admin's choice)."""
    drift = [key for key in ("display", "active") if want[key] != have.get(key)]
    if _subset_diff(want["data_option"], _effective_option(have)):
        drift.append("data_option")
    if _subset_diff(want["screens"], have.get("screens") or {}):
        drift.append("screens")
    return drift


def _pending_migration(attribute: Mapping[str, Any]) -> bool:
    return any(bool(attribute.get(flag)) for flag in PENDING_FLAGS)


def _by_name(rows: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    return next((row for row in rows if row.get("name") == name), None)


def _find_attribute(rows: list[dict[str, Any]], obj: str, name: str) -> dict[str, Any] | None:
    return next((row for row in rows if row.get("object") == obj and row.get("name") == name), None)


# -- reading Zammad ---------------------------------------------------------------------


def agent_role_ids(client: ZammadClient, overviews: list[dict[str, Any]] | None = None) -> list[int]:
    """Ids of the role(s) named "Agent".

    GET /api/v1/roles needs admin.role, which would let the token grant itself anything, so
    it is not asked for. Without it: the roles of Zammad's own agent overview "My Assigned
    Tickets" (link `my_assigned`), else the API user's own roles.
    """
    try:
        roles = client.request("GET", "roles") or []
    except ZammadError as error:
        if error.status not in (401, 403, 404):
            raise
        roles = None
    if isinstance(roles, list):
        ids = [int(r["id"]) for r in roles if isinstance(r, dict) and r.get("name") == AGENT_ROLE and r.get("active", True)]
        if ids:
            return ids
    builtin = next((o for o in overviews or [] if o.get("link") == "my_assigned" and o.get("role_ids")), None)
    if builtin is not None:
        return sorted(int(r) for r in builtin["role_ids"])
    return sorted(int(r) for r in client.me().get("role_ids") or [])


def _core_workflows(reader: ZammadReader) -> tuple[list[dict[str, Any]] | None, str]:
    """(all core workflows, "") or (None, why there are none to manage).

    Before Zammad 5.0 the endpoint does not exist (404): no workflows, and no mandatory
    checks on API writes either. A missing admin.core_workflow is recorded by the reader.
    """
    try:
        rows = reader.rows("core_workflows", "admin.core_workflow")
    except ZammadError as error:
        if error.not_found:
            return None, "this Zammad has no core workflows (GET /api/v1/core_workflows is 404)"
        raise
    return rows, "" if rows is not None else "the token lacks admin.core_workflow"


# -- permissions -------------------------------------------------------------------------

# Every permission the token's user needs, and what for. Zammad checks each controller's
# policy (app/policies/controllers/*_controller_policy.rb) before anything else.
REQUIRED_PERMISSIONS: dict[str, str] = {
    "ticket.agent": "read and update tickets, tags and notes, read links, subscriptions and users, and send "
                    "proposal e-mails (with group access to every SLA group)",
    "admin.object": "create the SLA attributes and run the migrations",
    "admin.ticket_priority": "create the priorities the policy maps (e.g. 4 blocker)",
    "admin.webhook": "manage the webhook",
    "admin.trigger": "manage the trigger",
    "admin.overview": "manage the SLA overviews",
    "admin.core_workflow": "manage the read-only and mandatory-field workflows",
    "admin.tag": "add the SLA tags to the tag list (tags/add refuses new tags while tag_new is off)",
}


class MissingPermissions(ProvisionError):
    """The token cannot do everything setup needs; nothing was changed."""

    def __init__(self, missing: list[str]) -> None:
        self.missing = missing
        lines = "\n".join(f"  - {item}" for item in missing)
        super().__init__(
            "the token's user lacks permissions; nothing was changed in Zammad:\n" + lines +
            "\ngrant them to a role of the token's user and to the token itself (Profile > Token Access), then run setup again"
        )  # fmt: skip


def _missing(permission: str) -> str:
    return f"{permission}: needed to {REQUIRED_PERMISSIONS[permission]}"


class ZammadReader:
    """Reads what planning needs, once; a 401/403 is recorded as a missing permission.

    Collecting instead of raising lets one preflight name every missing permission at once.
    """

    def __init__(self, client: ZammadClient) -> None:
        self.client = client
        self.missing: list[str] = []
        self._cache: dict[str, list[dict[str, Any]] | None] = {}

    def _denied(self, error: ZammadError, permission: str) -> bool:
        if error.status not in (401, 403):
            return False
        if _missing(permission) not in self.missing:
            self.missing.append(_missing(permission))
        return True

    def rows(self, path: str, permission: str) -> list[dict[str, Any]] | None:
        """GET a list endpoint; None when the permission is missing (recorded)."""
        if path not in self._cache:
            try:
                self._cache[path] = list(self.client.request("GET", path) or [])
            except ZammadError as error:
                if not self._denied(error, permission):
                    raise
                self._cache[path] = None
        return self._cache[path]

    def probe_write(self, path: str, permission: str) -> None:
        """Check a write permission without writing: PUT to an id that cannot exist.

        Controllers authorize before they look the record up (`prepend_before_action
        { authorize! }`), so this answers 403 without the permission and 404 with it.
        """
        try:
            self.client.request("PUT", f"{path}/0", json={}, idempotent=True)
        except ZammadError as error:
            if error.not_found or self._denied(error, permission):
                return
            raise


# -- setup ------------------------------------------------------------------------------


def plan_setup(client: ZammadClient, policy: Policy, *, webhook_url: str, secret: str) -> Plan:
    """Compare Zammad with what zammad-sla needs; nothing is written.

    Raises `MissingPermissions` listing every permission the token lacks for this plan.
    """
    reader = ZammadReader(client)
    api_user_id = int(client.me()["id"])
    in_use = effective_locale(policy, client)
    policy = policy.model_copy(update={"locale": in_use.locale})  # select labels in the effective locale
    attributes = reader.rows("object_manager_attributes", "admin.object")
    workflows, why_not = _core_workflows(reader)
    changes = plan_attributes(attributes or [], policy)
    changes += plan_priorities(reader, policy)
    changes += plan_tags(reader, policy)
    webhook_changes, webhook_id = plan_webhook(reader, webhook_endpoint(webhook_url), secret)
    changes += webhook_changes
    changes += plan_trigger(reader, webhook_id, api_user_id)
    changes += plan_overviews(reader, client, policy)
    changes += plan_workflows(workflows, why_not, attributes or [], policy, api_user_id)
    if reader.missing:
        raise MissingPermissions(reader.missing)
    return Plan(changes, in_use.describe())


def plan_attributes(attributes: list[dict[str, Any]], policy: Policy) -> list[Change]:
    """Attributes to create or update, then one migration run if any needs it."""
    changes: list[Change] = []
    needs_migration = False
    for want in desired_attributes(policy):
        have = _find_attribute(attributes, want["object"], want["name"])
        label = f"{want['object']}.{want['name']}"
        if have is None:
            changes.append(Change("create", "attribute", label, [want["data_type"]], _create_attribute(want)))
            needs_migration = True
            continue
        if have.get("data_type") != want["data_type"]:
            changes.append(Change("conflict", "attribute", label, [
                f"is {have.get('data_type')}, needs {want['data_type']}; Zammad cannot change a data type: "
                "delete the attribute in Admin > Objects (or `zammad-sla uninstall --drop-attributes`) and rerun setup"
            ]))  # fmt: skip
            continue
        drift = attribute_drift(want, have)
        if want["name"] == policy.attributes.contract and "data_option" not in drift:
            # The contract options follow the policy exactly: a contract removed from it goes too.
            have_options = _effective_option(have).get("options") or {}
            if set(have_options) != set(want["data_option"]["options"]):
                drift.append("data_option")
        if drift:
            changes.append(Change("update", "attribute", label, drift, _update_attribute(want)))
            needs_migration = True
        else:
            changes.append(Change("ok", "attribute", label))
        needs_migration = needs_migration or _pending_migration(have)
    if needs_migration:
        changes.append(Change("run", "migrations", "object manager", ["Zammad restarts to apply them"], _run_migrations))
    return changes


def plan_priorities(reader: ZammadReader, policy: Policy) -> list[Change]:
    """Every priority the policy maps must exist (a custom one such as "4 blocker" is created)."""
    priorities = reader.rows("ticket_priorities", "ticket.agent") or []
    changes: list[Change] = []
    for name, severity in policy.priorities.items():
        if _by_name(priorities, name) is None:
            changes.append(Change("create", "priority", name, [f"mapped to {severity}"], _create_priority(name)))
        else:
            changes.append(Change("ok", "priority", name))
    if any(c.action == "create" for c in changes):
        reader.probe_write("ticket_priorities", "admin.ticket_priority")
    return changes


def plan_tags(reader: ZammadReader, policy: Policy) -> list[Change]:
    """Our tags must be in Zammad's tag list, so tags/add works even with `tag_new` off."""
    tag_list = reader.rows("tag_list", "admin.tag") or []
    changes = []
    for tag in policy.tags.ours:
        if _by_name(tag_list, tag) is None:
            changes.append(Change("create", "tag", tag, ["in the tag list"], _create_tag(tag)))
        else:
            changes.append(Change("ok", "tag", tag))
    return changes


def plan_webhook(reader: ZammadReader, endpoint: str, secret: str) -> tuple[list[Change], int | None]:
    """The webhook, compared without ever reading the secret back (Zammad masks it)."""
    want = desired_webhook(endpoint, secret)
    have = _by_name(reader.rows("webhooks", "admin.webhook") or [], WEBHOOK_NAME)
    if have is None:
        return [Change("create", "webhook", WEBHOOK_NAME, [endpoint], _create_webhook(want))], None
    webhook_id = int(have["id"])
    drift: list[str] = [key for key in ("endpoint", "http_method", "active", "customized_payload", "ssl_verify")
                        if key in have and have[key] != want[key]]  # fmt: skip
    if not secret_matches(have, secret):
        drift.append("signature_token")  # never print the secret itself, only that it differs
    elif have.get("note") != want["note"]:
        drift.append("note")  # e.g. no fingerprint recorded yet on a Zammad that shows the token
    if drift:
        return [Change("update", "webhook", WEBHOOK_NAME, drift, _update_webhook(webhook_id, want))], webhook_id
    return [Change("ok", "webhook", WEBHOOK_NAME, [], _remember_webhook(webhook_id))], webhook_id


def plan_trigger(reader: ZammadReader, webhook_id: int | None, api_user_id: int) -> list[Change]:
    """The action trigger calling our webhook for every change not made by our own user."""
    have = _by_name(reader.rows("triggers", "admin.trigger") or [], TRIGGER_NAME)
    if have is None:
        return [Change("create", "trigger", TRIGGER_NAME, [f"excluding updates by user {api_user_id}"],
                       _create_trigger(api_user_id))]  # fmt: skip
    want = desired_trigger(webhook_id if webhook_id is not None else "(new)", api_user_id)
    drift = trigger_drift(want, have)
    return [Change("update" if drift else "ok", "trigger", TRIGGER_NAME, drift,
                   _update_trigger(int(have["id"]), api_user_id) if drift else None)]  # fmt: skip


def plan_overviews(reader: ZammadReader, client: ZammadClient, policy: Policy) -> list[Change]:
    """The agent overviews (three SLA lists and the feature proposals)."""
    overviews = reader.rows("overviews", "admin.overview")
    if overviews is None:
        return []
    changes: list[Change] = []
    for want in desired_overviews(policy, agent_role_ids(client, overviews)):
        have = _by_name(overviews, want["name"])
        if have is None:
            changes.append(Change("create", "overview", want["name"], [f"order by {want['order']['by']}"],
                                  _create_overview(want)))  # fmt: skip
            continue
        drift = overview_drift(want, have)
        changes.append(Change("update" if drift else "ok", "overview", want["name"], drift,
                              _update_overview(int(have["id"]), want) if drift else None))  # fmt: skip
    return changes


def plan_workflows(
    workflows: list[dict[str, Any]] | None, why_not: str, attributes: list[dict[str, Any]], policy: Policy, api_user_id: int
) -> list[Change]:
    """The read-only display workflow and the workflow that lifts mandatory fields for our writes."""
    if workflows is None:
        return [Change("skip", "core workflow", name, [f"{why_not}; {consequence}"]) for name, consequence in (
            (WORKFLOW_NAME, "SLA fields stay editable"),
            (EVIDENCE_WORKFLOW_NAME, "the origin evidence is not enforced in the UI (the sla-evidence-missing tag still is)"),
            (LIFT_WORKFLOW_NAME, "no mandatory fields can block our writes on such a Zammad"),
        )]  # fmt: skip
    wanted = [
        (desired_workflow(policy), "read-only: " + ", ".join(readonly_fields(policy))),
        (desired_evidence_workflow(policy), f"{policy.attributes.origin_evidence} mandatory while "
         f"{policy.attributes.origin} is {' or '.join(policy.scope.excluded_origins)}"),
        (desired_lift_workflow(policy, api_user_id, mandatory_ticket_fields(attributes, workflows, ignore_workflow=LIFT_WORKFLOW_NAME)),
         f"optional for user {api_user_id}"),
    ]  # fmt: skip
    changes = []
    for want, summary in wanted:
        have = _by_name(workflows, want["name"])
        if have is None:
            changes.append(Change("create", "core workflow", want["name"], [summary], _create_workflow(want)))
            continue
        drift = [key for key in ("object", "preferences", "perform", "active", "condition_selected", "priority")
                 if _subset_diff(want[key], have.get(key))]  # fmt: skip
        changes.append(Change("update" if drift else "ok", "core workflow", want["name"], drift,
                              _update_workflow(int(have["id"]), want) if drift else None))  # fmt: skip
    return changes


def trigger_drift(want: Mapping[str, Any], have: Mapping[str, Any]) -> list[str]:
    """Trigger properties that differ (condition compared in either selector syntax)."""
    drift = [key for key in ("activator", "execution_condition_mode", "active") if have.get(key) != want[key]]
    if normalize_condition(have.get("condition")) != normalize_condition(want["condition"]):
        drift.append("condition")
    have_hook = ((have.get("perform") or {}).get("notification.webhook") or {}).get("webhook_id")
    want_hook = want["perform"]["notification.webhook"]["webhook_id"]
    if str(have_hook) != str(want_hook):
        drift.append("perform")
    return drift


def overview_drift(want: Mapping[str, Any], have: Mapping[str, Any]) -> list[str]:
    """Overview properties that differ."""
    drift = [key for key in ("order", "view", "active", "group_by") if key in want and _subset_diff(want[key], have.get(key))]
    if normalize_condition(have.get("condition")) != normalize_condition(want["condition"]):
        drift.append("condition")
    if sorted(int(r) for r in have.get("role_ids") or []) != want["role_ids"]:
        drift.append("role_ids")
    return drift


def _step(call: Callable[[ApplyContext], Any]) -> Callable[[ApplyContext], None]:
    """A change runner that ignores the call's result."""

    def run(ctx: ApplyContext) -> None:
        call(ctx)

    return run


def _create_attribute(want: dict[str, Any]) -> Callable[[ApplyContext], None]:
    def run(ctx: ApplyContext) -> None:
        created = ctx.client.create_object_attribute(want)
        # Older Zammad versions force position 1550 on create (object_manager_attributes_controller.rb),
        # newer ones keep the given one (object_manager_attributes_spec.rb 'defaults to given position');
        # the update takes it either way, so the fields stay in our order.
        if int(created.get("position") or 0) != want["position"]:
            ctx.client.update_object_attribute(int(created["id"]), want)

    return run


def _update_attribute(want: dict[str, Any]) -> Callable[[ApplyContext], None]:
    def run(ctx: ApplyContext) -> None:
        # Zammad finds the attribute by object+name (the id in the URL is not used); keep
        # the admin's position rather than ours.
        rows = ctx.client.object_attributes()
        have = _find_attribute(rows, want["object"], want["name"])
        if have is None:
            raise ProvisionError(f"attribute {want['object']}.{want['name']} disappeared during setup")
        payload = {**want, "position": have.get("position", want["position"])}
        ctx.client.update_object_attribute(int(have["id"]), payload)

    return run


def _run_migrations(ctx: ApplyContext) -> None:
    ctx.client.execute_migrations()
    wait_for_restart(ctx)
    wait_for_migrations(ctx)


def answers(probe: ZammadClient) -> Callable[[], bool]:
    """A "does Zammad answer right now?" check for `ApplyContext.alive`, on a client made
    without retries (a retrying client would hide the restart's down window)."""

    def alive() -> bool:
        try:
            probe.me()
        except ZammadError as error:
            return error.status is not None and error.status < 500  # 401/403: up, token aside
        return True

    return alive


def wait_for_restart(ctx: ApplyContext) -> None:
    """Wait for Zammad to go down and come back after executing migrations.

    Zammad then calls AppVersion.trigger_restart (lib/app_version.rb): with the
    `auto_shutdown` setting every process exits within seconds (a maintenance thread polls
    every 5 s) and the service manager starts it again; without it Zammad only tells the
    browsers that an admin must restart it. Calls made while it goes down would fail, so
    nothing else runs until it answers again.
    """
    if ctx.alive is None:
        return
    started = ctx.monotonic()
    ctx.echo("  Zammad restarts to apply the migrations; waiting for it to go down...")
    while ctx.alive():
        if ctx.monotonic() - started >= ctx.restart_grace:
            ctx.manual_restart_needed = True
            ctx.echo(
                f"  Zammad did not restart by itself within {ctx.restart_grace:.0f}s: it waits for a manual restart "
                "(its auto_shutdown setting is off). Setup goes on; restart Zammad when it is done."
            )
            return
        ctx.sleep(ctx.poll_interval)
    down_at = ctx.monotonic()
    ctx.echo(f"  Zammad went down after {down_at - started:.0f}s; waiting for it to come back...")
    said = down_at
    while not ctx.alive():
        elapsed = ctx.monotonic() - down_at
        if elapsed >= ctx.migration_timeout:
            raise ProvisionError(
                f"Zammad did not come back within {ctx.migration_timeout:.0f}s after restarting for the migrations; "
                "check Zammad's logs (docker compose logs zammad-railsserver, journalctl -u zammad), then run "
                "`zammad-sla setup` again: it continues where it stopped"
            )
        if ctx.monotonic() - said >= PROGRESS_EVERY:  # poll often, but speak every few seconds
            said = ctx.monotonic()
            ctx.echo(f"  waiting for Zammad to come back... {elapsed:.0f}s")
        ctx.sleep(ctx.poll_interval)
    ctx.echo(f"  Zammad is back ({ctx.monotonic() - started:.0f}s)")


def wait_for_migrations(ctx: ApplyContext) -> None:
    """Poll until Zammad answers again and no attribute waits for a migration.

    Real Zammad restarts to apply migrations, so errors (connection refused, 502/503)
    while it is down are expected and only end the wait at `migration_timeout`.
    """
    started = ctx.monotonic()
    last_problem = "no answer yet"
    while True:
        elapsed = ctx.monotonic() - started
        try:
            pending = [f"{a.get('object')}.{a.get('name')}" for a in ctx.client.object_attributes() if _pending_migration(a)]
            if not pending:
                ctx.echo(f"  migrations applied, Zammad answers again ({elapsed:.0f}s)")
                return
            last_problem = f"still pending: {', '.join(pending)}"
        except ZammadError as error:
            last_problem = str(error)
        if elapsed >= ctx.migration_timeout:
            raise ProvisionError(
                f"Zammad did not finish the object manager migrations within {ctx.migration_timeout:.0f}s "
                f"({last_problem}); check Zammad's logs, then run `zammad-sla setup` again"
            )
        ctx.echo(f"  waiting for Zammad to apply migrations... {elapsed:.0f}s ({last_problem})")
        ctx.sleep(ctx.poll_interval)


def _create_tag(name: str) -> Callable[[ApplyContext], None]:
    return _step(lambda ctx: ctx.client.request("POST", "tag_list", json={"name": name}))


def _create_priority(name: str) -> Callable[[ApplyContext], None]:
    return _step(lambda ctx: ctx.client.create_priority(
        name, ui_icon="important", ui_color="high-priority", active=True, note=OWNED_NOTE
    ))


def _create_webhook(want: dict[str, Any]) -> Callable[[ApplyContext], None]:
    def run(ctx: ApplyContext) -> None:
        ctx.webhook_id = int(ctx.client.create_webhook(want)["id"])

    return run


def _update_webhook(webhook_id: int, want: dict[str, Any]) -> Callable[[ApplyContext], None]:
    def run(ctx: ApplyContext) -> None:
        ctx.client.update_webhook(webhook_id, want)
        ctx.webhook_id = webhook_id

    return run


def _remember_webhook(webhook_id: int) -> Callable[[ApplyContext], None]:
    def run(ctx: ApplyContext) -> None:
        ctx.webhook_id = webhook_id

    return run


def _webhook_id(ctx: ApplyContext) -> int:
    if ctx.webhook_id is None:
        raise ProvisionError("the webhook id is unknown (the webhook step did not run)")
    return ctx.webhook_id


def _create_trigger(api_user_id: int) -> Callable[[ApplyContext], None]:
    return _step(lambda ctx: ctx.client.create_trigger(desired_trigger(_webhook_id(ctx), api_user_id)))


def _update_trigger(trigger_id: int, api_user_id: int) -> Callable[[ApplyContext], None]:
    return _step(lambda ctx: ctx.client.update_trigger(trigger_id, desired_trigger(_webhook_id(ctx), api_user_id)))


def _create_overview(want: dict[str, Any]) -> Callable[[ApplyContext], None]:
    return _step(lambda ctx: ctx.client.create_overview(want))


def _update_overview(overview_id: int, want: dict[str, Any]) -> Callable[[ApplyContext], None]:
    return _step(lambda ctx: ctx.client.update_overview(overview_id, want))


def _create_workflow(want: dict[str, Any]) -> Callable[[ApplyContext], None]:
    return _step(lambda ctx: ctx.client.request("POST", "core_workflows", json=want))


def _update_workflow(workflow_id: int, want: dict[str, Any]) -> Callable[[ApplyContext], None]:
    return _step(lambda ctx: ctx.client.request("PUT", f"core_workflows/{workflow_id}", json=want))


def apply_plan(plan: Plan, ctx: ApplyContext) -> list[Change]:
    """Run every change that has work, in plan order; returns the changes applied.

    "ok" changes with a `run` still execute (they only record ids for later changes);
    "skip" and "conflict" changes are printed, never run.
    """
    applied: list[Change] = []
    for change in plan.changes:
        if change.action in ("conflict", "skip"):
            ctx.echo(change.describe())  # nothing to run, but the admin must see it
            continue
        if change.run is None:
            continue
        if change.action != "ok":
            ctx.echo(change.describe())
        try:
            change.run(ctx)
        except (ZammadError, ProvisionError) as error:
            raise ProvisionError(
                f"stopped at `{change.describe()}`: {error}\n"
                f"the {len(applied)} change(s) before it were applied and stay; fix the cause and run the "
                "command again: it continues where it stopped"
            ) from error
        if change.action != "ok":
            applied.append(change)
    return applied


# -- uninstall ------------------------------------------------------------------------


def plan_uninstall(client: ZammadClient, policy: Policy, *, drop_attributes: bool) -> Plan:
    """What uninstall removes: trigger first (stops deliveries), then webhook, overviews,
    core workflows, the priorities we created (if unused) and, on request, the attributes
    and our tags. Raises `MissingPermissions` before anything is removed."""
    reader = ZammadReader(client)
    changes: list[Change] = []
    trigger = _by_name(reader.rows("triggers", "admin.trigger") or [], TRIGGER_NAME)
    if trigger is not None:
        changes.append(Change("delete", "trigger", TRIGGER_NAME, [], _delete(lambda c, i: c.delete_trigger(i), int(trigger["id"]))))
    webhook = _by_name(reader.rows("webhooks", "admin.webhook") or [], WEBHOOK_NAME)
    if webhook is not None:
        changes.append(Change("delete", "webhook", WEBHOOK_NAME, [], _delete(lambda c, i: c.delete_webhook(i), int(webhook["id"]))))
    overviews = reader.rows("overviews", "admin.overview") or []
    for name in OVERVIEW_NAMES:
        overview = _by_name(overviews, name)
        if overview is not None:
            changes.append(Change("delete", "overview", name, [], _delete(lambda c, i: c.delete_overview(i), int(overview["id"]))))
    workflows = _core_workflows(reader)[0] or []
    for name in WORKFLOW_NAMES:
        workflow = _by_name(workflows, name)
        if workflow is not None:
            changes.append(Change("delete", "core workflow", name, [],
                                  _delete(lambda c, i: c.request("DELETE", f"core_workflows/{i}"), int(workflow["id"]))))  # fmt: skip
    owned = [p for p in reader.rows("ticket_priorities", "ticket.agent") or [] if p.get("note") == OWNED_NOTE]
    for priority in owned:
        changes.append(Change("delete", "priority", str(priority["name"]), ["only if no ticket uses it"],
                              _delete_priority(int(priority["id"]), str(priority["name"]))))  # fmt: skip
    if owned:
        reader.probe_write("ticket_priorities", "admin.ticket_priority")
    if drop_attributes:
        changes += _plan_drop(reader, policy)
    if reader.missing:
        raise MissingPermissions(reader.missing)
    return Plan(changes)


def _plan_drop(reader: ZammadReader, policy: Policy) -> list[Change]:
    """Removing our attributes (then the migrations) and our tags (Zammad untags every ticket)."""
    changes: list[Change] = []
    tag_list = reader.rows("tag_list", "admin.tag") or []
    for tag in policy.tags.ours:
        entry = _by_name(tag_list, tag)
        if entry is not None:
            changes.append(Change("delete", "tag", tag, ["removed from every ticket"],
                                  _delete(lambda c, i: c.request("DELETE", f"tag_list/{i}"), int(entry["id"]))))  # fmt: skip
    attributes = reader.rows("object_manager_attributes", "admin.object") or []
    ours = [(w, _find_attribute(attributes, w["object"], w["name"])) for w in desired_attributes(policy)]
    dropped = False
    for want, have in ours:
        if have is not None and not have.get("to_delete"):
            label = f"{want['object']}.{want['name']}"
            changes.append(Change("delete", "attribute", label, ["its values are lost"],
                                  _delete(lambda c, i: c.delete_object_attribute(i), int(have["id"]))))  # fmt: skip
            dropped = True
    if dropped or any(have is not None and _pending_migration(have) for _, have in ours):
        changes.append(Change("run", "migrations", "object manager", ["Zammad restarts to apply them"], _run_migrations))
    return changes


def _delete(call: Callable[[ZammadClient, int], Any], ident: int) -> Callable[[ApplyContext], None]:
    def run(ctx: ApplyContext) -> None:
        try:
            call(ctx.client, ident)
        except ZammadError as error:
            if not error.not_found:  # already gone is what we wanted
                raise

    return run


def _delete_priority(ident: int, name: str) -> Callable[[ApplyContext], None]:
    def run(ctx: ApplyContext) -> None:
        try:
            ctx.client.request("DELETE", f"ticket_priorities/{ident}")
        except ZammadError as error:
            if error.not_found:
                return
            if error.status == 422:  # tickets still use it: keep it, say so
                ctx.echo(f"  kept priority {name!r}: {error}")
                return
            raise

    return run
