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

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from zammad_sla_plugin.clock import STATUSES
from zammad_sla_plugin.policy import Policy
from zammad_sla_plugin.zammad import ZammadClient, ZammadError

PREFIX = "zammad-sla: "
WEBHOOK_NAME = PREFIX + "SLA sidecar"
TRIGGER_NAME = PREFIX + "notify SLA sidecar"
WORKFLOW_NAME = PREFIX + "SLA fields read-only"
OWNED_NOTE = "Created by zammad-sla setup; removed by zammad-sla uninstall."
WEBHOOK_PATH = "/webhooks/zammad"
OVERVIEW_AT_RISK = "SLA at risk"
OVERVIEW_BREACHED = "SLA breached"
OVERVIEW_PAUSED = "SLA paused"
OVERVIEW_NAMES: tuple[str, ...] = (OVERVIEW_AT_RISK, OVERVIEW_BREACHED, OVERVIEW_PAUSED)
AGENT_ROLE = "Agent"

STATUS_LABELS: dict[str, str] = {
    "on_track": "On track", "at_risk": "At risk", "breached": "Breached", "paused": "Paused",
    "met": "Met", "not_applicable": "Not applicable", "excluded": "Excluded",
}  # fmt: skip
INTEGRATION_LABELS: dict[str, str] = {"aivo_built": "Aivo built", "self_service": "Self service"}
KIND_LABELS: dict[str, str] = {"incident": "Incident", "feature_request": "Feature request"}
ORIGIN_LABELS: dict[str, str] = {"aivo": "Aivo", "customer": "Customer", "third_party": "Third party"}
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
    deadline_option = {"future": True, "past": True, "diff": None, "null": True}
    computed = _agent_screens(on_create=False)  # written by zammad-sla only
    editable = _agent_screens(on_create=True)  # set by agents

    def select(labels: dict[str, str]) -> dict[str, Any]:
        return {"options": labels, "default": "", "null": True, "nulloption": True, "translate": True}

    org_screens = {
        screen: {"ticket.agent": {"shown": True, "required": False}, "admin.organization": {"shown": True, "required": False}}
        for screen in ("view", "create", "edit")
    }
    integrations = [policy.support_24x7.integration_value]
    return [
        _attribute("Ticket", names.first_response_due_at, "SLA first response due", "datetime", deadline_option, computed, 1600),
        _attribute("Ticket", names.resolution_due_at, "SLA resolution due", "datetime", deadline_option, computed, 1610),
        _attribute("Ticket", names.status, "SLA status", "select", select(_options(STATUS_LABELS, list(STATUSES))), computed, 1620),
        _attribute("Ticket", names.integration, "SLA integration", "select", select(_options(INTEGRATION_LABELS, integrations)), editable, 1630),
        _attribute("Ticket", names.kind, "SLA kind", "select", select(_options(KIND_LABELS, policy.scope.not_applicable_kinds)), editable, 1640),
        _attribute("Ticket", names.origin, "SLA origin", "select", select(_options(ORIGIN_LABELS, policy.scope.excluded_origins)), editable, 1650),
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
    return [names.first_response_due_at, names.resolution_due_at, names.status]


def desired_webhook(endpoint: str, secret: str) -> dict[str, Any]:
    """The webhook Zammad calls: the default payload, signed with the shared secret."""
    return {
        "name": WEBHOOK_NAME, "endpoint": endpoint, "signature_token": secret, "http_method": "post",
        "ssl_verify": True, "customized_payload": False, "active": True, "note": OWNED_NOTE,
    }  # fmt: skip


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
    return result


def desired_workflow(policy: Policy) -> dict[str, Any]:
    """A core workflow marking the computed SLA fields read-only on the agent's ticket forms."""
    perform = {f"ticket.{name}": {"operator": "set_readonly", "set_readonly": "true"} for name in readonly_fields(policy)}
    return {
        "name": WORKFLOW_NAME, "object": "Ticket", "preferences": {"screen": ["create_middle", "edit"]},
        "condition_saved": {}, "condition_selected": {}, "perform": perform, "active": True,
        "stop_after_match": False, "changeable": True, "priority": 500,
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


def agent_role_ids(client: ZammadClient) -> list[int]:
    """Ids of the role(s) named "Agent" (GET /api/v1/roles).

    Fallback when the roles endpoint is missing or forbidden for the token: the API user's
    own roles (it is an agent, so agents of its role see the overviews).
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
    return sorted(int(r) for r in client.me().get("role_ids") or [])


def core_workflows(client: ZammadClient) -> tuple[list[dict[str, Any]] | None, str]:
    """(all core workflows, "") or (None, why they cannot be managed).

    Before Zammad 5.0 the endpoint does not exist (404); a token without
    `admin.core_workflow` gets 401/403. Both only cost the read-only display, so they are
    reported rather than failing setup.
    """
    try:
        return list(client.request("GET", "core_workflows") or []), ""
    except ZammadError as error:
        if error.not_found:
            return None, "this Zammad has no core workflows (GET /api/v1/core_workflows is 404)"
        if error.status in (401, 403):
            return None, "the token lacks admin.core_workflow"
        raise


# -- setup ------------------------------------------------------------------------------


def plan_setup(client: ZammadClient, policy: Policy, *, webhook_url: str, secret: str) -> Plan:
    """Compare Zammad with what zammad-sla needs; nothing is written."""
    changes: list[Change] = []
    attributes = client.object_attributes()
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
        if drift:
            changes.append(Change("update", "attribute", label, drift, _update_attribute(want)))
            needs_migration = True
        else:
            changes.append(Change("ok", "attribute", label))
        needs_migration = needs_migration or _pending_migration(have)
    if needs_migration:
        changes.append(Change("run", "migrations", "object manager", ["Zammad restarts to apply them"], _run_migrations))

    priorities = client.ticket_priorities()
    for name, severity in policy.priorities.items():
        if severity != "blocker":
            continue
        if _by_name(priorities, name) is None:
            changes.append(Change("create", "priority", name, [f"mapped to {severity}"], _create_priority(name)))
        else:
            changes.append(Change("ok", "priority", name))

    endpoint = webhook_endpoint(webhook_url)
    want_hook = desired_webhook(endpoint, secret)
    have_hook = _by_name(client.webhooks(), WEBHOOK_NAME)
    webhook_id: int | None = None
    if have_hook is None:
        changes.append(Change("create", "webhook", WEBHOOK_NAME, [endpoint], _create_webhook(want_hook)))
    else:
        webhook_id = int(have_hook["id"])
        drift = [key for key in ("endpoint", "signature_token", "http_method", "active", "customized_payload", "ssl_verify")
                 if key in have_hook and have_hook[key] != want_hook[key]]  # fmt: skip
        # Never print the secret itself, only that it differs.
        if drift:
            changes.append(Change("update", "webhook", WEBHOOK_NAME, drift, _update_webhook(webhook_id, want_hook)))
        else:
            changes.append(Change("ok", "webhook", WEBHOOK_NAME, [], _remember_webhook(webhook_id)))

    api_user_id = int(client.me()["id"])
    have_trigger = _by_name(client.triggers(), TRIGGER_NAME)
    if have_trigger is None:
        changes.append(Change("create", "trigger", TRIGGER_NAME, [f"excluding updates by user {api_user_id}"],
                              _create_trigger(api_user_id)))  # fmt: skip
    else:
        want = desired_trigger(webhook_id if webhook_id is not None else "(new)", api_user_id)
        drift = trigger_drift(want, have_trigger)
        action: Action = "update" if drift else "ok"
        changes.append(Change(action, "trigger", TRIGGER_NAME, drift,
                              _update_trigger(int(have_trigger["id"]), api_user_id) if drift else None))  # fmt: skip

    overviews = client.overviews()
    for want in desired_overviews(policy, agent_role_ids(client)):
        have = _by_name(overviews, want["name"])
        if have is None:
            changes.append(Change("create", "overview", want["name"], [f"order by {want['order']['by']}"],
                                  _create_overview(want)))  # fmt: skip
            continue
        drift = overview_drift(want, have)
        action = "update" if drift else "ok"
        changes.append(Change(action, "overview", want["name"], drift,
                              _update_overview(int(have["id"]), want) if drift else None))  # fmt: skip

    workflows, why_not = core_workflows(client)
    want_flow = desired_workflow(policy)
    if workflows is None:
        changes.append(Change("skip", "core workflow", WORKFLOW_NAME, [f"{why_not}; SLA fields stay editable"]))
    else:
        have_flow = _by_name(workflows, WORKFLOW_NAME)
        if have_flow is None:
            changes.append(Change("create", "core workflow", WORKFLOW_NAME, ["read-only: " + ", ".join(readonly_fields(policy))],
                                  _create_workflow(want_flow)))  # fmt: skip
        else:
            drift = [key for key in ("object", "preferences", "perform", "active") if _subset_diff(want_flow[key], have_flow.get(key))]
            changes.append(Change("update" if drift else "ok", "core workflow", WORKFLOW_NAME, drift,
                                  _update_workflow(int(have_flow["id"]), want_flow) if drift else None))  # fmt: skip
    return Plan(changes)


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
    drift = [key for key in ("order", "view", "active") if _subset_diff(want[key], have.get(key))]
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
    return _step(lambda ctx: ctx.client.create_object_attribute(want))


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
    wait_for_migrations(ctx)


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
        change.run(ctx)
        if change.action != "ok":
            applied.append(change)
    return applied


# -- uninstall ------------------------------------------------------------------------


def plan_uninstall(client: ZammadClient, policy: Policy, *, drop_attributes: bool) -> Plan:
    """What uninstall removes: trigger first (stops deliveries), then webhook, overviews,
    core workflow, the priority we created (if unused) and, on request, the attributes."""
    changes: list[Change] = []
    trigger = _by_name(client.triggers(), TRIGGER_NAME)
    if trigger is not None:
        changes.append(Change("delete", "trigger", TRIGGER_NAME, [], _delete(lambda c, i: c.delete_trigger(i), int(trigger["id"]))))
    webhook = _by_name(client.webhooks(), WEBHOOK_NAME)
    if webhook is not None:
        changes.append(Change("delete", "webhook", WEBHOOK_NAME, [], _delete(lambda c, i: c.delete_webhook(i), int(webhook["id"]))))
    overviews = client.overviews()
    for name in OVERVIEW_NAMES:
        overview = _by_name(overviews, name)
        if overview is not None:
            changes.append(Change("delete", "overview", name, [], _delete(lambda c, i: c.delete_overview(i), int(overview["id"]))))
    workflow = _by_name(core_workflows(client)[0] or [], WORKFLOW_NAME)
    if workflow is not None:
        changes.append(Change("delete", "core workflow", WORKFLOW_NAME, [],
                              _delete(lambda c, i: c.request("DELETE", f"core_workflows/{i}"), int(workflow["id"]))))  # fmt: skip
    for priority in client.ticket_priorities():
        if priority.get("note") == OWNED_NOTE:
            changes.append(Change("delete", "priority", str(priority["name"]), ["only if no ticket uses it"],
                                  _delete_priority(int(priority["id"]), str(priority["name"]))))  # fmt: skip
    if drop_attributes:
        attributes = client.object_attributes()
        dropped = False
        for want in desired_attributes(policy):
            have = _find_attribute(attributes, want["object"], want["name"])
            if have is not None and not have.get("to_delete"):
                label = f"{want['object']}.{want['name']}"
                changes.append(Change("delete", "attribute", label, ["its values are lost"],
                                      _delete(lambda c, i: c.delete_object_attribute(i), int(have["id"]))))  # fmt: skip
                dropped = True
        if dropped or any(
            _pending_migration(a) for a in attributes
            if any(a.get("name") == w["name"] and a.get("object") == w["object"] for w in desired_attributes(policy))
        ):
            changes.append(Change("run", "migrations", "object manager", ["Zammad restarts to apply them"], _run_migrations))
    return Plan(changes)


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
