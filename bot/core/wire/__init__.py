"""What Chatra and Slack send and how their text reads: payload models and text conversion,
below everything else."""
