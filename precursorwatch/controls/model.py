"""Typed, immutable records of the control lists.

One `Substance` per chemical identity, one `Listing` per (substance, jurisdiction, list) with
its dates and citation, one `StructureRule` per family or class listing written as SMARTS.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

Jurisdiction = Literal["UN", "US", "CN", "MX", "EU", "CA"]
JURISDICTIONS: tuple[str, ...] = ("UN", "US", "CN", "MX", "EU", "CA")

# "control": a legal control list. "watch": a reagent or pre-precursor kept under watch
# (verdict `watch`, never `controlled`).
Effect = Literal["control", "watch"]
# How far a citation was checked: the instrument itself (or its issuing body's publication),
# a secondary report or transcription of it, or not at all.
Verification = Literal["primary", "secondary", "unverified"]


@dataclass(frozen=True, slots=True)
class Threshold:
    """A quantity below which a transaction is not regulated (e.g. US List I, 21 CFR 1310.04)."""

    quantity: float
    unit: str  # "kg", "g", "L", "mL", "dosage units"
    basis: str = ""  # e.g. "cumulative per calendar month"


@dataclass(frozen=True, slots=True)
class SaltForm:
    """A traded salt or hydrate of a substance, with its own CAS number.

    Manifests often give the salt's CAS (e.g. 4-piperidone hydrochloride monohydrate); the
    structure includes the counter-ion and water so the evidence says "salt".
    """

    cas: str
    name: str
    smiles: str
    source: str


@dataclass(frozen=True, slots=True)
class Substance:
    """A chemical identity as the lists name it."""

    id: str  # stable slug, e.g. "npp", "4-ap"
    name: str  # the name a regulator uses
    smiles: str  # parent structure (free base / neutral form)
    cas: tuple[str, ...] = ()
    abbreviations: tuple[str, ...] = ()
    synonyms: tuple[str, ...] = ()
    role: str = ""  # e.g. "fentanyl precursor", "opioid", "methamphetamine precursor", "reagent"
    hs_code: str = ""  # six-digit HS code as "2933.37"; empty when none is dedicated
    sources: tuple[str, ...] = ()
    systematic_name: str = ""  # IUPAC-style name the SMILES was derived from (with OPSIN)
    salt_forms: tuple[SaltForm, ...] = ()


@dataclass(frozen=True, slots=True)
class Listing:
    """A substance on one list of one jurisdiction, from `since` until `until` (exclusive)."""

    substance: str  # Substance.id
    jurisdiction: str
    list: str  # e.g. "1988 Convention Table I", "List I (21 CFR 1310.02)"
    category: str  # e.g. "Table I", "List I", "Schedule II immediate precursor", "Category 1"
    since: dt.date
    legal_reference: str
    source: str
    until: dt.date | None = None
    effect: Effect = "control"
    note: str = ""
    verification: Verification = "unverified"
    verification_reason: str = ""
    decided: dt.date | None = None  # decision or publication date, when it differs from since
    names: tuple[tuple[str, str], ...] = ()  # (language, name as the instrument writes it)
    threshold: Threshold | None = None

    def in_force(self, on: dt.date) -> bool:
        return self.since <= on and (self.until is None or on < self.until)


@dataclass(frozen=True, slots=True)
class StructureRule:
    """A family or class listing written as structure: matches `smarts`, not any `exclude`.

    `label` is what a person reads ("4-AP, its amides, carbamates, halides and salts").
    """

    id: str
    label: str
    jurisdiction: str
    list: str
    category: str
    since: dt.date
    smarts: str
    legal_reference: str
    source: str
    until: dt.date | None = None
    exclude: tuple[str, ...] = ()
    effect: Effect = "control"
    parent: str = ""  # Substance.id of the named parent, when the family has one
    kind: Literal["family", "class"] = "family"
    note: str = ""
    verification: Verification = "unverified"
    verification_reason: str = ""
    decided: dt.date | None = None

    def in_force(self, on: dt.date) -> bool:
        return self.since <= on and (self.until is None or on < self.until)


@dataclass(frozen=True, slots=True)
class ControlSet:
    """Everything the lists say, indexed for lookup."""

    substances: tuple[Substance, ...]
    listings: tuple[Listing, ...]
    rules: tuple[StructureRule, ...]
    _by_id: dict[str, Substance] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_id.update({s.id: s for s in self.substances})

    def substance(self, substance_id: str) -> Substance:
        return self._by_id[substance_id]

    def listings_for(self, substance_id: str) -> tuple[Listing, ...]:
        return tuple(x for x in self.listings if x.substance == substance_id)
