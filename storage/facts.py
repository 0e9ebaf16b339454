"""What the bridge keeps of itself: since when it serves, and on which boot of the machine it
last used the database.

SQLite commits what only records progress without waiting for the disk: a crash of the bridge
keeps it (the operating system has it), a crash of the machine may not. Knowing that the machine
booted since, the bridge treats what it was doing then as in doubt (a reply being sent, say),
and only then."""

from pathlib import Path

from storage.units import Repository, durable, reads, writes

BOOT_ID = Path("/proc/sys/kernel/random/boot_id")  # Linux: new at every boot


def machine_boot() -> str | None:
    """This boot of the machine; None where the system does not say."""
    try:
        return BOOT_ID.read_text().strip() or None
    except OSError:
        return None


class Facts(Repository):
    @durable
    def rebooted_since(self, boot: str) -> bool:
        """Whether the machine booted again since the database was last used (on a boot other
        than `boot`); from now on, `boot` is the one."""
        last = self._db.execute("SELECT value FROM bridge_facts WHERE name = 'boot'").scalar()
        self._db.execute(
            "INSERT INTO bridge_facts (name, value) VALUES ('boot', ?)"
            " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            [boot],
        )
        return last is not None and last != boot

    @writes
    def serving(self, now: float) -> None:
        """A bridge serves this database: since `now`, unless one did before."""
        self._db.execute(
            "INSERT INTO bridge_facts (name, value) VALUES ('served_since', ?)"
            " ON CONFLICT (name) DO NOTHING",
            [repr(now)],
        )

    @reads
    def served_since(self) -> float:
        """When this database was first served by a bridge: what was due before it (a weekly
        digest) is not caught up on."""
        value = self._db.execute(
            "SELECT value FROM bridge_facts WHERE name = 'served_since'"
        ).scalar()
        return float(value) if value is not None else 0.0
