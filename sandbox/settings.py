"""Settings that point the bridge at the sandboxes: their addresses, token, channel and
connection, so a test, the bench or the demo states only what is its own."""

from pathlib import Path
from typing import Any

from bot.config import Settings, load_settings
from sandbox.membrane import FakeMembrane
from sandbox.slack import FakeSlack

MEMBRANE_TOKEN = (
    "eyJhbGciOiJIUzI1NiJ9.eyJpZCI6InNhbmRib3gifQ.c2FuZGJveA"  # JWT-shaped, as Membrane's
)


def settings_for(
    slack: FakeSlack,
    membrane: FakeMembrane,
    database_path: str | Path,
    *,
    signing_secret: str,
    webhook_secret: str,
    **more: Any,
) -> Settings:
    """The bridge's settings against `slack` and `membrane`; `more` adds or overrides any."""
    given = {
        "slack_bot_token": slack.token,
        "slack_signing_secret": signing_secret,
        "slack_channel_id": sorted(slack.channels)[0],
        "slack_api_url": slack.api_url,
        "membrane_connection_id": membrane.connection_id,
        "membrane_token": MEMBRANE_TOKEN,
        "membrane_api_url": membrane.url,
        "chatra_webhook_secret": webhook_secret,
        "database_path": str(database_path),
    }
    return load_settings(_env_file=None, **(given | more))
