"""Chatra -> Slack: mirroring a chat into its thread, the card's operations, escalation."""
