"""The policy file: defaults exactly as the Aivo SLA, and every problem reported with its path."""

from __future__ import annotations

from pathlib import Path

import pytest

from zammad_sla_plugin.core.policy import PolicyError, default_policy_text, load_policy


def test_default_policy_is_the_aivo_sla() -> None:
    policy = load_policy()
    assert policy.priorities == {"1 low": "low", "2 normal": "medium", "3 high": "high", "4 blocker": "blocker"}
    assert policy.calendar.timezone == "America/Argentina/Buenos_Aires"
    assert policy.calendar.holidays_country == "AR"
    assert policy.calendar.hours == {day: [("09:00", "18:00")] for day in ("mon", "tue", "wed", "thu", "fri")}
    got = {name: (t.clock, t.first_response_minutes, t.resolution_minutes) for name, t in policy.severities.items()}
    assert got == {
        "blocker": ("24x7", 60, 360),
        "high": ("business", 120, 480),
        "medium": ("business", 240, 2700),
        "low": ("business", 240, 2700),
    }
    high_24x7 = policy.support_24x7.targets["high"]
    assert (high_24x7.clock, high_24x7.first_response_minutes, high_24x7.resolution_minutes) == ("24x7", 120, 960)
    assert policy.support_24x7.severities == ("blocker", "high")
    assert policy.warning_threshold == 0.8
    assert policy.states.pause == ("pending reminder", "pending close")
    assert policy.states.closed == ("closed",)
    assert policy.states.merged == ("merged",)
    assert policy.attributes.status == "sla_status"
    assert policy.tags.at_risk == "sla-at-risk"


def test_every_problem_is_reported_with_its_key_path(tmp_path: Path) -> None:
    text = (
        default_policy_text()
        .replace("warning_threshold = 0.8", "warning_threshold = 1.5")
        .replace('timezone = "America/Argentina/Buenos_Aires"', 'timezone = "Mars/Olympus"')
        .replace("first_response_minutes = 60", "first_response_minutes = -5")
        .replace('status = "sla_status"', 'status = "sla_status_id"')
    )
    path = tmp_path / "policy.toml"
    path.write_text(text)
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    message = str(caught.value)
    assert str(path) in message
    assert "warning_threshold" in message
    assert "calendar.timezone" in message and "Mars/Olympus" in message
    assert "severities.blocker.first_response_minutes" in message
    assert "attributes" in message and "_id" in message
    assert len(caught.value.problems) == 4


def test_priority_mapped_to_unknown_severity(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(default_policy_text().replace('"4 blocker" = "blocker"', '"4 blocker" = "critical"'))
    with pytest.raises(PolicyError, match=r"priorities.*'4 blocker'.*critical"):
        load_policy(path)


def test_unknown_keys_and_weekdays_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(
        default_policy_text().replace("[calendar.hours]", "[calendar.hours]\nmonday = [[\"09:00\", \"18:00\"]]")
        + "\n[extra]\nfoo = 1\n"
    )
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert any(p.startswith("calendar.hours") and "monday" in p for p in caught.value.problems)
    assert any(p.startswith("extra") for p in caught.value.problems)


def test_bad_hours_are_reported_by_the_calendar(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(default_policy_text().replace('mon = [["09:00", "18:00"]]', 'mon = [["18:00", "09:00"]]'))
    with pytest.raises(PolicyError, match="calendar"):
        load_policy(path)


def test_state_in_two_roles(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(default_policy_text().replace('closed = ["closed"]', 'closed = ["closed", "pending close"]'))
    with pytest.raises(PolicyError, match="pending close"):
        load_policy(path)


def test_not_toml_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.toml"
    path.write_text("this is = = not toml")
    with pytest.raises(PolicyError, match="not valid TOML"):
        load_policy(path)
    with pytest.raises(PolicyError, match="cannot read file"):
        load_policy(tmp_path / "absent.toml")
