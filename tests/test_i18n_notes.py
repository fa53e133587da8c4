"""The notes, the e-mails and the select labels in Spanish and Portuguese.

Every expected text below was written by hand (by the translator), not produced by the
code under test; English stays byte-identical to what tests/test_notes.py asserts.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tests.sla_builders import history, ticket
from zammad_sla_plugin.admin.provision import desired_attributes
from zammad_sla_plugin.core.clock import evaluate
from zammad_sla_plugin.core.evidence import EVIDENCE_NOTE_SUBJECT, evidence_note, evidence_note_subjects
from zammad_sla_plugin.core.explain import explain
from zammad_sla_plugin.core.notes import transition_note
from zammad_sla_plugin.core.policy import PolicyError, load_policy, policy_from_dict
from zammad_sla_plugin.runtime.proposals import Recipient, email_article, no_address_note, no_address_subjects

POLICY = load_policy()
CREATED = "2026-03-10T13:00:00Z"  # Tuesday 10:00 in Buenos Aires
NOW = datetime(2026, 3, 10, 15, tzinfo=timezone.utc)  # 12:00 local: first response just breached

BREACH_ES = (
    "<p><b>SLA incumplido</b></p><p>Severidad alta (prioridad &quot;3 high&quot;); reloj hábil, lun a vie 09:00-18:00 "
    "(hora de Buenos Aires), feriados de AR. Los objetivos se miden desde la creación del ticket; no se computa el "
    "tiempo a la espera del cliente ni el tiempo cerrado.</p><ul><li><b>Primera respuesta (asignación a un analista)"
    "</b>: incumplido; objetivo: 2 horas hábiles; vence mar 10/03/2026 12:00 (hora de Buenos Aires); consumidos "
    "120 min (100 %)</li><li><b>Resolución</b>: en curso; objetivo: 8 horas hábiles; vence mar 10/03/2026 18:00 "
    "(hora de Buenos Aires); consumidos 120 min (25 %)</li></ul><p>Evaluado por zammad-sla el mar 10/03/2026 12:00 "
    "(hora de Buenos Aires). Explicación completa: <code>zammad-sla explain 42</code>.</p>"
)
BREACH_PT = (
    "<p><b>SLA violado</b></p><p>Severidade alta (prioridade &quot;3 high&quot;); relógio comercial, seg. a sex. "
    "09:00-18:00 (horário de Buenos Aires), feriados de AR. As metas são medidas desde a criação do chamado; o tempo "
    "aguardando o cliente ou fechado não é contado.</p><ul><li><b>Primeira resposta (atribuição a um analista)</b>: "
    "violado; meta: 2 horas úteis; vence ter. 10/03/2026 12:00 (horário de Buenos Aires); consumidos 120 min (100 %)"
    "</li><li><b>Resolução</b>: em andamento; meta: 8 horas úteis; vence ter. 10/03/2026 18:00 (horário de Buenos "
    "Aires); consumidos 120 min (25 %)</li></ul><p>Avaliado pelo zammad-sla em ter. 10/03/2026 12:00 (horário de "
    "Buenos Aires). Explicação completa: <code>zammad-sla explain 42</code>.</p>"
)


def _breach() -> tuple[dict[str, object], object]:
    data = ticket(CREATED, priority="3 high")
    return data, evaluate(data, history(), None, NOW, POLICY)


@pytest.mark.parametrize(("locale", "subject", "body"), [
    ("es-ar", "SLA incumplido", BREACH_ES), ("pt-br", "SLA violado", BREACH_PT),
])  # fmt: skip
def test_the_breach_note_in_each_language(locale: str, subject: str, body: str) -> None:
    data, result = _breach()
    assert transition_note(result, POLICY, explain(data, history(), None, NOW, POLICY), locale) == (subject, body)


def test_the_policys_locale_is_the_default_and_english_is_unchanged() -> None:
    data, result = _breach()
    spanish = policy_from_dict({**POLICY.model_dump(mode="json"), "locale": "es-AR"})
    assert transition_note(result, spanish)[0] == "SLA incumplido"
    assert transition_note(result, spanish, locale="pt-br")[0] == "SLA violado"  # an explicit locale wins
    subject, body = transition_note(result, POLICY)
    assert subject == "SLA breached" and body.startswith("<p><b>SLA breached</b></p><p>Severity high (priority")


def test_holidays_by_their_spanish_name_in_the_note() -> None:
    data = ticket("2026-03-20T20:00:00Z", priority="3 high")  # Friday 17:00, before the 23-24 March holidays
    now = datetime(2026, 3, 26, 14, tzinfo=timezone.utc)
    result = evaluate(data, history(), None, now, POLICY)
    _subject, body = transition_note(result, POLICY, explain(data, history(), None, now, POLICY), "es-ar")
    assert ("no computado: fuera del horario hábil 30,0 h, fin de semana 48,0 h, feriado: Feriado con fines "
            "turísticos 24,0 h, feriado: Día Nacional de la Memoria por la Verdad y la Justicia 24,0 h") in body


def test_the_evidence_note_in_spanish_and_portuguese() -> None:
    data = ticket(CREATED, priority="3 high", sla_origin="customer")
    data["owner"] = "Ana Analista"
    result = evaluate(data, history(), None, NOW, POLICY)
    spanish = evidence_note(data, result, POLICY, "es-ar")
    assert spanish["subject"] == "La exclusión del SLA necesita evidencia"
    assert spanish["body"] == (
        "<p><b>La exclusión del SLA necesita evidencia</b></p><p>Ana Analista: el campo <code>sla_origin</code> del "
        "ticket es cliente, lo que lo excluye del SLA solo con evidencia escrita, pero <code>sla_origin_evidence</code> "
        "está vacío. Hasta que se registre la evidencia, el ticket cuenta para el SLA como cualquier otro (ahora está "
        "incumplido) y lleva la etiqueta <code>sla-evidence-missing</code>.</p><p>Escribí en "
        "<code>sla_origin_evidence</code> lo que demuestra el origen (logs, la página de estado del proveedor, la "
        "confirmación del cliente); entonces el ticket queda excluido y se quita la etiqueta.</p>")
    portuguese = evidence_note(data, result, POLICY, "pt-br")
    assert portuguese["subject"] == "A exclusão do SLA precisa de evidência"
    assert "Ana Analista, o campo <code>sla_origin</code> do chamado é cliente" in portuguese["body"]
    # a note written in any language counts: a locale change never writes the note twice
    assert {EVIDENCE_NOTE_SUBJECT, spanish["subject"], portuguese["subject"]} == set(evidence_note_subjects())


PROPOSAL = {"id": 5, "number": "31005", "title": "Exportar a CSV"}


def test_the_proposal_email_follows_the_recipients_locale_else_the_default() -> None:
    joana = Recipient(7, "Joana Silva", "joana@example.com", ("customer",), None, "pt-br")
    pedro = Recipient(8, "Pedro Gómez", "pedro@example.com", ("subscribed",), None, None)
    to_joana = email_article(PROPOSAL, joana, "approved", POLICY, "es-ar")
    assert to_joana["subject"] == "Sua proposta foi aprovada: Exportar a CSV [#31005]"
    assert to_joana["body"] == (
        "Olá, Joana Silva,\n\na proposta de funcionalidade \"Exportar a CSV\" (chamado #31005), que você registrou ou "
        "acompanha, foi aprovada. Vamos manter você informado por escrito sobre o andamento.\n\nAtenciosamente,\n"
        "Suporte Aivo")
    to_pedro = email_article(PROPOSAL, pedro, "approved", POLICY, "es-ar")
    assert to_pedro["subject"] == "Su propuesta fue aprobada: Exportar a CSV [#31005]"
    assert to_pedro["body"] == (
        "Hola, Pedro Gómez:\n\nla propuesta de funcionalidad \"Exportar a CSV\" (ticket #31005), que usted presentó o "
        "sigue, fue aprobada. Le informaremos por escrito sobre su avance.\n\nSaludos cordiales,\nSoporte de Aivo")
    assert email_article(PROPOSAL, pedro, "approved", POLICY)["subject"] == "Your proposal was approved: Exportar a CSV [#31005]"


def _with_texts(texts: dict[str, dict[str, str]], **extra: object) -> object:
    data = POLICY.model_dump(mode="json")
    data["proposals"] = {**data["proposals"], "approved_subject": "Approved: {ticket_title}", **extra}
    return policy_from_dict({**data, "texts": texts})


def test_policy_wording_per_locale_wins_and_a_custom_base_is_used_as_written() -> None:
    policy = _with_texts({"pt-BR": {"approved_subject": "Aprovada: {ticket_title} (#{ticket_number})"}})
    joana = Recipient(7, "Joana", "joana@example.com", ("customer",), None, "pt-br")
    pedro = Recipient(8, "Pedro", "pedro@example.com", ("customer",), None, "es-ar")
    assert email_article(PROPOSAL, joana, "approved", policy)["subject"] == "Aprovada: Exportar a CSV (#31005)"
    # no es variant, and the admin's own base wording has no translation: it is used as written
    assert email_article(PROPOSAL, pedro, "approved", policy)["subject"] == "Approved: Exportar a CSV"
    # the built-in body is still translated for each reader
    assert email_article(PROPOSAL, pedro, "approved", policy)["body"].startswith("Hola, Pedro:")


@pytest.mark.parametrize(("texts", "problem"), [
    ({"es": {"approved_body": "Hola {nombre}"}}, "texts.es.approved_body: unknown placeholder {nombre}"),
    ({"pt-BR": {"declined_subject": "Recusada\n{ticket_title}"}}, "texts.pt-BR.declined_subject: a subject must be one non-empty line"),
    ({"xx-nope": {"approved_subject": "x"}}, "texts: 'xx-nope' is not a locale tag"),
    ({"es": {"approved_sujeto": "x"}}, "texts.es.approved_sujeto: Extra inputs are not permitted"),
])  # fmt: skip
def test_every_variant_is_checked(texts: dict[str, dict[str, str]], problem: str) -> None:
    with pytest.raises(PolicyError) as raised:
        _with_texts(texts)
    assert any(p.startswith(problem) for p in raised.value.problems), raised.value.problems


def test_the_no_address_note_in_spanish_and_its_subject_in_any_language_counts() -> None:
    missing = [Recipient(9, "Lucía Pérez", None, ("customer", "customer of linked ticket #31007"), "no e-mail address")]
    note = no_address_note(PROPOSAL, missing, "approved", "es-ar")
    assert note["subject"] == "Propuesta aprobada: personas no notificadas por correo electrónico"
    assert note["body"] == (
        "<p>Esta propuesta ahora está <b>aprobada</b>. Estas personas la presentaron o la siguen, pero no se las pudo "
        "notificar por correo electrónico; avisales por otro medio y dejalo anotado acá.</p><ul><li>Lucía Pérez "
        "(usuario 9; cliente, cliente del ticket vinculado #31007): sin dirección de correo electrónico</li></ul>"
        "<p>Escrito por zammad-sla.</p>")
    assert note["subject"] in no_address_subjects("approved")
    assert "Proposal approved: people not notified by e-mail" in no_address_subjects("approved")


@pytest.mark.parametrize(("locale", "labels"), [
    ("es-ar", {"incident": "Incidente", "feature_request": "Solicitud de funcionalidad"}),
    ("pt-br", {"incident": "Incidente", "feature_request": "Solicitação de funcionalidade"}),
    (None, {"incident": "Incident", "feature_request": "Feature request"}),
])  # fmt: skip
def test_select_labels_in_the_effective_locale(locale: str | None, labels: dict[str, str]) -> None:
    attributes = {a["name"]: a for a in desired_attributes(POLICY.model_copy(update={"locale": locale}))}
    assert attributes["sla_kind"]["data_option"]["options"] == labels
    statuses = attributes["sla_status"]["data_option"]["options"]
    assert statuses["breached"] == {"es-ar": "Incumplido", "pt-br": "Violado", None: "Breached"}[locale]


def test_the_policys_locale_must_be_a_locale_tag() -> None:
    with pytest.raises(PolicyError) as raised:
        policy_from_dict({**POLICY.model_dump(mode="json"), "locale": "klingon-ish"})
    assert raised.value.problems == ["locale: 'klingon-ish' is not a locale tag (e.g. es, es-AR, pt-BR)"]
