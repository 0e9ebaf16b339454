"""Database care: a versioned schema, stats, pruning what is old, an online backup."""

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.core.chats.chat import CardState
from storage import Messages, Threads, maintenance, open_database
from storage.database import without_password
from storage.schema import SCHEMA_VERSION, SchemaTooNew
from tests.helpers import chat_event, start_chat, visitor_says

CLI = str(Path(sys.executable).parent / "chatra-bridge")


def db_command(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, "db", *args], capture_output=True, text=True, timeout=60)


def rows_in_copy(copy: Path, table: str) -> int:
    """Rows of `table` in a backup: a SQLite file, or pg_dump's custom format."""
    if copy.read_bytes()[:5] == b"PGDMP":
        sql = subprocess.run(
            ["pg_restore", "--data-only", "--table", table, "--file=-", str(copy)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        data = sql.split(f"COPY public.{table} ", 1)[1].split("\\.", 1)[0]
        return len(data.strip().splitlines()) - 1  # the COPY line itself
    with sqlite3.connect(copy) as backup:
        return backup.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


async def test_stats_prune_and_backup_of_a_running_bridge(bridge, slack, settings, tmp_path):
    await bridge.webhook(chat_event("chatStarted", "old", [visitor_says("o1", "hi")], name="Old"))
    await bridge.webhook(
        chat_event("chatTranscript", "old", [visitor_says("o1", "hi")], name="Old")
    )
    await bridge.webhook(chat_event("chatStarted", "new", [visitor_says("n1", "hi")], name="New"))
    await bridge.settled()
    path = settings.database()

    stats = json.loads(db_command("--database", path, "stats").stdout)
    assert stats["schema_version"] == SCHEMA_VERSION
    assert stats["inbox"] == {"done": 3} and stats["threads"] == {"closed": 1, "open": 1}

    copy = tmp_path / "copy.db"
    result = db_command("--database", path, "backup", str(copy))  # while the bridge runs
    assert result.returncode == 0 and "copied to" in result.stdout
    assert rows_in_copy(copy, "messages") == 2

    def an_operator_prunes() -> tuple[dict[str, int], dict[str, int], list[tuple]]:
        db = open_database(path)  # beside the running bridge, as `chatra-bridge db prune` does
        try:
            now = maintenance.prune(db, 90 * 86400)
            later = maintenance.prune(db, 90 * 86400, now=time.time() + 91 * 86400)
            return now, later, db.execute("SELECT client_id FROM threads").fetchall()
        finally:
            db.close()

    nothing_yet, deleted, open_threads = await asyncio.to_thread(an_operator_prunes)
    assert nothing_yet == {  # nothing is 90 days old yet
        "inbox": 0,
        "slack_posts": 0,
        "messages": 0,
        "threads": 0,
        "outages": 0,
    }
    assert deleted["inbox"] == 3 and deleted["threads"] == 1  # the open chat's thread is kept
    assert open_threads == [("new",)]


def test_migrate_says_what_it_changed_and_a_newer_schema_is_refused(database):
    if not database.startswith("postgresql"):
        sqlite3.connect(database).close()  # an empty file: a database of no schema yet
    shown = without_password(database)
    assert db_command("--database", database, "migrate").stdout.strip() == (
        f"{shown}: schema 0 -> {SCHEMA_VERSION}"
    )
    assert db_command("--database", database, "migrate").stdout.strip() == f"{shown}: up to date"

    db = open_database(database)
    if db.dialect == "sqlite":
        db.execute("PRAGMA user_version = 99")
    else:
        db.execute("UPDATE schema_version SET version = 99")
    db.close()
    with pytest.raises(SchemaTooNew):
        open_database(database)
    result = db_command("--database", database, "migrate")
    assert result.returncode == 1
    assert "the database has schema 99, this chatra-bridge knows" in result.stderr

    result = db_command("--database", database, "prune", "--older-than", "soon")
    assert result.returncode == 1 and "not an age like 90d" in result.stderr


def test_a_database_of_an_earlier_schema_keeps_its_threads_cards_and_messages(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:  # as schema 3 left it: the card under `notes`
        old.execute(
            "CREATE TABLE threads (id INTEGER PRIMARY KEY, client_id TEXT NOT NULL, channel TEXT"
            " NOT NULL, thread_ts TEXT NOT NULL, status TEXT NOT NULL, client TEXT NOT NULL,"
            " notes TEXT, created_at FLOAT, updated_at FLOAT)"
        )
        old.execute(
            "INSERT INTO threads VALUES (1, 'c1', 'C1', '1.0', 'open', '{\"id\": \"c1\"}',"
            ' \'{"owner": "U1"}\', 0, 0)'
        )
        old.execute(
            "CREATE TABLE messages (id INTEGER PRIMARY KEY, client_id TEXT NOT NULL, origin TEXT"
            " NOT NULL, chatra_id TEXT, slack_ts TEXT, text TEXT, sent_text TEXT, author TEXT,"
            " state TEXT NOT NULL, error TEXT, created_at FLOAT)"
        )
        old.execute(
            "INSERT INTO messages VALUES (1, 'c1', 'slack', 'm1', '2.0', 'hi', 'hi',"
            " 'U1', 'sent', NULL, 0)"
        )
        old.execute("PRAGMA user_version = 3")
    db = open_database(path)

    async def as_the_bridge_reads_them() -> tuple:
        return await Threads(db).for_client("c1"), await Messages(db).by_slack_ts("2.0")

    thread, message = asyncio.run(as_the_bridge_reads_them())
    assert thread is not None and CardState.of(thread.card).owner == "U1"
    assert message is not None and message.resends == 0 and message.state == "sent"
    db.close()


def test_db_commands_never_create_a_database_and_say_where_the_path_came_from(tmp_path):
    elsewhere = tmp_path / "cron"
    elsewhere.mkdir()
    clean = {k: v for k, v in os.environ.items() if k != "DATABASE_PATH"}
    for action in ("stats", "failed", "migrate"):
        result = subprocess.run(
            [CLI, "db", action], cwd=elsewhere, env=clean, capture_output=True, text=True
        )
        assert result.returncode == 1
        assert result.stderr.strip() == (
            f"chatra-bridge db: no database at {elsewhere}/chatra-bridge.db (from the default,"
            f" in {elsewhere}): run this where the bridge runs, or give --database PATH"
        )
    (elsewhere / ".env").write_text("DATABASE_PATH=/nowhere/bridge.db\n")
    result = subprocess.run(
        [CLI, "db", "stats"], cwd=elsewhere, env=clean, capture_output=True, text=True
    )
    assert f"(from DATABASE_PATH in {elsewhere}/.env)" in result.stderr
    assert list(elsewhere.iterdir()) == [elsewhere / ".env"]  # nothing was created


def test_database_goes_anywhere_and_backup_names_a_bad_destination_or_keeps_a_copy(tmp_path):
    path = tmp_path / "bridge.db"
    open_database(path).close()
    stats = db_command("stats", "--database", str(path))  # after the action, too
    assert stats.returncode == 0 and json.loads(stats.stdout)["schema_version"] == SCHEMA_VERSION

    missing = tmp_path / "no-such-dir" / "copy.db"
    result = db_command("--database", str(path), "backup", str(missing))
    assert result.returncode == 1
    assert f"cannot back up to {missing}: {missing.parent} is no directory" in result.stderr

    copy = tmp_path / "copy.db"
    assert db_command("backup", str(copy), "--database", str(path)).returncode == 0
    again = db_command("backup", str(copy), "--database", str(path))
    assert again.returncode == 1 and f"{copy} exists: give --force to overwrite it" in again.stderr
    forced = db_command("backup", str(copy), "--force", "--database", str(path))
    assert forced.returncode == 0 and "copied to" in forced.stdout


async def test_a_sqlite_database_copied_to_postgresql_keeps_its_chats_going(
    tmp_path, slack, membrane, postgres_database
):
    from tests.conftest import CHANNEL, settings_on
    from tests.helpers import RunningApp, edit, event_id, reply

    path = str(tmp_path / "bridge.db")
    alone = await RunningApp(settings_on(path, slack, membrane)).start()
    thread_ts = (await start_chat(alone, slack, name="Jo")).ts
    await alone.slack_event(reply(thread_ts, "1800000070.000001", "Hello Jo"), event_id())
    await alone.settled()
    await alone.close()

    copied = db_command("--database", path, "copy", "--to", postgres_database)
    assert copied.returncode == 0, copied.stderr
    assert "threads: 1," in copied.stdout and "copied to postgresql://" in copied.stdout
    again = db_command("--database", path, "copy", "--to", postgres_database)
    assert again.returncode == 1 and "is not empty" in again.stderr

    shared = await RunningApp(settings_on(postgres_database, slack, membrane)).start()
    try:
        later = [visitor_says("m1", "Hi"), visitor_says("m2", "Still there?")]
        await shared.webhook(chat_event("chatFragment", messages=later, name="Jo"))
        changed = edit(thread_ts, "1800000070.000001", "Hello Jo", "Hello Jo!")
        await shared.slack_event(changed, event_id())
        await shared.settled()
    finally:
        await shared.close()
    assert len(slack.parents(CHANNEL)) == 1  # the same thread, on the new database
    said = slack.chat(CHANNEL, thread_ts)
    assert said == ["Hi", "Still there?"]
    assert membrane.visible_messages("client-1") == ["Hello Jo!"]
