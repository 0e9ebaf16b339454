"""Opening a database: a PostgreSQL URL or a SQLite file, its schema brought up to date; and why
one cannot be used, in a sentence (for `check`, and before `serve` starts)."""

from pathlib import Path

from storage.database import Database, DatabaseError, is_url
from storage.postgres import PostgresDatabase
from storage.schema import SCHEMA_VERSION, SchemaTooNew, create_schema, schema_version
from storage.sqlite import SqliteDatabase


def open_database(
    where: str | Path,
    *,
    migrate: bool = True,
    create: bool = True,
    pool_size: int = 4,
    statement_timeout: float = 5.0,
) -> Database:
    """The database at `where`: a postgresql:// URL (with `pool_size` connections at most, a
    statement cut off after `statement_timeout` seconds), or the path of a SQLite file (created
    unless `create` is false). `migrate` brings its schema up to date."""
    where = str(where)
    if is_url(where):
        db: Database = PostgresDatabase(
            where, pool_size=pool_size, statement_timeout=statement_timeout
        )
    else:
        db = SqliteDatabase(where, create=create)
    if migrate:
        try:
            create_schema(db)
        except BaseException:
            db.close()
            raise
    return db


def database_problem(where: str | Path, *, change: bool = True) -> str | None:
    """Why the database at `where` cannot be used, in one sentence; None when it can. Without
    `change` it is neither created nor migrated, only looked at."""
    try:
        db = open_database(where, migrate=change, create=change)
    except (DatabaseError, SchemaTooNew, OSError) as error:
        return f"cannot be opened: {error}"
    try:
        if not change and schema_version(db) > SCHEMA_VERSION:
            return "is of a newer chatra-bridge: upgrade this one"
        problem = db.write_problem()
    except DatabaseError as error:
        problem = str(error)
    finally:
        db.close()
    return f"cannot be written: {problem}" if problem is not None else None
