from collections.abc import AsyncIterator

import pytest

from bot.config import Settings
from bot.sandboxed import RunningApp, settings_for
from sandbox.membrane import FakeMembrane
from sandbox.slack import FakeSlack

BOT_TOKEN = "xoxb-test-0000-bot-token"
SIGNING_SECRET = "test-signing-secret-8f3a"
WEBHOOK_SECRET = "webhook-secret-0123456789"
CHANNEL = "C0SUPPORT1"
CONNECTION = "conn-chatra-1"
MEMBRANE_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJpZCI6InRlbmFudCJ9.c2lnbmF0dXJl"
USERS = {
    "U0AGENT01": {
        "id": "U0AGENT01",
        "name": "sam",
        # the Chatra agent Ana (a9, see tests.helpers.chat_event) has the same email
        "profile": {"display_name": "Sam", "real_name": "Sam Agent", "email": "ana@example.com"},
    },
    "U0AGENT02": {
        "id": "U0AGENT02",
        "name": "kim",
        "profile": {"display_name": "", "real_name": "Kim Lee"},
    },
    "U0AGENT03": {
        "id": "U0AGENT03",
        "name": "lee",
        "profile": {"display_name": "Lee", "real_name": "Lee Park", "email": "lee@example.org"},
    },
}


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    fake = await FakeSlack(BOT_TOKEN, {CHANNEL}, USERS).start()
    yield fake
    await fake.stop()


@pytest.fixture
async def membrane() -> AsyncIterator[FakeMembrane]:
    fake = await FakeMembrane(CONNECTION).start()
    yield fake
    await fake.stop()


@pytest.fixture
def settings(tmp_path, slack: FakeSlack, membrane: FakeMembrane) -> Settings:
    return settings_for(
        slack,
        membrane,
        tmp_path / "bridge.db",
        signing_secret=SIGNING_SECRET,
        webhook_secret=WEBHOOK_SECRET,
        membrane_token=MEMBRANE_TOKEN,
        membrane_timeout=1.0,
        membrane_retry_attempts=3,
        membrane_retry_base_delay=0.01,
        membrane_probe_interval=0.3,
        chatra_echo_grace=0.2,
    )


@pytest.fixture
async def bridge(settings: Settings) -> AsyncIterator[RunningApp]:
    running = await RunningApp(settings).start()
    yield running
    await running.close()
