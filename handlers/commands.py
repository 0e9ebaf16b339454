"""The /chatra slash command: answered within Slack's 3 s, the slow part through response_url."""

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.door import FrontDoor
from bot.core.wire.text import slack_to_plain
from handlers.modals import fill_in, open_loading

HELP = """*chatra-bridge* mirrors every Chatra chat into a thread in the support channel.
• Reply in a chat's thread: the visitor gets it in Chatra. Edit or delete it: so does theirs.
• Start a reply with `//` or `note:` to keep it in Slack as an internal note. A reply that
  mentions a teammate, a group or @here asks you first: *Send to visitor* or *Keep as a note*.
• `/chatra saved add <name> <text>` saves a reply (`{visitor}`, `{agent}` are filled in);
  `;name` in a chat's thread sends it; `/chatra saved` lists them, `/chatra saved remove <name>`.
• `/chatra lookup <client id | email | thread link>`: what Chatra knows of a visitor.
• `/chatra push <client id> [agent:<id> | group:<id>] <text>`: a pushed message to a visitor
  with a bound account, optionally as a Chatra agent or group.
• `/chatra pushed <id>` and `/chatra message <id>`: look a pushed or chat message up.
• `/chatra edit <client id>`: change a visitor's name, email, phone or notes.
• `/chatra oncall` shows who is told of new chats; `/chatra oncall @you @them` (or a user
  group) sets it; `/chatra oncall rotation @a @b monday 09:00 Europe/Berlin` hands the watch
  to the next person every week; `/chatra oncall off` clears it.
• `/chatra agent` shows which Chatra agent each person writes as;
  `/chatra agent [@someone] <agent id | email>` links them, `/chatra agent [@someone] off` unlinks.
• `/chatra who`: who is on call, and who Chatra shows online (its widget is offline otherwise).
  While Slack shows you active, Chatra shows you online when you are on call, answered a chat
  in the last 30 minutes, or said `/chatra online`; `/chatra away` stops it.
• `/chatra open`: open chats, how long each visitor has waited and who has the chat.
• `/chatra stats [today | 7d | 30d]`: chats, first-response times (p50, p90, max), time to
  done, by agent and by channel, the slowest chats. A digest of the week is posted on Mondays.
• *Done* on a chat's card (or :white_check_mark: on it) marks it done; *Reopen* undoes it.
• Answers are shown to you alone; end a lookup or `stats` with `share` to show it
  to the channel.
• `/chatra help`: this message."""

USAGE = {
    "lookup": "`/chatra lookup <client id | email | thread link>`",
    "push": "`/chatra push <client id> [agent:<id> | group:<id>] <text>`",
    "pushed": "`/chatra pushed <pushed message id>`",
    "message": "`/chatra message <message id>`",
    "edit": "`/chatra edit <client id>`",
}


class ChatraCommand:
    """The listeners of /chatra: the quick answers in the ack, the rest through response_url."""

    def __init__(self, door: FrontDoor) -> None:
        self._tools, self._team, self._stats = door.visitors, door.team, door.stats
        self._saved, self._online = door.saved, door.online

    async def on_chatra(
        self,
        ack: AsyncAck,
        command: dict[str, Any],
        client: AsyncWebClient,
        context: dict[str, Any],
    ) -> None:
        name, args = _parse(command)
        if name == "open":
            await ack(response_type="ephemeral", text=(await self._tools.open_chats()).text)
        elif name == "oncall":
            on_call = await self._team.on_call(args, command["user_id"])
            await ack(response_type="in_channel" if args else "ephemeral", text=on_call.text)
        elif name == "agent":
            linked = await self._team.agent(args, command["user_id"])
            await ack(response_type="ephemeral", text=linked.text)
        elif name in ("online", "away"):
            said = await self._online.say(command["user_id"], name == "online")
            await ack(response_type="ephemeral", text=said.text)
        elif name == "who":
            on_call = await self._team.on_call("", command["user_id"])
            await ack(
                response_type="ephemeral", text=f"{on_call.text}\n{await self._online.shown()}"
            )
        elif name == "saved":
            saved = await self._saved.command(args, command["user_id"])
            await ack(response_type="ephemeral", text=saved.text)
        elif name == "stats":
            await ack()  # agents' names are asked of Slack: the answer follows
            context["answer_later"] = True
        elif name not in USAGE:
            unknown = f"Unknown subcommand `{name}`.\n\n" if name not in ("", "help") else ""
            await ack(response_type="ephemeral", text=unknown + HELP)
        elif not _enough(name, args):
            await ack(response_type="ephemeral", text=f"Usage: {USAGE[name]}")
        else:
            await ack()  # Slack has its answer in time; ours follows
            context["answer_later"] = True
            if name == "edit":
                await open_loading(client, command["trigger_id"], "Edit visitor", context)

    async def answer(
        self,
        command: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
        context: dict[str, Any],
    ) -> None:
        if not context.get("answer_later"):
            return  # answered in the ack
        name, args = _parse(command)
        if name == "edit":
            await fill_in(client, context, self._tools.edit_form(args))
            return
        words = args.split()  # a trailing `share`: the whole channel sees the answer
        least = 1 if name == "stats" else 2  # `/chatra stats share`; a lookup needs what to look up
        shared = name != "push" and len(words) >= least and words[-1] == "share"
        args = " ".join(words[:-1]) if shared else args
        if name == "stats":
            message = await self._stats.command(args)
        elif name == "lookup":
            message = await self._tools.lookup(args)
        elif name == "push":
            client_id, _, text = args.partition(" ")
            sender, _, rest = text.strip().partition(" ")  # optional "agent:<id>" or "group:<id>"
            kind, _, sender_id = sender.partition(":")
            named = kind in ("agent", "group") and sender_id and rest.strip()
            as_sender = {f"{kind}_id": sender_id} if named else {}
            words = slack_to_plain(rest if named else text, {}).strip()  # the command is escaped
            message = await self._tools.push(client_id, words, command["user_id"], **as_sender)
        elif name == "pushed":
            message = await self._tools.pushed(args)
        else:
            message = await self._tools.message(args)
        audience = "in_channel" if shared else "ephemeral"
        await respond(response_type=audience, text=message.text, blocks=message.blocks)


def register(app: AsyncApp, door: FrontDoor) -> None:
    listeners = ChatraCommand(door)
    app.command("/chatra")(ack=listeners.on_chatra, lazy=[listeners.answer])


def _parse(command: dict[str, Any]) -> tuple[str, str]:
    name, _, args = (command.get("text") or "").strip().partition(" ")
    return name.lower(), args.strip()


def _enough(name: str, args: str) -> bool:
    return len(args.split(" ", 1)) == 2 if name == "push" else bool(args)
