"""What the bridge shows in Slack: Block Kit pieces, the visitor card, views and every notice."""
