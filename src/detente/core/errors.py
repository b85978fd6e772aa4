"""Error classes that carry their code: the code a peer sees in an ``error`` frame, the kind of
event recorded, and the counter bumped are all the class's ``code``, never guessed from text."""

from __future__ import annotations


class CodedError(ValueError):
    """A refusal with a stable, machine-readable code and a sentence for people."""

    code = "refused"

    def __init__(self, detail: str, *, code: str | None = None) -> None:
        super().__init__(detail)
        if code is not None:
            self.code = code

    @property
    def detail(self) -> str:
        return str(self)


class FrameRefused(CodedError):
    """A frame from a peer is malformed, out of bounds, or not allowed now."""

    code = "bad-frame"
