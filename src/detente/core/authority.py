"""Who may do what through the node, whichever interface is used: the roles each kind of API
request needs, and the one rule for personal data.

The API (``web.api``) checks these sets on every route, and the console (``web.console``)
gates its pages and forms with the same sets: a role may do the same things whichever interface
it uses. The console, the PDF transcript and the CLI follow ``sees_personal`` for personal data. Releasing a draft is the
core's release rule (``core.release``): a releaser who did not draft it.
"""

from __future__ import annotations

from typing import Final

from detente.core.release import RELEASERS
from detente.core.terms import ROLES

# The identity of the node's own token (DIR/api-token): an administrator, one person. It may
# draft a FLASH but, not holding the releaser role and being its author, never release it.
NODE_ADMIN: Final = "node-admin"

EVERYONE: Final[frozenset[str]] = frozenset(ROLES)
# Sign and send a message (or draft one that needs release), send a link test.
SEND: Final[frozenset[str]] = frozenset({"operator", "releaser", "admin"})
# Answer a received message.
ACK: Final[frozenset[str]] = frozenset({"operator", "releaser", "admin"})
# Sign a translation (the translation names the authenticated person as its translator).
TRANSLATE: Final[frozenset[str]] = frozenset({"translator", "admin"})
# Release another person's draft (the core's release rule also checks it is another's).
RELEASE: Final[frozenset[str]] = RELEASERS
# The node's security events and its metrics.
AUDIT: Final[frozenset[str]] = frozenset({"operator", "releaser", "auditor", "admin"})
METRICS: Final[frozenset[str]] = frozenset({"auditor", "admin"})
# Read the whole record (its export and PDF transcript) and verify bundles: auditors and
# administrators. The console's Record and Verify pages; the CLI's export reads the node's
# files and so is the host's permissions, not a role.
RECORD: Final[frozenset[str]] = frozenset({"auditor", "admin"})

# The one rule for personal data (names, dates of birth, ID numbers in a format's personal
# fields): only releasing officers, who must see what they release, and administrators. Every
# other role sees such fields redacted, in the console, the API and the PDF transcript.
PERSONAL_DATA: Final[frozenset[str]] = frozenset({"releaser", "admin"})


def sees_personal(role: str) -> bool:
    """Whether a person holding ``role`` may be shown personal data."""
    return role in PERSONAL_DATA


def refusal(role: str, allowed: frozenset[str], what: str) -> str:
    """The one sentence a refused request gets."""
    may = ", ".join(r for r in ROLES if r in allowed)
    return f"the {role} role may not {what} (allowed: {may})"
