"""The outside world: the Slack Web API, Membrane (HTTP and CLI), shared files, metrics."""
