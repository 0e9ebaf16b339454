"""A chat as the bridge keeps it: its thread and what its card shows (read by both directions,
the posters and Slack's UI alike)."""
