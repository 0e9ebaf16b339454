"""Storage, on SQLite and PostgreSQL alike: what must survive a power cut is committed with a full
sync and the rest is not; the same repositories keep the same facts."""

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from storage import DatabaseError, Inbox, Lanes, Outages, SlackPosts, Store, open_database
from storage.schema import SCHEMA_VERSION, schema_version
from storage.units import OnTheLoop

FULL, NORMAL = 2, 1


async def statement(store: Store, sql: str) -> None:
    """A statement as another bridge or an operator would run it: off the event loop."""
    await asyncio.to_thread(store.db.execute, sql)


def synchronous(db) -> int:
    return db.conn.execute("PRAGMA synchronous").fetchone()[0]


def test_only_acknowledged_events_and_intents_pay_for_a_full_sync(tmp_path):
    db = open_database(tmp_path / "bridge.db")
    assert synchronous(db) == NORMAL
    with db.transaction(durable=True):
        assert synchronous(db) == FULL
    assert synchronous(db) == NORMAL

    async def a_reply_mirrored() -> None:
        await Inbox(db).add("chatra", "key-1", "client-1", "{}")
        await SlackPosts(db).intend(["chatra:m1"], "C1", None)
        await SlackPosts(db).posted(["chatra:m1"], "1.000001", "C1")
        await Inbox(db).mark_done(1)

    seen = []
    db.conn.set_trace_callback(seen.append)
    asyncio.run(a_reply_mirrored())
    db.conn.set_trace_callback(None)
    pragmas = [sql for sql in seen if sql.startswith("PRAGMA synchronous")]
    assert pragmas == ["PRAGMA synchronous = FULL", "PRAGMA synchronous = NORMAL"] * 2
    db.close()


def test_a_new_database_gets_the_current_schema_and_a_second_start_changes_nothing(database):
    db = open_database(database)
    assert schema_version(db) == SCHEMA_VERSION
    db.close()
    db = open_database(database)  # as a second bridge starting does
    assert schema_version(db) == SCHEMA_VERSION
    db.close()


async def test_the_same_event_is_stored_once_and_a_transaction_that_fails_leaves_nothing(store):
    assert await store.inbox.add("chatra", "k1", "chat-1", "{}") is not None
    assert await store.inbox.add("chatra", "k1", "chat-1", "{}") is None

    def stopped_half_way() -> None:
        with store.db.transaction():
            store.inbox.add.now("chatra", "k2", "chat-2", "{}")
            raise RuntimeError("the process stops here")

    with pytest.raises(RuntimeError):
        await store.db.run("stopped half way", stopped_half_way, "durable")
    assert await store.inbox.count("pending") == 1


async def test_a_lane_is_held_by_one_bridge_until_released_or_expired(store):
    await store.inbox.add("chatra", "k1", "chat-1", "{}")
    await store.inbox.add("slack", "k2", "chat-1:replies", "{}")
    lanes = store.lanes

    first = await lanes.claim("bridge-a", ttl=30, limit=10)
    assert sorted(c.lane for c in first) == ["chat-1", "chat-1:replies"]
    assert not any(c.taken_over for c in first)
    assert await lanes.claim("bridge-b", ttl=30, limit=10) == []  # held: nothing for another
    assert [e.payload for e in await store.inbox.pending("bridge-b")] == []
    assert len(await store.inbox.pending("bridge-a")) == 2

    await lanes.release("bridge-a", ["chat-1"])  # done with it: another may take it at once
    taken = [(c.lane, c.taken_over) for c in await lanes.claim("bridge-b", 30, 10)]
    assert taken == [("chat-1", False)]
    await statement(store, "UPDATE lanes SET expires_at = 0 WHERE holder = 'bridge-a'")  # a died
    assert [(c.lane, c.taken_over) for c in await lanes.claim("bridge-b", 30, 10)] == [
        ("chat-1:replies", True)  # it may be half done
    ]
    assert await lanes.renew("bridge-a", 30) == set()  # a, back, learns it holds nothing
    assert await lanes.renew("bridge-b", 30) == {"chat-1", "chat-1:replies"}


async def test_an_outage_seen_by_two_bridges_is_one_outage_counting_what_waited_once(store):
    a, b = Outages(store.db), Outages(store.db)
    since = await a.begin("slack", "HTTP 503", 100.0)
    assert await b.begin("slack", "no answer", 105.0) == since == 100.0
    await a.waited("slack", since, "7")
    await b.waited("slack", since, "7")
    await b.waited("slack", since, "chatra:m1")
    await b.end("slack", 160.0)
    assert await a.current() == {}
    [over] = await a.untold()
    assert (over.since, over.until, over.delayed, over.reason) == (100.0, 160.0, 2, "HTTP 503")
    await a.told("slack", since)
    assert await b.untold() == []


def test_claims_skip_what_another_bridge_is_claiming_at_the_same_moment(postgres_database):
    store = Store.over(open_database(postgres_database))
    other = open_database(postgres_database)

    async def two_chats() -> None:
        await store.inbox.add("chatra", "k1", "chat-1", "{}")
        await store.inbox.add("chatra", "k2", "chat-2", "{}")

    async def claiming() -> list[str]:
        return [c.lane for c in await Lanes(store.db).claim("bridge-a", 30, 10)]

    try:
        asyncio.run(two_chats())
        with other.transaction():  # bridge b is in the middle of claiming chat-1
            other.execute("SELECT lane FROM lanes WHERE lane = 'chat-1' FOR UPDATE")
            claimed = asyncio.run(claiming())  # does not wait for b
        assert claimed == ["chat-2"]
    finally:
        other.close()
        store.db.close()


def test_postgresql_commits_wait_for_the_wal_whatever_the_servers_default(postgres_database):
    """The tests' server commits asynchronously by default; the bridge's connections do not: a
    crash of the server must not take back what the bridge was told is kept."""
    db = open_database(postgres_database)
    try:
        setting = db.execute(
            "SELECT setting, source FROM pg_settings WHERE name = ?", ["synchronous_commit"]
        )
        assert setting.fetchone() == ("on", "session")
    finally:
        db.close()


async def test_a_statement_on_the_event_loops_thread_is_refused_and_a_unit_is_not(store):
    with pytest.raises(OnTheLoop):
        store.db.execute("SELECT 1")
    assert await store.threads.for_client("nobody") is None  # a unit: run on a database thread


async def test_durable_writes_that_arrive_together_share_one_fsync_and_one_failure_costs_none(
    tmp_path,
):
    db = await asyncio.to_thread(open_database, tmp_path / "bridge.db")
    inbox = Inbox(db)
    go_on = threading.Event()
    busy = asyncio.ensure_future(db.run("busy", lambda: go_on.wait(5), "write"))
    await asyncio.sleep(0.05)  # the writer is busy: what arrives now waits, together

    def refused() -> None:
        inbox.add.now("chatra", "bad", "c-bad", "{}")
        raise ValueError("refused")

    adds = [asyncio.ensure_future(inbox.add("chatra", f"k{n}", f"c{n}", "{}")) for n in range(20)]
    failing = asyncio.ensure_future(db.run("refused", refused, "durable"))
    await asyncio.sleep(0.05)
    seen: list[str] = []
    db.conn.set_trace_callback(seen.append)
    go_on.set()
    await busy
    ids = await asyncio.gather(*adds)
    with pytest.raises(ValueError):
        await failing
    db.conn.set_trace_callback(None)

    assert len(set(ids)) == 20 and await inbox.count("pending") == 20  # "bad" was undone alone
    assert seen.count("PRAGMA synchronous = FULL") == 1  # one fsync for the 21 writes
    await asyncio.to_thread(db.close)


async def test_a_unit_of_work_that_fails_half_way_leaves_nothing(store):
    """Every unit is a transaction, alone or beside others, on either backend: the thread it
    inserted before its next statement failed is gone with it."""

    def half_way() -> None:
        store.threads.add.now("client-1", "C1", "1.000001", "{}")
        store.db.execute("INSERT INTO no_such_table VALUES (1)")

    with pytest.raises(DatabaseError):
        await store.db.run("half way", half_way, "write")
    assert await store.threads.for_client("client-1") is None


def test_a_chat_that_commits_while_its_channels_due_is_read_is_seen_whole(database, monkeypatch):
    """What a channel is owed is read in several statements, each seeing the database at its
    own moment: a new chat (its thread and first message, one unit) that commits between them
    is never a card due without its message (posted opening with nothing)."""
    store = Store.over(db := open_database(database))
    real = db.execute

    def another_bridge_starts_a_chat() -> None:
        other = Store.over(elsewhere := open_database(database, migrate=False))
        with elsewhere.transaction():
            thread = other.threads.add.now("client-9", "C1", "{}")
            other.messages.claim_chatra_messages.now("client-9", thread.id, [("k9", "hi", "{}")])
        elsewhere.close()

    def execute(sql: str, params=()):
        result = real(sql, params)
        if not seen:
            seen.append(sql)
            with ThreadPoolExecutor(1) as writer:
                writer.submit(another_bridge_starts_a_chat).result()
        return result

    seen: list[str] = []
    monkeypatch.setattr(db, "execute", execute)
    try:
        due = store.outbox.due.now("C1")
    finally:
        db.close()
    [card] = due.cards
    assert [message.key for message in due.messages if message.thread_id == card.id] == ["k9"]
