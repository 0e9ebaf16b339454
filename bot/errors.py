"""Errors the core understands, free of any transport."""


class MembraneError(Exception):
    """An action did not run. `str()` is a sentence a support agent can act on."""

    def __init__(self, kind: str, detail: str, *, status: int | None = None, transient: bool):
        self.kind = kind
        self.detail = detail
        self.status = status
        self.transient = transient
        super().__init__(detail)
