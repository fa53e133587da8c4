"""End to end through the strict twin with Zammad's `locale_default` set to `es-ar`.

The sidecar reads the setting (GET /api/v1/signshow), so setup writes the select labels in
Spanish, the breach and evidence notes are Spanish, and the proposal e-mail follows each
recipient's `preferences.locale` (pt-br: Portuguese) or, without one, the default (Spanish).
Expected texts are written by hand. Buenos Aires is UTC-3; 2026-03-10 is a Tuesday.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e_support import proposal_with_people, shown, utc
from zammad_sla_plugin.admin import provision
from zammad_sla_plugin.admin.doctor import Doctor
from zammad_sla_plugin.core.policy import load_policy
from zammad_sla_plugin.demo.local_stack import LocalStack
from zammad_sla_plugin.runtime.locale import effective_locale, zammad_locale_default
from zammad_sla_plugin.zammad import relations

POLICY = load_policy()
EMILY, SAMUEL, JACOB = 7, 6, 5  # seeded: Emily Adams and Samuel Lee (customers), Jacob Miller (agent)


@pytest.fixture
def spanish_stack(tmp_path: Path) -> Iterator[LocalStack]:
    stack = LocalStack(POLICY, tmp_path, virtual_now=utc("2026-03-10T13:00:00"), queue_options={"retry_delay": 0.05})
    stack.twin.state.settings["locale_default"] = "es-ar"  # the admin chose Spanish (Argentina) in Zammad
    with stack:
        yield stack


def _set_locale(stack: LocalStack, user_id: int, locale: str | None) -> None:
    """Fixture data: the user's language as Zammad stores it (preferences.locale), or none at all."""
    with stack.twin.state.lock:
        preferences = stack.twin.state.get("users", user_id).setdefault("preferences", {})
        if locale is None:
            preferences.pop("locale", None)
        else:
            preferences["locale"] = locale


def _articles(stack: LocalStack, ticket_id: int) -> list[dict[str, Any]]:
    return relations.ticket_articles(stack.admin, ticket_id)


def test_the_sidecar_reads_zammads_locale_default(spanish_stack: LocalStack) -> None:
    assert zammad_locale_default(spanish_stack.sidecar_client) == "es-ar"
    assert effective_locale(POLICY, spanish_stack.sidecar_client).describe() == "es-ar (Zammad locale_default; catalog es)"
    plan = provision.plan_setup(spanish_stack.sidecar_client, POLICY, webhook_url=spanish_stack.webhook_url,
                                secret=spanish_stack.secret)
    assert plan.language == "es-ar (Zammad locale_default; catalog es)"
    assert plan.pending == []  # setup wrote the Spanish labels: nothing drifts
    doctor = Doctor(spanish_stack.sidecar_client, POLICY, spanish_stack.settings).check_attributes()
    assert doctor.status == "PASS" and doctor.detail.endswith("language es-ar (Zammad locale_default; catalog es)")


def test_select_labels_are_spanish(spanish_stack: LocalStack) -> None:
    rows = spanish_stack.admin.request("GET", "object_manager_attributes")
    options = {row["name"]: row["data_option"]["options"] for row in rows
               if row.get("data_type") == "select" and row.get("name", "").startswith("sla_")}
    assert options["sla_kind"] == {"incident": "Incidente", "feature_request": "Solicitud de funcionalidad"}
    assert options["sla_origin"] == {"aivo": "Aivo", "customer": "Cliente", "third_party": "Tercero"}
    assert options["sla_status"]["breached"] == "Incumplido" and options["sla_status"]["at_risk"] == "En riesgo"
    assert options["sla_proposal_status"]["approved"] == "Aprobada"


def test_the_breach_note_is_spanish(spanish_stack: LocalStack) -> None:
    stack = spanish_stack
    ticket_id = int(stack.create_ticket("Widget caído", "3 high")["id"])
    stack.settle()
    stack.set_clock(utc("2026-03-10T15:00:00"))  # 12:00 local: first response due, nobody assigned
    stack.sidecar.reconcile()
    stack.settle()
    assert shown(stack.admin, ticket_id, POLICY)["status"] == "breached"
    [note] = [a for a in _articles(stack, ticket_id) if a.get("subject") == "SLA incumplido"]
    assert note["internal"] is True
    assert note["body"].startswith("<p><b>SLA incumplido</b></p><p>Severidad alta (prioridad &quot;3 high&quot;); "
                                   "reloj hábil, lun a vie 09:00-18:00 (hora de Buenos Aires), feriados de AR.")
    assert ("<li><b>Primera respuesta (asignación a un analista)</b>: incumplido; objetivo: 2 horas hábiles; vence "
            "mar 10/03/2026 12:00 (hora de Buenos Aires); consumidos 120 min (100 %)</li>") in note["body"]
    assert "Evaluado por zammad-sla el mar 10/03/2026 12:00 (hora de Buenos Aires)." in note["body"]


def test_the_evidence_note_is_spanish(spanish_stack: LocalStack) -> None:
    stack = spanish_stack
    ticket_id = int(stack.create_ticket("Caída del proveedor de CRM", "3 high", sla_origin="third_party")["id"])
    stack.settle()
    [note] = [a for a in _articles(stack, ticket_id) if a.get("subject") == "La exclusión del SLA necesita evidencia"]
    assert note["internal"] is True
    assert ("lo que lo excluye del SLA solo con evidencia escrita, pero <code>sla_origin_evidence</code> está vacío. "
            "Hasta que se registre la evidencia, el ticket cuenta para el SLA como cualquier otro (ahora está en término)"
            ) in note["body"]
    stack.sidecar.reconcile()
    stack.settle()
    assert len([a for a in _articles(stack, ticket_id) if a.get("subject") == note["subject"]]) == 1  # once


def test_proposal_emails_follow_each_recipients_locale(spanish_stack: LocalStack) -> None:
    """Emily (the proposal's customer) reads Portuguese; Samuel (customer of a linked duplicate) set no
    language, so he gets Zammad's default, Spanish; so does Jacob, a subscribed agent without one."""
    stack = spanish_stack
    _set_locale(stack, EMILY, "pt-br")
    _set_locale(stack, SAMUEL, None)
    _set_locale(stack, JACOB, None)
    proposal = proposal_with_people(stack, "Exportar conversas em CSV", "Exportar a CSV", "lo necesitamos")
    proposal_id, number = int(proposal["id"]), proposal["number"]
    stack.agent.update_ticket(proposal_id, {"sla_proposal_status": "approved"})
    stack.settle()
    sent = stack.admin.session.get(f"{stack.twin.url}/_twin/emails", params={"ticket_id": proposal_id}, timeout=5).json()
    by_address = {email["to"]: email for email in sent["emails"]}
    assert set(by_address) == {"emily@example.com", "samuel@example.com", "jacob.miller@example.com"}
    emily, samuel_mail = by_address["emily@example.com"], by_address["samuel@example.com"]
    assert emily["subject"] == f"Sua proposta foi aprovada: Exportar conversas em CSV [#{number}]"
    assert emily["body"] == (
        "Olá, Emily Adams,\n\na proposta de funcionalidade \"Exportar conversas em CSV\" (chamado "
        f"#{number}), que você registrou ou acompanha, foi aprovada. Vamos manter você informado por escrito sobre o "
        "andamento.\n\nAtenciosamente,\nSuporte Aivo")
    assert samuel_mail["subject"] == f"Su propuesta fue aprobada: Exportar conversas em CSV [#{number}]"
    assert samuel_mail["body"] == (
        "Hola, Samuel Lee:\n\nla propuesta de funcionalidad \"Exportar conversas em CSV\" (ticket "
        f"#{number}), que usted presentó o sigue, fue aprobada. Le informaremos por escrito sobre su avance.\n\n"
        "Saludos cordiales,\nSoporte de Aivo")
    assert by_address["jacob.miller@example.com"]["subject"] == samuel_mail["subject"]
