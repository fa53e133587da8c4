"""Record templates with Zammad's column order and defaults (as seen in recorded traffic)."""

from __future__ import annotations

from typing import Any

TICKET_COLUMNS: tuple[str, ...] = (
    "id", "group_id", "priority_id", "state_id", "organization_id", "number", "title",
    "owner_id", "customer_id", "note", "first_response_at", "first_response_escalation_at",
    "first_response_in_min", "first_response_diff_in_min", "close_at", "close_escalation_at",
    "close_in_min", "close_diff_in_min", "update_escalation_at", "update_in_min",
    "update_diff_in_min", "last_close_at", "last_contact_at", "last_contact_agent_at",
    "last_contact_customer_at", "last_owner_update_at", "create_article_type_id",
    "create_article_sender_id", "article_count", "escalation_at", "pending_time", "type",
    "time_unit", "preferences", "updated_by_id", "created_by_id", "created_at", "updated_at",
)

USER_COLUMNS: tuple[str, ...] = (
    "id", "organization_id", "login", "firstname", "lastname", "email", "image",
    "image_source", "web", "phone", "fax", "mobile", "department", "street", "zip", "city",
    "country", "address", "vip", "verified", "active", "note", "last_login", "source",
    "login_failed", "out_of_office", "out_of_office_start_at", "out_of_office_end_at",
    "out_of_office_replacement_id", "preferences", "updated_by_id", "created_by_id",
    "created_at", "updated_at",
)

ORGANIZATION_COLUMNS: tuple[str, ...] = (
    "id", "name", "shared", "domain", "domain_assignment", "active", "vip", "note",
    "updated_by_id", "created_by_id", "created_at", "updated_at",
)

GROUP_COLUMNS: tuple[str, ...] = (
    "id", "signature_id", "email_address_id", "name", "name_last", "parent_id",
    "assignment_timeout", "follow_up_possible", "reopen_time_in_days", "follow_up_assignment",
    "active", "shared_drafts", "note", "updated_by_id", "created_by_id", "created_at",
    "updated_at",
)

STATE_COLUMNS: tuple[str, ...] = (
    "id", "state_type_id", "name", "next_state_id", "ignore_escalation", "default_create",
    "default_follow_up", "note", "active", "updated_by_id", "created_by_id", "created_at",
    "updated_at",
)

PRIORITY_COLUMNS: tuple[str, ...] = (
    "id", "name", "default_create", "ui_icon", "ui_color", "note", "active", "updated_by_id",
    "created_by_id", "created_at", "updated_at",
)

ROLE_COLUMNS: tuple[str, ...] = (
    "id", "name", "preferences", "default_at_signup", "active", "note", "updated_by_id",
    "created_by_id", "created_at", "updated_at",
)

ARTICLE_COLUMNS: tuple[str, ...] = (
    "id", "ticket_id", "type_id", "sender_id", "from", "to", "cc", "subject", "reply_to",
    "message_id", "message_id_md5", "in_reply_to", "content_type", "references", "body",
    "internal", "preferences", "updated_by_id", "created_by_id", "origin_by_id", "created_at",
    "updated_at",
)

ATTRIBUTE_COLUMNS: tuple[str, ...] = (
    "id", "object_lookup_id", "name", "display", "data_type", "data_option",
    "data_option_new", "editable", "active", "screens", "to_create", "to_migrate",
    "to_delete", "to_config", "position", "created_by_id", "updated_by_id", "created_at",
    "updated_at",
)

WEBHOOK_COLUMNS: tuple[str, ...] = (
    "id", "name", "endpoint", "http_method", "signature_token", "ssl_verify",
    "basic_auth_username", "basic_auth_password", "bearer_token", "customized_payload",
    "custom_payload", "note", "active", "updated_by_id", "created_by_id", "created_at",
    "updated_at",
)

TRIGGER_COLUMNS: tuple[str, ...] = (
    "id", "name", "condition", "perform", "disable_notification", "localization", "timezone",
    "note", "activator", "execution_condition_mode", "active", "updated_by_id",
    "created_by_id", "created_at", "updated_at",
)

OVERVIEW_COLUMNS: tuple[str, ...] = (
    "id", "name", "link", "prio", "condition", "order", "group_by", "group_direction",
    "organization_shared", "out_of_office", "view", "active", "updated_by_id",
    "created_by_id", "created_at", "updated_at",
)

CORE_WORKFLOW_COLUMNS: tuple[str, ...] = (
    "id", "name", "object", "preferences", "condition_saved", "condition_selected", "perform",
    "active", "stop_after_match", "changeable", "priority", "updated_by_id", "created_by_id",
    "created_at", "updated_at",
)

# Zammad's seeded lookup tables (db/seeds): article types and senders.
ARTICLE_TYPES: dict[int, str] = {
    1: "email", 2: "sms", 3: "chat", 4: "fax", 5: "phone", 6: "twitter status",
    7: "twitter direct-message", 8: "facebook feed post", 9: "facebook feed comment",
    10: "note", 11: "web", 12: "telegram personal-message",
}
ARTICLE_SENDERS: dict[int, str] = {1: "Agent", 2: "Customer", 3: "System"}

# Columns that are not kept in history (Ticket's history_attributes_ignored + HasHistory's own).
HISTORY_IGNORED: frozenset[str] = frozenset(
    {"create_article_type_id", "create_article_sender_id", "article_count", "preferences",
     "created_at", "updated_at", "created_by_id", "updated_by_id"}
)


def blank(columns: tuple[str, ...], **values: Any) -> dict[str, Any]:
    """A record with every column None, then `values` applied (unknown keys rejected)."""
    record: dict[str, Any] = {column: None for column in columns}
    for key, value in values.items():
        if key not in record:
            raise KeyError(f"unknown column {key}")
        record[key] = value
    return record


def new_user(**values: Any) -> dict[str, Any]:
    """A user row with Zammad's defaults for an API-created user."""
    defaults: dict[str, Any] = dict(
        login="", firstname="", lastname="", email="", web="", phone="", fax="", mobile="",
        street="", zip="", city="", country="", vip=False, verified=False, active=True,
        note="", login_failed=0, out_of_office=False, preferences={},
    )
    defaults.update(values)
    return blank(USER_COLUMNS, **defaults)


def new_ticket(**values: Any) -> dict[str, Any]:
    """A ticket row with Zammad's defaults."""
    defaults: dict[str, Any] = dict(article_count=0, preferences={}, owner_id=1)
    defaults.update(values)
    return blank(TICKET_COLUMNS, **defaults)


def new_article(**values: Any) -> dict[str, Any]:
    """An article row; `attachments` lives beside the columns."""
    defaults: dict[str, Any] = dict(content_type="text/plain", internal=False, preferences={})
    defaults.update(values)
    return blank(ARTICLE_COLUMNS, **defaults)
