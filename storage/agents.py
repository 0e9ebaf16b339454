"""Chatra agents and which Slack user writes as which of them."""

from sqlite_utils import Database
from sqlite_utils.db import NotFoundError


class Agents:
    def __init__(self, db: Database) -> None:
        self._db = db

    def remember(self, agents: list[dict[str, str | None]]) -> None:
        """Keep the agents a webhook listed (id, name, email), newest details winning."""
        if agents:
            with self._db.conn:
                self._db["agents"].upsert_all(agents, pk="id")

    def by_email(self, email: str) -> str | None:
        row = self._db.execute(
            "SELECT id FROM agents WHERE lower(email) = lower(?) LIMIT 1", [email]
        ).fetchone()
        return row[0] if row else None

    def name(self, agent_id: str) -> str | None:
        try:
            return self._db["agents"].get(agent_id)["name"]
        except NotFoundError:
            return None

    def link(self, links: dict[str, str]) -> None:
        rows = [{"slack_user": user, "agent_id": agent} for user, agent in links.items()]
        if rows:
            with self._db.conn:
                self._db["agent_links"].upsert_all(rows, pk="slack_user")

    def linked(self, slack_user: str) -> str | None:
        try:
            return self._db["agent_links"].get(slack_user)["agent_id"]
        except NotFoundError:
            return None
