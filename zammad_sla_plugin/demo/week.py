"""The demo week: a scripted week of Aivo tickets through the twin and the real sidecar.

Everything runs in this process over real HTTP on loopback: the Zammad twin (with its clock
frozen at virtual times), `zammad-sla setup`'s provisioning, and the sidecar (webhook
receiver under waitress, SQLite queue, consumer threads). The script acts as customers
and agents through the twin's REST API; Zammad's trigger delivers signed webhooks to the
sidecar, which writes SLA fields, tags and notes back. The week includes a third-party
incident claimed and closed without evidence (counted and flagged until the evidence is
written) and a feature proposal whose approval e-mails its customer, the customer of a
linked duplicate request and a subscribed agent.

Time is simulated as a discrete-event run: between scripted events the demo jumps the
twin's clock to the earliest instant the sidecar asked to be checked again (a warning
threshold or a deadline) and runs the sidecar's reconcile, so escalations land at their
exact instant with nobody touching the ticket - what exact-time scheduling does in
production with the real clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable
from zoneinfo import ZoneInfo


from babel.dates import format_datetime

from zammad_sla_plugin.core.i18n import N_, Language, language
from zammad_sla_plugin.core.policy import Policy
from zammad_sla_plugin.core.reasons import state_name
from zammad_sla_plugin.zammad import relations
from zammad_sla_plugin.demo.local_stack import ADMIN_MANDATORY_FIELD, AGENT_ID, CUSTOMER_ORG_ID, LocalStack

LOCAL = ZoneInfo("America/Argentina/Buenos_Aires")
WEEK_START = "2026-03-19 08:00"  # Thursday; Mon 23 and Tue 24 March are AR holidays
WEEK_END = "2026-03-26 18:00"
CREATED_BY = "_created_by"  # in a scenario's fields: the customer who files it (default: the stack's customer)
SECOND_CUSTOMER = "samuel@example.com"
# A customer of the Sao Paulo office: the example contract "Brasil" (examples/contracts.toml) covers it.
BRAZIL_ORGANIZATION, BRAZIL_CUSTOMER = "Loja Brasil", "joao@loja.com.br"


def local(text: str) -> datetime:
    """A Buenos Aires wall time 'YYYY-MM-DD HH:MM' as an aware UTC datetime."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=LOCAL).astimezone(timezone.utc)


@dataclass(frozen=True)
class Event:
    """One scripted action at a virtual local time."""

    at: str
    ticket: str  # the scenario's name for the ticket
    action: str  # create | assign | state | priority | customer_state | evidence | proposal | link | subscribe
    value: Any = None


# name -> (title, priority, extra create fields, what it shows)
TICKETS: dict[str, tuple[str, str, dict[str, Any], str]] = {
    "outage": (N_("Virtual assistant web window down"), "4 blocker", {"sla_kind": "incident"},
               N_("blocker on the 24x7 clock, at night, met")),
    "reports": (N_("Reports module partially unavailable"), "3 high", {"sla_kind": "incident"},
                N_("high in working hours, met")),
    "whatsapp": (N_("WhatsApp integration failing (built by Aivo)"), "3 high",
                 {"sla_kind": "incident", "sla_integration": "aivo_built"},
                 N_("24x7 Integrations Support: 16 h wall clock, breached overnight")),
    "totals": (N_("Wrong totals in one report"), "2 normal", {"sla_kind": "incident"},
               N_("medium across a weekend and two holidays")),
    "export": (N_("How do I export intents?"), "1 low", {"sla_kind": "incident"},
               N_("low, paused while waiting on the customer")),
    "darkmode": (N_("Dark mode for the web window"), "1 low",
                 {"sla_kind": "feature_request", "sla_proposal_status": "registered"},
                 N_("feature proposal: no SLA; approved: Emily, Samuel (linked) and Jacob (subscribed) e-mailed once")),
    "darkmode2": (N_("Please add a dark theme"), "1 low", {"sla_kind": "feature_request", CREATED_BY: SECOND_CUSTOMER},
                  N_("the same request by another customer, linked to the proposal")),
    "crm": (N_("CRM vendor outage"), "3 high", {"sla_kind": "incident", "sla_origin": "third_party"},
            N_("third party claimed, closed without evidence: counted, breached, flagged; evidence written: excluded")),
    "live": (N_("Live agents cannot answer"), "3 high", {"sla_kind": "incident"},
             N_("nobody assigns it: at risk, then breached, no update needed")),
    "search": (N_("Help articles search is slow"), "2 normal", {"sla_kind": "incident"},
               N_("raised to high: targets re-measured from creation")),
    "training": (N_("Intent training stuck"), "2 normal", {"sla_kind": "incident"},
                 N_("closed, then reopened: the clock resumes")),
    "loja": ("Chat da loja fora do ar", "3 high", {"sla_kind": "incident", CREATED_BY: BRAZIL_CUSTOMER},
             N_("contract Brasil: Sao Paulo hours 08-12 + 13-17, due Fri 09:30 / 16:30 there, met")),
}  # fmt: skip

SCRIPT: list[Event] = sorted(
    [
        Event("2026-03-19 09:00", "training", "create"),
        Event("2026-03-19 09:10", "training", "assign"),
        Event("2026-03-19 09:30", "search", "create"),
        Event("2026-03-19 10:00", "search", "priority", "3 high"),
        Event("2026-03-19 10:00", "reports", "create"),
        Event("2026-03-19 11:00", "reports", "assign"),
        Event("2026-03-19 11:00", "search", "assign"),
        Event("2026-03-19 12:00", "export", "create"),
        Event("2026-03-19 12:00", "training", "state", "closed"),
        Event("2026-03-19 12:30", "export", "assign"),
        Event("2026-03-19 14:00", "darkmode", "create"),
        Event("2026-03-19 15:00", "export", "state", "pending reminder"),
        Event("2026-03-19 15:00", "crm", "create"),
        Event("2026-03-19 17:30", "crm", "customer_state", "closed"),
        Event("2026-03-20 09:30", "darkmode2", "create"),
        Event("2026-03-20 09:45", "darkmode2", "link", "darkmode"),
        Event("2026-03-20 10:30", "crm", "evidence", "Vendor status page: CRM API outage 14:50-15:35, incident #4471"),
        Event("2026-03-20 11:00", "darkmode", "subscribe", "jacob.miller@example.com"),
        Event("2026-03-25 10:30", "darkmode", "proposal", "approved"),
        Event("2026-03-19 16:00", "live", "create"),
        Event("2026-03-19 16:00", "reports", "state", "closed"),
        Event("2026-03-20 10:00", "search", "state", "closed"),
        Event("2026-03-20 10:00", "training", "state", "open"),
        Event("2026-03-20 17:00", "totals", "create"),
        Event("2026-03-20 22:00", "whatsapp", "create"),
        Event("2026-03-20 23:30", "whatsapp", "assign"),
        Event("2026-03-21 03:00", "outage", "create"),
        Event("2026-03-21 03:40", "outage", "assign"),
        Event("2026-03-21 08:00", "outage", "state", "closed"),
        Event("2026-03-21 15:00", "whatsapp", "state", "closed"),
        Event("2026-03-25 09:00", "export", "state", "open"),
        Event("2026-03-25 10:00", "totals", "assign"),
        Event("2026-03-25 11:00", "export", "state", "closed"),
        Event("2026-03-19 16:30", "loja", "create"),
        Event("2026-03-20 08:30", "loja", "assign"),
        Event("2026-03-20 15:00", "loja", "state", "closed"),
    ],
    key=lambda event: local(event.at),
)


# The script's actions as the demo prints them.
_ACTIONS: dict[str, str] = {
    "create": N_("create"), "assign": N_("assign"), "state": N_("state"), "priority": N_("priority"),
    "customer_state": N_("customer_state"), "evidence": N_("evidence"), "proposal": N_("proposal"), "link": N_("link"),
    "subscribe": N_("subscribe"),
}  # fmt: skip


# Why Zammad notified someone (the twin logs Zammad's own English reasons).
_WHY_NOTIFIED: dict[str, str] = {
    "you are the owner of this ticket": N_("you are the owner of this ticket"),
    "you are a member of the group of this ticket": N_("you are a member of the group of this ticket"),
    "you were mentioned in this ticket": N_("you were mentioned in this ticket"),
}


def with_example_contracts(policy: Policy) -> Policy:
    """The policy with the example contracts appended, unless it defines contracts of its own."""
    if policy.has_contracts:
        return policy
    import tomllib
    from importlib import resources

    from zammad_sla_plugin.core.policy import policy_from_dict

    example = tomllib.loads(resources.files("zammad_sla_plugin").joinpath("examples/contracts.toml").read_text("utf-8"))
    return policy_from_dict({**policy.model_dump(), **example}, "demo policy with examples/contracts.toml")


class DemoRun:
    """The scripted week on a `LocalStack` whose clock is the twin's frozen, virtual one.

    A policy without contracts gets the example ones, so the week shows a second contract.
    """

    def __init__(self, policy: Policy, say: Callable[[str], None], data_dir: str, lang: str | None = None) -> None:
        """`lang` (e.g. es-ar) is the twin's `locale_default`: the sidecar writes in it, the demo speaks it."""
        policy = with_example_contracts(policy)
        self.policy, self.say = policy, say
        self.stack = LocalStack(policy, data_dir, virtual_now=local(WEEK_START))
        if lang:
            state = self.stack.twin.state
            with state.lock:  # as an admin sets it in Zammad, and as the installation's people chose it
                state.settings["locale_default"] = lang
                for user in state.tables["users"].values():
                    if (user.get("preferences") or {}).get("locale"):
                        user["preferences"]["locale"] = lang
        self.tr = language(lang)
        self.ids: dict[str, int] = {}

    def start(self) -> None:
        """Start the stack; the customer's organization contracts 24x7 Integrations Support."""
        self.stack.start()
        self.stack.admin.request(
            "PUT", f"organizations/{CUSTOMER_ORG_ID}", json={self.policy.attributes.organization_24x7: True}
        )
        brazil = self.stack.admin.request("POST", "organizations", json={"name": BRAZIL_ORGANIZATION})
        self.stack.admin.request("POST", "users", json={
            "login": BRAZIL_CUSTOMER, "email": BRAZIL_CUSTOMER, "firstname": "João", "lastname": "Silva",
            "organization_id": brazil["id"], "roles": ["Customer"],
        })  # fmt: skip

    def perform(self, event: Event) -> None:
        """Carry out one scripted action through the twin's REST API."""
        ticket_id = self.ids.get(event.ticket, 0)
        if event.action == "create":
            self.ids[event.ticket] = self._create(event.ticket)
        elif event.action == "customer_state":  # customers see neither the origin nor the evidence
            self.stack.customer.update_ticket(ticket_id, {"state": event.value})
        elif event.action == "link":  # an agent links a duplicate request to the proposal
            number = self.stack.admin.get_ticket(ticket_id)["number"]
            relations.add_link(self.stack.agent, "normal", number, self.ids[event.value])
        elif event.action == "subscribe":  # the "subscribe" bell: a mention of the user
            relations.subscribe(self.stack.client(on_behalf_of=event.value), ticket_id)
        else:
            names = self.policy.attributes
            fields = {"assign": {"owner_id": AGENT_ID}, "state": {"state": event.value},
                      "priority": {"priority": event.value}, "evidence": {names.origin_evidence: event.value},
                      "proposal": {names.proposal_status: event.value}}  # fmt: skip
            self.stack.agent.update_ticket(ticket_id, fields[event.action])

    def _create(self, name: str) -> int:
        title, priority, extra, _ = TICKETS[name]
        title = self.tr.gettext(title)
        fields = dict(extra)
        customer = fields.pop(CREATED_BY, None)
        if customer is None:
            return int(self.stack.create_ticket(title, priority, **fields)["id"])
        return int(self.stack.client(on_behalf_of=customer).request("POST", "tickets", json={
            "title": title, "group": "Users", "customer_id": f"guess:{customer}", "priority": priority,
            "article": {"subject": title, "body": title, "type": "web", "sender": "Customer"}, **fields})["id"])  # fmt: skip

    def _sent(self) -> list[dict[str, Any]]:
        return list(self.stack.admin.session.get(f"{self.stack.twin.url}/_twin/emails", timeout=5).json()["emails"])

    def emails(self) -> list[str]:
        """The e-mails Zammad sent from the scenario's tickets (the twin logs them)."""
        sent = self._sent()
        titles = {ticket_id: self._title(name) for name, ticket_id in self.ids.items()}
        return [self.tr._("to %(to)s: %(subject)r (from ticket %(ticket)r)", to=e["to"], subject=e["subject"],
                          ticket=titles.get(e["ticket_id"], e["ticket_id"])) for e in sent]  # fmt: skip

    def _title(self, name: str) -> str:
        return self.tr.gettext(TICKETS[name][0])

    def next_escalation(self) -> datetime | None:
        """The earliest instant any ticket asked to be checked again."""
        instants = [self.stack.sidecar.recorded_next_check(ticket_id) for ticket_id in self.ids.values()]
        return min((i for i in instants if i is not None), default=None)

    def escalate_until(self, limit: datetime) -> None:
        """Run every escalation check due before `limit`, each at its exact instant."""
        while (due := self.next_escalation()) is not None and due < limit:
            self.stack.set_clock(due)
            self.stack.sidecar.reconcile()
            self.stack.settle()
            self._report_escalations(due)

    def _report_escalations(self, instant: datetime) -> None:
        for name, ticket_id in self.ids.items():
            status = self.stack.admin.get_ticket(ticket_id).get(self.policy.attributes.status)
            if status in ("at_risk", "breached") and self._announced.get(name) != status:
                self._announced[name] = status
                when = instant.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M")
                title = self._title(name)[:44].ljust(44)
                self.say(self.tr._("%(when)s  %(title)s -> %(status)s (nobody touched it; note and tag written)", when=when,
                                   title=title, status=state_name(status, self.tr)))

    def _report_evidence(self, event: Event) -> None:
        """Say when a claimed exclusion gets flagged for missing evidence, or the flag goes."""
        ticket_id = self.ids[event.ticket]
        flagged = self.policy.tags.evidence_missing in self.stack.admin.ticket_tags(ticket_id)
        if flagged != self._flagged.get(event.ticket, False):
            self._flagged[event.ticket] = flagged
            status = self.stack.admin.get_ticket(ticket_id).get(self.policy.attributes.status)
            tag, shown = self.policy.tags.evidence_missing, state_name(str(status), self.tr)
            if flagged:
                line = self.tr._("-> origin claimed without evidence: counted, %(status)s (%(tag)s tag added, owner note written)",
                                 status=shown, tag=tag)
            else:
                line = self.tr._("-> evidence written, %(status)s (%(tag)s tag removed)", status=shown, tag=tag)
            self.say(f"{'':<16}  {'':<44} {line}")

    def run(self) -> None:
        """Play the script, then let the week run out."""
        self._announced: dict[str, str] = {}
        self._flagged: dict[str, bool] = {}
        for event in SCRIPT:
            self.escalate_until(local(event.at))
            self.stack.set_clock(local(event.at))
            self.perform(event)
            self.stack.settle()
            self.say(f"{event.at}  {self._title(event.ticket)[:44]:<44} {self.tr.gettext(_ACTIONS[event.action])} {event.value or ''}")
            self._report_evidence(event)
            if event.action == "proposal":
                sent = [email["to"] for email in self._sent()]
                self.say(f"{'':<16}  {'':<44} " + self.tr._("-> e-mailed by Zammad: %(people)s",
                                                                   people=", ".join(sent) or self.tr._("nobody")))
        self.escalate_until(local(WEEK_END))
        self.stack.set_clock(local(WEEK_END))
        self.stack.sidecar.reconcile()
        self.stack.settle()

    def installation(self) -> str:
        """What makes the twin as strict as a real Zammad, as the demo ran against it."""
        restarts = self.stack.admin.session.get(f"{self.stack.twin.url}/_twin/restarts", timeout=5).json()
        from zammad_sla_plugin.twin.permissions import held  # the twin runs in this process

        twin = self.stack.twin
        granted = ", ".join(sorted(held(twin.state, twin.state.find("users", self.stack.sidecar_user_id))))
        return self.tr._(
            "Zammad twin as strict as a real installation: the sidecar's token holds only %(granted)s; "
            "tag_new is off; the admin's field %(field)r is mandatory for agents and empty on "
            "every new ticket; Zammad restarted %(restarts)s time(s) to apply migrations (the admin's "
            "field, then setup's attributes) and setup waited each restart out.",
            granted=granted, field=ADMIN_MANDATORY_FIELD, restarts=restarts["restarts"],
        )

    def notifications(self) -> list[str]:
        """Who Zammad would have notified of the sidecar's own writes this week."""
        log = self.stack.admin.session.get(f"{self.stack.twin.url}/_twin/notifications", timeout=5).json()["notifications"]
        ours = [n for n in log if n.get("caused_by_id") == self.stack.sidecar_user_id]
        routine = [n for n in ours if not n["article_id"]]
        titles: dict[int, str] = {ticket_id: self._title(name) for name, ticket_id in self.ids.items()}
        lines = [self.tr._("routine writes (deadlines, on_track/paused/met): %(count)s notification(s)", count=len(routine)),
                 self.tr._("articles (escalation and evidence notes, proposal e-mails) notify the ticket's agents:")]
        by_ticket: dict[int, set[str]] = {}
        for entry in ours:
            if entry["article_id"]:
                why = entry["reason"].split("because ")[-1].rstrip(".")
                why = self.tr.gettext(_WHY_NOTIFIED[why]) if why in _WHY_NOTIFIED else why
                by_ticket.setdefault(entry["ticket_id"], set()).add(f"{entry['login']} ({why})")
        for ticket_id, people in sorted(by_ticket.items()):
            lines.append(self.tr._("note or e-mail on %(title)r: %(people)s", title=titles.get(ticket_id, str(ticket_id))[:44],
                                   people="; ".join(sorted(people))))
        return lines

    def table(self) -> list[dict[str, Any]]:
        """Each scenario ticket's SLA fields and tags as Zammad shows them now."""
        names = self.policy.attributes
        rows = []
        for name, ticket_id in self.ids.items():
            ticket = self.stack.admin.get_ticket(ticket_id)
            rows.append({
                "number": ticket["number"], "title": ticket["title"], "priority": ticket["priority"],
                "state": ticket["state"], "status": ticket.get(names.status),
                "first_response_due": ticket.get(names.first_response_due_at),
                "resolution_due": ticket.get(names.resolution_due_at),
                "tags": self.stack.admin.ticket_tags(ticket_id), "shows": self.tr.gettext(TICKETS[name][3]),
                "contract": ticket.get(names.contract),
            })  # fmt: skip
        return rows


def _local_text(value: str | None, lang: Language | None = None) -> str:
    if not value:
        return "-"
    instant = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(LOCAL)
    if lang is not None and not lang.is_source:
        return format_datetime(instant, "EEE dd HH:mm", tzinfo=LOCAL, locale=lang.locale)
    return instant.strftime("%a %d %H:%M")


def render_table(rows: list[dict[str, Any]], lang: str | None = None) -> str:
    """A plain-text table of the demo's tickets (headings in `lang`; None: English)."""
    tr = language(lang)
    title, priority, state = tr._("title"), tr._("priority"), tr._("state")
    first_due, resolution_due, tags = tr._("1st resp due"), tr._("resol. due"), tr._("tags")
    header = f"{'#':<6} {title:<44} {priority:<10} {state:<17} {'sla_status':<15} {first_due:<12} {resolution_due:<12} {tags}"
    lines = [header, "-" * len(header)]
    for row in rows:
        lines.append(
            f"{row['number']:<6} {row['title'][:44]:<44} {row['priority']:<10} {row['state']:<17} "
            f"{row['status'] or '-':<15} {_local_text(row['first_response_due'], tr):<12} "
            f"{_local_text(row['resolution_due'], tr):<12} {','.join(row['tags']) or '-'}"
        )
        contract = tr._(" [contract %(name)s]", name=row["contract"]) if row.get("contract") else ""
        lines.append(f"{'':<6}   -> {row['shows']}{contract}")
    return "\n".join(lines)
