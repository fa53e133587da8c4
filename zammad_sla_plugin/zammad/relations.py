"""Who relates to a ticket in Zammad: links, mentions (subscriptions), users and articles.

Thin calls over `ZammadClient.request`, with the shapes of Zammad's controllers:
- `GET /api/v1/links?link_object=Ticket&link_object_value=ID` -> `{"links": [{"link_type",
  "link_object", "link_object_value"}], "assets": {"Ticket": {...}, "User": {...}}}`
  (app/controllers/links_controller.rb, app/models/link.rb `Link.list`);
  `POST /api/v1/links/add` names the source ticket by its NUMBER and the target by id.
- `GET /api/v1/mentions?mentionable_type=Ticket&mentionable_id=ID` -> `{"mentions":
  [{"id", "mentionable_type", "mentionable_id", "user_id", ...}]}`; `POST /api/v1/mentions`
  subscribes the calling user (app/controllers/mentions_controller.rb).
- `GET /api/v1/ticket_articles/by_ticket/ID` -> the ticket's articles with `type`, `sender`,
  `to`, `subject`, `internal`, `created_by_id` (app/controllers/ticket_articles_controller.rb).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .client import ZammadClient


@dataclass(frozen=True)
class TicketLinks:
    """The links of one ticket and the records Zammad sent along (`assets`)."""

    links: list[dict[str, Any]]
    assets: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)

    def linked_ticket_ids(self) -> list[int]:
        """Ids of the linked tickets (any link type: normal, parent, child), in Zammad's order."""
        ids: list[int] = []
        for link in self.links:
            value = link.get("link_object_value")
            if link.get("link_object") == "Ticket" and isinstance(value, int) and value not in ids:
                ids.append(value)
        return ids

    def asset(self, klass: str, ident: int) -> dict[str, Any] | None:
        """A record from the assets, or None when Zammad did not send it."""
        return self.assets.get(klass, {}).get(str(ident))


def ticket_links(client: ZammadClient, ticket_id: int) -> TicketLinks:
    """The ticket's links (GET /api/v1/links)."""
    data = client.request("GET", "links", params={"link_object": "Ticket", "link_object_value": int(ticket_id)}) or {}
    return TicketLinks(list(data.get("links") or []), dict(data.get("assets") or {}))


def add_link(client: ZammadClient, link_type: str, source_number: str, target_id: int) -> dict[str, Any]:
    """POST /api/v1/links/add: link ticket number `source_number` to ticket id `target_id`."""
    payload = {
        "link_type": link_type, "link_object_source": "Ticket", "link_object_source_number": str(source_number),
        "link_object_target": "Ticket", "link_object_target_value": int(target_id),
    }  # fmt: skip
    return client.request("POST", "links/add", json=payload)


def ticket_mentions(client: ZammadClient, ticket_id: int) -> list[dict[str, Any]]:
    """The users subscribed to the ticket (GET /api/v1/mentions), oldest first."""
    data = client.request("GET", "mentions", params={"mentionable_type": "Ticket", "mentionable_id": int(ticket_id)})
    return sorted((data or {}).get("mentions") or [], key=lambda mention: int(mention.get("id") or 0))


def subscribe(client: ZammadClient, ticket_id: int) -> dict[str, Any]:
    """POST /api/v1/mentions: subscribe the client's user (or its `From` user) to the ticket."""
    return client.request("POST", "mentions", json={"mentionable_type": "Ticket", "mentionable_id": int(ticket_id)})


def get_user(client: ZammadClient, user_id: int) -> dict[str, Any]:
    """GET /api/v1/users/:id."""
    return client.request("GET", f"users/{int(user_id)}")


def ticket_articles(client: ZammadClient, ticket_id: int) -> list[dict[str, Any]]:
    """Every article of the ticket, oldest first (GET /api/v1/ticket_articles/by_ticket/:id)."""
    return list(client.request("GET", f"ticket_articles/by_ticket/{int(ticket_id)}") or [])


def create_article(client: ZammadClient, payload: dict[str, Any]) -> dict[str, Any]:
    """POST /api/v1/ticket_articles, never retried once sent: a second e-mail is worse than an error."""
    return client.request("POST", "ticket_articles", json=payload, idempotent=False)
