"""What a live update sends: only the parts of a page, and only the rows of a list, that changed.

A console page holds *live parts*: read-only fragments (the banner, a message's state, the link
panel) that an update replaces whole, and, on the inbox and outbox, *rows*, one ``<tr>`` per
message with a stable DOM id. Forms are never part of either, so an update cannot reset what
an officer is typing or choosing.

The server remembers, per open page, a digest of each part and each row as the page last got
it (``Shown``). An update is then a list of ``Patch``es, sent as htmx ``<hx-partial>`` elements:

- a part whose HTML changed: its container's ``innerHTML``;
- a row whose HTML changed: that row's ``outerHTML``; unchanged rows are not sent and their
  elements (and the focus in them) stay as they are;
- rows that left the list: ``delete``; new rows: inserted after the nearest row that stays, a
  run of new rows at once;
- rows whose order changed (only possible between rows with equal sort keys): the longest run
  of rows already in order stays, the others are moved (deleted and inserted where they go).

htmx resolves every target of one update before it applies any of them, so an insertion is
anchored only on a row that was already on the page and is neither moved nor deleted, and
insertions come before the replacements in the update (an anchor replaced first would leave
the insertion nowhere).

``Pages`` keeps what each open page shows between its connections (a page reconnects after a
dropped link, or when its tab comes back to the foreground): a page whose last received update is
the one the server remembers sending continues from there; any other starts with every part and
row replaced once.
"""

from __future__ import annotations

import bisect
import hashlib
import html
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

ROW_PREFIX = "row-"
EMPTY_ROW = "rows-empty"  # the "nothing here" row of an empty list; never a message's row id
PAGES_KEPT = 256  # open pages remembered; the oldest is forgotten first (it then resyncs once)


def row_dom_id(msg_id: str) -> str:
    """A DOM id for a message's row, usable as is in a CSS ``#id`` selector.

    Message ids contain '/' (``RU-MOD/12``) and a party name is whatever its config says: every
    character outside [A-Za-z0-9-] is written as ``_XX`` (its UTF-8 bytes in hex). ``_`` itself
    is escaped, so two message ids never share a row id.
    """
    out = []
    for ch in msg_id:
        if ch.isascii() and (ch.isalnum() or ch == "-"):
            out.append(ch)
        else:
            out.extend(f"_{b:02X}" for b in ch.encode())
    return ROW_PREFIX + "".join(out)


def digest(fragment: str) -> bytes:
    return hashlib.blake2b(fragment.encode(), digest_size=16).digest()


@dataclass(frozen=True)
class Patch:
    """One change to the page: ``swap`` the element with id ``target`` (or next to it)."""

    target: str
    swap: str  # innerHTML | outerHTML | afterend | afterbegin | delete
    html: str = ""

    def partial(self) -> str:
        return (
            f'<hx-partial hx-target="#{html.escape(self.target)}" hx-swap="{self.swap}">'
            f"{self.html}</hx-partial>"
        )


@dataclass(frozen=True)
class Shown:
    """What a page holds: a digest per live part, and per row (DOM id, digest) in page order."""

    parts: dict[str, bytes]
    rows: tuple[tuple[str, bytes], ...] | None = None


@dataclass(frozen=True)
class View:
    """A page's live content now: each part's HTML, and each row's (DOM id, ``<tr>`` HTML)."""

    parts: dict[str, str]
    rows: tuple[tuple[str, str], ...] | None = None
    rows_target: str = "rows"  # the id of the rows' container (a ``<tbody>``)

    def shown(self) -> Shown:
        rows = None if self.rows is None else tuple((i, digest(h)) for i, h in self.rows)
        return Shown({k: digest(v) for k, v in self.parts.items()}, rows)

    def rows_html(self) -> str:
        return "".join(h for _, h in self.rows or ())


def _in_order(positions: Sequence[int]) -> set[int]:
    """Indexes (into ``positions``) of a longest strictly increasing subsequence."""
    tails: list[int] = []  # tails[k]: position ending the best run of length k+1 so far
    tail_at: list[int] = []  # ... and its index in ``positions``
    before: list[int] = [-1] * len(positions)
    for i, p in enumerate(positions):
        k = bisect.bisect_left(tails, p)
        if k == len(tails):
            tails.append(p)
            tail_at.append(i)
        else:
            tails[k] = p
            tail_at[k] = i
        before[i] = tail_at[k - 1] if k else -1
    keep: set[int] = set()
    i = tail_at[-1] if tail_at else -1
    while i >= 0:
        keep.add(i)
        i = before[i]
    return keep


def row_patches(
    shown: Sequence[tuple[str, bytes]], rows: Sequence[tuple[str, str]], container: str
) -> list[Patch]:
    """The patches that turn rows as ``shown`` into ``rows``, touching no row that did not change."""
    now_at = {rid: i for i, (rid, _) in enumerate(rows)}
    was = dict(shown)
    kept = [rid for rid, _ in shown if rid in now_at]
    staying = {kept[i] for i in _in_order([now_at[rid] for rid in kept])}

    deletes = [Patch(rid, "delete") for rid, _ in shown if rid not in staying]
    inserts: list[Patch] = []
    replaces: list[Patch] = []
    anchor: str | None = None  # the last staying row above, in the new order
    run: list[str] = []  # new or moved rows waiting to go in after ``anchor``

    def flush() -> None:
        if run:
            where = Patch(anchor, "afterend") if anchor else Patch(container, "afterbegin")
            inserts.append(Patch(where.target, where.swap, "".join(run)))
            run.clear()

    for rid, fragment in rows:
        if rid in staying:
            flush()
            anchor = rid
            if was[rid] != digest(fragment):
                replaces.append(Patch(rid, "outerHTML", fragment))
        else:
            run.append(fragment)
    flush()
    return deletes + inserts + replaces


def patches(shown: Shown | None, view: View) -> list[Patch]:
    """What to send so that a page holding ``shown`` holds ``view`` (``None``: all of it)."""
    out = [
        Patch(k, "innerHTML", v)
        for k, v in view.parts.items()
        if shown is None or shown.parts.get(k) != digest(v)
    ]
    if view.rows is not None:
        if shown is None or shown.rows is None:
            out.append(Patch(view.rows_target, "innerHTML", view.rows_html()))
        else:
            out.extend(row_patches(shown.rows, view.rows, view.rows_target))
    return out


@dataclass(frozen=True)
class Page:
    """An open page: whose, which view, what it shows, and the last update it was sent."""

    user: str
    view: str
    msg_id: str | None
    shown: Shown
    last_event: str = ""  # "" until the first update: the page as rendered
    q: str = ""  # a list's filters and page, as its query string


class Pages:
    """What open pages show, by page token, between their live connections (bounded)."""

    def __init__(self, limit: int = PAGES_KEPT) -> None:
        self.limit = limit
        self._pages: OrderedDict[str, Page] = OrderedDict()

    def put(self, token: str, page: Page) -> None:
        self._pages[token] = page
        self._pages.move_to_end(token)
        while len(self._pages) > self.limit:
            self._pages.popitem(last=False)

    def take(self, token: str) -> Page | None:
        """The page's state, held by one connection at a time (a second one starts afresh)."""
        return self._pages.pop(token, None)

    def __len__(self) -> int:
        return len(self._pages)
