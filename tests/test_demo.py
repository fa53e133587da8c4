"""`zammad-sla demo`: the scripted week ends with every Aivo rule visible in Zammad."""

from __future__ import annotations

import re

from click.testing import CliRunner

from zammad_sla_plugin.cli import main


def test_demo_week_shows_every_rule() -> None:
    result = CliRunner().invoke(main, ["demo"])
    assert result.exit_code == 0, result.output
    rows = {
        match.group("title").strip(): (match.group("status"), match.group("tags"))
        for match in re.finditer(
            r"^\d+\s+(?P<title>.{44}) \S+ \S+\s+\S*?\s*(?P<status>on_track|at_risk|breached|paused|met|"
            r"not_applicable|excluded)\s+.*?(?P<tags>\S+)$",
            result.output,
            re.MULTILINE,
        )
    }
    assert rows["Virtual assistant web window down"] == ("met", "-")
    assert rows["Reports module partially unavailable"] == ("met", "-")
    assert rows["WhatsApp integration failing (built by Aivo)"] == ("breached", "sla-breached")
    assert rows["Wrong totals in one report"] == ("on_track", "-")
    assert rows["How do I export intents?"] == ("met", "-")
    assert rows["Dark mode for the web window"] == ("not_applicable", "-")
    assert rows["Please add a dark theme"] == ("not_applicable", "-")
    # third party claimed without evidence: counted (breached at 17:00) and flagged, until the evidence
    assert rows["CRM vendor outage"] == ("excluded", "-")
    assert "2026-03-19 17:00  CRM vendor outage                            -> breached" in result.output
    assert "-> origin claimed without evidence: counted, on_track (sla-evidence-missing tag added" in result.output
    assert "-> evidence written, excluded (sla-evidence-missing tag removed)" in result.output
    # the approved proposal: its customer, the linked duplicate's customer and the subscriber, once each
    emails = re.findall(r"^  to (\S+): 'Your proposal was approved: Dark mode for the web window", result.output, re.MULTILINE)
    assert emails == ["emily@example.com", "samuel@example.com", "jacob.miller@example.com"]
    assert rows["Live agents cannot answer"] == ("breached", "sla-breached")
    assert rows["Help articles search is slow"] == ("breached", "sla-breached")
    assert rows["Intent training stuck"] == ("on_track", "-")
    # a second contract: the Sao Paulo customer's ticket on its own calendar (Thu 16:30: 30 min + Fri 08:00-09:30;
    # resolution 30 + 240 + 13:00-16:30), the default elsewhere
    assert rows["Chat da loja fora do ar"] == ("met", "-")
    assert re.search(r"^\d+\s+Chat da loja fora do ar .* Fri 20 09:30\s+Fri 20 16:30 ", result.output, re.MULTILINE)
    assert "-> contract Brasil: Sao Paulo hours 08-12 + 13-17, due Fri 09:30 / 16:30 there, met [contract Brasil]" in result.output
    assert "-> raised to high: targets re-measured from creation [contract default]" in result.output
    # escalations happened at their exact instants with nobody touching the tickets
    assert "2026-03-19 17:36  Live agents cannot answer" in result.output
    assert "2026-03-21 14:00  WhatsApp integration failing (built by Aivo) -> breached" in result.output
    # against a twin as strict as Zammad, quietly: routine writes notified nobody, escalations did
    assert "the sidecar's token holds only admin.core_workflow, admin.object" in result.output
    assert "routine writes (deadlines, on_track/paused/met): 0 notification(s)" in result.output
    assert re.search(r"note or e-mail on 'Live agents cannot answer': emma\.taylor@example\.com \(you are a member of "
                     r"the group of this ticket\); jacob\.miller", result.output)
    assert "note or e-mail on 'WhatsApp integration failing (built by Aivo)': emma.taylor@example.com (you are the owner" in result.output
