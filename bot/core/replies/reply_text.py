"""What a reply written in Slack becomes for the visitor: plain text with people's names, and
links to the files shared with it."""

from bot.core.errors import FileNotShared
from bot.core.ports import FilePort, SlackPort
from bot.core.wire.slack import SlackReply
from bot.core.wire.text import slack_link, slack_to_plain, user_ids_in


async def plain_text(slack: SlackPort, mrkdwn: str) -> str:
    names = {}
    for user_id in user_ids_in(mrkdwn):
        name = await slack.user_name(user_id)
        if name:
            names[user_id] = name
    return slack_to_plain(mrkdwn, names)


async def with_file_links(files: FilePort, reply: SlackReply) -> tuple[str, dict[str, str]]:
    """The reply with a link to each shared file, and why each file that cannot reach the
    visitor cannot (by name)."""
    lines, failed = [reply.text] if reply.text.strip() else [], {}
    for file in reply.files:
        try:
            published = await files.publish(file)
        except FileNotShared as why:
            failed[file.name] = str(why)
            continue
        lines.append(f":paperclip: {slack_link(published.url, published.name)}")
    return "\n".join(lines), failed
