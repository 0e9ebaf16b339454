import contextlib
import os
from collections.abc import AsyncIterator, Iterator

import pytest

from bot.config import Settings
from bot.trying.sandboxed import RunningApp, settings_for
from sandbox import postgres
from sandbox.chatra import chat_event, visitor_says
from sandbox.membrane import FakeMembrane
from sandbox.slack import FakeSlack
from storage import Store, open_database

BACKENDS = ["sqlite", "postgresql"]

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


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test marked sqlite_only (about SQLite's file, say) runs on SQLite alone."""
    on_postgres = [
        item
        for item in items
        if item.get_closest_marker("sqlite_only")
        and getattr(item, "callspec", None) is not None
        and item.callspec.params.get("database") == "postgresql"
    ]
    if on_postgres:
        config.hook.pytest_deselected(items=on_postgres)
        items[:] = [item for item in items if item not in on_postgres]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Each phase's outcome kept on the test (`rep_call`): a browser test's fixture takes a
    screenshot when the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


_OWN_SERVER = contextlib.ExitStack()


def pytest_configure(config: pytest.Config) -> None:
    """Without TEST_POSTGRES_URL (CI starts one), the first process starts a server of its own
    from the machine's packages, which the test workers it starts inherit."""
    if hasattr(config, "workerinput") or os.environ.get("TEST_POSTGRES_URL"):
        return
    if postgres.bin_dir() is not None:
        url = _OWN_SERVER.enter_context(postgres.running_server(fast=True))
        os.environ["TEST_POSTGRES_URL"] = url


def pytest_unconfigure(config: pytest.Config) -> None:
    _OWN_SERVER.close()


@pytest.fixture(scope="session")
def postgres_server() -> str | None:
    """The tests' PostgreSQL server; None when the machine has none (REQUIRE_POSTGRES=1 makes
    that a failure)."""
    if os.environ.get("TEST_POSTGRES_URL"):
        return os.environ["TEST_POSTGRES_URL"]
    if os.environ.get("REQUIRE_POSTGRES"):
        pytest.fail("PostgreSQL is required (REQUIRE_POSTGRES) and not installed")
    return None


@pytest.fixture
def postgres_database(postgres_server: str | None) -> Iterator[str]:
    """A new empty PostgreSQL database: its URL."""
    if postgres_server is None:
        pytest.skip("PostgreSQL is not installed here")
    with postgres.fresh_database(postgres_server) as url:
        yield url


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path) -> str:
    """Where the bridge keeps its state: each test that runs the bridge runs on both."""
    if request.param == "sqlite":
        return str(tmp_path / "bridge.db")
    return request.getfixturevalue("postgres_database")


@pytest.fixture
def store(database: str) -> Iterator[Store]:
    """The repositories over a new database of either backend."""
    db = open_database(database)
    yield Store.over(db)
    db.close()


class FakeClock:
    """The bridge's clock in a test: it moves when the test says."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0  # Fri 15 Jan 2027 08:00 UTC

    def __call__(self) -> float:
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += minutes * 60


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def app(settings: Settings, clock: FakeClock) -> AsyncIterator[RunningApp]:
    """The bridge on `clock`, its leader's checks (waits, pings) running every 0.05 s (a
    module that needs another bridge has an `app` of its own)."""
    fast = settings.model_copy(update={"escalation_check_seconds": 0.05})
    running = await RunningApp(fast, clock).start()
    yield running
    await running.close()


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


def settings_on(database: str, slack: FakeSlack, membrane: FakeMembrane, **more) -> Settings:
    """The tests' settings for a bridge on `database` (a SQLite file or a PostgreSQL URL)."""
    return settings_for(
        slack,
        membrane,
        database,
        signing_secret=SIGNING_SECRET,
        webhook_secret=WEBHOOK_SECRET,
        membrane_token=MEMBRANE_TOKEN,
        membrane_timeout=1.0,
        membrane_retry_attempts=3,
        membrane_retry_base_delay=0.01,
        membrane_probe_interval=0.3,
        chatra_echo_grace=0.2,
        **more,
    )


@pytest.fixture
def settings_on_postgres(
    slack: FakeSlack, membrane: FakeMembrane, postgres_database: str
) -> Settings:
    """Both bridges' settings: the tests' own, on one PostgreSQL database."""
    return settings_on(
        postgres_database,
        slack,
        membrane,
        lane_lease_seconds=2,
        escalation_check_seconds=0.1,
        public_url="https://bridge.test",
    )


@pytest.fixture
def settings(database: str, slack: FakeSlack, membrane: FakeMembrane) -> Settings:
    return settings_on(database, slack, membrane)


@pytest.fixture
async def bridge(settings: Settings) -> AsyncIterator[RunningApp]:
    running = await RunningApp(settings).start()
    yield running
    await running.close()


@pytest.fixture
async def thread_ts(bridge: RunningApp, slack: FakeSlack) -> str:
    """A chat with client-1 already mirrored: the parent message's ts."""
    await bridge.webhook(
        chat_event("chatStarted", messages=[visitor_says("m1", "Hi")], name="Jane")
    )
    await bridge.settled()
    [card] = slack.parents(CHANNEL)
    return card.ts
