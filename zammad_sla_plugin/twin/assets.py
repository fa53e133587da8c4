"""Zammad's `assets` payloads (ApplicationModel::CanAssets): related records by class and id."""

from __future__ import annotations

from functools import partial
from typing import Any, Callable

from .state import TwinState

Assets = dict[str, dict[str, dict[str, Any]]]


def _put(assets: Assets, klass: str, ident: int, data: Callable[[], dict[str, Any]]) -> bool:
    """Add the record `data()` renders unless it is there already (rendered only then: a
    history lists the same ticket and users on every row)."""
    bucket = assets.setdefault(klass, {})
    if str(ident) in bucket:
        return False
    bucket[str(ident)] = data()
    return True


def add_user(state: TwinState, assets: Assets, user_id: Any, with_members: bool = True) -> Assets:
    """A user with its roles and organization (and that organization's members)."""
    user = state.find("users", user_id)
    if user is None or not _put(assets, "User", user["id"], partial(state.user_with_ids, user)):
        return assets
    for role_id in user.get("_role_ids", []):
        role = state.find("roles", role_id)
        if role is not None:
            _put(assets, "Role", role["id"], partial(state.role_with_ids, role))
    if user["organization_id"] is not None:
        add_organization(state, assets, user["organization_id"], with_members)
    return assets


def add_organization(state: TwinState, assets: Assets, org_id: Any, with_members: bool = True) -> Assets:
    """An organization and (one level deep) its members."""
    organization = state.find("organizations", org_id)
    if organization is None:
        return assets
    _put(assets, "Organization", organization["id"], partial(state.organization_with_ids, organization))
    data = assets["Organization"][str(organization["id"])]
    if with_members:
        for member_id in data["member_ids"]:
            add_user(state, assets, member_id, with_members=False)
    return assets


def add_ticket(state: TwinState, assets: Assets, ticket: dict[str, Any]) -> Assets:
    """A ticket with its group, users and organization."""
    if not _put(assets, "Ticket", ticket["id"], partial(state.ticket_with_ids, ticket)):
        return assets
    group = state.find("groups", ticket["group_id"])
    if group is not None:
        _put(assets, "Group", group["id"], partial(state.group_with_ids, group))
    for key in ("owner_id", "customer_id", "created_by_id", "updated_by_id"):
        add_user(state, assets, ticket[key])
    if ticket["organization_id"] is not None:
        add_organization(state, assets, ticket["organization_id"])
    return assets


def add_article(state: TwinState, assets: Assets, article: dict[str, Any]) -> Assets:
    """An article with its authors."""
    _put(assets, "TicketArticle", article["id"], partial(state.article_attributes, article))
    for key in ("created_by_id", "updated_by_id"):
        add_user(state, assets, article[key])
    return assets
