"""Chatra agents and which Slack user writes as which of them."""

from storage.units import Repository, reads, writes


class Agents(Repository):
    @writes
    def remember(self, agents: list[dict[str, str | None]]) -> None:
        """Keep the agents a webhook listed (id, name, email), newest details winning."""
        rows = [(a["id"], a.get("name"), a.get("email")) for a in agents]
        self._db.executemany(
            "INSERT INTO agents (id, name, email) VALUES (?, ?, ?) ON CONFLICT (id)"
            " DO UPDATE SET name = excluded.name, email = excluded.email"
            " WHERE agents.name IS DISTINCT FROM excluded.name"
            " OR agents.email IS DISTINCT FROM excluded.email",
            rows,
        )

    @reads
    def by_email(self, email: str) -> str | None:
        return self._by_email(email)

    def _by_email(self, email: str) -> str | None:
        return self._db.execute(
            "SELECT id FROM agents WHERE lower(email) = lower(?) LIMIT 1", [email]
        ).scalar()

    @reads
    def details(self, agent_id: str) -> tuple[str | None, str | None]:
        """The agent's name and email as Chatra's webhooks listed them (None: not listed)."""
        row = self._db.execute("SELECT name, email FROM agents WHERE id = ?", [agent_id])
        found = row.fetchone()
        return (found[0], found[1]) if found else (None, None)

    @reads
    def name(self, agent_id: str) -> str | None:
        return self._db.execute("SELECT name FROM agents WHERE id = ?", [agent_id]).scalar()

    @writes
    def link(self, links: dict[str, str]) -> None:
        self._db.executemany(
            "INSERT INTO agent_links (slack_user, agent_id) VALUES (?, ?)"
            " ON CONFLICT (slack_user) DO UPDATE SET agent_id = excluded.agent_id",
            list(links.items()),
        )

    @writes
    def unlink(self, slack_user: str) -> None:
        self._db.execute("DELETE FROM agent_links WHERE slack_user = ?", [slack_user])

    @reads
    def links(self) -> dict[str, str]:
        rows = self._db.execute("SELECT slack_user, agent_id FROM agent_links ORDER BY slack_user")
        return dict(rows.fetchall())

    @reads
    def find(self, id_or_email: str) -> str | None:
        """A Chatra agent by email (of an agent a webhook listed), else the id as given."""
        if "@" in id_or_email:
            return self._by_email(id_or_email.removeprefix("mailto:"))
        return id_or_email

    @reads
    def linked(self, slack_user: str) -> str | None:
        return self._db.execute(
            "SELECT agent_id FROM agent_links WHERE slack_user = ?", [slack_user]
        ).scalar()
