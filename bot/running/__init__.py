"""Running the bridge: the app and its assembly, the server, the leader's jobs, the logs."""
