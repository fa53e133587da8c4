"""The default webhook payload (app/jobs/trigger_webhook_job/record_payload/*.rb)."""

from __future__ import annotations

from typing import Any

from .state import TwinState

USER_ATTRIBUTE_BLACKLIST: frozenset[str] = frozenset(
    {"last_login", "login_failed", "password", "preferences", "group_ids", "groups",
     "authorization_ids", "authorizations"}
)
TICKET_ASSOCIATIONS: dict[str, str] = {
    "owner": "users", "customer": "users", "created_by": "users", "updated_by": "users",
    "organization": "organizations", "priority": "priorities", "group": "groups",
}


def _sorted(data: dict[str, Any]) -> dict[str, Any]:
    return dict(sorted(data.items()))


def _associated(state: TwinState, table: str, ident: Any) -> dict[str, Any]:
    row = state.find(table, ident)
    if row is None:
        return {}
    if table == "users":
        data = state.user_with_names(row)
        return _sorted({k: v for k, v in data.items() if k not in USER_ATTRIBUTE_BLACKLIST})
    if table == "organizations":
        return _sorted(state.organization_with_names(row))
    if table == "groups":
        return _sorted(state.group_with_names(row))
    return _sorted(state.priority_with_names(row))


def ticket_payload(state: TwinState, ticket: dict[str, Any]) -> dict[str, Any]:
    """RecordPayload::Ticket: attributes with names, seven associations as nested objects."""
    result = _sorted(state.ticket_with_names(ticket))
    for name, table in TICKET_ASSOCIATIONS.items():
        result[name] = _associated(state, table, ticket.get(f"{name}_id"))
    return result


def article_payload(state: TwinState, article: dict[str, Any] | None, base_url: str) -> dict[str, Any]:
    """RecordPayload::Ticket::Article, or {} when the transaction added no article."""
    if article is None:
        return {}
    data = state.article_render(article)
    data.pop("time_unit", None)
    if article.get("origin_by_id") is not None:
        data["origin_by"] = state.login_of(article["origin_by_id"])
    result = _sorted(data)
    for name in ("created_by", "updated_by"):
        result[name] = _associated(state, "users", article.get(f"{name}_id"))
    for attachment in result.get("attachments", []):
        attachment["url"] = f"{base_url}/api/v1/ticket_attachment/{article['ticket_id']}/{article['id']}/{attachment['id']}"
    result["accounted_time"] = 0
    return result


def webhook_payload(state: TwinState, ticket: dict[str, Any], article: dict[str, Any] | None, base_url: str) -> dict[str, Any]:
    """{"ticket": {...}, "article": {...} or {}} as TriggerWebhookJob#payload builds it."""
    return {"ticket": ticket_payload(state, ticket), "article": article_payload(state, article, base_url)}
