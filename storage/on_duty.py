"""Who says they are on duty (`/chatra online`, `/chatra away`), who answered from Slack lately,
and which Chatra agents the bridge tells Chatra are online, since when."""

from dataclasses import dataclass

from storage.units import Repository, reads, writes


@dataclass(frozen=True)
class OnlineAgent:
    agent_id: str
    slack_user: str
    since: float  # the first ping of this stretch online
    name: str | None  # the agent's, as Chatra's webhooks list it


class OnDuty(Repository):
    @writes
    def say(self, slack_user: str, online: bool) -> None:
        """`/chatra online` (True) or `/chatra away` (False), from now."""
        self._db.execute(
            "INSERT INTO on_duty (slack_user, online, since) VALUES (?, ?, ?)"
            " ON CONFLICT (slack_user) DO UPDATE SET online = excluded.online,"
            " since = excluded.since",
            [slack_user, int(online), self._clock()],
        )

    @reads
    def said(self) -> dict[str, tuple[bool, float]]:
        """Each person's last word: online or away, and since when."""
        rows = self._db.execute("SELECT slack_user, online, since FROM on_duty").fetchall()
        return {user: (bool(online), since) for user, online, since in rows}

    @reads
    def answered_since(self, since: float) -> dict[str, float]:
        """Who replied to a visitor from Slack since `since`, and when they last did."""
        rows = self._db.execute(
            "SELECT author, max(created_at) FROM messages WHERE origin = 'slack'"
            " AND author IS NOT NULL AND created_at >= ? GROUP BY author",
            [since],
        ).fetchall()
        return dict(rows)

    @writes
    def pinged(self, pings: list[tuple[str, str]], now: float, online_for: float) -> None:
        """Chatra was told at `now` these (agent, Slack user) are online: a stretch goes on
        while the last ping is less than `online_for` seconds old."""
        self._db.executemany(
            "INSERT INTO online_agents (agent_id, slack_user, since, pinged_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (agent_id) DO UPDATE SET"
            " slack_user = excluded.slack_user, pinged_at = excluded.pinged_at,"
            " since = CASE WHEN online_agents.pinged_at >= ? THEN online_agents.since"
            " ELSE excluded.since END",
            [(agent, user, now, now, now - online_for) for agent, user in pings],
        )

    @reads
    def online(self, online_for: float) -> list[OnlineAgent]:
        """The agents Chatra shows online on the bridge's word (pinged within `online_for`)."""
        rows = self._db.execute(
            "SELECT o.agent_id, o.slack_user, o.since, a.name FROM online_agents o"
            " LEFT JOIN agents a ON a.id = o.agent_id WHERE o.pinged_at >= ? ORDER BY o.since",
            [self._clock() - online_for],
        ).fetchall()
        return [OnlineAgent(*row) for row in rows]
