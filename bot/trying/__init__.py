"""Trying it: the demo, the sandbox and its page, and the driver the tests run the app with."""
