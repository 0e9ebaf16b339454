"""chatra-bridge: run Chatra live chat from Slack."""

__version__ = "0.1.0"
