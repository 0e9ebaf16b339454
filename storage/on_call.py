"""Who is on call: a list of Slack users or user groups, or a weekly rotation."""

import json
from typing import Any

from storage.units import Repository, reads, writes

_ROTATION = "people, handover_day, handover_at, timezone, anchor"


class OnCall(Repository):
    @reads
    def people(self) -> list[str]:
        return [row[0] for row in self._db.execute("SELECT slack_user FROM on_call ORDER BY since")]

    @writes
    def set(self, users: list[str]) -> None:
        """Replace who is on call (an empty list: nobody); a rotation ends."""
        now = self._clock()
        with self._db.transaction():
            self._db.execute("DELETE FROM on_call")
            self._db.execute("DELETE FROM on_call_rotation")
            self._db.executemany(
                "INSERT INTO on_call (slack_user, since) VALUES (?, ?)",
                [(user, now + n * 1e-6) for n, user in enumerate(users)],
            )

    @reads
    def rotation(self) -> dict[str, Any] | None:
        """The weekly rotation: people (in turn), handover_day (0 = Monday), handover_at
        ("HH:MM"), timezone and anchor (when the first person's first week began)."""
        row = self._db.execute(f"SELECT {_ROTATION} FROM on_call_rotation WHERE id = 1").fetchone()
        if row is None:
            return None
        rotation = dict(zip(_ROTATION.split(", "), row, strict=True))
        return {"id": 1, **rotation, "people": json.loads(rotation["people"])}

    @writes
    def set_rotation(self, rotation: dict[str, Any]) -> None:
        """Rotate from now on, replacing a list of people."""
        values = [json.dumps(list(rotation["people"]))]
        values += [rotation[column] for column in _ROTATION.split(", ")[1:]]
        with self._db.transaction():
            self._db.execute("DELETE FROM on_call")
            self._db.execute(
                f"INSERT INTO on_call_rotation (id, {_ROTATION}) VALUES (1, ?, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET people = excluded.people,"
                " handover_day = excluded.handover_day, handover_at = excluded.handover_at,"
                " timezone = excluded.timezone, anchor = excluded.anchor",
                values,
            )
