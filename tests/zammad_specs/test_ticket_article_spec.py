"""Port of Zammad's spec/requests/ticket/article_spec.rb: the examples on what the product
uses (article create with the ticket; see README for the rest)."""

from __future__ import annotations

from tests.zammad_specs.conftest import Zammad

ZAMMAD_SPEC = "spec/requests/ticket/article_spec.rb"
ZAMMAD_COMMIT = "041bf51b52ef1308c8e4b73e8a40cc846deab576"


def test_ticket_create_with_mentions(zammad: Zammad) -> None:
    """request handling > it 'does ticket create with mentions'"""
    agent = zammad.agent(groups="all")
    customer = zammad.customer()
    response = zammad.as_(agent).post("tickets", {
        "title": "a new ticket #1", "group": "Users", "customer_id": customer.id,
        "article": {"body": f'some body <a data-mention-user-id="{agent.id}">agent</a>'}})
    assert response.status == 201, response.text
    last = max(zammad.state.tables["tickets"])
    assert sum(1 for m in zammad.state.tables["mentions"].values() if m["mentionable_id"] == last) == 1


def test_customer_phone_ticket_cannot_claim_another_origin(zammad: Zammad) -> None:
    """request handling > it 'does create phone ticket by customer and manipulate origin_by_id'"""
    customer = zammad.customer()
    response = zammad.as_(customer).post("tickets", {
        "title": "a new ticket #1", "group": "Users", "customer_id": customer.id,
        "article": {"body": "some body", "sender": "Customer", "type": "phone", "origin_by_id": 1}})
    assert response.status == 201 and isinstance(response.json, dict), response.text
    [article_id] = zammad.state.article_ids(response.json["id"])  # only the original
    assert zammad.state.tables["articles"][article_id]["origin_by_id"] == customer.id
