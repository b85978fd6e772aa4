"""The lists as a duty officer works them: which list, which filters, which page.

- ``inbox``: the work queue, every received message not yet answered, at any age (overdue
  first, then precedence, then deadline: ``core.lifecycle.queue_key``), with its counts by
  precedence and overdue above it, paged, never truncated;
- ``answered``: received messages this party has answered, newest first;
- ``outbox``: messages sent, precedence then newest.

A ``BoxQuery`` is read from a page's query string, whatever it holds: an unknown precedence, a
sender that cannot be a party name or a page out of range is dropped or clamped, never an error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from detente.core.entries import PARTY_PATTERN
from detente.core.terms import PRECEDENCES

PAGE_SIZE = 50  # rows a page shows; the rest are on the following pages, counted
BULK_LIMIT = 200  # messages one bulk acknowledgement may name (a page is 50)
BOXES = ("inbox", "answered", "outbox")
STORE_BOX = {"inbox": "queue", "answered": "answered", "outbox": "out"}
MAX_PAGE = 100_000
_PARTY = re.compile(PARTY_PATTERN)


@dataclass(frozen=True)
class BoxQuery:
    """A list as one page shows it."""

    box: str = "inbox"
    precedence: str | None = None
    sender: str | None = None
    overdue: bool = False
    page: int = 1

    @classmethod
    def parse(cls, box: str, params: Mapping[str, str]) -> BoxQuery:
        precedence = params.get("precedence") or None
        sender = (params.get("sender") or "").strip() or None
        try:
            page = int(params.get("page") or 1)
        except ValueError:
            page = 1
        return cls(
            box=box if box in BOXES else "inbox",
            precedence=precedence if precedence in PRECEDENCES else None,
            sender=sender if sender and len(sender) <= 64 and _PARTY.match(sender) else None,
            overdue=box == "inbox" and params.get("overdue") == "1",
            page=min(max(page, 1), MAX_PAGE),
        )

    @property
    def filtered(self) -> bool:
        return bool(self.precedence or self.sender or self.overdue)

    def query(self, **change: Any) -> str:
        """The query string of this list (with ``change`` applied), defaults left out."""
        q = replace(self, **change)
        params = {
            "precedence": q.precedence or "",
            "sender": q.sender or "",
            "overdue": "1" if q.overdue else "",
            "page": str(q.page) if q.page > 1 else "",
        }
        return urlencode({k: v for k, v in params.items() if v})

    def href(self, **change: Any) -> str:
        query = self.query(**change)
        return f"/{self.box}" + (f"?{query}" if query else "")

    def store_args(self, pages: int) -> dict[str, Any]:
        """The store's ``box_page`` arguments for this page (clamped to the ``pages`` there are)."""
        page = min(self.page, max(pages, 1))
        return {
            "precedence": self.precedence,
            "sender": self.sender,
            "overdue_only": self.overdue,
            "offset": (page - 1) * PAGE_SIZE,
            "limit": PAGE_SIZE,
        }


def pages_for(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


def page_links(page: int, pages: int) -> list[int | None]:
    """The page numbers a pager links to: the first, the last and two either side of ``page``;
    None where pages are skipped."""
    wanted = sorted({1, pages, *range(max(1, page - 2), min(pages, page + 2) + 1)})
    out: list[int | None] = []
    for n in wanted:
        if out and out[-1] is not None and n > out[-1] + 1:
            out.append(None)
        out.append(n)
    return out
