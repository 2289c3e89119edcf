"""Typed, immutable records of the control lists.

One `Substance` per chemical identity, one `Listing` per (substance, jurisdiction, list) with
its dates and citation, one `StructureRule` per family or class listing written as SMARTS.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal, Protocol
from urllib.parse import urlsplit

Jurisdiction = Literal["UN", "US", "CN", "MX", "EU", "CA"]
JURISDICTIONS: tuple[str, ...] = ("UN", "US", "CN", "MX", "EU", "CA")

# "control": a legal control list. "watch": a reagent or pre-precursor kept under watch
# (verdict `watch`, never `controlled`).
Effect = Literal["control", "watch"]
# How far a citation was checked: the instrument itself (or its issuing body's publication),
# a secondary report or transcription of it, or not at all.
Verification = Literal["primary", "secondary", "unverified"]


# Publishers whose own pages are the instrument or the issuing body's publication of it: the
# official gazettes and law databases, the regulators, the treaty bodies. A source address on
# one of these domains (or a subdomain) is a primary source; any other is at best secondary.
PRIMARY_DOMAINS: tuple[str, ...] = (
    # United States
    "federalregister.gov", "govinfo.gov", "ecfr.gov", "regulations.gov", "dea.gov",
    "deadiversion.usdoj.gov", "justice.gov", "congress.gov", "uscode.house.gov", "state.gov",
    "whitehouse.gov", "treasury.gov", "fincen.gov", "cbp.gov",
    # European Union (EUR-Lex, the Publications Office, the Commission)
    "eur-lex.europa.eu", "op.europa.eu", "ec.europa.eu",
    # Canada (Canada Gazette, Justice Laws, Health Canada and other federal sites)
    "gazette.gc.ca", "laws-lois.justice.gc.ca", "canada.ca", "gc.ca",
    # Mexico (Diario Oficial de la Federación, Cámara de Diputados, federal government)
    "dof.gob.mx", "diputados.gob.mx", "gob.mx",
    # United Nations, UNODC, INCB
    "unodc.org", "incb.org", "un.org", "undocs.org",
    # China (central government, Ministry of Public Security, NMPA, MOFCOM, Customs; the
    # National Narcotics Control Commission's site)
    "gov.cn", "nncc626.com",
)


def source_domain(address: str) -> str:
    """The host of a source address, lower case, without a leading "www."; "" if none."""
    host = urlsplit(address.strip()).hostname or ""
    return host.removeprefix("www.")


def is_primary_source(address: str) -> bool:
    """Whether a source is one web address on a primary publisher's domain (`PRIMARY_DOMAINS`);
    a text holding two addresses or a remark is not one address."""
    text = address.strip()
    if not text.startswith(("https://", "http://")) or any(c.isspace() for c in text):
        return False
    host = source_domain(text)
    return bool(host) and any(host == d or host.endswith("." + d) for d in PRIMARY_DOMAINS)


@dataclass(frozen=True, slots=True)
class Threshold:
    """A quantity below which a transaction is not regulated (e.g. US List I, 21 CFR 1310.04)."""

    quantity: float
    unit: str  # "kg", "g", "L", "mL", "gal", "dosage units"
    basis: str = ""  # e.g. "cumulative per calendar month"
    reference: str = ""  # the provision that sets it, e.g. "21 CFR 1310.04(f)(1)"


# Units a threshold or a shipment quantity may be given in, as (dimension, factor to the base
# unit of that dimension: kg, L, or one dosage unit). Keys are lower case.
_UNITS: dict[str, tuple[str, float]] = {
    **{u: ("mass", 1.0) for u in ("kg", "kgs", "kilogram", "kilograms")},
    **{u: ("mass", 1e-3) for u in ("g", "gr", "gram", "grams")},
    **{u: ("mass", 1e-6) for u in ("mg", "milligram", "milligrams")},
    **{u: ("mass", 1000.0) for u in ("t", "mt", "ton", "tons", "tonne", "tonnes")},
    **{u: ("mass", 0.45359237) for u in ("lb", "lbs", "pound", "pounds")},
    **{u: ("volume", 1.0) for u in ("l", "litre", "litres", "liter", "liters")},
    **{u: ("volume", 1e-3) for u in ("ml", "millilitre", "millilitres", "milliliter")},
    # US gallon, the unit of 21 CFR 1310.04 for List II solvents
    **{u: ("volume", 3.785411784) for u in ("gal", "gallon", "gallons")},
    **{u: ("count", 1.0) for u in ("dosage units", "dosage unit", "du")},
}


def unit_dimension(unit: str) -> tuple[str, float] | None:
    """(dimension, factor to kg / L / dosage unit) of a unit, or None when it is not known."""
    return _UNITS.get(" ".join(unit.strip().lower().split()))


class QuantityLike(Protocol):
    """Anything with a quantity and a unit: a `Threshold`, or a verdict match's threshold."""

    @property
    def quantity(self) -> float: ...

    @property
    def unit(self) -> str: ...


def threshold_reached(threshold: QuantityLike, quantity: float, unit: str) -> bool | None:
    """Whether `quantity` `unit` is at or above the threshold; None when the two cannot be
    compared (an unknown unit, or mass against volume: a density would be a guess)."""
    mine, given = unit_dimension(threshold.unit), unit_dimension(unit)
    if mine is None or given is None or mine[0] != given[0]:
        return None
    # A tolerance, so 1000 g against a 1 kg threshold is "at" it despite float rounding.
    return quantity * given[1] >= threshold.quantity * mine[1] * (1 - 1e-9)


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
