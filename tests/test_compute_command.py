"""`zammad-sla compute`: JSON in, JSON out, bad lines named and the rest still answered."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from tests.sla_builders import history, ticket
from zammad_sla_plugin.cli import main

EXAMPLE = Path(__file__).resolve().parent.parent / "zammad_sla_plugin" / "examples" / "tickets.jsonl"


def line(**overrides: object) -> str:
    item = {"ticket": ticket("2026-03-10T13:00:00Z"), "history": history(), "organization": None,
            "now": "2026-03-10T13:00:00Z", **overrides}  # fmt: skip
    return json.dumps(item)


def invoke(stdin: str, *args: str):  # noqa: ANN201 - click's Result
    return CliRunner().invoke(main, ["compute", *args], input=stdin)


def test_json_lines_in_order() -> None:
    second = json.loads(line())
    second["ticket"]["id"] = 43
    result = invoke(line() + "\n" + json.dumps(second) + "\n")
    assert result.exit_code == 0, result.output
    outputs = [json.loads(text) for text in result.stdout.splitlines()]
    assert [o["ticket_id"] for o in outputs] == [42, 43]
    assert outputs[0]["first_response"]["due_at"] == "2026-03-10T15:00:00Z"
    assert set(outputs[0]) == {"ticket_id", "applies", "severity", "clock", "support_24x7", "status",
                               "first_response", "resolution", "next_check_at"}  # fmt: skip
    assert set(outputs[0]["resolution"]) == {"target_minutes", "due_at", "met_at", "state", "counted_minutes", "paused_minutes"}


def test_one_pretty_printed_object() -> None:
    result = invoke(json.dumps(json.loads(line()), indent=2))
    assert result.exit_code == 0
    assert json.loads(result.stdout)["status"] == "on_track"


def test_bad_lines_are_named_and_the_rest_answered() -> None:
    no_created = json.loads(line())
    del no_created["ticket"]["created_at"]
    unmapped = json.loads(line())
    unmapped["ticket"]["priority"] = "5 apocalyptic"
    stdin = "\n".join([
        line(), "{not json", json.dumps(no_created), json.dumps(unmapped),
        line(now="2026-03-10T13:00:00"), line(),
    ])  # fmt: skip
    result = invoke(stdin)
    assert result.exit_code == 2
    assert len(result.stdout.splitlines()) == 2
    errors = result.stderr.splitlines()
    assert len(errors) == 4
    assert errors[0].startswith("zammad-sla compute: line 2: not JSON")
    assert "line 3:" in errors[1] and "created_at" in errors[1]
    assert "line 4:" in errors[2] and "5 apocalyptic" in errors[2]
    assert "line 5:" in errors[3] and "naive" in errors[3]
    assert "Traceback" not in result.output


def test_invalid_config_is_one_clear_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('warning_threshold = 2\n[calendar]\ntimezone = "Nowhere/Land"\n')
    result = invoke(line(), "--config", str(bad))
    assert result.exit_code == 2
    assert "warning_threshold" in result.stderr and "calendar.timezone" in result.stderr
    assert "priorities: Field required" in result.stderr
    assert "Traceback" not in result.output


def test_config_from_environment(tmp_path: Path) -> None:
    custom = tmp_path / "custom.toml"
    from zammad_sla_plugin.core.policy import default_policy_text

    custom.write_text(default_policy_text().replace("first_response_minutes = 120\nresolution_minutes = 480",
                                                    "first_response_minutes = 30\nresolution_minutes = 480"))  # fmt: skip
    result = CliRunner().invoke(main, ["compute"], input=line(), env={"ZAMMAD_SLA_CONFIG": str(custom)})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["first_response"]["due_at"] == "2026-03-10T13:30:00Z"


def test_bundled_example_through_the_installed_command() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "zammad_sla_plugin.cli", "compute"],
        input=EXAMPLE.read_text(), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    statuses = {r["ticket_id"]: r["status"] for r in map(json.loads, completed.stdout.splitlines())}
    assert statuses == {101: "at_risk", 102: "met", 103: "on_track", 104: "breached", 105: "on_track",
                        106: "not_applicable", 107: "on_track", 108: "excluded"}  # fmt: skip


def test_deeply_nested_json_is_a_clear_error_for_that_line_only() -> None:
    deep = '{"ticket": ' + "[" * 100_000 + "]" * 100_000 + "}"
    result = invoke(line() + "\n" + deep + "\n" + line() + "\n")
    assert result.exit_code == 2
    assert "zammad-sla compute: line 2: JSON nested too deeply" in result.stderr
    assert "Traceback" not in result.output
    assert len(result.stdout.splitlines()) == 2
