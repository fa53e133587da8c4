"""Zammad's condition selectors (lib/selector): the classic flat hash and the expert-mode tree.

Used by ticket search (`condition`) and by triggers. Supported operators: is, is not,
contains, contains not, before (absolute), after (absolute), has changed, is set, not set,
and for `ticket.tags` contains all / contains one / contains all not / contains one not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .state import TwinState
from .util import ApiError, parse_time

Node = dict[str, Any]


@dataclass
class Context:
    """What a condition is evaluated against."""

    ticket: dict[str, Any]
    tags: list[str]
    current_user_id: int | None = None
    action: str | None = None  # "create" / "update" for triggers, None for search
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    article: dict[str, Any] | None = None


def normalize(condition: Any) -> Node:
    """Both syntaxes as one tree: {"operator": "AND", "conditions": [leaf | tree, ...]}."""
    if not condition:
        return {"operator": "AND", "conditions": []}
    if not isinstance(condition, dict):
        raise ApiError(422, "Invalid condition")
    if isinstance(condition.get("conditions"), list):
        children = [normalize(c) if isinstance(c, dict) and "conditions" in c else dict(c)
                    for c in condition["conditions"] if isinstance(c, dict)]
        return {"operator": str(condition.get("operator", "AND")).upper(), "conditions": children}
    leaves = []
    for name, spec in condition.items():
        if isinstance(spec, dict):
            leaves.append({"name": name, **spec})
    return {"operator": "AND", "conditions": leaves}


def leaves(tree: Node) -> list[Node]:
    """Every leaf of a tree."""
    found: list[Node] = []
    for child in tree.get("conditions", []):
        if "conditions" in child:
            found.extend(leaves(child))
        else:
            found.append(child)
    return found


def matches(state: TwinState, tree: Node, ctx: Context) -> bool:
    """Evaluate a normalised tree."""
    results = [matches(state, c, ctx) if "conditions" in c else _leaf(state, c, ctx) for c in tree["conditions"]]
    operator = tree.get("operator", "AND")
    if operator == "OR":
        return any(results) if results else True
    if operator == "NOT":
        return not any(results)
    return all(results)


def _values(leaf: Node, ctx: Context) -> list[Any]:
    pre = leaf.get("pre_condition")
    if pre == "current_user.id":
        return [ctx.current_user_id]
    if pre == "not_set":
        return [None]
    value = leaf.get("value")
    if isinstance(value, list):
        return value
    return [value]


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return str(a) == str(b)


def _actual(state: TwinState, name: str, ctx: Context) -> Any:
    obj, _, attribute = name.partition(".")
    if obj == "ticket":
        return ctx.ticket.get(attribute)
    if obj == "article":
        return None if ctx.article is None else ctx.article.get(attribute)
    if obj == "customer":
        user = state.find("users", ctx.ticket.get("customer_id")) or {}
        return user.get(attribute)
    if obj == "organization":
        org = state.find("organizations", ctx.ticket.get("organization_id")) or {}
        return org.get(attribute)
    raise ApiError(422, f"Unknown condition attribute '{name}'")


def _leaf(state: TwinState, leaf: Node, ctx: Context) -> bool:
    name = str(leaf.get("name", ""))
    operator = str(leaf.get("operator", "is"))
    if name == "ticket.action":
        if ctx.action is None:
            return True  # only meaningful inside a transaction
        hit = ctx.action in [str(v) for v in _values(leaf, ctx)]
        return hit if operator == "is" else not hit
    if name == "ticket.tags":
        wanted = [t.strip() for v in _values(leaf, ctx) for t in str(v or "").split(",") if t.strip()]
        have = set(ctx.tags)
        result = {"contains all": all(t in have for t in wanted), "contains one": any(t in have for t in wanted),
                  "contains all not": not all(t in have for t in wanted),
                  "contains one not": not any(t in have for t in wanted)}
        if operator not in result:
            raise ApiError(422, f"Unknown operator '{operator}' for ticket.tags")
        return result[operator]
    if operator == "has changed":
        return name.startswith("ticket.") and name[len("ticket."):] in ctx.changes
    actual = _actual(state, name, ctx)
    if operator in ("is set", "not set"):
        is_set = actual not in (None, "")
        return is_set if operator == "is set" else not is_set
    values = _values(leaf, ctx)
    if operator in ("is", "is not"):
        hit = any(_same(actual, v) for v in values)
        return hit if operator == "is" else not hit
    if operator in ("contains", "contains not"):
        needle = str(values[0] if values else "").lower()
        hit = actual is not None and needle in str(actual).lower()
        return hit if operator == "contains" else not hit
    if operator in ("before (absolute)", "after (absolute)"):
        if actual in (None, "") or not values or values[0] in (None, ""):
            return False
        left, right = parse_time(actual), parse_time(values[0])
        return left < right if operator == "before (absolute)" else left > right
    raise ApiError(422, f"Unknown operator '{operator}'")


def changes_satisfied(tree: Node, ctx: Context) -> bool:
    """Trigger "selective" mode: a condition attribute changed, or an article was added.

    On create every attribute counts as changed. `ticket.action` and
    `ticket.updated_by_id` are guards, not change signals.
    """
    if ctx.action == "create" or ctx.article is not None:
        return True
    for leaf in leaves(tree):
        name = str(leaf.get("name", ""))
        if name in ("ticket.action", "ticket.updated_by_id") or not name.startswith("ticket."):
            continue
        if name[len("ticket."):] in ctx.changes:
            return True
    return False
