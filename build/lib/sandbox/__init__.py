"""Local stand-ins for Slack's Web API and Membrane, behaving like the real services (ids,
timestamps, errors, rate limits): the tests, the bench and `chatra-bridge demo` run against them."""
