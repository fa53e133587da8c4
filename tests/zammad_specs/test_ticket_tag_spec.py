"""Port of Zammad's spec/requests/ticket/tag_spec.rb: tags given at ticket creation."""

from __future__ import annotations

from tests.zammad_specs.conftest import Zammad

ZAMMAD_SPEC = "spec/requests/ticket/tag_spec.rb"
ZAMMAD_COMMIT = "077dce2e1b19cf17e8ee624e2dcf95af01d1e402"


def test_comma_separated_tags(zammad: Zammad) -> None:
    """when a comma-separated list of tags is provided > it 'creates the ticket with the correct tags'"""
    agent = zammad.agent(groups="all")
    customer = zammad.customer()
    first = zammad.ticket()
    zammad.server.state.settings["tag_new"] = False  # Setting.set('tag_new', false)
    for tag in ("tag1", "tag2", "tag3"):
        zammad.tag(first["id"], tag)  # create(:tag, o: Ticket.first, tag_item: create(:'tag/item', name: tag))
    response = zammad.as_(agent).post("tickets", {"title": "A new ticket", "group": "Users", "priority": "2 normal",
                                                  "state": "new", "customer_id": customer.id, "tags": "tag1, tag2, tag3"})
    assert response.status == 201, response.text
    last = max(zammad.state.tables["tickets"])
    assert [t["name"] for t in zammad.state.tags[last]] == ["tag1", "tag2", "tag3"]
