"""The one place where the shape of every table lives.

Idempotency is a database fact: a Chatra message id, a Slack message ts and a delivered event each
appear at most once, enforced by UNIQUE constraints rather than by checks in code.
"""

from sqlite_utils import Database

# 2: on-call rotation, slack_posts by (channel, ts); 3: messages.resends; 4: threads.notes -> card;
# 5: seen_requests; 6: a Slack ts unique among replies only (one post may carry several Chatra
# messages); 7: messages found by chat and held replies without reading the whole table
SCHEMA_VERSION = 7


class SchemaTooNew(Exception):
    """The database was written by a newer chatra-bridge: running older code on it could harm."""


def schema_version(db: Database) -> int:
    return db.conn.execute("PRAGMA user_version").fetchone()[0]


def create_schema(db: Database) -> None:
    """Create missing tables and indexes; safe to run on every start. Every change so far only
    adds tables and indexes; one that alters existing rows would run here, by version."""
    if schema_version(db) > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"the database has schema {schema_version(db)}, this chatra-bridge knows"
            f" {SCHEMA_VERSION}: upgrade chatra-bridge"
        )
    db["inbox"].create(
        {
            "id": int,
            "source": str,  # "chatra" | "slack"
            "dedupe_key": str,  # sha256 of a Chatra body, or Slack's event id
            "conversation": str,  # Chatra client id: events of one chat are processed in order
            "payload": str,  # the raw JSON as received
            "state": str,  # "pending" | "done" | "failed"
            "attempts": int,
            "error": str,
            "received_at": float,
        },
        pk="id",
        not_null={"source", "dedupe_key", "conversation", "payload", "state"},
        defaults={"state": "pending", "attempts": 0},
        if_not_exists=True,
    )
    db["inbox"].create_index(["dedupe_key"], unique=True, if_not_exists=True)
    db["inbox"].create_index(["state", "id"], if_not_exists=True)

    db["threads"].create(
        {
            "id": int,
            "client_id": str,  # a client may have several threads: a new one after a long pause
            "channel": str,
            "thread_ts": str,
            "status": str,  # "open" | "closed"
            "client": str,  # last known Chatra client JSON, to redraw the visitor card
            "card": str,  # JSON: what the card shows besides the visitor (earlier thread, owner)
            "created_at": float,
            "updated_at": float,
        },
        pk="id",
        not_null={"client_id", "channel", "thread_ts", "status", "client"},
        if_not_exists=True,
    )
    if "notes" in db["threads"].columns_dict:  # schema 3 and older
        db.execute("ALTER TABLE threads RENAME COLUMN notes TO card")
    db["threads"].create_index(["client_id", "id"], if_not_exists=True)
    db["threads"].create_index(["channel", "thread_ts"], unique=True, if_not_exists=True)

    db["slack_posts"].create(
        {
            "key": str,  # what the post is for, e.g. "chatra:<message id>" or "card:<client id>"
            "channel": str,
            "thread_ts": str,
            "ts": str,  # NULL while in doubt: the post may or may not have reached Slack
            "created_at": float,
        },
        pk="key",
        not_null={"channel"},
        if_not_exists=True,
    )
    db["slack_posts"].create_index(["channel", "ts"], if_not_exists=True)

    db["messages"].create(
        {
            "id": int,
            "client_id": str,
            "origin": str,  # "chatra" (mirrored into Slack) | "slack" (sent to Chatra)
            "chatra_id": str,  # NULL until Chatra gave it
            "slack_ts": str,  # NULL until Slack gave it
            "text": str,  # as written (Slack mrkdwn for replies)
            "sent_text": str,  # the plain text sent to Chatra: how its echo is recognised
            "author": str,  # the Slack user who wrote a reply
            # chatra: pending|posted; slack: pending|sending|sent|held|failed|note|skipped|deleted
            "state": str,
            "error": str,
            "created_at": float,
            "resends": int,  # sent again after a try in doubt (at most once)
        },
        pk="id",
        not_null={"client_id", "origin", "state", "resends"},
        defaults={"resends": 0},
        if_not_exists=True,
    )
    if "resends" not in db["messages"].columns_dict:  # a database of schema 2
        db.execute("ALTER TABLE messages ADD COLUMN resends INTEGER NOT NULL DEFAULT 0")
    db["messages"].create_index(["chatra_id"], unique=True, if_not_exists=True)
    db.execute("DROP INDEX IF EXISTS idx_messages_slack_ts")  # unique for all, before 6
    db.execute(
        "CREATE UNIQUE INDEX IF NOT EXISTS messages_reply_ts ON messages (slack_ts)"
        " WHERE origin = 'slack'"
    )
    db["messages"].create_index(["client_id", "origin"], if_not_exists=True)  # echoes
    db.execute("CREATE INDEX IF NOT EXISTS messages_held ON messages (id) WHERE state = 'held'")

    db["agents"].create(  # Chatra agents, as webhooks list them
        {"id": str, "name": str, "email": str}, pk="id", if_not_exists=True
    )
    db["agents"].create_index(["email"], if_not_exists=True)
    db["agent_links"].create(  # which Chatra agent a Slack user writes as (from AGENT_MAP_FILE)
        {"slack_user": str, "agent_id": str},
        pk="slack_user",
        not_null={"agent_id"},
        if_not_exists=True,
    )

    db["waits"].create(  # a visitor waiting for an answer, per thread
        {"thread_id": int, "since": float, "nudged": int, "escalated": int},
        pk="thread_id",
        defaults={"nudged": 0, "escalated": 0},
        if_not_exists=True,
    )
    db["seen_requests"].create(  # commands and interactions carried out: replays are dropped
        {"key": str, "at": float}, pk="key", not_null={"at"}, if_not_exists=True
    )
    db["on_call"].create(  # who is notified when a chat starts (users, or user groups: S...)
        {"slack_user": str, "since": float}, pk="slack_user", if_not_exists=True
    )
    db["on_call_rotation"].create(  # or: one person a week, in turn (a single row, id 1)
        {
            "id": int,
            "people": str,  # JSON list of Slack user ids, in turn
            "handover_day": int,  # 0 = Monday
            "handover_at": str,  # HH:MM, local time
            "timezone": str,
            "anchor": float,  # when the first person's first week began
        },
        pk="id",
        if_not_exists=True,
    )

    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
