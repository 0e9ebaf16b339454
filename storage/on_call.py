"""Who is on call: the Slack users told when a chat starts."""

import time

from sqlite_utils import Database


class OnCall:
    def __init__(self, db: Database) -> None:
        self._db = db

    def people(self) -> list[str]:
        return [row[0] for row in self._db.execute("SELECT slack_user FROM on_call ORDER BY since")]

    def set(self, users: list[str]) -> None:
        """Replace who is on call (an empty list: nobody)."""
        now = time.time()
        with self._db.conn:
            self._db.execute("DELETE FROM on_call")
            rows = [{"slack_user": user, "since": now + n * 1e-6} for n, user in enumerate(users)]
            if rows:
                self._db["on_call"].insert_all(rows)
