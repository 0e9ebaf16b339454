"""The operator's rules: channel routes, business hours, the on-call rotation, the policy."""
