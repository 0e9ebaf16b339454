"""Getting posts into Slack: keyed delivery, the per-channel queue, pacing and post keys."""
