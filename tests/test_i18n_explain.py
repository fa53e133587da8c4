"""`explain` as text in Spanish and Portuguese (expected lines written by hand); the JSON stays English."""

from __future__ import annotations

from datetime import datetime, timezone

from tests.sla_builders import history, ticket
from zammad_sla_plugin.core.explain import explain, explain_text
from zammad_sla_plugin.core.policy import load_policy

POLICY = load_policy()
DATA = ticket("2026-03-20T20:00:00Z", priority="3 high", sla_origin="customer")  # Friday 17:00 in Buenos Aires
NOW = datetime(2026, 3, 26, 14, tzinfo=timezone.utc)


def test_explain_in_spanish() -> None:
    text = explain_text(explain(DATA, history(), None, NOW, POLICY), "es-AR", POLICY)
    lines = text.splitlines()
    assert lines[:9] == [
        "Ticket 42: estado incumplido",
        "  creado 2026-03-20T20:00:00Z, evaluado al 2026-03-26T14:00:00Z",
        "  la prioridad '3 high' corresponde a la severidad 'alta' (prioridad actual; un cambio de prioridad vuelve a "
        "medir desde la creación)",
        "  se declara el origen 'customer', pero sla_origin_evidence está vacío: cuenta como cualquier otro ticket (y "
        "lleva la etiqueta sla-evidence-missing) hasta que se registre la evidencia",
        "  no aplica el Soporte de Integraciones 24x7 (lo decide: la organización tiene sla_24x7_integrations activado; "
        "activación created_outside_hours):",
        "    [x] severidad en ['blocker', 'high']",
        "    [ ] la organización tiene sla_24x7_integrations activado",
        "    [ ] el campo sla_integration del ticket es 'aivo_built'",
        "    [ ] creado fuera del horario hábil",
    ]
    assert "Resolución (llegada a un estado cerrado): incumplido" in lines
    assert "  objetivo 480 min en el reloj hábil (lun a vie 09:00-18:00 (hora de Buenos Aires), feriados de AR)" in lines
    assert ("    excluido mar 24/03/2026 00:00 -> mié 25/03/2026 00:00  1.440 min  feriado: Día Nacional de la Memoria "
            "por la Verdad y la Justicia") in lines
    assert "  vence 25/03/2026 16:00 (hora de Buenos Aires) (2026-03-25T19:00:00Z)" in lines


def test_explain_in_portuguese() -> None:
    lines = explain_text(explain(DATA, history(), None, NOW, POLICY), "pt-BR", POLICY).splitlines()
    assert lines[0] == "Chamado 42: status violado"
    assert "  meta de 480 min no relógio comercial (seg. a sex. 09:00-18:00 (horário de Buenos Aires), feriados de AR)" in lines
    assert "  vence 25/03/2026 16:00 (horário de Buenos Aires) (2026-03-25T19:00:00Z)" in lines


def test_english_text_and_the_json_are_unchanged() -> None:
    explanation = explain(DATA, history(), None, NOW, POLICY)
    assert explain_text(explanation, None, POLICY) == explain_text(explanation)
    assert explanation["clocks"]["resolution"]["excluded"][2]["reason"] == "holiday: Bridge Public Holiday"
