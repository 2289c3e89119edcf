"""Typed records of screening: a shipment as read from a manifest, problems, flags, results.

Slotted dataclasses inside the pipeline (millions of rows); `ShipmentResult.to_dict()` gives the
Contract 2 object at the edge.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

CANONICAL_COLUMNS: tuple[str, ...] = (
    "shipment_id", "date", "description", "hs_code", "cas", "quantity", "unit",
    "shipper_name", "shipper_address", "shipper_country",
    "consignee_name", "consignee_address", "consignee_country", "notify_party",
    "mode", "origin_port", "destination_port", "transit_countries",
    "declared_value", "currency", "payment_method",
)
REQUIRED_COLUMNS: tuple[str, ...] = ("shipment_id", "description")
MODES: frozenset[str] = frozenset({"sea", "air", "courier", "post", "road", "rail"})

# A manifest row before validation: canonical column -> text ("" when absent).
RawRow = dict[str, str]


@dataclass(frozen=True, slots=True)
class Problem:
    """One validation problem: where it is (1-based data row, column) and what is wrong."""

    row: int  # 0 for problems with the file or its header
    column: str
    value: str
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row else "header"
        shown = f" (value {self.value!r})" if self.value else ""
        return f"{where}, column {self.column!r}: {self.message}{shown}"


@dataclass(slots=True)  # not frozen: frozen __init__ costs microseconds a row at scale
class Shipment:
    """One manifest line, validated and typed. Texts are stripped; absent values are ""/None.

    Treat as read-only."""

    row: int
    shipment_id: str
    description: str
    date: dt.date | None = None
    hs_code: str = ""  # digits only, e.g. "293339"
    cas: str = ""
    quantity: float | None = None
    unit: str = ""
    quantity_kg: float | None = None  # None when the unit is not a mass
    shipper_name: str = ""
    shipper_address: str = ""
    shipper_country: str = ""  # ISO 3166 alpha-2 where recognised, else as written (upper case)
    consignee_name: str = ""
    consignee_address: str = ""
    consignee_country: str = ""
    notify_party: str = ""
    mode: str = ""
    origin_port: str = ""
    destination_port: str = ""
    transit_countries: tuple[str, ...] = ()
    declared_value: float | None = None
    currency: str = ""
    payment_method: str = ""


@dataclass(frozen=True, slots=True)
class Flag:
    """A red flag that fired: rule code, weight in the score, and what exactly was seen."""

    code: str
    weight: int
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "weight": self.weight, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class PartyHit:
    """A shipment party that matched a watchlist entry above the run's threshold."""

    role: str  # shipper | consignee | notify_party
    name: str  # the name as written in the manifest
    list: str  # e.g. "OFAC SDN"
    entry: str  # the listed (primary) name
    entry_id: str
    alias: str  # the listed name or alias that matched best
    programmes: tuple[str, ...]
    score: float
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "role": self.role, "name": self.name, "list": self.list, "entry": self.entry,
            "entry_id": self.entry_id, "alias": self.alias,
            "programme": ", ".join(self.programmes), "score": self.score, "detail": self.detail,
        }


@dataclass(slots=True)
class ShipmentResult:
    """The screening result of one shipment (Contract 2)."""

    shipment_id: str
    row: int
    risk: int
    level: str
    chemicals: tuple[dict[str, Any], ...]
    flags: tuple[Flag, ...]
    parties: tuple[PartyHit, ...]
    rule_set: str
    rule_set_version: str
    consignee_country: str = ""
    description: str = ""
    shipper_name: str = ""  # as written, for reports; the Contract 2 object names only hits
    consignee_name: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "shipment_id": self.shipment_id,
            "row": self.row,
            "risk": self.risk,
            "level": self.level,
            "chemicals": list(self.chemicals),
            "flags": [f.to_dict() for f in self.flags],
            "parties": [p.to_dict() for p in self.parties],
            "rule_set": self.rule_set,
            "rule_set_version": self.rule_set_version,
        }
