"""Who is on call: a list of Slack users or user groups, or a weekly rotation."""

import json
import time
from typing import Any

from sqlite_utils import Database
from sqlite_utils.db import NotFoundError


class OnCall:
    def __init__(self, db: Database) -> None:
        self._db = db

    def people(self) -> list[str]:
        return [row[0] for row in self._db.execute("SELECT slack_user FROM on_call ORDER BY since")]

    def set(self, users: list[str]) -> None:
        """Replace who is on call (an empty list: nobody); a rotation ends."""
        now = time.time()
        with self._db.conn:
            self._db.execute("DELETE FROM on_call")
            self._db.execute("DELETE FROM on_call_rotation")
            rows = [{"slack_user": user, "since": now + n * 1e-6} for n, user in enumerate(users)]
            if rows:
                self._db["on_call"].insert_all(rows)

    def rotation(self) -> dict[str, Any] | None:
        """The weekly rotation: people (in turn), handover_day (0 = Monday), handover_at
        ("HH:MM"), timezone and anchor (when the first person's first week began)."""
        try:
            row = self._db["on_call_rotation"].get(1)
        except NotFoundError:
            return None
        return {**row, "people": json.loads(row["people"])}

    def set_rotation(self, rotation: dict[str, Any]) -> None:
        """Rotate from now on, replacing a list of people."""
        row = {**rotation, "id": 1, "people": json.dumps(list(rotation["people"]))}
        with self._db.conn:
            self._db.execute("DELETE FROM on_call")
            self._db["on_call_rotation"].upsert(row, pk="id")
