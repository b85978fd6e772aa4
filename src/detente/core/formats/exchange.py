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
