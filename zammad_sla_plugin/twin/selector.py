"""Zammad's condition selectors (lib/selector): the classic flat hash and the expert-mode tree.

Used by ticket search (`condition`) and by triggers. Supported operators: is, is not,
contains, contains not, before (absolute), after (absolute), has changed, is set, not set,
and for `ticket.tags` contains all / contains one / contains all not / contains one not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

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


def _negated(test: Callable[[Any, list[Any]], bool]) -> Callable[[Any, list[Any]], bool]:
    return lambda actual, values: not test(actual, values)


def _is(actual: Any, values: list[Any]) -> bool:
    return any(_same(actual, v) for v in values)


def _contains(actual: Any, values: list[Any]) -> bool:
    needle = str(values[0] if values else "").lower()
    return actual is not None and needle in str(actual).lower()


def _is_set(actual: Any, values: list[Any]) -> bool:
    return actual not in (None, "")


def _compare_time(earlier: bool) -> Callable[[Any, list[Any]], bool]:
    def test(actual: Any, values: list[Any]) -> bool:
        # An unset attribute or value is neither before nor after anything.
        if actual in (None, "") or not values or values[0] in (None, ""):
            return False
        left, right = parse_time(actual), parse_time(values[0])
        return left < right if earlier else left > right

    return test


# Operator -> test(actual attribute value, the condition's values).
_OPERATORS: dict[str, Callable[[Any, list[Any]], bool]] = {
    "is": _is,
    "is not": _negated(_is),
    "contains": _contains,
    "contains not": _negated(_contains),
    "is set": _is_set,
    "not set": _negated(_is_set),
    "before (absolute)": _compare_time(earlier=True),
    "after (absolute)": _compare_time(earlier=False),
}

# `ticket.tags` operator -> test(the ticket's tags, the wanted tags).
_TAG_OPERATORS: dict[str, Callable[[set[str], list[str]], bool]] = {
    "contains all": lambda have, wanted: all(t in have for t in wanted),
    "contains one": lambda have, wanted: any(t in have for t in wanted),
    "contains all not": lambda have, wanted: not all(t in have for t in wanted),
    "contains one not": lambda have, wanted: not any(t in have for t in wanted),
}


def _action_leaf(operator: str, values: list[Any], ctx: Context) -> bool:
    if ctx.action is None:
        return True  # only meaningful inside a transaction
    hit = ctx.action in [str(v) for v in values]
    return hit if operator == "is" else not hit


def _tags_leaf(operator: str, values: list[Any], ctx: Context) -> bool:
    test = _TAG_OPERATORS.get(operator)
    if test is None:
        raise ApiError(422, f"Unknown operator '{operator}' for ticket.tags")
    wanted = [t.strip() for v in values for t in str(v or "").split(",") if t.strip()]
    return test(set(ctx.tags), wanted)


# Attributes that are not columns: evaluated on the transaction / the tag list.
_PSEUDO_ATTRIBUTES: dict[str, Callable[[str, list[Any], Context], bool]] = {
    "ticket.action": _action_leaf,
    "ticket.tags": _tags_leaf,
}


def _leaf(state: TwinState, leaf: Node, ctx: Context) -> bool:
    name = str(leaf.get("name", ""))
    operator = str(leaf.get("operator", "is"))
    pseudo = _PSEUDO_ATTRIBUTES.get(name)
    if pseudo is not None:
        return pseudo(operator, _values(leaf, ctx), ctx)
    if operator == "has changed":
        return name.startswith("ticket.") and name[len("ticket."):] in ctx.changes
    actual = _actual(state, name, ctx)  # first: an unknown attribute is reported before an unknown operator
    test = _OPERATORS.get(operator)
    if test is None:
        raise ApiError(422, f"Unknown operator '{operator}'")
    return test(actual, _values(leaf, ctx))


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
