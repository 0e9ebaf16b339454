"""Settings: every problem named at once, never a secret's value."""

import pytest

from bot.config import SettingsError, load_settings
from tests.helpers import VALID


def test_a_bad_agent_map_file_is_named(tmp_path):
    broken = tmp_path / "agents.json"
    broken.write_text('["U1", "a1"]')
    with pytest.raises(SettingsError) as error:
        load_settings(_env_file=None, **VALID, agent_map_file=str(broken), port=0, log_level="loud")
    message = str(error.value)
    assert "AGENT_MAP_FILE: must hold a JSON object" in message
    assert "PORT: Input should be greater than or equal to 1" in message
    assert "LOG_LEVEL: must be DEBUG, INFO, WARNING, ERROR or CRITICAL" in message
    assert "secret-token-value" not in message


def test_workspace_credentials_replace_a_ready_token():
    minting = {k: v for k, v in VALID.items() if k != "membrane_token"}
    with pytest.raises(SettingsError) as error:
        load_settings(_env_file=None, **minting, membrane_workspace_key="ws")
    assert "MEMBRANE_TOKEN: required, or all of" in str(error.value)
    settings = load_settings(
        _env_file=None,
        **minting,
        membrane_workspace_key="ws",
        membrane_workspace_secret="s" * 32,
        membrane_tenant_key="t",
    )
    assert settings.membrane_token is None


def test_socket_mode_needs_no_signing_secret():
    socket = {k: v for k, v in VALID.items() if k != "slack_signing_secret"}
    settings = load_settings(_env_file=None, **socket, slack_app_token="xapp-1-abc")
    assert settings.slack_signing_secret is None


def test_bad_business_hours_timezone_and_rotation_file_are_named(tmp_path):
    plan = tmp_path / "rotation.json"
    plan.write_text('{"people": ["U1"], "handover": "funday 09:00"}')
    with pytest.raises(SettingsError) as error:
        load_settings(
            _env_file=None,
            **VALID,
            business_timezone="Mars/Olympus",
            business_hours="weekdays 9-5",
            oncall_rotation_file=str(plan),
        )
    message = str(error.value)
    assert "BUSINESS_TIMEZONE: unknown timezone 'Mars/Olympus'" in message
    assert "BUSINESS_HOURS: 'weekdays 9-5' is not like 'mon-fri 09:00-18:00'" in message
    assert "ONCALL_ROTATION_FILE: cannot read a rotation from" in message
    assert "'funday' is not a day of the week" in message


@pytest.mark.parametrize("hours", ["mon-fri", "mon-fri 09:00", "09:00-18:00 mon-fri x"])
def test_business_hours_with_a_part_missing_say_what_is_expected(hours):
    with pytest.raises(SettingsError) as error:
        load_settings(_env_file=None, **VALID, business_hours=hours)
    assert error.value.problems == [
        f"BUSINESS_HOURS: {hours!r} is not like 'mon-fri 09:00-18:00': days, then hours"
    ]
