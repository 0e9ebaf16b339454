"""Slack -> Chatra: sending a reply, held and retried, edits and deletes, who writes it."""
