"""`zammad-sla demo --lang es-ar`: Zammad's locale_default is Spanish, and the week reads in Spanish.

The sidecar learns the language from the twin (locale_default), so its notes are Spanish; the
demo's own lines, the table's headings and the e-mails are too. Expected lines written by hand.
"""

from __future__ import annotations

import re

from click.testing import CliRunner

from zammad_sla_plugin.cli import main


def test_the_demo_week_in_spanish() -> None:
    result = CliRunner().invoke(main, ["demo", "--lang", "es-ar"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Campos y etiquetas del SLA en Zammad al final de la semana (jue 26 de marzo, 18:00):" in out
    assert "2026-03-19 17:00  Caída del proveedor de CRM                   -> incumplido (nadie lo tocó; nota y etiqueta escritas)" in out
    assert ("-> origen declarado sin evidencia: se computa, en término (etiqueta sla-evidence-missing agregada, nota para "
            "el responsable escrita)") in out
    assert "-> evidencia registrada, excluido (etiqueta sla-evidence-missing quitada)" in out
    assert re.search(r"^#\s+título\s+prioridad\s+estado\s+sla_status\s+vence 1\.ª resp\. vence resol\. etiquetas$", out, re.MULTILINE)
    assert "sáb 21 04:00 sáb 21 09:00" in out  # the blocker's deadlines, in Spanish day names
    emails = re.findall(r"^  a (\S+): 'Su propuesta fue aprobada: Modo oscuro para la ventana web", out, re.MULTILINE)
    assert emails == ["emily@example.com", "samuel@example.com", "jacob.miller@example.com"]
    assert "(sos el responsable de este ticket)" in out
    assert re.search(r"^Listo en \d+\.\d s\.$", out, re.MULTILINE)
    assert "SLA fields and tags" not in out and "Your proposal" not in out and "nobody touched it" not in out
