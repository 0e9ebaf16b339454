"""What `/metrics` shows, in Prometheus' text format: events in and out, how long Membrane
actions take, failures by type, and how deep the inbox is. One registry per app."""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.events_in = Counter(
            "chatra_bridge_events_in",
            "Events accepted and stored: Chatra webhooks and Slack thread changes",
            ["source"],
            registry=self.registry,
        )
        self.events_out = Counter(
            "chatra_bridge_events_out",
            "Posts to Slack and actions run on Membrane",
            ["target", "call"],
            registry=self.registry,
        )
        self.action_seconds = Histogram(
            "chatra_bridge_membrane_action_seconds",
            "How long one try of a Membrane action took",
            ["action"],
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.failures = Counter(
            "chatra_bridge_failures",
            "Failures by type: membrane:<kind>, slack:<error>, event_retry, event_failed,"
            " bad_input, not_found",
            ["type"],
            registry=self.registry,
        )
        self.inbox = Gauge(
            "chatra_bridge_inbox_depth",
            "Stored events not yet carried out",
            registry=self.registry,
        )
        self.actions = Counter(
            "chatra_bridge_actions",
            "What people did that changed something, by action (see the bot.audit log)",
            ["action"],
            registry=self.registry,
        )
        self.waiting = Gauge(
            "chatra_bridge_events_waiting",
            "Events and Slack posts waiting out a failure of Slack, Membrane or the database",
            registry=self.registry,
        )
        self.posts_waiting = Gauge(
            "chatra_bridge_slack_posts_waiting",
            "Posts owed to Slack: cards, messages and notices not posted yet, cards to draw again",
            registry=self.registry,
        )
        self.down = Gauge(
            "chatra_bridge_service_down",
            "1 while Slack or Membrane cannot be reached (or refuses us for now), else 0",
            ["service"],
            registry=self.registry,
        )
        self.held = Gauge(
            "chatra_bridge_held_replies",
            "Replies held while Chatra is disconnected in Membrane",
            registry=self.registry,
        )
        self.loop_lag = Histogram(
            "chatra_bridge_loop_lag_seconds",
            "How late the event loop runs what is due: a statement or a slow step on it shows",
            buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=self.registry,
        )
        self.unit_seconds = Histogram(
            "chatra_bridge_db_unit_seconds",
            "How long a unit of database work ran on its thread, by unit",
            ["unit"],
            buckets=(0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5),
            registry=self.registry,
        )
        self.unit_wait_seconds = Histogram(
            "chatra_bridge_db_unit_wait_seconds",
            "How long a unit of database work waited for a thread of the database",
            buckets=(0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5),
            registry=self.registry,
        )
        self.db_waiting = Gauge(
            "chatra_bridge_db_units_waiting",
            "Units of database work handed over and not yet started (the pool's waiters)",
            registry=self.registry,
        )

    def unit_done(self, name: str, waited: float, ran: float) -> None:
        """Told by the database of each unit of work (from its thread)."""
        self.unit_seconds.labels(name).observe(ran)
        self.unit_wait_seconds.observe(waited)

    def render(self) -> bytes:
        return generate_latest(self.registry)
