"""What a reply written in Slack becomes for the visitor: plain text with people's names, and
links to the files shared with it."""

from bot.core.errors import FileNotShared
from bot.core.ports import FilePort, SlackPort
from bot.core.wire.slack import SharedFile
from bot.core.wire.text import slack_link, slack_to_plain, user_ids_in


async def plain_text(slack: SlackPort, mrkdwn: str) -> str:
    names = {}
    for user_id in user_ids_in(mrkdwn):
        name = await slack.user_name(user_id)
        if name:
            names[user_id] = name
    return slack_to_plain(mrkdwn, names)


FILE_LINK = ":paperclip: "  # the start of the line that links a shared file


async def with_file_links(
    files: FilePort, text: str, shared: list[SharedFile]
) -> tuple[str, dict[str, str]]:
    """`text` with a line linking each shared file, and why each file that cannot reach the
    visitor cannot (by name)."""
    lines, failed = [text] if text.strip() else [], {}
    for file in shared:
        try:
            published = await files.publish(file)
        except FileNotShared as why:
            failed[file.name] = str(why)
            continue
        lines.append(FILE_LINK + slack_link(published.url, published.name))
    return "\n".join(lines), failed


def with_files_of(text: str, before: str) -> str:
    """An edited caption, with the links to the files its reply shared (`before`, the reply's
    stored text): an edit changes the words, never what was shared."""
    links = [line for line in before.splitlines() if line.startswith(FILE_LINK + "<")]
    return "\n".join([text, *links] if text.strip() else links)
