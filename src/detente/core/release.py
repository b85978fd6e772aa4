"""Two-person release: which messages need a second person, the states of a draft, who may release.

- **Policy** (``ReleasePolicy``): a FLASH always needs a second person's release; a format
  message does when the node's ``config.toml`` says ``[console] release_formats = true``.
- **Drafts**: a message that needs release is kept, unsigned, as a draft. A draft waits until a
  different person holding the releaser role releases it (then, in the same store transaction,
  the message is numbered, signed and queued) or its author withdraws it. Released and
  withdrawn are final: a second release, or a release racing a withdrawal, finds the draft no
  longer waiting and is refused with ``DraftNotWaiting``.
- **Who**: ``check_release`` and ``check_withdraw`` decide on the draft as the store holds it
  inside the writer's transaction, so of two people pressing at once exactly one wins.

Pure: the store loads a draft and persists the state these functions return; the node runs the
commands (``detente.node.release``). Every refusal is a ``CodedError`` whose code says which rule.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Final, Literal

from detente.core.entries import Content, FormatContent, TextContent
from detente.core.errors import CodedError

# Why a message needs a second person: its precedence, or the node's rule for format messages.
Reason = Literal["flash", "format"]
REASONS: Final[tuple[Reason, ...]] = ("flash", "format")

# ``releasing`` is never entered by this code: a release now signs the message and marks the
# draft released in one transaction. An earlier version claimed a draft first and could crash
# before sending; such a draft is left as it is (neither released nor withdrawn here) for an
# officer to check against the outbox.
DraftState = Literal["waiting", "releasing", "released", "withdrawn", "returned"]
DRAFT_STATES: Final[tuple[DraftState, ...]] = ("waiting", "releasing", "released", "withdrawn", "returned")

# ``return``: a releasing officer gives the draft back to its author with a comment, unsigned.
Step = Literal["release", "withdraw", "return"]
STEPS: Final[tuple[Step, ...]] = ("release", "withdraw", "return")

# The one table of transitions: (state, step) -> next state. Anything else is refused.
TRANSITIONS: Final[dict[tuple[DraftState, Step], DraftState]] = {
    ("waiting", "release"): "released",
    ("waiting", "withdraw"): "withdrawn",
    ("waiting", "return"): "returned",
}

# Roles whose holders may release another person's draft.
RELEASERS: Final[frozenset[str]] = frozenset({"releaser"})


@dataclass(frozen=True)
class ReleasePolicy:
    """Which messages need a second person's release on this node."""

    release_formats: bool = False

    def reason(self, precedence: str, is_format: bool) -> Reason | None:
        """Why a message of this precedence (and kind of content) needs release, or None."""
        if precedence == "flash":
            return "flash"
        if is_format and self.release_formats:
            return "format"
        return None


@dataclass(frozen=True)
class Draft:
    """A message waiting for (or past) its release, as the store holds it. Nothing here is signed."""

    id: int
    author: str
    created: float  # epoch seconds, node clock
    recipients: tuple[str, ...]
    precedence: str
    content: dict[str, Any]  # the content as it will be signed
    ref: str | None
    reason: str
    state: DraftState
    released_by: str | None = None
    released_at: float | None = None
    message_id: str | None = None
    returned_by: str | None = None
    returned_at: float | None = None
    return_comment: str | None = None

    def message_content(self) -> Content:
        """The content as the message will carry it."""
        if self.content.get("type") == "format":
            return FormatContent.model_validate(self.content)
        return TextContent.model_validate(self.content)


class ReleaseRefused(CodedError):
    """A release or withdrawal the rules refuse; nothing is signed and the draft is unchanged."""

    code = "release-refused"


class UnknownDraft(ReleaseRefused):
    code = "unknown-draft"

    def __init__(self, draft_id: int) -> None:
        super().__init__(f"no draft {draft_id}")
        self.draft_id = draft_id


class NotAReleaser(ReleaseRefused):
    code = "not-a-releaser"

    def __init__(self, draft_id: int, by: str) -> None:
        super().__init__(f"{by} does not hold the releaser role and may not release draft {draft_id}")
        self.draft_id = draft_id
        self.by = by


class OwnDraft(ReleaseRefused):
    """The releaser drafted the message: the second person must be a different person."""

    code = "release-own-draft"

    def __init__(self, draft_id: int, by: str) -> None:
        super().__init__(f"{by} drafted draft {draft_id}; a different person must release it")
        self.draft_id = draft_id
        self.by = by


class NotTheAuthor(ReleaseRefused):
    code = "withdraw-not-author"

    def __init__(self, draft_id: int, by: str, author: str) -> None:
        super().__init__(f"draft {draft_id} is {author}'s; only its author withdraws it, not {by}")
        self.draft_id = draft_id
        self.by = by
        self.author = author


class DraftNotWaiting(ReleaseRefused):
    """The draft was released or withdrawn already (by whoever was first)."""

    code = "draft-not-waiting"

    def __init__(self, draft: Draft, step: Step) -> None:
        done = f" by {draft.released_by} as {draft.message_id}" if draft.state == "released" else ""
        verb = {"release": "released", "withdraw": "withdrawn", "return": "returned"}[step]
        super().__init__(f"draft {draft.id} is {draft.state}{done}, no longer waiting: it cannot be {verb}")
        self.draft = draft
        self.step = step


def next_state(draft: Draft, step: Step) -> DraftState:
    """The state ``step`` takes the draft to; ``DraftNotWaiting`` if the table has no such move."""
    after = TRANSITIONS.get((draft.state, step))
    if after is None:
        raise DraftNotWaiting(draft, step)
    return after


def check_release(draft: Draft, by: str, roles: Collection[str]) -> DraftState:
    """The state a release by ``by`` (holding ``roles``) takes the draft to, or why not.

    Checked in this order so that the answer names the rule that matters most: the role, then
    the second person, then the state (a released draft is reported as released, to anyone).
    """
    if not RELEASERS.intersection(roles):
        raise NotAReleaser(draft.id, by)
    if by == draft.author:
        raise OwnDraft(draft.id, by)
    return next_state(draft, "release")


def may_release(draft: Draft, by: str, roles: Collection[str]) -> bool:
    """Whether ``check_release`` would let ``by`` release the draft now (a page shows the button)."""
    try:
        check_release(draft, by, roles)
    except ReleaseRefused:
        return False
    return True


def check_return(draft: Draft, by: str, roles: Collection[str]) -> DraftState:
    """The state a return by ``by`` takes the draft to, or why not: whoever may release it may
    give it back instead (a releaser, not its author; the author withdraws)."""
    if not RELEASERS.intersection(roles):
        raise NotAReleaser(draft.id, by)
    if by == draft.author:
        raise OwnDraft(draft.id, by)
    return next_state(draft, "return")


def check_withdraw(draft: Draft, by: str) -> DraftState:
    """The state a withdrawal by ``by`` takes the draft to, or why not: only its author withdraws."""
    if by != draft.author:
        raise NotTheAuthor(draft.id, by, draft.author)
    return next_state(draft, "withdraw")
