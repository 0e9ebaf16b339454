"""The use cases and their pure models: no aiohttp, Bolt, slack_sdk or jwt here."""
