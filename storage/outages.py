"""What of the outside world is down, since when and why, as every bridge on the database sees it,
and what waited on it."""

from dataclasses import dataclass

from storage.units import Repository, reads, writes


@dataclass(frozen=True)
class PastOutage:
    service: str
    reason: str
    since: float
    until: float
    delayed: int  # events and posts that waited on it


class Outages(Repository):
    @writes
    def begin(self, service: str, reason: str, now: float) -> float:
        """`service` is down; since when (an outage another bridge saw first keeps its start)."""
        with self._db.transaction():
            self._db.execute(
                "INSERT INTO outages (service, since, reason) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                [service, now, reason],
            )
            return self._db.execute(
                "SELECT since FROM outages WHERE service = ? AND until IS NULL", [service]
            ).scalar()

    @writes
    def end(self, service: str, now: float) -> None:
        self._db.execute(
            "UPDATE outages SET until = ? WHERE service = ? AND until IS NULL", [now, service]
        )

    @reads
    def current(self) -> dict[str, tuple[float, str]]:
        """Service -> (since, reason), for what is down now."""
        rows = self._db.execute("SELECT service, since, reason FROM outages WHERE until IS NULL")
        return {service: (since, reason) for service, since, reason in rows}

    @writes
    def waited(self, service: str, since: float, what: str) -> None:
        self._db.execute(
            "INSERT INTO outage_waits (service, since, what) VALUES (?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            [service, since, what],
        )

    @reads
    def untold(self) -> list[PastOutage]:
        """Outages over that the channel was not told of yet, oldest first."""
        rows = self._db.execute(
            "SELECT o.service, o.reason, o.since, o.until, (SELECT count(*) FROM outage_waits w"
            " WHERE w.service = o.service AND w.since = o.since)"
            " FROM outages o WHERE o.until IS NOT NULL AND o.told = 0 ORDER BY o.since"
        )
        return [PastOutage(*row) for row in rows]

    @writes
    def told(self, service: str, since: float) -> None:
        self._db.execute(
            "UPDATE outages SET told = 1 WHERE service = ? AND since = ?", [service, since]
        )
