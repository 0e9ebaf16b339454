"""Storage: what must survive a power cut is committed with a full sync; the rest is not."""

from storage import Inbox, SlackPosts, open_database
from storage.database import durable

FULL, NORMAL = 2, 1


def synchronous(db) -> int:
    return db.conn.execute("PRAGMA synchronous").fetchone()[0]


def test_only_acknowledged_events_and_intents_pay_for_a_full_sync(tmp_path):
    db = open_database(tmp_path / "bridge.db")
    assert synchronous(db) == NORMAL
    with durable(db):
        assert synchronous(db) == FULL
    assert synchronous(db) == NORMAL

    seen = []
    db.conn.set_trace_callback(seen.append)
    Inbox(db).add("chatra", "key-1", "client-1", "{}")
    SlackPosts(db).intend(["chatra:m1"], "C1", None)
    SlackPosts(db).posted(["chatra:m1"], "1.000001", "C1")
    Inbox(db).mark_done(1)
    db.conn.set_trace_callback(None)
    pragmas = [sql for sql in seen if sql.startswith("PRAGMA synchronous")]
    assert pragmas == ["PRAGMA synchronous = FULL", "PRAGMA synchronous = NORMAL"] * 2
