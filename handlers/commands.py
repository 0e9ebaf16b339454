"""The /chatra slash command."""

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

HELP = (
    "*chatra-bridge* mirrors every Chatra chat into a thread in this workspace's support channel.\n"
    "• Reply in a chat's thread: the visitor gets your message in Chatra.\n"
    "• Edit or delete your reply: the visitor's copy is edited or deleted too.\n"
    "• `/chatra help`: this message."
)


def register(app: AsyncApp) -> None:
    async def on_chatra(ack: AsyncAck, command: dict[str, Any]) -> None:
        subcommand = (command.get("text") or "").strip().split(" ")[0].lower()
        prefix = "" if subcommand in ("", "help") else f"Unknown subcommand `{subcommand}`.\n\n"
        await ack(response_type="ephemeral", text=prefix + HELP)

    app.command("/chatra")(on_chatra)
