"""`zammad-sla doctor` against the Zammad twin: passes after setup, fails clearly per broken thing."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pytest
from click.testing import CliRunner, Result

from zammad_sla_plugin.cli import main
from zammad_sla_plugin.admin.doctor import Doctor
from zammad_sla_plugin.core.policy import default_policy_text, load_policy
from zammad_sla_plugin.runtime.settings import load_settings
from tests.admin_support import SECRET, TOKEN, api, sidecar_env
from zammad_sla_plugin.twin import TwinServer
from zammad_sla_plugin.zammad import ZammadClient



@pytest.fixture()
def twin() -> Iterator[TwinServer]:
    with TwinServer(token=TOKEN, time_scale=0.001) as server:
        yield server


@pytest.fixture()
def env(twin: TwinServer, tmp_path: Path) -> dict[str, str | None]:
    return sidecar_env(twin, tmp_path / "data")


@pytest.fixture()
def installed(env: dict[str, str | None]) -> dict[str, str | None]:
    result = run(env, "setup")
    assert result.exit_code == 0, result.output
    return env


def run(env: dict[str, str | None], *args: str) -> Result:
    result = CliRunner().invoke(main, list(args), env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def lines(result: Result) -> dict[str, str]:
    """check name -> its status line (and fix line, joined)."""
    found: dict[str, str] = {}
    last = ""
    for line in result.output.splitlines():
        if line[:4] in ("PASS", "WARN", "FAIL"):
            last = line[6:].split(":")[0]
            found[last] = line
        elif line.strip().startswith("fix:") and last:
            found[last] += "\n" + line.strip()
    return found


def failing(result: Result) -> set[str]:
    return {name for name, line in lines(result).items() if line.startswith("FAIL")}


def test_doctor_passes_after_setup(installed: dict[str, str | None]) -> None:
    result = run(installed, "doctor")
    assert result.exit_code == 0, result.output
    checks = lines(result)
    assert set(checks) == {
        "Zammad reachable", "API token valid", "token permissions", "priorities mapped", "states known",
        "attributes", "tags", "mandatory fields", "webhook", "trigger", "signature secret", "clock skew", "queue writable"}
    assert all(line.startswith("PASS") for line in checks.values()), result.output
    assert result.output.rstrip().endswith("13 passed, 0 warnings, 0 failed")


def test_doctor_before_setup_says_run_setup(env: dict[str, str | None]) -> None:
    result = run(env, "doctor")
    assert result.exit_code == 1
    assert failing(result) == {"priorities mapped", "attributes", "tags", "webhook", "trigger", "signature secret"}
    assert "fix: run `zammad-sla setup`" in lines(result)["webhook"]


def test_deleted_webhook(twin: TwinServer, installed: dict[str, str | None]) -> None:
    [webhook] = api(twin, "GET", "webhooks")
    api(twin, "DELETE", f"webhooks/{webhook['id']}")
    result = run(installed, "doctor")
    assert result.exit_code == 1
    assert failing(result) == {"webhook", "trigger", "signature secret"}
    assert "no webhook named 'zammad-sla: SLA sidecar'" in lines(result)["webhook"]
    assert "calls a webhook that no longer exists" in lines(result)["trigger"]


def test_webhook_pointing_elsewhere_and_trigger_without_loop_guard(twin: TwinServer, installed: dict[str, str | None]) -> None:
    [webhook] = api(twin, "GET", "webhooks")
    api(twin, "PUT", f"webhooks/{webhook['id']}", json={"endpoint": "http://elsewhere:9000/webhooks/zammad"})
    [trigger] = api(twin, "GET", "triggers")
    api(twin, "PUT", f"triggers/{trigger['id']}", json={"condition": {"ticket.action": {"operator": "is", "value": "update"}}})
    result = run(installed, "doctor")
    assert failing(result) == {"webhook", "trigger"}
    assert "points at http://elsewhere:9000/webhooks/zammad, expected http://127.0.0.1:8085/webhooks/zammad" in lines(result)["webhook"]
    assert "does not exclude updates by our API user (id 3)" in lines(result)["trigger"]


def test_wrong_secret(installed: dict[str, str | None]) -> None:
    result = run({**installed, "ZAMMAD_SLA_WEBHOOK_SECRET": "another-secret"}, "doctor")
    assert result.exit_code == 1
    assert failing(result) == {"signature secret"}
    assert "differs from ZAMMAD_SLA_WEBHOOK_SECRET" in lines(result)["signature secret"]
    assert "another-secret" not in result.output and SECRET not in result.output


def test_unmapped_priority(twin: TwinServer, installed: dict[str, str | None]) -> None:
    api(twin, "POST", "ticket_priorities", 201, json={"name": "5 urgent", "active": True})
    result = run(installed, "doctor")
    assert result.exit_code == 1
    assert failing(result) == {"priorities mapped"}
    assert "not mapped by the policy: '5 urgent'" in lines(result)["priorities mapped"]
    assert 'fix: add them under [priorities] in the policy file (ZAMMAD_SLA_CONFIG), e.g. "5 urgent"' in lines(result)["priorities mapped"]


def test_inactive_mapped_priority(twin: TwinServer, installed: dict[str, str | None]) -> None:
    [blocker] = [p for p in api(twin, "GET", "ticket_priorities", 200) if p["name"] == "4 blocker"]
    api(twin, "PUT", f"ticket_priorities/{blocker['id']}", 200, json={"active": False})
    result = run(installed, "doctor")
    assert failing(result) == {"priorities mapped"}
    line = lines(result)["priorities mapped"]
    assert "inactive in Zammad, agents cannot pick them: '4 blocker'" in line and "missing" not in line
    assert "fix: activate them in Zammad (Admin > Priorities)" in line


def test_unknown_policy_state(installed: dict[str, str | None], tmp_path: Path) -> None:
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(default_policy_text().replace('"pending close"]', '"waiting for customer"]'))
    result = run({**installed, "ZAMMAD_SLA_CONFIG": str(policy_file)}, "doctor")
    assert failing(result) == {"states known"}
    assert "pause: 'waiting for customer'" in lines(result)["states known"]


def test_unknown_contract_pause_state(installed: dict[str, str | None], tmp_path: Path) -> None:
    policy_file = tmp_path / "policy.toml"
    contract = '\n[[contracts]]\nname = "Gold"\n[contracts.match]\ntag = ["gold"]\n[[contracts.versions]]\n' \
               'effective_from = 2026-03-01\npause_states = ["pending reminder", "on hold"]\n'
    policy_file.write_text(default_policy_text() + contract)
    result = run({**installed, "ZAMMAD_SLA_CONFIG": str(policy_file)}, "doctor")
    assert "states known" in failing(result)
    line = lines(result)["states known"]
    assert "contract Gold@2026-03-01 pause_states: 'on hold'" in line and "pending reminder" not in line.split("fix")[0]


def test_missing_permission_is_named(tmp_path: Path) -> None:
    from zammad_sla_plugin.admin.provision import REQUIRED_PERMISSIONS

    lacking = sorted(set(REQUIRED_PERMISSIONS) - {"admin.trigger", "admin.ticket_priority"})
    with TwinServer(token=TOKEN, time_scale=0.001, api_permissions=lacking) as server:
        result = run(sidecar_env(server, tmp_path / "data"), "doctor")
    assert "token permissions" in failing(result) and "trigger" in failing(result)
    line = lines(result)["token permissions"]
    assert "admin.trigger (to manage the trigger)" in line
    assert "admin.ticket_priority (to create the priorities the policy maps" in line  # seen through a PUT to id 0


def test_quiet_mode_off_is_a_warning(installed: dict[str, str | None], tmp_path: Path) -> None:
    policy_file = tmp_path / "loud.toml"
    policy_file.write_text(default_policy_text().replace("quiet = true", "quiet = false"))
    result = run({**installed, "ZAMMAD_SLA_CONFIG": str(policy_file)}, "doctor")
    # The installed attributes still carry the quiet permission: they drifted from this policy.
    assert "attributes" in failing(result) and "differs (data_option)" in lines(result)["attributes"]
    loud = {**installed, "ZAMMAD_SLA_CONFIG": str(policy_file)}
    assert run(loud, "setup").exit_code == 0
    after = run(loud, "doctor")
    assert after.exit_code == 0 and lines(after)["attributes"].startswith("WARN")
    assert "quiet mode off" in lines(after)["attributes"]


def test_signature_fingerprint_missing_is_a_warning(twin: TwinServer, installed: dict[str, str | None]) -> None:
    [webhook] = api(twin, "GET", "webhooks")
    api(twin, "PUT", f"webhooks/{webhook['id']}", json={"note": "edited by an admin"})
    result = run(installed, "doctor")
    assert lines(result)["signature secret"].startswith("WARN") and "fingerprint" in lines(result)["signature secret"]


def test_bad_token_and_unreachable_zammad(installed: dict[str, str | None]) -> None:
    bad = run({**installed, "ZAMMAD_TOKEN": "wrong"}, "doctor")
    assert bad.exit_code == 1
    assert lines(bad)["Zammad reachable"].startswith("PASS")
    assert "Can't find User for Token" in lines(bad)["API token valid"]
    assert "not checked: API token valid failed" in lines(bad)["webhook"]
    down = run({**installed, "ZAMMAD_URL": "http://127.0.0.1:9"}, "doctor")
    assert down.exit_code == 1 and lines(down)["Zammad reachable"].startswith("FAIL")
    assert "check ZAMMAD_URL (http://127.0.0.1:9)" in lines(down)["Zammad reachable"]
    assert lines(down)["queue writable"].startswith("PASS")  # independent of Zammad


def test_queue_not_writable(installed: dict[str, str | None], tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    result = run({**installed, "ZAMMAD_SLA_DATA_DIR": str(blocker)}, "doctor")
    assert failing(result) == {"queue writable"}
    assert "make ZAMMAD_SLA_DATA_DIR writable" in lines(result)["queue writable"]


def test_clock_skew(twin: TwinServer, installed: dict[str, str | None]) -> None:
    settings = load_settings({k: v for k, v in installed.items() if v is not None})
    with ZammadClient(twin.url, TOKEN) as client:
        fast = Doctor(client, load_policy(), settings, now=lambda: datetime.now(timezone.utc) + timedelta(minutes=2))
        skewed = fast.check_clock()
        exact = Doctor(client, load_policy(), settings).check_clock()
    assert skewed.failed and skewed.detail.startswith("+12") and "NTP" in skewed.fix
    assert not exact.failed
