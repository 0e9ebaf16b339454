"""What a chaos run counts: each message on each side, sent, delivered, lost, duplicated, out of
order, and how it reports them."""

from dataclasses import dataclass, field


@dataclass
class Direction:
    sent: int = 0
    delivered: int = 0
    lost: int = 0
    duplicated: int = 0
    out_of_order: int = 0


@dataclass
class Report:
    chats: int
    messages_per_chat: int
    bridges: int = 1
    database: str = "sqlite"
    restarts: int = 0
    seconds: float = 0.0
    chatra_to_slack: Direction = field(default_factory=Direction)
    slack_to_chatra: Direction = field(default_factory=Direction)
    threads_duplicated: int = 0
    sends_in_doubt: int = 0  # replies found half-sent after a kill, settled by Chatra's echo
    figures_wrong: int = 0  # chats whose figures do not count what was said, each way

    @property
    def clean(self) -> bool:
        return (
            all(
                d.lost == d.duplicated == d.out_of_order == 0
                for d in (self.chatra_to_slack, self.slack_to_chatra)
            )
            and self.threads_duplicated == self.figures_wrong == 0
        )


def count(expected: list[str], seen: list[str], direction: Direction) -> None:
    direction.sent += len(expected)
    present = [text for text in seen if text in expected]
    direction.delivered += len(set(present))
    direction.lost += len(set(expected) - set(present))
    direction.duplicated += len(present) - len(set(present))
    firsts = list(dict.fromkeys(present))
    direction.out_of_order += sum(
        1 for a, b in zip(firsts, [e for e in expected if e in firsts], strict=True) if a != b
    )


def print_report(report: Report) -> None:
    print(
        f"chaos: {report.chats} chats x {report.messages_per_chat} messages each way, "
        f"{report.bridges} bridge(s) on {report.database}, "
        f"{report.restarts} SIGKILL restarts, {report.seconds}s"
    )
    columns = ("sent", 8), ("delivered", 11), ("lost", 7), ("duplicated", 12), ("out of order", 14)
    print(f"{'direction':<18}" + "".join(f"{name:>{width}}" for name, width in columns))
    for name, d in (
        ("chatra -> slack", report.chatra_to_slack),
        ("slack -> chatra", report.slack_to_chatra),
    ):
        print(
            f"{name:<18}{d.sent:>8}{d.delivered:>11}{d.lost:>7}{d.duplicated:>12}{d.out_of_order:>14}"
        )
    print(
        f"threads duplicated: {report.threads_duplicated}; "
        f"chats whose figures are wrong: {report.figures_wrong}; "
        f"replies in doubt after a kill, settled: {report.sends_in_doubt}"
    )
