"""`report --lang` and `explain --lang`, and their default: the policy's locale, else Zammad's locale_default."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner, Result

from tests.test_report_command import MARCH, TOKEN, seed
from zammad_sla_plugin.cli import main
from zammad_sla_plugin.twin import TwinServer
from datetime import datetime, timezone


@pytest.fixture(scope="module")
def twin() -> Iterator[TwinServer]:
    with TwinServer(token=TOKEN, time_scale=0.001, now=datetime(2026, 2, 1, 12, tzinfo=timezone.utc), frozen=True) as server:
        server.ids = seed(server)  # type: ignore[attr-defined]
        yield server


def run(twin: TwinServer, *args: str, config: str = "") -> Result:
    env = {"ZAMMAD_URL": twin.url, "ZAMMAD_TOKEN": TOKEN, "ZAMMAD_SLA_CONFIG": config}
    return CliRunner().invoke(main, list(args), env=env)


def locale_default(twin: TwinServer, value: str) -> None:
    assert requests.post(f"{twin.url}/_twin/settings", json={"locale_default": value}, timeout=5).status_code == 200


def html(twin: TwinServer, tmp_path: Path, *args: str, config: str = "") -> str:
    target = tmp_path / "report.html"
    result = run(twin, "report", *MARCH, "--format", "html", "--output", str(target), "--no-progress", *args, config=config)
    assert result.exit_code == 0, result.output
    return target.read_text(encoding="utf-8")


def test_report_lang_and_its_defaults(twin: TwinServer, tmp_path: Path) -> None:
    locale_default(twin, "en-us")
    assert '<html lang="en-US">' in html(twin, tmp_path)  # Zammad's en-us
    spanish = html(twin, tmp_path, "--lang", "es")
    assert '<html lang="es">' in spanish and "<h1>Informe de cumplimiento del SLA</h1>" in spanish
    assert "Calendario laboral: lun a vie 09:00-18:00 (hora de Buenos Aires), feriados de AR." in spanish
    locale_default(twin, "pt-br")  # no --lang, no policy locale: Zammad's locale_default
    portuguese = html(twin, tmp_path)
    assert '<html lang="pt-BR">' in portuguese and "<h1>Relatório de cumprimento do SLA</h1>" in portuguese
    policy = tmp_path / "policy.toml"
    from zammad_sla_plugin.core.policy import default_policy_text

    policy.write_text('locale = "es-AR"\n' + default_policy_text(), encoding="utf-8")
    assert '<html lang="es-AR">' in html(twin, tmp_path, config=str(policy))  # the policy's locale wins
    locale_default(twin, "en-us")


def test_explain_lang(twin: TwinServer) -> None:
    ticket_id = twin.ids["T1"]  # type: ignore[attr-defined]
    locale_default(twin, "en-us")
    english = run(twin, "explain", str(ticket_id))
    assert english.exit_code == 0, english.output
    assert english.output.startswith(f"Ticket {ticket_id}: status met")
    spanish = run(twin, "explain", str(ticket_id), "--lang", "es-AR")
    assert spanish.output.startswith(f"Ticket {ticket_id}: estado cumplido")
    assert "  intervalos en hora de Buenos Aires:" in spanish.output
    assert "Resolución (llegada a un estado cerrado): cumplido" in spanish.output
    locale_default(twin, "pt-br")
    assert run(twin, "explain", str(ticket_id)).output.startswith(f"Chamado {ticket_id}: status cumprido")
    as_json = run(twin, "explain", str(ticket_id), "--json")
    assert '"status": "met"' in as_json.output  # the JSON keeps its stable English values
    locale_default(twin, "en-us")
