"""Action triggers: which active triggers a ticket transaction fires (Transaction::Trigger).

Only the `notification.webhook` perform action is executed; other perform keys are stored
but ignored. Triggers run in name order, like Zammad's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .selector import Context, changes_satisfied, matches, normalize
from .state import TwinState
from .tickets import Transaction, new_delivery_id, ticket_tags


@dataclass(frozen=True)
class DeliveryJob:
    """One queued TriggerWebhookJob."""

    delivery_id: str
    trigger_id: int
    trigger_name: str
    webhook_id: Any
    ticket_id: int
    article_id: int | None


def fired_jobs(state: TwinState, transaction: Transaction) -> list[DeliveryJob]:
    """Evaluate every active action trigger against `transaction` (call under the lock)."""
    ticket = state.find("tickets", transaction.ticket_id)
    if ticket is None:
        return []
    article = state.find("articles", transaction.article_id) if transaction.article_id else None
    ctx = Context(
        ticket=ticket, tags=ticket_tags(state, ticket["id"]), current_user_id=transaction.user_id,
        action=transaction.kind, changes=transaction.changes, article=article,
    )
    jobs: list[DeliveryJob] = []
    for trigger in sorted(state.tables["triggers"].values(), key=lambda t: (t["name"], t["id"])):
        if not trigger["active"] or trigger["activator"] != "action":
            continue
        tree = normalize(trigger["condition"])
        if trigger["execution_condition_mode"] == "selective" and not changes_satisfied(tree, ctx):
            continue
        if not matches(state, tree, ctx):
            continue
        webhook = (trigger.get("perform") or {}).get("notification.webhook")
        if not isinstance(webhook, dict):
            continue
        jobs.append(DeliveryJob(new_delivery_id(), trigger["id"], trigger["name"], webhook.get("webhook_id"),
                                ticket["id"], transaction.article_id))
    return jobs
