"""What was in force on a date: per (jurisdiction, list) counts and dates, and per jurisdiction
how far the citations were checked, for `pwatch lists`.

`python -m precursorwatch.controls.summary --markdown` writes the table of docs/control-data.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from precursorwatch.controls.load import DataVersion, controls_data_version, load_controls
from precursorwatch.controls.model import (
    JURISDICTIONS,
    ControlSet,
    Listing,
    StructureRule,
    is_primary_source,
)

VERIFICATIONS: tuple[str, ...] = ("primary", "secondary", "unverified")


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


@dataclass(frozen=True, slots=True)
class VerificationCount:
    """How the citations of one jurisdiction's records were checked: listings and rules by
    `verification`, and how many cite an address of a primary publisher."""

    jurisdiction: str
    listings: tuple[int, int, int]  # primary, secondary, unverified
    rules: tuple[int, int, int]
    listings_primary_address: int  # listings whose source is on a primary publisher's domain
    rules_primary_address: int
    listings_with_threshold: int = 0  # listings that carry a quantity threshold

    @property
    def total_listings(self) -> int:
        return sum(self.listings)

    @property
    def total_rules(self) -> int:
        return sum(self.rules)

    def as_dict(self) -> dict[str, object]:
        return {
            "jurisdiction": self.jurisdiction,
            "listings": dict(zip(VERIFICATIONS, self.listings, strict=True)),
            "rules": dict(zip(VERIFICATIONS, self.rules, strict=True)),
            "listings_primary_address": self.listings_primary_address,
            "rules_primary_address": self.rules_primary_address,
            "listings_with_threshold": self.listings_with_threshold,
        }


def _by_verification(records: Sequence[Listing | StructureRule]) -> tuple[int, int, int]:
    primary, secondary, unverified = (sum(r.verification == v for r in records)
                                      for v in VERIFICATIONS)
    return primary, secondary, unverified


def verification_counts(
    controls: ControlSet, as_of: dt.date | None = None,
    jurisdictions: Sequence[str] | None = None,
) -> list[VerificationCount]:
    """Per jurisdiction, listings and rules by verification: those in force on `as_of`, or
    every record, past ones included, when `as_of` is None. Jurisdictions with no record are
    left out; ordered UN, US, CN, MX, EU, CA."""
    wanted = parse_jurisdictions(jurisdictions)
    listings: Sequence[Listing] = (
        controls.listings if as_of is None else listings_in_force(controls, as_of, wanted))
    rules: Sequence[StructureRule] = (
        controls.rules if as_of is None else rules_in_force(controls, as_of, wanted))
    out: list[VerificationCount] = []
    for code in wanted:
        mine = [x for x in listings if x.jurisdiction == code]
        mine_rules = [r for r in rules if r.jurisdiction == code]
        if not mine and not mine_rules:
            continue
        out.append(VerificationCount(
            jurisdiction=code, listings=_by_verification(mine),
            rules=_by_verification(mine_rules),
            listings_primary_address=sum(is_primary_source(x.source) for x in mine),
            rules_primary_address=sum(is_primary_source(r.source) for r in mine_rules),
            listings_with_threshold=sum(x.threshold is not None for x in mine),
        ))
    return sorted(out, key=lambda c: JURISDICTIONS.index(c.jurisdiction))


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f} %" if whole else "–"


def _add(triples: Iterable[tuple[int, int, int]]) -> tuple[int, int, int]:
    a = b = c = 0
    for x, y, z in triples:
        a, b, c = a + x, b + y, c + z
    return a, b, c


def markdown_table(counts: Sequence[VerificationCount]) -> str:
    """The per-jurisdiction table of docs/control-data.md (GitHub-flavoured Markdown)."""
    lines = [
        "| Jurisdiction | Listings | Verified: primary | secondary | unverified "
        "| Source on a primary publisher's site | With a quantity threshold | Rules "
        "| Rules verified primary | Rules' source on a primary publisher's site |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    rows = list(counts)
    total = VerificationCount(
        "all", _add(c.listings for c in rows), _add(c.rules for c in rows),
        sum(c.listings_primary_address for c in rows), sum(c.rules_primary_address for c in rows),
        sum(c.listings_with_threshold for c in rows))
    for c in [*rows, total]:
        n, r = c.total_listings, c.total_rules
        name = "**all**" if c is total else c.jurisdiction
        lines.append(
            f"| {name} | {n} | {c.listings[0]} ({_share(c.listings[0], n)}) | {c.listings[1]} "
            f"| {c.listings[2]} | {c.listings_primary_address} "
            f"({_share(c.listings_primary_address, n)}) | {c.listings_with_threshold} "
            f"| {r} | {c.rules[0]} "
            f"| {c.rules_primary_address} ({_share(c.rules_primary_address, r)}) |")
    return "\n".join(lines) + "\n"


BEGIN = "<!-- generated by python -m precursorwatch.controls.summary: begin -->"
END = "<!-- generated by python -m precursorwatch.controls.summary: end -->"


def markdown_report(controls: ControlSet, version: DataVersion | None) -> str:
    """The generated part of docs/control-data.md: the data's version and check date, then the
    per-jurisdiction table over every record (past listings included)."""
    head = (f"Control data version {version.version}, checked {version.checked.isoformat()}."
            if version else "The control data carries no version (no about.yaml).")
    counts = verification_counts(controls)
    return (f"{BEGIN}\n{head}\n\n{markdown_table(counts)}{END}\n")


def replace_generated(document: str, block: str) -> str:
    """The document with its generated block replaced (or appended when it has none)."""
    start, end = document.find(BEGIN), document.find(END)
    if start == -1 or end == -1 or end < start:
        return document.rstrip("\n") + "\n\n" + block
    return document[:start] + block + document[end + len(END):].lstrip("\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m precursorwatch.controls.summary",
        description="Per jurisdiction, how many listings and rules cite a primary source.")
    parser.add_argument("--markdown", action="store_true",
                        help="print the Markdown block of docs/control-data.md")
    parser.add_argument("--write", metavar="FILE", type=Path,
                        help="replace the generated block of this Markdown file")
    args = parser.parse_args(argv)
    block = markdown_report(load_controls(), controls_data_version())
    if args.write is not None:
        try:
            old = args.write.read_text(encoding="utf-8") if args.write.exists() else ""
            args.write.write_text(replace_generated(old, block), encoding="utf-8")
        except OSError as exc:
            parser.error(f"--write: cannot write {args.write}: {exc.strerror or exc}")
        return 0
    sys.stdout.write(block)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
