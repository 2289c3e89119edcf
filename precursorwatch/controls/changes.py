"""What changed on the control lists between two dates: additions, removals and amendments.

A listing's `since` is an addition and its `until` a removal. A removal met, on the same day,
by a new listing of the same substance in the same jurisdiction is one amendment (for example
a move from Table II to Table I); likewise a structure rule ended and replaced on the same day
by a rule of the same jurisdiction for the same parent substance (for example a family that
gains its halides). For `pwatch lists changes`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from precursorwatch.controls.model import JURISDICTIONS, ControlSet, Listing, StructureRule
from precursorwatch.controls.summary import parse_jurisdictions

ChangeKind = Literal["added", "removed", "amended"]
_KIND_ORDER = {"amended": 0, "added": 1, "removed": 2}


@dataclass(frozen=True, slots=True)
class Change:
    """One change in force on `date`, cited to the record that makes it.

    For an addition or an amendment the citation is the new record's; for a removal it is the
    ended record's (the data keeps the instrument that listed it, and its note says what ended
    it)."""

    date: dt.date
    kind: ChangeKind
    jurisdiction: str
    record: Literal["listing", "rule"]
    subject_id: str  # Substance.id or StructureRule.id
    subject: str  # the substance's name or the rule's label
    list: str
    category: str
    effect: str
    legal_reference: str
    source: str
    verification: str
    decided: dt.date | None = None  # decision or publication date, when the data has it
    previous_list: str = ""  # amendments: what the record replaced
    previous_category: str = ""
    previous_id: str = ""  # amendments of rules: the rule replaced

    @property
    def summary(self) -> str:
        """One line a reader can act on: what happened to what, where."""
        if self.kind == "added":
            return f"{self.subject}: added to {self.list} ({self.category})"
        if self.kind == "removed":
            return f"{self.subject}: removed from {self.list} ({self.category})"
        before = f"{self.previous_list} ({self.previous_category})"
        after = f"{self.list} ({self.category})"
        if self.record == "rule":
            moved = "" if before == after else f", moved from {before} to {after}"
            return f"{self.subject}: replaces the rule {self.previous_id!r}{moved}"
        if before == after:
            return f"{self.subject}: listing amended ({after})"
        return f"{self.subject}: moved from {before} to {after}"

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form (dates as ISO strings), for `pwatch lists changes --format json`."""
        return {
            "date": self.date.isoformat(), "kind": self.kind,
            "jurisdiction": self.jurisdiction, "record": self.record,
            "subject_id": self.subject_id, "subject": self.subject, "list": self.list,
            "category": self.category, "effect": self.effect,
            "legal_reference": self.legal_reference, "source": self.source,
            "verification": self.verification,
            "decided": self.decided.isoformat() if self.decided else None,
            "previous_list": self.previous_list or None,
            "previous_category": self.previous_category or None,
            "previous_id": self.previous_id or None,
            "summary": self.summary,
        }


Record = Listing | StructureRule


def _subject(controls: ControlSet, rec: Record) -> tuple[str, str]:
    if isinstance(rec, StructureRule):
        return rec.id, rec.label
    try:
        return rec.substance, controls.substance(rec.substance).name
    except KeyError:  # a listing of a substance the set lacks: name it by its id
        return rec.substance, rec.substance


def _change(controls: ControlSet, kind: ChangeKind, on: dt.date, rec: Record,
            before: Record | None = None) -> Change:
    subject_id, subject = _subject(controls, rec)
    return Change(
        date=on, kind=kind, jurisdiction=rec.jurisdiction,
        record="rule" if isinstance(rec, StructureRule) else "listing",
        subject_id=subject_id, subject=subject, list=rec.list, category=rec.category,
        effect=rec.effect, legal_reference=rec.legal_reference, source=rec.source,
        verification=rec.verification,
        decided=rec.decided if kind != "removed" else None,
        previous_list=before.list if before else "",
        previous_category=before.category if before else "",
        previous_id=before.id if isinstance(before, StructureRule) else "",
    )


def _group_changes(controls: ControlSet, records: Sequence[Record]) -> list[Change]:
    """Every change of one group (one substance or rule family in one jurisdiction), pairing an
    end with a start on the same day as an amendment."""
    out: list[Change] = []
    starts: dict[dt.date, list[Record]] = defaultdict(list)
    for rec in records:
        starts[rec.since].append(rec)
    paired: set[int] = set()
    for rec in sorted(records, key=lambda r: (r.until or dt.date.max, r.since)):
        if rec.until is None:
            continue
        # Of several records starting that day, the one on the same list replaces it first.
        candidates = sorted((r for r in starts.get(rec.until, []) if id(r) not in paired),
                            key=lambda r: r.list != rec.list)
        after = candidates[0] if candidates else None
        if after is None:
            out.append(_change(controls, "removed", rec.until, rec))
        else:
            paired.add(id(after))
            out.append(_change(controls, "amended", rec.until, after, before=rec))
    out += [_change(controls, "added", r.since, r) for r in records if id(r) not in paired]
    return out


def _rule_group(rule: StructureRule) -> tuple[str, str]:
    # A replacing rule has its own id; what it shares with the rule it replaces is the parent.
    return rule.jurisdiction, rule.parent or rule.id


def all_changes(controls: ControlSet) -> list[Change]:
    """Every addition, removal and amendment the data records, ordered by date."""
    listing_groups: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for x in controls.listings:
        listing_groups[(x.jurisdiction, x.substance)].append(x)
    rule_groups: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for r in controls.rules:
        rule_groups[_rule_group(r)].append(r)
    out: list[Change] = []
    for group in (*listing_groups.values(), *rule_groups.values()):
        out += _group_changes(controls, group)
    return _ordered(out)


def _ordered(changes: Iterable[Change]) -> list[Change]:
    order = {code: i for i, code in enumerate(JURISDICTIONS)}
    return sorted(changes, key=lambda c: (
        c.date, order.get(c.jurisdiction, len(order)), _KIND_ORDER[c.kind], c.record,
        c.subject.lower(), c.list))


def changes_between(
    controls: ControlSet, since: dt.date, until: dt.date | None = None,
    jurisdictions: Sequence[str] | None = None,
) -> list[Change]:
    """Changes in force from `since` to `until` (both included; no end when None) in the
    jurisdictions asked (all: None), ordered by date, then jurisdiction.

    Raises ValueError when `until` is before `since` or a jurisdiction code is unknown."""
    if until is not None and until < since:
        raise ValueError(f"the end date {until.isoformat()} is before the start date "
                         f"{since.isoformat()}")
    wanted = set(parse_jurisdictions(jurisdictions))
    return [c for c in all_changes(controls)
            if c.jurisdiction in wanted and since <= c.date and (until is None or c.date <= until)]
