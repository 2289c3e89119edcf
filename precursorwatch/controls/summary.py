"""What was in force on a date: per (jurisdiction, list) counts and dates, for `pwatch lists`."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from precursorwatch.controls.model import JURISDICTIONS, ControlSet, Listing, StructureRule


@dataclass(frozen=True, slots=True)
class ListSummary:
    """One list of one jurisdiction as it stood on `as_of`."""

    jurisdiction: str
    list: str
    categories: tuple[str, ...]
    effects: tuple[str, ...]  # "control", "watch" or both
    substances: int  # distinct substances listed by name and in force
    rules: int  # family or class rules in force
    earliest: dt.date  # earliest `since` among the entries in force
    latest: dt.date  # latest `since` among the entries in force (the last change by addition)
    as_of: dt.date

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form (dates as ISO strings), for `pwatch lists --format json`."""
        return {
            "jurisdiction": self.jurisdiction, "list": self.list,
            "categories": list(self.categories), "effects": list(self.effects),
            "substances": self.substances, "rules": self.rules,
            "earliest": self.earliest.isoformat(), "latest": self.latest.isoformat(),
            "as_of": self.as_of.isoformat(),
        }


def parse_jurisdictions(codes: Sequence[str] | None) -> tuple[str, ...]:
    """Normalise jurisdiction codes (case-insensitive; comma lists allowed); None means all.

    Raises ValueError naming the unknown code and the accepted ones.
    """
    if codes is None:
        return JURISDICTIONS
    out: list[str] = []
    for item in codes:
        for part in item.split(","):
            code = part.strip().upper()
            if not code:
                continue
            if code not in JURISDICTIONS:
                known = ", ".join(JURISDICTIONS)
                raise ValueError(
                    f"unknown jurisdiction {part.strip()!r}; expected one of {known}")
            if code not in out:
                out.append(code)
    return tuple(out) if out else JURISDICTIONS


def listings_in_force(
    controls: ControlSet, as_of: dt.date | None = None,
    jurisdictions: Sequence[str] | None = None,
) -> tuple[Listing, ...]:
    """Listings in force on `as_of` (today when None) for the jurisdictions asked (all: None)."""
    on = as_of or dt.date.today()
    wanted = set(parse_jurisdictions(jurisdictions))
    return tuple(x for x in controls.listings if x.jurisdiction in wanted and x.in_force(on))


def rules_in_force(
    controls: ControlSet, as_of: dt.date | None = None,
    jurisdictions: Sequence[str] | None = None,
) -> tuple[StructureRule, ...]:
    """Structure rules in force on `as_of` (today when None) for the jurisdictions asked."""
    on = as_of or dt.date.today()
    wanted = set(parse_jurisdictions(jurisdictions))
    return tuple(r for r in controls.rules if r.jurisdiction in wanted and r.in_force(on))


def summarise_lists(
    controls: ControlSet, as_of: dt.date | None = None,
    jurisdictions: Sequence[str] | None = None,
) -> list[ListSummary]:
    """Per (jurisdiction, list): substances and rules in force on `as_of` (today when None).

    Lists with nothing in force on the date are left out. Ordered by jurisdiction (UN, US, CN,
    MX, EU, CA), then list name.
    """
    on = as_of or dt.date.today()
    subs: dict[tuple[str, str], set[str]] = defaultdict(set)
    rule_ids: dict[tuple[str, str], set[str]] = defaultdict(set)
    dates: dict[tuple[str, str], list[dt.date]] = defaultdict(list)
    categories: dict[tuple[str, str], set[str]] = defaultdict(set)
    effects: dict[tuple[str, str], set[str]] = defaultdict(set)
    for x in listings_in_force(controls, on, jurisdictions):
        key = (x.jurisdiction, x.list)
        subs[key].add(x.substance)
        dates[key].append(x.since)
        categories[key].add(x.category)
        effects[key].add(x.effect)
    for r in rules_in_force(controls, on, jurisdictions):
        key = (r.jurisdiction, r.list)
        rule_ids[key].add(r.id)
        dates[key].append(r.since)
        categories[key].add(r.category)
        effects[key].add(r.effect)
    order = {code: i for i, code in enumerate(JURISDICTIONS)}
    return [
        ListSummary(
            jurisdiction=key[0], list=key[1], categories=tuple(sorted(categories[key])),
            effects=tuple(sorted(effects[key])), substances=len(subs[key]),
            rules=len(rule_ids[key]), earliest=min(dates[key]), latest=max(dates[key]), as_of=on,
        )
        for key in sorted(dates, key=lambda k: (order.get(k[0], len(order)), k[1]))
    ]
