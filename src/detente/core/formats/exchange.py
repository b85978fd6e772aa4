"""Prisoner-exchange bookkeeping: line answers and final counts compared, never corrected.

Owns `PartyTotals`, `MediatorTotals`, `TotalsLine`, `compare_totals`, `render_totals` and
`LineSummary`/`summarise_lines`. Each party signs its own counts (handed over and received per
category); a mediator may sign its own per-direction totals. The comparison shows every figure
with who stated it and marks the ones that do not match. Where accounts differ nothing is
adjusted: a gap stays a gap until a party signs a new statement.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from detente.core.formats.checks import Json
from detente.core.formats.lang import Lang

CATEGORIES = ("military", "civilian", "remains")

_CATEGORY_NAMES: dict[Lang, dict[str, str]] = {
    "en": {"military": "servicemen", "civilian": "civilians", "remains": "remains", "total": "total"},
    "ru": {
        "military": "военнослужащие",
        "civilian": "гражданские лица",
        "remains": "тела погибших",
        "total": "всего",
    },
    "uk": {
        "military": "військовослужбовці",
        "civilian": "цивільні особи",
        "remains": "тіла загиблих",
        "total": "усього",
    },
}
_WORDS: dict[Lang, dict[str, str]] = {
    "en": {
        "from": "From {a} to {b}",
        "handed": "{a} says handed over",
        "received": "{b} says received",
        "mediator": "{m} says",
        "ok": "agrees",
        "bad": "MISMATCH",
        "none": "—",
    },
    "ru": {
        "from": "От {a} к {b}",
        "handed": "{a}: передано",
        "received": "{b}: принято",
        "mediator": "{m}:",
        "ok": "совпадает",
        "bad": "РАСХОЖДЕНИЕ",
        "none": "—",
    },
    "uk": {
        "from": "Від {a} до {b}",
        "handed": "{a}: передано",
        "received": "{b}: прийнято",
        "mediator": "{m}:",
        "ok": "збігається",
        "bad": "РОЗБІЖНІСТЬ",
        "none": "—",
    },
}


@dataclass(frozen=True)
class PartyTotals:
    """What one party states it handed over and received, per category (absent: not stated)."""

    party: str
    handed_over: Mapping[str, int]
    received: Mapping[str, int]

    @classmethod
    def from_fields(cls, party: str, fields: Mapping[str, Json]) -> PartyTotals:
        """From the counts of a validated exchange-reconciliation message."""

        def counts(prefix: str) -> dict[str, int]:
            out: dict[str, int] = {}
            for category in CATEGORIES:
                value = fields.get(f"{prefix}_{category}")
                if isinstance(value, int) and not isinstance(value, bool):
                    out[category] = value
            return out

        return cls(party, counts("handed_over"), counts("received"))


@dataclass(frozen=True)
class MediatorTotals:
    """A mediator's stated totals per direction: {(from party, to party): persons}."""

    party: str
    transfers: Mapping[tuple[str, str], int]


@dataclass(frozen=True)
class TotalsLine:
    """One category in one direction, with each statement about it."""

    sender: str
    recipient: str
    category: str  # one of CATEGORIES or "total"
    sender_says: int | None
    recipient_says: int | None
    mediator_says: int | None = None

    @property
    def stated(self) -> tuple[int, ...]:
        return tuple(v for v in (self.sender_says, self.recipient_says, self.mediator_says) if v is not None)

    @property
    def agrees(self) -> bool:
        """All statements given are equal, and at least the two parties both gave one."""
        both = self.sender_says is not None and self.recipient_says is not None
        return both and len(set(self.stated)) == 1


def _total(counts: Mapping[str, int]) -> int | None:
    # A total is only stated if every category is: a missing figure is not a zero.
    if not all(c in counts for c in CATEGORIES):
        return None
    return sum(counts[c] for c in CATEGORIES)


def compare_totals(
    a: PartyTotals, b: PartyTotals, mediator: MediatorTotals | None = None
) -> tuple[TotalsLine, ...]:
    """Each direction's counts as stated by sender, recipient and mediator, side by side."""
    lines: list[TotalsLine] = []
    for sender, recipient in ((a, b), (b, a)):
        for category in CATEGORIES:
            lines.append(
                TotalsLine(
                    sender.party,
                    recipient.party,
                    category,
                    sender.handed_over.get(category),
                    recipient.received.get(category),
                )
            )
        mediated = None
        if mediator is not None:
            mediated = mediator.transfers.get((sender.party, recipient.party))
        lines.append(
            TotalsLine(
                sender.party,
                recipient.party,
                "total",
                _total(sender.handed_over),
                _total(recipient.received),
                mediated,
            )
        )
    return tuple(lines)


def mismatches(lines: tuple[TotalsLine, ...]) -> tuple[TotalsLine, ...]:
    return tuple(line for line in lines if not line.agrees)


def render_totals(lines: tuple[TotalsLine, ...], lang: Lang, mediator_party: str | None = None) -> str:
    """A deterministic table of the statements, mismatches marked, in ``lang``."""
    words, names = _WORDS[lang], _CATEGORY_NAMES[lang]
    out: list[str] = []
    current: tuple[str, str] | None = None

    def shown(value: int | None) -> str:
        return words["none"] if value is None else str(value)

    for line in lines:
        if (line.sender, line.recipient) != current:
            current = (line.sender, line.recipient)
            out.append(words["from"].format(a=line.sender, b=line.recipient))
        parts = [
            f"{words['handed'].format(a=line.sender)} {shown(line.sender_says)}",
            f"{words['received'].format(b=line.recipient)} {shown(line.recipient_says)}",
        ]
        if line.mediator_says is not None and mediator_party is not None:
            parts.append(f"{words['mediator'].format(m=mediator_party)} {line.mediator_says}")
        verdict = words["ok"] if line.agrees else words["bad"]
        out.append(f"  {names[line.category]}: {'; '.join(parts)} — {verdict}")
    return "\n".join(out) + "\n"


@dataclass(frozen=True)
class LineSummary:
    """How a reconciliation answers the lines of a list."""

    agreed: tuple[int, ...]
    disputed: tuple[int, ...]
    unknown: tuple[int, ...]
    unanswered: tuple[int, ...]
    not_in_list: tuple[int, ...]
    answered_twice: tuple[int, ...]


def summarise_lines(exchange_list: Mapping[str, Json], reconciliation: Mapping[str, Json]) -> LineSummary:
    """Match a reconciliation's line answers against the list's persons (lines are 1-based)."""
    persons = exchange_list.get("persons")
    count = len(persons) if isinstance(persons, list) else 0
    answers: dict[str, list[int]] = {"agreed": [], "disputed": [], "unknown": []}
    seen: list[int] = []
    twice: list[int] = []
    outside: list[int] = []
    rows = reconciliation.get("lines")
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict):
            continue
        line, answer = row.get("line"), row.get("answer")
        if not isinstance(line, int) or not isinstance(answer, str):
            continue
        if line in seen:
            twice.append(line)
            continue
        seen.append(line)
        if not 1 <= line <= count:
            outside.append(line)
            continue
        answers.setdefault(answer, []).append(line)
    return LineSummary(
        agreed=tuple(sorted(answers["agreed"])),
        disputed=tuple(sorted(answers["disputed"])),
        unknown=tuple(sorted(answers["unknown"])),
        unanswered=tuple(n for n in range(1, count + 1) if n not in seen),
        not_in_list=tuple(sorted(outside)),
        answered_twice=tuple(sorted(set(twice))),
    )


# -- every signed account of one exchange, side by side (issue 14.5) ------------------------------

RECONCILIATION = "exchange-reconciliation"
ROW_CATEGORIES = (*CATEGORIES, "total")
Key = tuple[str | None, str | None, str]  # (from, to, category); from and to None: both ways


@dataclass(frozen=True)
class Account:
    """One signed account of an exchange: whoever signed it, in whatever capacity.

    ``figures`` are exactly the numbers its signed fields state, keyed by direction and
    category; nothing is inferred into them. ``stated_by``: the author of a quoted public
    statement the signer relays (None: the signer's own account).
    """

    signer: str
    entry: str
    created: str
    capacity: str
    stated_by: str | None
    source: str | None
    figures: Mapping[Key, int]

    @classmethod
    def from_message(
        cls, signer: str, entry: str, created: str, to: list[str], version: int, fields: Mapping[str, Json]
    ) -> Account | None:
        """From a signed exchange-reconciliation message; None if it states no figure."""
        figures: dict[Key, int] = {}
        if version == 1:
            # v1 speaks for its signer, a party: "handed over" went to its one counterpart.
            totals = PartyTotals.from_fields(signer, fields)
            if len(to) == 1:
                for c, n in totals.handed_over.items():
                    figures[(signer, to[0], c)] = n
                for c, n in totals.received.items():
                    figures[(to[0], signer, c)] = n
            capacity, stated_by, source = "party", None, None
        else:
            rows = fields.get("transfers")
            for row in rows if isinstance(rows, list) else []:
                if not isinstance(row, dict):
                    continue
                src, dst = row.get("from"), row.get("to")
                way = (src, dst) if isinstance(src, str) and isinstance(dst, str) else (None, None)
                for c in ROW_CATEGORIES:
                    persons = row.get(c)
                    if isinstance(persons, int) and not isinstance(persons, bool):
                        figures[(*way, c)] = persons
            capacity = str(fields.get("capacity") or "party")
            stated_by, source = _text_of(fields.get("stated_by")), _text_of(fields.get("source"))
        if not figures:
            return None
        return cls(signer, entry, created, capacity, stated_by, source, figures)

    def says(self, key: Key, pair: tuple[str, str] | None) -> Cell:
        """What this account states for ``key``; failing that, what its own stated figures add
        up to (marked derived: a total of every category, or both directions together)."""
        if key in self.figures:
            return Cell(self.figures[key], derived=False)
        src, dst, category = key
        if category == "total":
            parts = [self.says((src, dst, c), pair) for c in CATEGORIES]
            if all(p.value is not None for p in parts):
                return Cell(sum(p.value or 0 for p in parts), derived=True)
        if src is None and pair is not None:
            a, b = pair
            ways = [self.says((a, b, category), pair), self.says((b, a, category), pair)]
            if all(w.value is not None for w in ways):
                return Cell(sum(w.value or 0 for w in ways), derived=True)
        return Cell(None, derived=False)


def _text_of(value: Json) -> str | None:
    if isinstance(value, dict) and isinstance(value.get("text"), str):
        return str(value["text"])
    return None


@dataclass(frozen=True)
class Cell:
    value: int | None
    derived: bool  # added up from the account's own stated figures, not stated as such


@dataclass(frozen=True)
class AccountRow:
    """One direction and category, with what each account says about it (in account order)."""

    src: str | None
    dst: str | None
    category: str
    cells: tuple[Cell, ...]

    @property
    def mismatch(self) -> bool:
        """Two accounts give different numbers: shown as such, never settled."""
        return len({c.value for c in self.cells if c.value is not None}) > 1


def reconcile_accounts(accounts: list[Account]) -> tuple[AccountRow, ...]:
    """Every account's figures side by side: each direction (then both together) by category.

    No account is adjusted, dropped or preferred: a figure is shown as its account states it,
    a sum of its own figures is marked derived, and a row whose numbers differ is a mismatch.
    """
    keys = {k for a in accounts for k in a.figures}
    parties = sorted({p for s, d, _ in keys for p in (s, d) if p is not None})
    pair = (parties[0], parties[1]) if len(parties) == 2 else None
    ways: list[tuple[str | None, str | None]] = sorted(
        {(s, d) for s, d, _ in keys if s is not None and d is not None}
    )
    if any(s is None for s, _, _ in keys) or pair is not None:
        ways.append((None, None))
    rows = []
    for src, dst in ways:
        for category in ROW_CATEGORIES:
            cells = tuple(a.says((src, dst, category), pair) for a in accounts)
            if any(c.value is not None for c in cells):
                rows.append(AccountRow(src, dst, category, cells))
    return tuple(rows)


_ACCOUNT_WORDS: dict[Lang, dict[str, str]] = {
    "en": {
        "both": "Both ways together",
        "by": "{signer} ({capacity}), {entry}",
        "quoted": "quoting {who}",
        "derived": "= sum of its own figures",
        "bad": "MISMATCH",
        "none": "—",
        "party": "party",
        "mediator": "mediator",
        "observer": "observer",
    },
    "ru": {
        "both": "В обе стороны вместе",
        "by": "{signer} ({capacity}), {entry}",
        "quoted": "цитирует: {who}",
        "derived": "= сумма собственных цифр",
        "bad": "РАСХОЖДЕНИЕ",
        "none": "—",
        "party": "сторона",
        "mediator": "посредник",
        "observer": "наблюдатель",
    },
    "uk": {
        "both": "В обидва боки разом",
        "by": "{signer} ({capacity}), {entry}",
        "quoted": "цитує: {who}",
        "derived": "= сума власних цифр",
        "bad": "РОЗБІЖНІСТЬ",
        "none": "—",
        "party": "сторона",
        "mediator": "посередник",
        "observer": "спостерігач",
    },
}


def account_words(lang: Lang) -> Mapping[str, str]:
    return _ACCOUNT_WORDS[lang]


def category_name(category: str, lang: Lang) -> str:
    return _CATEGORY_NAMES[lang][category]


def render_accounts(accounts: list[Account], rows: tuple[AccountRow, ...], lang: Lang) -> str:
    """A deterministic text of every account side by side, one block per row, in ``lang``."""
    words = _ACCOUNT_WORDS[lang]
    out: list[str] = []
    for i, a in enumerate(accounts, 1):
        head = words["by"].format(signer=a.signer, capacity=words.get(a.capacity, a.capacity), entry=a.entry)
        quoted = f"; {words['quoted'].format(who=a.stated_by)}" if a.stated_by else ""
        source = f" ({a.source})" if a.source else ""
        out.append(f"[{i}] {head}{quoted}{source}")
    current: tuple[str | None, str | None] | None = ("", "")
    for row in rows:
        if (row.src, row.dst) != current:
            current = (row.src, row.dst)
            out.append(
                words["both"] if row.src is None else _WORDS[lang]["from"].format(a=row.src, b=row.dst)
            )
        shown = []
        for i, c in enumerate(row.cells, 1):
            value = words["none"] if c.value is None else (f"={c.value}" if c.derived else str(c.value))
            shown.append(f"[{i}] {value}")
        mark = f" — {words['bad']}" if row.mismatch else ""
        out.append(f"  {_CATEGORY_NAMES[lang][row.category]}: {'; '.join(shown)}{mark}")
    if any(c.derived for r in rows for c in r.cells):
        out.append(f"=N: {words['derived']}")
    return "\n".join(out) + "\n"
