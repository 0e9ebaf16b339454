"""Getting posts into Slack: what is owed (rows), each channel's poster, pacing and post keys."""
